"""Store fixtures: every test runs against DuckDB and PostgreSQL (a fresh random schema, dropped after).

PostgreSQL comes from ``VOTEAUDIT_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``); the
PostgreSQL half is skipped, saying why, only when no server answers there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from voteaudit.store import Store, open_store

PG = os.environ.get("VOTEAUDIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pg_schema_url() -> Iterator[str]:
    """A URL whose search_path is a new empty schema; the schema is dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {PG}: {str(exc).strip().splitlines()[0]}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG else "?"
    try:
        yield f"{PG}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_schema_url()


@pytest.fixture(params=["duckdb", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "duckdb":
        yield str(tmp_path / "store.duckdb")
    else:
        yield from pg_schema_url()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()
