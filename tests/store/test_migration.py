"""A version-1 store (made by the previous release, ``fixtures/make_v1.py``) migrates in place to schema v2.

The fixture is the v1 DuckDB store as SQL (DDL and rows) and the ``compare --json`` that release printed
for it; after the migration the current code must print the same document, keep every row, and put
everything in the contest ``main``.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from voteaudit.cli import app
from voteaudit.model import StoreError
from voteaudit.store import open_store
from voteaudit.store.schema import MIGRATIONS, SCHEMA_VERSION, TABLES

FIXTURES = Path(__file__).parent / "fixtures"


def v1_store(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute((FIXTURES / "v1_store.sql").read_text(encoding="utf-8"))
    con.close()
    return path


def count(db: Path, table: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    finally:
        con.close()


def test_v1_store_migrates_in_place_with_identical_compare(tmp_path: Path) -> None:
    db = v1_store(tmp_path / "v1.duckdb")
    before = {t: count(db, t) for t in ("records", "imports", "nodes", "sightings", "bulletins")}
    assert before["records"] > 40 and before["sightings"] > 0   # the fixture is not empty
    result = CliRunner().invoke(app, ["compare", "--db", str(db), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads((FIXTURES / "v1_compare.json").read_text(encoding="utf-8"))
    after = {t: count(db, t) for t in before}
    assert after == before
    with open_store(db) as store:
        assert store.contest_names() == ["main"]
        assert store._meta("schema_version") == str(SCHEMA_VERSION)
        assert store.state("audit:authority")["method"] == "macro"   # v1 state moved to the contest
        assert [c.to_dict() for c in store.contests()] == [
            {"name": "main", "units": 40, "sources": ["authority", "observers", "party"]}]
        assert len(store.conflicts("observers")) == 2
    con = duckdb.connect(str(db), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    keys = con.execute("SELECT key FROM meta ORDER BY key").fetchall()
    con.close()
    assert tables == set(TABLES)
    assert keys == [("levels",), ("schema_version",)]


def test_migrated_read_only_open_then_constraints_hold(tmp_path: Path) -> None:
    db = v1_store(tmp_path / "v1.duckdb")
    with open_store(db, read_only=True) as store:    # a read-only open still migrates, once
        assert store.contest_names() == ["main"]
    con = duckdb.connect(str(db))
    with pytest.raises(duckdb.ConstraintException):  # v2 has primary keys where v1 had none
        con.execute("INSERT INTO records SELECT * FROM records LIMIT 1")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO contests VALUES (7, 'main', NULL)")
    con.close()


def test_newer_store_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    open_store(db).close()
    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="schema version 99"):
        open_store(db)


def test_postgres_v1_schema_migrates(pg_url: str) -> None:
    """A PostgreSQL store at migration 1 (with rows) is upgraded by opening it; rows land in 'main'."""
    import psycopg

    from voteaudit.store.postgres import migrate

    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate(conn, "store", MIGRATIONS[:1])
        conn.execute("""
            INSERT INTO meta VALUES ('schema_version', '1'), ('levels', '["region", "table"]'),
                ('state:audit:a', '{"method": "macro"}'), ('universe', '{"units": 3}');
            INSERT INTO sources VALUES (1, 'a', 'official', now());
            INSERT INTO imports VALUES (1, 1, 'f.csv', 'abc', 'csv', 2, 2, now(), '[["X","X"]]');
            INSERT INTO candidates VALUES (1, 'X', 'x');
            INSERT INTO import_selections VALUES (1, 0, 'X', 1);
            INSERT INTO nodes VALUES (1, '1', 1, NULL, 'R'), (2, '1.1', 2, '1', '1.1'), (3, '1.2', 2, '1', '1.2');
            INSERT INTO records VALUES (1, 1, 1, 2, 2, 10, NULL, NULL, NULL, NULL, ARRAY[7], ARRAY[]::TEXT[], NULL),
                                       (2, 1, 1, 3, 3, 10, NULL, NULL, NULL, NULL, ARRAY[5], ARRAY[]::TEXT[], NULL);
        """)
    with open_store(pg_url) as store:
        assert store.contest_names() == ["main"]
        m = store.matrix("a")
        assert list(m.unit_ids) == ["1.1", "1.2"] and m.votes[:, 0].tolist() == [7, 5]
        assert store.universe() == {"units": 3} and store.state("audit:a") == {"method": "macro"}
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == SCHEMA_VERSION
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO nodes VALUES (9, '1.1', 2, '1', 'dup')")
