"""Regression tests of the server defects found by the security test (issue 13: defects 2, 7 and 8)."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from server_data import CANDIDATES, MAPPING, auth, election_csv

from voteaudit.ingest import ingest_file
from voteaudit.store import open_store

UNIT = "1.1.13.10113042.1"
GOOD = {"unit": UNIT, "results": {CANDIDATES[0]: 100, CANDIDATES[1]: 250}}


# -- defect 2: double entry accepted regions as tables --------------------------------------------------------

@pytest.mark.parametrize("region, level", [("1", "state"), ("1.1", "municipality"), ("1.1.13.10113042", "centre")])
def test_region_ids_are_not_submission_units(client: TestClient, tokens: dict[str, str], pg_url: str,
                                             region: str, level: str) -> None:
    doc = {**GOOD, "unit": region}
    for who in ("ana", "bo"):   # two agreeing observers used to get a region "confirmed" and stored as a table
        r = client.post("/api/submissions", json=doc, headers=auth(tokens[who]))
        assert r.status_code == 422
        assert f"{region!r} is a {level}, not a table" in r.json()["detail"]
    import psycopg
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM submissions").fetchone()[0] == 0
    assert client.post("/api/submissions", json=GOOD, headers=auth(tokens["ana"])).status_code == 201


def test_unknown_unit_names_the_table_level(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post("/api/submissions", json={**GOOD, "unit": "9.9.9.9.9"}, headers=auth(tokens["ana"]))
    assert r.status_code == 422 and "no table '9.9.9.9.9'" in r.json()["detail"] and "'table'" in r.json()["detail"]


# -- defect 7: every HTML error page was a 500 -----------------------------------------------------------------

def test_html_error_pages_keep_their_status(client: TestClient, tokens: dict[str, str], pg_url: str) -> None:
    r = client.get("/regions/nowhere")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "<h1>404</h1>" in r.text and "no region &#39;nowhere&#39;" in r.text
    assert client.get("/units/9.9.9.9.9").status_code == 404
    # CSRF failure on the login form
    r = client.post("/login", data={"csrf": "forged", "token": tokens["ana"]})
    assert r.status_code == 403 and "CSRF check failed" in r.text and "<h1>403</h1>" in r.text
    # a page-level validation error (the submission id is not a number)
    r = client.get("/submissions/abc")
    assert r.status_code == 422 and "<h1>422</h1>" in r.text and "text/html" in r.headers["content-type"]


def login(client: TestClient, token: str) -> str:
    """Log in through the form; return the page's CSRF token of the session."""
    import re

    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    r = client.post("/login", data={"csrf": csrf, "token": token}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/submit").text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_page_denials_and_missing_upload_render_their_status(make_client, tokens: dict[str, str]) -> None:
    reviewer = make_client()
    csrf = login(reviewer, tokens["rev"])
    png = {"image": ("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/png")}
    r = reviewer.post("/submit", data={"csrf": csrf}, files=png)
    assert r.status_code == 403 and "may not submit" in r.text and "<h1>403</h1>" in r.text
    r = reviewer.post("/submit", data={"csrf": "wrong"}, files=png)
    assert r.status_code == 403 and "CSRF check failed" in r.text
    observer = make_client()
    csrf = login(observer, tokens["ana"])
    r = observer.post("/submit", data={"csrf": csrf, "image": "not a file"})
    assert r.status_code == 422 and "multipart field" in r.text and "<h1>422</h1>" in r.text


# -- defect 8: table ids containing "/" were listed but unreachable --------------------------------------------

def test_ids_with_slashes_and_url_characters_are_reachable(pg_url: str, tmp_path: Path, make_client) -> None:
    extra = [("03", "Sucre/Norte", "01", "01", "A/B", "7/1", 10, 1, 2),
             ("03", "Sucre/Norte", "01", "01", "A/B", "x?y#z", 10, 3, 4)]
    with open_store(pg_url) as s:
        ingest_file(s, election_csv(tmp_path / "more.csv", extra), MAPPING, source="party", kind="independent")
    client = make_client()
    listed = [u["id"] for u in client.get("/api/units", params={"parent": "3", "limit": 10}).json()["items"]]
    assert listed == ["3.1.1.a/b.7/1", "3.1.1.a/b.x?y#z"]
    for uid, votes in zip(listed, ([1, 2], [3, 4]), strict=True):
        r = client.get("/api/units/" + quote(uid, safe="/"))
        assert r.status_code == 200 and r.json()["id"] == uid
        assert r.json()["records"][0]["votes"] == dict(zip(CANDIDATES, votes, strict=True))
        page = client.get("/units/" + quote(uid, safe="/"))
        assert page.status_code == 200 and html.escape(uid) in page.text
    centre = "3.1.1.a/b"
    assert client.get("/api/results/" + centre).json()["children"][0]["id"] == listed[0]
    region = client.get("/regions/" + centre)
    assert region.status_code == 200
    for uid in listed:   # the region page links to each table by a URL that leads back to it
        href = "/units/" + quote(uid, safe="/")
        assert f'href="{href}"' in region.text
        assert client.get(href).status_code == 200
    r = client.get("/search", params={"q": "7/1"}, follow_redirects=False)
    assert r.status_code == 303 and client.get(r.headers["location"]).status_code == 200
