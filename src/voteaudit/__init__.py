"""voteaudit: are announced election results consistent with the precinct-level evidence?

From Python: ``voteaudit.open(PATH_OR_URL)`` returns an :class:`~voteaudit.api.Election` whose methods give
pandas DataFrames (see :mod:`voteaudit.api`). The command line is ``voteaudit --help``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["open", "__version__"]

if TYPE_CHECKING:
    from voteaudit.api import Election


def open(url: Any = "voteaudit.duckdb", *, read_only: bool = False) -> Election:  # noqa: A001 (the package's verb)
    """Open (creating if needed) the election store at ``url``: a DuckDB path or a ``postgresql://`` URL."""
    from voteaudit.api import open_election

    return open_election(url, read_only=read_only)
