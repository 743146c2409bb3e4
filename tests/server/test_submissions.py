"""Submissions: auth and roles, idempotence, double entry, review, limits, audit log, images."""

from __future__ import annotations

import io
import logging

import psycopg
import pytest
from fastapi.testclient import TestClient
from server_data import CANDIDATES, auth

from voteaudit.server.worker import run_once
from voteaudit.store import open_store
from voteaudit.store.postgres import PostgresStore

UNIT = "1.1.13.10113042.1"
GOOD = {"unit": UNIT, "results": {CANDIDATES[0]: 100, CANDIDATES[1]: 250}, "null": 3}


def post(client: TestClient, token: str, doc: dict) -> tuple[int, dict]:
    r = client.post("/api/submissions", json=doc, headers=auth(token))
    return r.status_code, r.json()


def work(url: str) -> int:
    store = PostgresStore(url)
    try:
        return run_once(store, "observers")
    finally:
        store.close()


def test_auth_and_roles(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.post("/api/submissions", json=GOOD).status_code == 401
    assert client.post("/api/submissions", json=GOOD, headers=auth("va_nope")).status_code == 401
    assert post(client, tokens["rev"], GOOD)[0] == 403                       # reviewers only resolve
    code, body = post(client, tokens["ana"], GOOD)
    assert code == 201
    r = client.post(f"/api/submissions/{body['id']}/resolve", json={"decision": "accept"}, headers=auth(tokens["bo"]))
    assert r.status_code == 403                                                # observers only submit
    assert client.get(f"/api/submissions/{body['id']}", headers=auth(tokens["bo"])).status_code == 404
    assert client.get(f"/api/submissions/{body['id']}", headers=auth(tokens["rev"])).json()["user"] == "ana"


def test_idempotent_and_double_entry(client: TestClient, tokens: dict[str, str], pg_url: str) -> None:
    code, first = post(client, tokens["ana"], GOOD)
    assert (code, first["status"], first["created"]) == (201, "pending", True)
    code, again = post(client, tokens["ana"], dict(reversed(list(GOOD.items()))))
    assert (code, again["id"], again["created"]) == (200, first["id"], False)
    code, second = post(client, tokens["bo"], GOOD)                            # an independent, agreeing entry
    assert (code, second["status"]) == (201, "confirmed")
    mine = client.get(f"/api/submissions/{first['id']}", headers=auth(tokens["ana"])).json()
    assert mine["status"] == "accepted" and not mine["stored"]
    assert work(pg_url) == 1
    with open_store(pg_url) as s:
        m = s.matrix("observers")
        assert m.kind == "observer" and m.unit_ids.tolist() == [UNIT]
        assert dict(zip(m.candidates, m.votes[0].tolist(), strict=True)) == GOOD["results"] and m.null[0] == 3
    assert work(pg_url) == 0                                                   # stored exactly once
    assert client.get(f"/api/submissions/{first['id']}", headers=auth(tokens["ana"])).json()["stored"]


def test_dispute_resolved_by_reviewer(client: TestClient, tokens: dict[str, str], pg_url: str) -> None:
    _, a = post(client, tokens["ana"], GOOD)
    other = {**GOOD, "results": {CANDIDATES[0]: 101, CANDIDATES[1]: 249}}
    _, b = post(client, tokens["bo"], other)
    assert b["status"] == "disputed"
    disputed = client.get("/api/submissions", params={"status": "disputed"}, headers=auth(tokens["rev"])).json()
    assert sorted(s["id"] for s in disputed["items"]) == [a["id"], b["id"]]
    r = client.post(f"/api/submissions/{b['id']}/resolve", json={"decision": "accept", "note": "photo checked"},
                    headers=auth(tokens["rev"]))
    assert r.json() == {"id": b["id"], "status": "accepted"}
    kept = client.get(f"/api/submissions/{a['id']}", headers=auth(tokens["rev"])).json()
    assert kept["status"] == "rejected" and kept["decided_by"] == "rev" and kept["results"]["results"]
    again = client.post(f"/api/submissions/{b['id']}/resolve", json={"decision": "reject"}, headers=auth(tokens["rev"]))
    assert again.status_code == 409
    assert work(pg_url) == 1
    with open_store(pg_url) as s:
        m = s.matrix("observers")
        assert dict(zip(m.candidates, m.votes[0].tolist(), strict=True)) == other["results"]


@pytest.mark.parametrize("doc, field", [
    ({"unit": UNIT}, "results"),
    ({"unit": UNIT, "results": {"A": -1}}, "results"),
    ({"unit": UNIT, "results": {"A": 1.5}}, "results"),
    ({"unit": UNIT, "results": {"A": True}}, "results"),
    ({"unit": 7, "results": {"A": 1}}, "unit"),
    ({"unit": UNIT, "results": {"A": 1}, "null": "x"}, "null"),
    ({"unit": "9.9.9.9.9", "results": {"A": 1}}, "no table"),
])
def test_invalid_json(client: TestClient, tokens: dict[str, str], doc: dict, field: str) -> None:
    code, body = post(client, tokens["ana"], doc)
    assert code == 422 and field in str(body["detail"])


def test_quota_and_rate(make_client, tokens: dict[str, str]) -> None:
    client = make_client(quota=2, rate=0.001, burst=3)
    for votes in (1, 2):
        assert post(client, tokens["ana"], {**GOOD, "results": {"A": votes}})[0] == 201
    assert post(client, tokens["ana"], {**GOOD, "results": {"A": 3}})[0] == 429      # quota
    assert post(client, tokens["ana"], {**GOOD, "results": {"A": 4}})[0] == 429      # rate


def test_audit_log_append_only_and_tokens_hashed(client: TestClient, tokens: dict[str, str], pg_url: str,
                                                 caplog: pytest.LogCaptureFixture,
                                                 capsys: pytest.CaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    post(client, tokens["ana"], GOOD)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY event_id")]
        assert "user.add" in actions and "submission.create" in actions and "submission.pending" in actions
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE audit_log SET action = 'x'")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM audit_log")
        dump = str(conn.execute("SELECT * FROM users").fetchall()) + str(conn.execute("SELECT * FROM audit_log")
                                                                         .fetchall())
    captured = capsys.readouterr()
    for token in tokens.values():
        assert token not in dump and token not in caplog.text and token not in captured.out + captured.err


def test_uploads_limits_and_decoding(make_client, tokens: dict[str, str], pg_url: str) -> None:
    pytest.importorskip("zxingcpp")
    from voteaudit.ingest.scan import ve2024
    from voteaudit.ingest.scan.sheets import render_sheet

    client = make_client(max_upload=2_000_000)
    files = {"image": ("x.png", b"<html><script>alert(1)</script>", "image/png")}
    assert client.post("/api/submissions", files=files, headers=auth(tokens["ana"])).status_code == 415
    big = {"image": ("x.png", b"\x89PNG\r\n\x1a\n" + b"0" * 2_100_000, "image/png")}
    assert client.post("/api/submissions", files=big, headers=auth(tokens["ana"])).status_code == 413
    counts = [0] * len(ve2024.CARDS)
    counts[0], counts[ve2024.CARDS.index("MUD")] = 100, 250
    sheet = ve2024.make_sheet("010113042", 1, counts, 3)
    buf = io.BytesIO()
    render_sheet(sheet, seed=1).convert("RGB").save(buf, format="JPEG", quality=90)
    photo = {"image": ("acta.jpg", buf.getvalue(), "image/jpeg")}
    r = client.post("/api/submissions", files=photo, headers=auth(tokens["ana"]))
    assert r.status_code == 201 and r.json()["status"] == "decoding"
    assert client.post("/api/submissions", files=photo, headers=auth(tokens["ana"])).status_code == 200
    sid = r.json()["id"]
    work(pg_url)
    doc = client.get(f"/api/submissions/{sid}", headers=auth(tokens["ana"])).json()
    assert doc["status"] == "pending" and doc["unit"] == UNIT
    assert doc["results"]["results"] == {"Edmundo González Urrutia": 250, "Nicolás Maduro": 100} | {
        c: 0 for c in ve2024.CANDIDATES if c not in CANDIDATES}
    img = client.get(f"/api/submissions/{sid}/image", headers=auth(tokens["ana"]))
    assert img.headers["content-type"] == "application/octet-stream"
    assert img.headers["content-disposition"].startswith("attachment") and "sandbox" in img.headers[
        "content-security-policy"]
    assert img.content == buf.getvalue()


def test_nul_characters_are_refused_not_a_server_error(client: TestClient, tokens: dict[str, str]) -> None:
    """Found by schemathesis in CI: PostgreSQL text cannot hold NUL, so such input must be a 422, never a 500."""
    r = client.get("/api/submissions", params={"status": "\x00"}, headers=auth(tokens["rev"]))
    assert r.status_code == 422
    doc = {**GOOD, "unit": GOOD["unit"] + "\x00"}
    assert post(client, tokens["ana"], doc)[0] == 422
    doc = {**GOOD, "results": {"A\x00": 1}}
    assert post(client, tokens["ana"], doc)[0] == 422
