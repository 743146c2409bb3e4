"""What the evidence says: coverage, estimation from partial coverage, worst-case bounds,
"what would it take" for announced totals, tests of announced totals, and quick counts.

Pure functions over arrays (no I/O); every result has ``to_dict()`` and a quotable ``statement``.
"""

from voteaudit.stats.announced import (
    announced_tests,
    announced_tests_to_dict,
    bulletin_arithmetic,
    bulletin_sequence,
    round_percentage_probability,
    round_percentage_test,
)
from voteaudit.stats.bounds import BoundsResult, worst_case_bounds
from voteaudit.stats.bulletin import Bulletin, align_columns, group_votes
from voteaudit.stats.certificate import Certificate, bulletin_certificate, what_it_would_take
from voteaudit.stats.coverage import CoverageResult, coverage
from voteaudit.stats.estimate import EstimateResult, estimate_matrix, estimate_shares
from voteaudit.stats.pvt import (
    allocate,
    check_announced,
    design,
    ndi_sample_size,
    plan_from_frame,
    pvt_estimate,
    select_sample,
    stations_needed,
)
from voteaudit.stats.universe import Universe

__all__ = [
    "BoundsResult", "Bulletin", "Certificate", "CoverageResult", "EstimateResult", "Universe",
    "align_columns", "allocate", "announced_tests", "announced_tests_to_dict", "bulletin_arithmetic",
    "bulletin_certificate", "bulletin_sequence", "check_announced", "coverage", "design",
    "estimate_matrix", "estimate_shares", "group_votes", "ndi_sample_size", "plan_from_frame", "pvt_estimate",
    "round_percentage_probability", "round_percentage_test", "select_sample", "stations_needed",
    "what_it_would_take", "worst_case_bounds",
]
