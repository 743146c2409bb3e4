"""Schema v2 on every backend: one election, several contests sharing units and sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from voteaudit.ingest import ingest_file, read_batch
from voteaudit.ingest.mapping import Mapping
from voteaudit.model import InputError, StoreError
from voteaudit.store import Bulletin, BulletinResult, Store

WIDE = Mapping(units=["region", "table"], registered="registered", candidates=["A", "B"])
PRESIDENT = "region,table,registered,A,B\n1,1,100,40,30\n1,2,100,20,50\n2,1,90,45,35\n"
SENATE = "region,table,registered,A,B\n1,1,100,60,11\n1,2,100,33,33\n"


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def two_contests(store: Store, tmp: Path) -> None:
    ingest_file(store, write(tmp, "p.csv", PRESIDENT), WIDE, source="cne", kind="official", contest="president")
    ingest_file(store, write(tmp, "s.csv", SENATE), WIDE, source="cne", kind="official", contest="senate")


def test_contests_share_units_and_sources_but_not_results(store: Store, tmp_path: Path) -> None:
    two_contests(store, tmp_path)
    assert [c.to_dict() for c in store.contests()] == [
        {"name": "president", "units": 3, "sources": ["cne"]},
        {"name": "senate", "units": 2, "sources": ["cne"]}]
    p, s = store.matrix("cne", contest="president"), store.matrix("cne", contest="senate")
    assert p.contest == "president" and s.contest == "senate"
    assert p.votes.sum(axis=0).tolist() == [105, 115] and s.votes.sum(axis=0).tolist() == [93, 44]
    assert list(s.unit_ids) == ["1.1", "1.2"]
    assert [r["contest"] for r in store.unit_records("1.1")] == ["president", "senate"]
    assert [r["votes"] for r in store.unit_records("1.1", contest="senate")] == [{"A": 60, "B": 11}]
    assert store.sources(contest="senate")[0].units == 2


def test_unnamed_contest_is_refused_when_there_are_several(store: Store, tmp_path: Path) -> None:
    two_contests(store, tmp_path)
    for call in (lambda: store.matrix("cne"), store.sources, store.bulletins, lambda: store.state("x"),
                 lambda: ingest_file(store, write(tmp_path, "x.csv", SENATE.replace("60", "61")), WIDE,
                                     source="cne", kind="official")):
        with pytest.raises(StoreError, match="several contests \\('president', 'senate'\\)"):
            call()
    with pytest.raises(StoreError, match="no contest named 'mayor'.*'president', 'senate'"):
        store.matrix("cne", contest="mayor")


def test_a_new_store_gets_main_and_one_contest_needs_no_name(store: Store, tmp_path: Path) -> None:
    assert store.contest_names() == [] and store.sources() == [] and store.bulletins() == []
    ingest_file(store, write(tmp_path, "p.csv", PRESIDENT), WIDE, source="cne", kind="official")
    assert store.contest_names() == ["main"]
    assert store.matrix("cne").votes.sum() == 220 and store.matrix("cne", contest="main").contest == "main"


def test_same_file_in_two_contests_and_reimport_per_contest(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", PRESIDENT)
    first = ingest_file(store, path, WIDE, source="cne", kind="official", contest="a")
    again = ingest_file(store, path, WIDE, source="cne", kind="official", contest="a")
    other = ingest_file(store, path, WIDE, source="cne", kind="official", contest="b")
    assert (first.status, again.status, other.status) == ("imported", "already imported", "imported")
    assert (first.contest, other.contest) == ("a", "b") and other.records_added == 3


def test_conflicts_are_per_contest(store: Store, tmp_path: Path) -> None:
    two_contests(store, tmp_path)
    ingest_file(store, write(tmp_path, "p2.csv", PRESIDENT.replace("40,30", "41,30")), WIDE, source="cne",
                kind="official", contest="president")
    assert [c["unit"] for c in store.conflicts("cne", contest="president")] == ["1.1"]
    assert store.conflicts("cne", contest="senate") == []


def test_bulletins_and_state_per_contest(store: Store, tmp_path: Path) -> None:
    two_contests(store, tmp_path)
    store.write_bulletins([Bulletin("final", [BulletinResult("A", 105)])], {"units": 3}, contest="president")
    store.write_bulletins([Bulletin("final", [BulletinResult("A", 93)])], {"units": 2}, contest="senate")
    assert store.bulletins(contest="senate")[0].totals == {"A": 93}
    assert store.universe(contest="president") == {"units": 3}
    store.save_state("audit:cne", {"round": 1}, contest="senate")
    assert store.state("audit:cne", contest="senate") == {"round": 1}
    assert store.state("audit:cne", contest="president") is None


def test_several_batches_are_one_transaction(store: Store, tmp_path: Path) -> None:
    two_contests(store, tmp_path)
    good = read_batch(write(tmp_path, "g.csv", PRESIDENT.replace("45,35", "46,35")), WIDE)
    good.contest = "president"
    bad = read_batch(write(tmp_path, "b.csv", SENATE.replace("60,11", "61,11")), WIDE)
    bad.contest = "senate"
    before = [store.matrix("cne", contest=c).votes.sum() for c in ("president", "senate")]
    with pytest.raises(InputError, match="second, different copy"):
        store.write_imports([good, bad], "cne", "official", strict=True)
    assert [store.matrix("cne", contest=c).votes.sum() for c in ("president", "senate")] == before
    assert store.conflicts("cne", contest="president") == []


def test_source_without_results_in_a_contest(store: Store, tmp_path: Path) -> None:
    two_contests(store, tmp_path)
    ingest_file(store, write(tmp_path, "o.csv", SENATE), WIDE, source="obs", kind="observer", contest="senate")
    assert [s.name for s in store.sources(contest="president")] == ["cne"]
    with pytest.raises(StoreError, match="source 'obs' has no results in contest 'president'"):
        store.matrix("obs", contest="president")
