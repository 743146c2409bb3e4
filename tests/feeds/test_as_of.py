"""`compare`, `estimate` and `forensics --as-of`: analyses of a feed as it stood at a time (default: its latest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.feeds.snapshots import CANDIDATES, TIMES, snapshots
from tests.feeds.test_changes import ingest_feed


def totals(snap: dict[str, dict[str, int]]) -> dict[str, int]:
    return {c: sum(t[c] for t in snap.values()) for c in CANDIDATES}


def test_compare_as_of_each_version(cli: Callable[..., object], tmp_path: Path) -> None:
    ingest_feed(cli, tmp_path)
    snaps = snapshots()
    latest = cli("compare", json_out=True)
    assert latest.exit_code == 0
    assert latest.doc["sources"][0]["totals"] == totals(snaps[-1])
    for i, when in enumerate(TIMES):
        res = cli("compare", "--as-of", when, json_out=True)
        assert res.exit_code == 0, res.output
        src = res.doc["sources"][0]
        assert src["totals"] == totals(snaps[i]) and src["units"] == len(snaps[i])
    # before the first publication there is nothing to read: a clear refusal
    early = cli("compare", "--as-of", "2024-07-28T00:00:00Z")
    assert early.exit_code == 2 and "Traceback" not in early.stderr


def test_forensics_as_of_reads_that_version(cli: Callable[..., object], tmp_path: Path) -> None:
    ingest_feed(cli, tmp_path)
    snaps = snapshots()
    args = ("forensics", "--source", "cne", "--test", "last_digit")
    for i, when in enumerate(TIMES):
        res = cli(*args, "--as-of", when, json_out=True)
        assert res.exit_code == 0, res.output
        assert {r["target"]: r["n"] for r in res.doc}["A"] == len(snaps[i])  # v2 has the late table: 18, not 17
    assert {r["target"]: r["n"] for r in cli(*args, json_out=True).doc}["A"] == len(snaps[-1])
