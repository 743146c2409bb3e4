"""The Store contract, run against every backend; and both backends give equal results on the same files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voteaudit.ingest import ingest_file
from voteaudit.ingest.mapping import Mapping
from voteaudit.model import InputError, StoreError
from voteaudit.store import Bulletin, BulletinResult, Store, open_store

WIDE = Mapping(units=["region", "district", "table"], unit_names=["region_name", None, None],
               registered="registered", valid="valid", null="null", candidates=["Alice", "Bob"])
LONG = Mapping(units=["region", "district", "table"], long=("party", "votes"),
               selections={"A1": "Alice", "A2": "Alice", "B": "Bob"})

FILE_1 = """region,region_name,district,table,registered,valid,null,Alice,Bob
01,Norte,1,1,100,80,2,50,30
01,Norte,1,2,100,90,1,40,50
02,Sur,1,1,120,130,0,70,60
02,Sur,2,1,0,0,0,0,0
"""
# same tables, one identical copy (01.1.1), one differing copy (01.1.2), one new table, Bob column first
FILE_2 = """region,region_name,district,table,registered,valid,null,Bob,Alice
1,Norte,1,1,100,80,2,30,50
1,Norte,1,2,100,90,1,51,39
3,Éste,1,7,90,60,1,20,40
"""
LONG_FILE = """region,district,table,party,votes
1,1,1,A1,30
1,1,1,A2,20
1,1,1,B,30
2,1,1,A1,70
2,1,1,B,61
"""


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def load(store: Store, tmp: Path) -> list[Any]:
    """The common scenario: two wide files for one source, a long file for another, bulletins, state."""
    results = [
        ingest_file(store, write(tmp, "a.csv", FILE_1), WIDE, source="authority", kind="official"),
        ingest_file(store, write(tmp, "b.csv", FILE_2), WIDE, source="authority", kind="official"),
        ingest_file(store, write(tmp, "a.csv", FILE_1), WIDE, source="authority", kind="official"),
        ingest_file(store, write(tmp, "long.csv", LONG_FILE), LONG, source="observers", kind="observer"),
    ]
    store.write_bulletins([Bulletin("first", [BulletinResult("Alice", 160, 55.0), BulletinResult("Bob", 140)],
                                    announced_at="2024-07-29T00:10", registered=410, extra={"note": "ñ"})],
                          {"units": 6, "registered": 500})
    store.save_state("audit", {"round": 1, "units": ["1.1.1"]})
    return results


def drop_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_times(v) for k, v in value.items() if k != "imported_at"}
    if isinstance(value, list):
        return [drop_times(v) for v in value]
    return value


def snapshot(store: Store) -> dict[str, Any]:
    """Everything a store answers, in plain comparable values."""
    out: dict[str, Any] = {"levels": store.levels(), "universe": store.universe(),
                           "bulletins": [b.__dict__ | {"results": [r.__dict__ for r in b.results]}
                                         for b in store.bulletins()],
                           "sources": drop_times([s.__dict__ for s in store.sources()]),
                           "state": store.state("audit"), "missing_state": store.state("nothing")}
    for s in store.sources():
        m = store.matrix(s.name)
        out[f"matrix:{s.name}"] = {
            "unit_ids": m.unit_ids.tolist(), "path": [p.tolist() for p in m.path], "candidates": m.candidates,
            "votes": m.votes.tolist(), "registered": m.registered.tolist(), "cast": m.cast.tolist(),
            "valid": m.valid.tolist(), "null": m.null.tolist(), "blank": m.blank.tolist(), "flags": m.flags,
            "conflicted": m.conflicted, "kind": m.kind, "levels": m.levels}
        out[f"conflicts:{s.name}"] = drop_times(store.conflicts(s.name))
    for uid in ("1.1.1", "1.1.2", "2.1.1", "3.1.7", "9.9.9"):
        recs = drop_times(store.unit_records(uid))
        for r in recs:
            r["provenance"]["also_seen"] = sorted(r["provenance"]["also_seen"], key=lambda x: (x["file"], x["row"]))
        out[f"unit:{uid}"] = recs
    out["labels"] = store.labels(["1", "2", "3", "1.1.1", "nope"])
    return out


def test_write_import_semantics(store: Store, tmp_path: Path) -> None:
    first, second, again, long = load(store, tmp_path)
    assert first.status == "imported" and first.records_added == 4 and first.conflicts == 0
    assert first.flags == {"votes_above_registered": 1, "zero_registered": 1}
    assert (second.records_added, second.identical_copies, second.conflicts) == (2, 1, 1)
    assert again.status == "already imported" and again.records_added == 0
    assert long.records_added == 2
    assert store.levels() == ["region", "district", "table"]
    m = store.matrix("authority")
    assert m.unit_ids.tolist() == ["1.1.1", "1.1.2", "2.1.1", "2.2.1", "3.1.7"]
    assert m.candidates == ["Alice", "Bob"]
    assert m.votes.tolist() == [[50, 30], [40, 50], [70, 60], [0, 0], [40, 20]]   # first copy of 1.1.2 used
    assert m.conflicted == ["1.1.2"]
    assert m.path[0].tolist() == ["1", "1", "2", "2", "3"]
    assert m.path[1].tolist() == ["1.1", "1.1", "2.1", "2.2", "3.1"]
    obs = store.matrix("observers")
    assert obs.votes.tolist() == [[50, 30], [70, 61]] and obs.registered.tolist() == [-1, -1]
    conflicts = store.conflicts("authority")
    assert [c["unit"] for c in conflicts] == ["1.1.2"]
    assert [c["votes"] for c in conflicts[0]["copies"]] == [{"Alice": 40, "Bob": 50}, {"Alice": 39, "Bob": 51}]
    recs = store.unit_records("1.1.1")
    assert [r["source"] for r in recs] == ["authority", "observers"]
    assert recs[0]["provenance"]["also_seen"] == [{"file": str(tmp_path / "b.csv"), "row": 2}]
    assert recs[1]["selections"] == {"A1": 30, "A2": 20, "B": 30}
    assert store.labels(["1", "3", "zzz"]) == {"1": "Norte", "3": "Éste"}
    assert store.unit_records("9.9.9") == []


def test_bulletins_state_universe(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path)
    (b,) = store.bulletins()
    assert b.totals == {"Alice": 160, "Bob": 140} and b.results[0].stated_pct == 55.0 and b.extra == {"note": "ñ"}
    assert store.universe() == {"units": 6, "registered": 500}
    assert store.write_bulletins([b], {}) == []
    clash = Bulletin("first", [BulletinResult("Alice", 1)])
    with pytest.raises(InputError, match="different figures"):
        store.write_bulletins([clash], {})
    assert store.state("audit") == {"round": 1, "units": ["1.1.1"]}
    store.save_state("audit", {"round": 2})
    assert store.state("audit") == {"round": 2} and store.state("other") is None


def test_errors(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path)
    with pytest.raises(InputError, match="already stored with kind"):
        ingest_file(store, write(tmp_path, "c.csv", FILE_2.replace("51", "52")), WIDE, source="authority",
                    kind="audit")
    with pytest.raises(StoreError, match="no source named"):
        store.matrix("nobody")
    with pytest.raises(InputError, match="3 levels"):
        ingest_file(store, write(tmp_path, "d.csv", "r,t,A\n1,1,1\n"), Mapping(units=["r"], candidates=["A"]),
                    source="x", kind="official")
    assert [s.name for s in store.sources()] == ["authority", "observers"]


def test_reopen_keeps_everything(store_url: str, tmp_path: Path) -> None:
    with open_store(store_url) as s:
        load(s, tmp_path)
        before = snapshot(s)
    with open_store(store_url) as s:
        assert snapshot(s) == before


def test_backends_give_equal_results(tmp_path: Path, pg_url: str) -> None:
    snaps = []
    for url in (str(tmp_path / "x.duckdb"), pg_url):
        with open_store(url) as s:
            load(s, tmp_path)
            snaps.append(snapshot(s))
    duck, pg = snaps
    assert duck.keys() == pg.keys()
    for key in duck:
        assert duck[key] == pg[key], key


def test_demo_data_equal(tmp_path: Path, pg_url: str) -> None:
    """The bundled Venezuela sheets: same matrix on both backends (the QR source: ~24k tables)."""
    from voteaudit.demo import demo_file
    from voteaudit.ingest import load_mapping

    mats = []
    for url in (str(tmp_path / "demo.duckdb"), pg_url):
        with open_store(url) as s:
            ingest_file(s, demo_file("qr.csv.gz"), load_mapping(demo_file("qr.toml")), source="qr",
                        kind="independent")
            mats.append((s.matrix("qr"), s.sources()[0], s.conflicts("qr")[:3]))
    (a, ia, ca), (b, ib, cb) = mats
    assert a.unit_ids.tolist() == b.unit_ids.tolist() and a.candidates == b.candidates
    assert np.array_equal(a.votes, b.votes) and np.array_equal(a.registered, b.registered)
    assert [p.tolist() for p in a.path] == [p.tolist() for p in b.path]
    assert a.flags == b.flags and a.conflicted == b.conflicted
    assert (ia.units, ia.records, ia.conflicts, ia.flags) == (ib.units, ib.records, ib.conflicts, ib.flags)
    assert drop_times(ca) == drop_times(cb)
