"""`voteaudit changes` on a synthetic feed of three publications, every figure recomputed from the snapshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.feeds.snapshots import CANDIDATES, TIMES, TIMES_UTC, snapshots, write_csv

FLAGS = ["--source", "cne", "--kind", "official", "--unit", "region", "--unit", "table", "--registered", "registered",
         "--cast", "cast"] + [x for c in CANDIDATES for x in ("--candidate", c)]


def ingest_feed(cli: Callable[..., object], tmp: Path) -> None:
    for i, snap in enumerate(snapshots()):
        res = cli("ingest", write_csv(snap, tmp / f"v{i + 1}.csv"), *FLAGS, "--as-of", TIMES[i],
                  *(["--feed"] if i == 0 else []), json_out=True)
        assert res.exit_code == 0, res.output


def expected_changes(snaps: list[dict]) -> dict[str, dict[str, list[tuple[int, int]]]]:
    """unit -> field -> [(version, value)] at first publication and at each change (plain dict walk)."""
    out: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for unit in sorted({u for s in snaps for u in s}):
        for name in ["registered", "cast", *CANDIDATES]:
            points: list[tuple[int, int]] = []
            for v, s in enumerate(snaps, start=1):
                if unit in s and (not points or points[-1][1] != s[unit][name]):
                    points.append((v, s[unit][name]))
            if len(points) > 1:
                out.setdefault(unit, {})[name] = points
    return out


def test_changes_match_an_independent_diff_of_the_snapshots(cli: Callable[..., object], tmp_path: Path) -> None:
    ingest_feed(cli, tmp_path)
    doc = cli("changes", "--source", "cne", json_out=True).doc
    snaps = snapshots()
    want = expected_changes(snaps)
    assert want.keys() == {"2.3", "1.2", "3.5"}  # the planted changes
    got = {t["unit"]: {c["candidate"] or c["field"]: [(p["version"], p["value"]) for p in c["values"]]
                       for c in t["changes"]} for t in doc["changed"]}
    assert got == want
    for t in doc["changed"]:
        for c in t["changes"]:
            vals = [p["value"] for p in c["values"]]
            assert c["decreased"] == any(b < a for a, b in zip(vals, vals[1:], strict=False))
            assert [p["as_of"] for p in c["values"]] == [TIMES_UTC[p["version"] - 1] for p in c["values"]]
        votes_tv = sum(abs(b - a) for name, pts in want[t["unit"]].items() if name in CANDIDATES
                       for (_, a), (_, b) in zip(pts, pts[1:], strict=False))
        assert t["size"] == votes_tv
        assert t["decreased"] == any(c["decreased"] for c in t["changes"])
    assert [t["unit"] for t in doc["changed"]] == ["2.3", "1.2", "3.5"]  # 55, 25 and 0 votes moved
    assert doc["tables_decreased"] == 1 and doc["tables"] == len({u for s in snaps for u in s})
    late = sorted(set(snaps[1]) - set(snaps[0]))
    gone = sorted(set(snaps[1]) - set(snaps[2]))
    assert [(a["unit"], a["version"]) for a in doc["appeared_late"]] == [(u, 2) for u in late] == [("3.6", 2)]
    assert [(d["unit"], d["last_version"], d["gone_version"], d["returned"]) for d in doc["disappeared"]] == [
        (u, 2, 3, None) for u in gone] == [("2.6", 2, 3, None)]
    regions = {r["region"]: r for r in doc["by_region"]}
    for region in ("1", "2", "3"):
        mine = [u for u in want if u.startswith(region + ".")]
        r = regions[region]
        assert r["tables_changed"] == len(mine)
        assert r["disappeared"] == sum(u.startswith(region + ".") for u in gone)
        assert r["appeared_late"] == sum(u.startswith(region + ".") for u in late)
        for c in CANDIDATES:
            assert r["net"][c] == sum(snaps[2][u][c] - snaps[0][u][c] for u in mine if u in snaps[2])
    assert [t["tables_changed"] for t in doc["timeline"]] == [0, 2, 2]
    assert [t["votes_moved"] for t in doc["timeline"]] == [0, 65, 15]


def test_a_table_that_comes_back_with_other_numbers_is_a_change(cli: Callable[..., object], tmp_path: Path) -> None:
    snaps = snapshots()
    v4 = {u: dict(c) for u, c in snaps[2].items()}
    v4["2.6"] = {**snaps[1]["2.6"], "C": snaps[1]["2.6"]["C"] - 5}
    ingest_feed(cli, tmp_path)
    assert cli("ingest", write_csv(v4, tmp_path / "v4.csv"), *FLAGS, "--as-of", "2024-07-29T12:00:00Z").exit_code == 0
    doc = cli("changes", "--source", "cne", json_out=True).doc
    back = next(t for t in doc["changed"] if t["unit"] == "2.6")
    assert back["changes"] == [{"field": "votes", "candidate": "C", "decreased": True, "values": [
        {"version": 1, "as_of": TIMES_UTC[0], "value": snaps[0]["2.6"]["C"]},
        {"version": 4, "as_of": "2024-07-29T12:00:00", "value": snaps[0]["2.6"]["C"] - 5}]}]
    assert doc["disappeared"][0]["returned"] == {"version": 4, "as_of": "2024-07-29T12:00:00"}


def test_changes_refuses_a_source_that_is_not_a_feed(cli: Callable[..., object], tmp_path: Path) -> None:
    cli("ingest", write_csv(snapshots()[0], tmp_path / "a.csv"), *FLAGS)
    res = cli("changes", "--source", "cne")
    assert res.exit_code == 2 and "not a feed" in res.stderr
    res = cli("changes", "--source", "nope")
    assert res.exit_code == 2 and "no source named 'nope'" in res.stderr
