"""Election forensics battery: one module per family of tests, one registry.

Pure functions over the arrays of a :class:`~voteaudit.model.SourceMatrix`; every test returns
:class:`~voteaudit.result.TestResult` objects. Entry point: :func:`run_battery`.
"""

from voteaudit.forensics.registry import CALIBRATED, TEST_IDS, TESTS, headline, run_battery

__all__ = ["CALIBRATED", "TEST_IDS", "TESTS", "headline", "run_battery"]
