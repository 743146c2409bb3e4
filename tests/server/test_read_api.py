"""Public read API and pages: units, a table with every source, results by level, caching, headers."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from server_data import MAPPING, election_csv

from voteaudit.ingest import ingest_file
from voteaudit.store import open_store

UNIT = "1.1.13.10113042.1"


def test_health_units_paging(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200
    page = client.get("/api/units", params={"limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    first = page["items"][0]
    assert first["id"] == UNIT and first["level"] == "table"
    assert [p["level"] for p in first["path"]] == ["state", "municipality", "parish", "centre", "table"]
    assert first["path"][0]["name"] == "Capital"
    rest = client.get("/api/units", params={"limit": 2, "offset": 2}).json()["items"]
    assert [u["id"] for u in rest] == ["2.3.1.20301001.1"]
    assert client.get("/api/units", params={"q": "anzoategui"}).json()["total"] == 1
    assert client.get("/api/units", params={"parent": "1"}).json()["total"] == 2
    assert client.get("/api/units", params={"limit": 0}).status_code == 422


def test_unit_with_sources_and_disagreements(pg_url: str, tmp_path: Path, make_client) -> None:
    with open_store(pg_url) as s:   # a second source that disagrees on one table
        path = election_csv(tmp_path / "party.csv")
        path.write_text(path.read_text().replace(",120,232", ",110,242"))
        ingest_file(s, path, MAPPING, source="party", kind="independent")
    client = make_client()
    doc = client.get(f"/api/units/{UNIT}").json()
    assert doc["sources"] == ["authority", "party"]
    assert [r["source"] for r in doc["records"]] == ["authority", "party"]
    (d,) = doc["disagreements"]
    assert d["difference"] == {"Edmundo González Urrutia": 10, "Nicolás Maduro": -10}
    assert client.get("/api/units/9.9.9").status_code == 404
    html = client.get(f"/units/{UNIT}").text
    assert "party" in html and "Disagreements" in html
    comp = client.get("/api/comparisons").json()
    assert comp["comparison"]["pairs"][0]["differ"] == 1


def test_results_levels_and_pages(client: TestClient) -> None:
    res = client.get("/api/results").json()
    assert res["level"] == "state" and [i["id"] for i in res["items"]] == ["1", "2"]
    assert res["items"][0]["sources"]["authority"]["totals"] == {"Nicolás Maduro": 213, "Edmundo González Urrutia": 492}
    assert res["national"]["authority"]["units"] == 3
    assert client.get("/api/results", params={"level": "parish"}).json()["items"][0]["id"] == "1.1.13"
    assert client.get("/api/results", params={"level": "nope"}).status_code == 404
    node = client.get("/api/results/1.1").json()
    assert node["children"][0]["id"] == "1.1.13"
    summary = client.get("/api/summary").json()
    assert summary["sources"][0]["name"] == "authority"
    home = client.get("/")
    assert home.status_code == 200 and "Capital" in home.text and "Anzo" in home.text
    assert client.get("/regions/1").status_code == 200
    assert client.get("/search", params={"q": "capital"}).status_code == 200
    assert client.get("/search", params={"q": "20301001"}, follow_redirects=False).status_code == 303
    assert "<script>" not in client.get("/search", params={"q": "<script>x"}).text   # autoescaped


def test_cache_headers_and_etag(client: TestClient) -> None:
    r = client.get("/api/units")
    assert r.headers["cache-control"].startswith("public") and r.headers["etag"]
    assert r.headers["x-content-type-options"] == "nosniff"
    again = client.get("/api/units", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/openapi.json").json()["paths"]["/api/submissions"]["post"]


def test_model_follows_new_data(pg_url: str, tmp_path: Path, client: TestClient) -> None:
    import time

    before = client.get("/api/units").json()["total"]
    with open_store(pg_url) as s:
        ingest_file(s, election_csv(tmp_path / "more.csv", [("03", "Apure", "01", "01", "030101001", "01", 10, 1, 2)]),
                    MAPPING, source="authority", kind="official")
    deadline = time.time() + 10
    while client.get("/api/units").json()["total"] == before and time.time() < deadline:
        time.sleep(0.1)
    assert client.get("/api/units").json()["total"] == before + 1


def test_duckdb_is_read_only(tmp_path: Path) -> None:
    from voteaudit.server.app import create_app
    from voteaudit.server.config import Settings

    db = str(tmp_path / "s.duckdb")
    with open_store(db) as s:
        ingest_file(s, election_csv(tmp_path / "a.csv"), MAPPING, source="authority", kind="official")
    with TestClient(create_app(Settings(db=db))) as c:
        assert c.get("/api/health").json()["submissions"] is False
        assert c.get(f"/api/units/{UNIT}").json()["records"][0]["source"] == "authority"
        r = c.post("/api/submissions", json={"unit": UNIT, "results": {"a": 1}}, headers={"Authorization": "Bearer x"})
        assert r.status_code == 503


def test_update_invalidates_only_touched_units(pg_url: str, tmp_path: Path, client: TestClient) -> None:
    """New records of one table refresh that table, its ancestors and the totals; other tables stay cached."""
    import time

    other = "2.3.1.20301001.1"
    kept = client.get(f"/api/units/{UNIT}")
    page = client.get("/api/units")
    before = client.get(f"/api/units/{other}").json()
    assert before["sources"] == ["authority"]
    path = election_csv(tmp_path / "party.csv")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[-1]]) + "\n")     # the party has only the Anzoátegui table
    with open_store(pg_url) as s:
        ingest_file(s, path, MAPPING, source="party", kind="independent")
    deadline = time.time() + 10
    while client.get(f"/api/units/{other}").json()["sources"] == ["authority"] and time.time() < deadline:
        time.sleep(0.1)
    assert client.get(f"/api/units/{other}").json()["sources"] == ["authority", "party"]
    reader = client.app.state.reader
    assert reader.changes_since(reader.version - 1) is not None       # an incremental update, with tags
    # untouched: same cached response (same ETag), and the unit list is unchanged
    assert client.get(f"/api/units/{UNIT}", headers={"If-None-Match": kept.headers["etag"]}).status_code == 304
    assert client.get("/api/units", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
    res = client.get("/api/results").json()
    assert res["national"]["party"]["units"] == 1 and [i["id"] for i in res["items"]] == ["1", "2"]
    assert "party" in client.get("/api/results/2").json()["sources"]
    assert "party" not in client.get("/api/results/1").json()["sources"]
    assert client.get("/api/levels").json()["sources"]["party"]["units"] == 1
