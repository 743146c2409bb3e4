"""voteaudit: are announced election results consistent with the precinct-level evidence?"""

__version__ = "0.1.0"
