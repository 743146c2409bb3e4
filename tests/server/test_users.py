"""Tokens that expire, revocation, rotation, region scope and roster import (issue 13 defect 14, issue 15 item 6)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from server_data import CANDIDATES, auth
from test_defects import login
from typer.testing import CliRunner

from voteaudit.cli import app

UNIT = "1.1.13.10113042.1"
OTHER = "2.3.1.20301001.1"
GOOD = {"unit": UNIT, "results": {CANDIDATES[0]: 100, CANDIDATES[1]: 250}}


def cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["users", *args])
    return r.exit_code, r.stdout, r.stderr


def new_user(pg_url: str, name: str, *extra: str) -> str:
    code, out, err = cli("add", name, "--role", "observer", "--db", pg_url, "--json", *extra)
    assert code == 0, err
    return json.loads(out)["token"]


def whoami(client: TestClient, token: str) -> int:
    return client.get("/api/submissions", headers=auth(token)).status_code


def test_tokens_expire(client: TestClient, pg_url: str) -> None:
    token = new_user(pg_url, "eve", "--expires", "2")
    assert whoami(client, token) == 200
    with psycopg.connect(pg_url, autocommit=True) as conn:
        (left,) = conn.execute("SELECT expires_at - now() FROM users WHERE name = 'eve'").fetchone()
        assert 1.9 < left.total_seconds() / 86400 <= 2
        session = login(client, token)   # a session made before expiry ends with the token
        assert session and client.get("/submit", follow_redirects=False).status_code == 200
        conn.execute("UPDATE users SET expires_at = now() - interval '1 second' WHERE name = 'eve'")
    assert whoami(client, token) == 401
    assert client.get("/submit", follow_redirects=False).status_code == 303     # back to the login page
    assert cli("add", "old", "--role", "observer", "--db", pg_url, "--expires", "0")[0] == 2


def test_revoke_ends_token_and_sessions(make_client, pg_url: str) -> None:
    token = new_user(pg_url, "mallory")
    api, browser = make_client(), make_client()
    login(browser, token)
    assert whoami(api, token) == 200
    code, out, err = cli("revoke", "mallory", "--db", pg_url)
    assert code == 0 and "revoked" in out
    assert whoami(api, token) == 401
    assert browser.get("/submit", follow_redirects=False).status_code == 303
    code, _, err = cli("revoke", "nobody", "--db", pg_url)
    assert code == 2 and "no user named 'nobody'" in err
    with psycopg.connect(pg_url) as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY event_id")]
    assert "user.revoke" in actions


def test_rotate_gives_a_new_token_and_kills_the_old(make_client, pg_url: str) -> None:
    old = new_user(pg_url, "rita", "--expires", "1")
    api, browser = make_client(), make_client()
    login(browser, old)
    code, out, err = cli("rotate", "rita", "--db", pg_url, "--json", "--expires", "30")
    assert code == 0, err
    new = json.loads(out)["token"]
    assert new != old and new.startswith("va_")
    assert whoami(api, old) == 401 and whoami(api, new) == 200
    assert browser.get("/submit", follow_redirects=False).status_code == 303
    with psycopg.connect(pg_url) as conn:
        (days,) = conn.execute("SELECT extract(epoch FROM expires_at - now()) / 86400 FROM users "
                               "WHERE name = 'rita'").fetchone()
    assert 29.9 < float(days) <= 30
    cli("revoke", "rita", "--db", pg_url)                       # a revoked user is given a token again
    again = json.loads(cli("rotate", "rita", "--db", pg_url, "--json")[1])["token"]
    assert whoami(api, new) == 401 and whoami(api, again) == 200


def test_scope_limits_submissions_to_a_region(client: TestClient, pg_url: str) -> None:
    token = new_user(pg_url, "local", "--scope", "1")
    r = client.post("/api/submissions", json={**GOOD, "unit": OTHER}, headers=auth(token))
    assert r.status_code == 403 and "outside your region '1'" in r.json()["detail"]
    assert client.post("/api/submissions", json=GOOD, headers=auth(token)).status_code == 201
    code, _, err = cli("add", "lost", "--role", "observer", "--db", pg_url, "--scope", "9")
    assert code == 2 and "no region '9'" in err


# -- users import --------------------------------------------------------------------------------------------

def roster(tmp_path: Path, rows: list[str], name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(["name,role,scope", *rows]) + "\n", encoding="utf-8")
    return path


def user_names(pg_url: str) -> list[str]:
    with psycopg.connect(pg_url) as conn:
        return sorted(r[0] for r in conn.execute("SELECT name FROM users"))


def test_import_creates_users_and_a_private_tokens_file(client: TestClient, pg_url: str, tmp_path: Path) -> None:
    path = roster(tmp_path, ["ana,observer,1", "bo,observer,2", "rev,reviewer,", "root,admin,"])
    out_file = tmp_path / "tokens.csv"
    code, out, err = cli("import", str(path), "--db", pg_url, "--tokens-out", str(out_file), "--json")
    assert code == 0, err
    assert json.loads(out) == {"created": 4, "roles": {"observer": 2, "reviewer": 1, "admin": 1},
                               "tokens_file": str(out_file)}
    assert stat.S_IMODE(os.stat(out_file).st_mode) == 0o600
    import csv
    issued = {r["name"]: r for r in csv.DictReader(out_file.read_text().splitlines())}
    assert sorted(issued) == ["ana", "bo", "rev", "root"] and issued["ana"]["scope"] == "1"
    for r in issued.values():
        assert whoami(client, r["token"]) == 200
    assert client.post("/api/submissions", json=GOOD, headers=auth(issued["bo"]["token"])).status_code == 403
    assert client.post("/api/submissions", json=GOOD, headers=auth(issued["ana"]["token"])).status_code == 201
    # never over an existing file, and nothing created when refused
    again = roster(tmp_path, ["zoe,observer,"], "more.csv")
    code, _, err = cli("import", str(again), "--db", pg_url, "--tokens-out", str(out_file))
    assert code == 2 and "already exists" in err and "zoe" not in user_names(pg_url)
    assert len(out_file.read_text().splitlines()) == 5                           # untouched
    code, _, err = cli("import", str(again), "--db", pg_url)                      # default: beside the roster
    assert code == 0 and (tmp_path / "more-tokens.csv").exists()


@pytest.mark.parametrize("rows, message", [
    (["ana,observer,", "bo,observer,", "ana,reviewer,"], "row 4, field 'name': user 'ana' is also on row 2"),
    (["ana,observer,", "bo,king,"], "row 3, field 'role': unknown role 'king'"),
    (["ana,observer,", "bo,observer,9.9"], "row 3, field 'scope': no region '9.9'"),
    (["ana,observer,", "carla,observer,"], "row 3, field 'name': a user named 'carla' already exists"),
    (["ana,observer"], "row 2: 2 cells, the header has 3"),
])
def test_import_is_all_or_nothing_and_names_the_row(pg_url: str, tmp_path: Path, rows: list[str],
                                                     message: str) -> None:
    new_user(pg_url, "carla")
    path = roster(tmp_path, rows)
    out_file = tmp_path / "tokens.csv"
    code, _, err = cli("import", str(path), "--db", pg_url, "--tokens-out", str(out_file))
    assert code == 2 and f"{path}, {message}" in " ".join(err.split())
    assert user_names(pg_url) == ["carla"] and not out_file.exists()


def test_import_needs_name_and_role_columns(pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("user,role\nana,observer\n")
    code, _, err = cli("import", str(path), "--db", pg_url)
    assert code == 2 and "row 1" in err and "'name' column" in err
