"""``voteaudit users add`` and ``serve`` argument handling (the lead registers them on the main app)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import typer
from typer.testing import CliRunner

from voteaudit.cli.server import serve_command, users_app

app = typer.Typer()
app.command("serve")(serve_command)
app.add_typer(users_app, name="users")


def test_users_add_prints_token_once_and_stores_hash(pg_url: str) -> None:
    r = CliRunner().invoke(app, ["users", "add", "carla", "--role", "reviewer", "--db", pg_url, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["role"] == "reviewer" and doc["token"].startswith("va_")
    with psycopg.connect(pg_url) as conn:
        (stored,) = conn.execute("SELECT token_hash FROM users WHERE name = 'carla'").fetchone()
    assert stored != doc["token"] and len(stored) == 64
    again = CliRunner().invoke(app, ["users", "add", "carla", "--role", "reviewer", "--db", pg_url])
    assert again.exit_code == 2 and "already exists" in again.stderr
    bad = CliRunner().invoke(app, ["users", "add", "dan", "--role", "king", "--db", pg_url])
    assert bad.exit_code == 2 and "unknown role" in bad.stderr


def test_users_need_postgres_and_serve_needs_a_store(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["users", "add", "x", "--role", "observer", "--db", str(tmp_path / "a.duckdb")])
    assert r.exit_code == 2 and "postgresql" in r.stderr
    r = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "missing.duckdb")])
    assert r.exit_code == 2 and "no such store" in r.stderr
