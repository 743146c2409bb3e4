"""Fixtures for the spine tests: a fresh store per test and a CLI runner."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from voteaudit.cli import app


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "store.duckdb")


@pytest.fixture
def cli(db: str) -> Callable[..., object]:
    """Run the CLI in-process against the test store; returns click's Result."""
    runner = CliRunner()

    def run(*args: str, json_out: bool = False) -> object:
        argv = [str(a) for a in args] + ["--db", db] + (["--json"] if json_out else [])
        result = runner.invoke(app, argv, catch_exceptions=False)
        if json_out and result.exit_code == 0:
            result.doc = json.loads(result.stdout)
        return result

    return run


def store_fingerprint(db: str) -> str:
    """A digest of everything in the store (every table's rows, sorted)."""
    if not Path(db).exists():
        return "absent"
    con = duckdb.connect(db, read_only=True)
    h = hashlib.sha256()
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema='main' ORDER BY 1").fetchall()]
    for t in tables:
        rows = con.execute(f'SELECT * FROM "{t}"').fetchall()
        h.update(t.encode())
        h.update(repr(sorted(map(repr, rows))).encode())
    con.close()
    return h.hexdigest()


WIDE = "region,district,table,registered,valid,null,Alice,Bob\n"


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


WIDE_FLAGS = ["--source", "s1", "--kind", "official", "--unit", "region", "--unit", "district", "--unit", "table",
              "--registered", "registered", "--valid", "valid", "--null", "null",
              "--candidate", "Alice", "--candidate", "Bob"]
