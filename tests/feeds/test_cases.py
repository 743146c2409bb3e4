"""`voteaudit cases` on the Venezuela 2024 demo data and on the synthetic feed, figures recomputed independently."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.feeds.snapshots import CANDIDATES, snapshots
from tests.feeds.test_changes import ingest_feed
from voteaudit.casework import cases_of, close_case
from voteaudit.demo import DEMO_SOURCES, demo_file
from voteaudit.ingest import ingest_file, load_mapping
from voteaudit.ingest.bulletins import read_bulletins
from voteaudit.model import VoteauditError
from voteaudit.server.submissions import canonical
from voteaudit.store import Store, open_store

ACTAS = ["NM", "EG", "LM", "JABE", "JOBR", "AE", "CF", "DC", "EM", "BERA"]
QR = ["Maduro", "Gonzalez", "Martinez", "Bertucci", "Brito", "Ecarri", "Fermin", "Ceballos", "Marquez", "Rausseo"]


def rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(gzip.decompress(demo_file(name).read_bytes()).decode())))


def key(r: dict[str, str]) -> str:
    return ".".join(str(int(r[c])) for c in ("state", "municipality", "parish", "centre", "table"))  # numeric codes


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    for name, kind, data, mapping in DEMO_SOURCES:
        ingest_file(store, demo_file(data), load_mapping(demo_file(mapping)), source=name, kind=kind)
    bulletins, universe = read_bulletins(demo_file("bulletins.json"))
    store.write_bulletins(bulletins, universe)
    yield store
    store.close()


def test_demo_cases_match_the_csv_files(demo_store: Store) -> None:
    actas = {key(r): r for r in rows("actas.csv.gz")}
    qr = {key(r): r for r in rows("qr.csv.gz")}
    a = {k: [int(r[c]) for c in ACTAS] for k, r in actas.items()}
    q = {k: [int(r[c]) for c in QR] for k, r in qr.items()}
    union = a.keys() | q.keys()
    totals = [sum(v[j] for v in a.values()) + sum(v[j] for k, v in q.items() if k not in a) for j in range(10)]
    doc = cases_of(demo_store).to_dict()
    assert (doc["leader"], doc["runner_up"]) == ("Edmundo González Urrutia", "Nicolás Maduro")
    assert doc["margin"] == totals[1] - totals[0] and doc["basis"]["tables"] == len(union)
    differ = sorted(k for k in a.keys() & q.keys() if a[k] != q[k])
    assert len(differ) == 7
    dis = {c["unit"]: c for c in doc["cases"] if c["kind"] == "disagreement"}
    assert sorted(dis) == differ
    for k in differ:
        want = abs((a[k][1] - a[k][0]) - (q[k][1] - q[k][0]))
        assert dis[k]["margin_effect"] == want and dis[k]["sources"] == ["actas", "qr"]
    [missing] = [c for c in doc["cases"] if c["kind"] == "no_sheet"]
    registry = {"units": 30026, "registered": 21620705}  # bulletins.json, the CNE's registry
    assert missing["tables"] == registry["units"] - len(union)
    covered_registered = sum(int(r["registered"]) for r in actas.values())
    assert missing["registered"] == missing["margin_effect"] == registry["registered"] - covered_registered
    assert missing["registered_is_upper_bound"] and missing["covered_without_registered"] == len(q.keys() - a.keys())
    assert doc["open_effect"] == sum(c["margin_effect"] for c in doc["cases"])
    assert doc["could_change_outcome"] is (doc["open_effect"] >= doc["margin"])
    effects = [c["margin_effect"] for c in doc["cases"]]
    assert effects == sorted(effects, reverse=True)
    assert [c.id for c in cases_of(demo_store).cases] == [c["id"] for c in doc["cases"]]  # stable ids


def test_closing_a_case_keeps_its_note_and_lowers_the_open_effect(cli: Callable[..., object], db: str,
                                                                   tmp_path: Path) -> None:
    ingest_feed(cli, tmp_path)
    before = cli("cases", json_out=True).doc
    snaps = snapshots()
    a, b = (CANDIDATES.index(x) for x in (before["leader"], before["runner_up"]))
    totals = [sum(s[CANDIDATES[j]] for s in snaps[2].values()) for j in range(3)]
    assert before["margin"] == totals[a] - totals[b]
    changed = {c["unit"]: c for c in before["cases"] if c["kind"] == "changed_after_publication"}
    assert set(changed) == {"2.3", "1.2", "3.5"}
    for unit, case in changed.items():
        ms = [s[unit][CANDIDATES[a]] - s[unit][CANDIDATES[b]] for s in snaps if unit in s]
        assert case["margin_effect"] == max(abs(m - ms[-1]) for m in ms)
    [gone] = [c for c in before["cases"] if c["kind"] == "withdrawn_after_publication"]
    v2 = snaps[1]["2.6"]
    assert gone["unit"] == "2.6" and gone["margin_effect"] == abs(v2[CANDIDATES[a]] - v2[CANDIDATES[b]])
    assert before["open_effect"] == sum(c["margin_effect"] for c in before["cases"])
    target = changed["2.3"]
    res = cli("cases", "close", target["id"], "--note", "CNE corrected a typo; sheet seen", json_out=True)
    assert res.exit_code == 0, res.output
    after = cli("cases", json_out=True).doc
    closed = next(c for c in after["cases"] if c["id"] == target["id"])
    assert closed["status"] == "closed" and closed["notes"][0]["note"] == "CNE corrected a typo; sheet seen"
    assert after["open_effect"] == before["open_effect"] - target["margin_effect"]
    again = cli("cases", "close", target["id"], "--note", "again")
    assert again.exit_code == 2 and "already closed" in again.stderr
    assert cli("cases", "close", "feedfeedfeedfeed", "--note", "x").exit_code == 2
    with open_store(db) as store, pytest.raises(VoteauditError, match="needs a --note"):
        close_case(store, changed["1.2"]["id"], "  ")


def test_the_report_lists_the_cases_and_the_feed_timeline(cli: Callable[..., object], db: str,
                                                          tmp_path: Path) -> None:
    ingest_feed(cli, tmp_path)
    out = tmp_path / "report"
    assert cli("report", "--out", out).exit_code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    doc = cli("cases", json_out=True).doc
    assert summary["cases"]["open_effect"] == doc["open_effect"]
    assert summary["cases"]["cases_total"] == len(doc["cases"])
    assert 'id="cases"' in html and all(c["id"] in html for c in doc["cases"])
    timeline = summary["changes"]["cne"]["timeline"]
    assert [p["tables_changed"] for p in timeline] == [0, 2, 2]
    assert "Tables of “cne” changed in each version" in html


def test_on_postgresql_closing_goes_to_the_audit_log_and_disputes_are_cases(pg_url: str, tmp_path: Path) -> None:
    from tests.feeds.snapshots import MAPPING, TIMES, write_csv
    from voteaudit.server.db import connect, ensure_schema

    ensure_schema(pg_url)
    snaps = snapshots()
    with open_store(pg_url) as store:
        for i, snap in enumerate(snaps):
            ingest_file(store, write_csv(snap, tmp_path / f"v{i}.csv"), MAPPING, source="cne", kind="official",
                        as_of=TIMES[i], feed=i == 0)
        conn = store.conn
        conn.execute("INSERT INTO users (name, role, token_hash) VALUES ('ana', 'observer', 'h1'), "
                     "('ben', 'observer', 'h2')")
        stored = snaps[2]["1.1"]
        theirs = {**{c: stored[c] for c in CANDIDATES}, "B": stored["B"] + 30}
        for user, results, status in ((1, {c: stored[c] for c in CANDIDATES}, "disputed"), (2, theirs, "disputed")):
            conn.execute("INSERT INTO submissions (user_id, kind, content_sha256, unit, results, status) "
                         "VALUES (%s, 'results', %s, '1.1', %s, %s)",
                         [user, f"sha{user}", json.dumps(canonical("1.1", results, {})), status])
        doc = cases_of(store).to_dict()
        [dispute] = [c for c in doc["cases"] if c["kind"] == "disputed_submission"]
        assert dispute["unit"] == "1.1" and dispute["margin_effect"] == 30  # B +30 moves A - B by 30
        assert {c["unit"] for c in doc["cases"] if c["kind"] == "changed_after_publication"} == {"2.3", "1.2", "3.5"}
        close_case(store, dispute["id"], "reviewer recounted the sheet")
    with connect(pg_url) as conn:
        action, detail = conn.execute("SELECT action, detail FROM audit_log ORDER BY event_id DESC LIMIT 1").fetchone()
    assert action == "case_closed" and detail["case"] == dispute["id"]
    assert detail["notes"][0]["note"] == "reviewer recounted the sheet"
