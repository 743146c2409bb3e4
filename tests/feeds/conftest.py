from tests.spine.conftest import cli, db  # noqa: F401  (a fresh store per test and the in-process CLI runner)
from tests.store.conftest import pg_url  # noqa: F401  (a fresh PostgreSQL schema per test)
