"""Versions of a feed source, on both backends: kept with sha256 and time, no conflicts between versions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.feeds.snapshots import CANDIDATES, MAPPING, TIMES, TIMES_UTC, snapshots, write_csv
from voteaudit.ingest import ingest_file, sha256_file
from voteaudit.model import InputError, StoreError
from voteaudit.store import Store


def feed(store: Store, tmp: Path) -> list[Path]:
    paths = [write_csv(s, tmp / f"v{i + 1}.csv") for i, s in enumerate(snapshots())]
    for i, (path, when) in enumerate(zip(paths, TIMES, strict=True)):
        res = ingest_file(store, path, MAPPING, source="cne", kind="official", as_of=when, feed=(i == 0))
        assert res.status == "imported" and res.version["version"] == i + 1
        assert res.conflicts == 0
    return paths


def votes_of(store: Store, **kw: object) -> dict[str, list[int]]:
    m = store.matrix("cne", **kw)
    return {u: [int(m.registered[i]), int(m.cast[i])] + [int(v) for v in m.votes[i]]
            for i, u in enumerate(m.unit_ids)}


def expected(snapshot: dict) -> dict[str, list[int]]:
    return {u: [c["registered"], c["cast"]] + [c[k] for k in CANDIDATES] for u, c in snapshot.items()}


def test_every_version_is_kept_and_reads_use_the_latest(store: Store, tmp_path: Path) -> None:
    paths = feed(store, tmp_path)
    snaps = snapshots()
    assert [(v["version"], v["as_of"], v["sha256"]) for v in store.versions("cne")] == [
        (i + 1, TIMES_UTC[i], sha256_file(p)) for i, p in enumerate(paths)]
    assert votes_of(store) == expected(snaps[2])
    for i, when in enumerate(TIMES):
        assert votes_of(store, as_of=when) == expected(snaps[i])
    assert votes_of(store, as_of="2024-07-29T05:00:00Z") == expected(snaps[0])  # current at that time: v1
    with pytest.raises(StoreError, match="published nothing by"):
        store.matrix("cne", as_of="2024-07-28T00:00:00Z")
    info = store.sources()[0]
    assert (info.units, info.conflicts) == (len(snaps[2]), 0)
    assert store.conflicts("cne") == [] and store.matrix("cne").conflicted == []
    assert store.is_feed("cne")


def test_republished_bytes_are_a_version_and_repeats_are_nothing_new(store: Store, tmp_path: Path) -> None:
    paths = feed(store, tmp_path)
    again = ingest_file(store, paths[2], MAPPING, source="cne", kind="official", as_of="2024-07-29T12:00:00Z")
    assert again.status == "already imported" and again.version["version"] == 3
    back = ingest_file(store, paths[0], MAPPING, source="cne", kind="official", as_of="2024-07-29T13:00:00Z")
    assert back.status == "new version" and back.version["version"] == 4
    assert votes_of(store) == expected(snapshots()[0])
    with pytest.raises(InputError, match="different version published at"):
        ingest_file(store, paths[1], MAPPING, source="cne", kind="official", as_of="2024-07-29T13:00:00Z")
    assert len(store.versions("cne")) == 4


def test_two_copies_inside_one_version_are_a_conflict(store: Store, tmp_path: Path) -> None:
    feed(store, tmp_path)
    text = (tmp_path / "v3.csv").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("1,1,"))
    parts = line.split(",")
    parts[-1] = str(int(parts[-1]) + 1)
    bad = tmp_path / "v4.csv"
    bad.write_text(text + ",".join(parts) + "\n")
    with pytest.raises(InputError, match="second, different copy"):
        ingest_file(store, bad, MAPPING, source="cne", kind="official", as_of="2024-07-29T14:00:00Z", strict=True)
    res = ingest_file(store, bad, MAPPING, source="cne", kind="official", as_of="2024-07-29T14:00:00Z")
    assert res.conflicts == 1 and store.matrix("cne").conflicted == ["1.1"]
    assert [c["unit"] for c in store.conflicts("cne")] == ["1.1"]
    assert store.matrix("cne", as_of=TIMES[2]).conflicted == []


def test_as_of_needs_a_feed_and_a_feed_is_declared_first(store: Store, tmp_path: Path) -> None:
    path = write_csv(snapshots()[0], tmp_path / "plain.csv")
    with pytest.raises(InputError, match="add --feed"):
        ingest_file(store, path, MAPPING, source="cne", kind="official", as_of=TIMES[0])
    with pytest.raises(InputError, match="not an ISO 8601 time"):
        ingest_file(store, path, MAPPING, source="cne", kind="official", as_of="yesterday", feed=True)
    assert store.sources() == []
    ingest_file(store, path, MAPPING, source="cne", kind="official")
    with pytest.raises(InputError, match="already has imports that are not versions"):
        ingest_file(store, write_csv(snapshots()[1], tmp_path / "b.csv"), MAPPING, source="cne", kind="official",
                    feed=True)
    with pytest.raises(StoreError, match="not a feed"):
        store.matrix("cne", as_of=TIMES[0])
    # a plain source still counts a second, different copy as a conflict
    ingest_file(store, write_csv(snapshots()[1], tmp_path / "c.csv"), MAPPING, source="cne", kind="official")
    assert store.sources()[0].conflicts == 2 and not store.is_feed("cne")
    assert np.array_equal(store.matrix("cne").votes.sum(axis=0) > 0, [True] * 3)
