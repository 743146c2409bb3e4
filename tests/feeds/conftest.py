from tests.spine.conftest import cli, db  # noqa: F401  (a fresh store per test and the in-process CLI runner)
