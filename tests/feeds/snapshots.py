"""A synthetic feed of three publications with planted changes, decreases, a late and a vanishing table.

Snapshots are plain dicts (unit -> counts), so tests can compute every expected figure from them
independently of the store and of :mod:`voteaudit.checks.changes`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voteaudit.ingest.mapping import Mapping

CANDIDATES = ["A", "B", "C"]
MAPPING = Mapping(units=["region", "table"], registered="registered", cast="cast", candidates=CANDIDATES)
TIMES = ["2024-07-29T00:10:00-04:00", "2024-07-29T02:00:00-04:00", "2024-07-29T06:30:00-04:00"]
TIMES_UTC = ["2024-07-29T04:10:00", "2024-07-29T06:00:00", "2024-07-29T10:30:00"]

Snapshot = dict[str, dict[str, int]]


def snapshots(seed: int = 7) -> list[Snapshot]:
    """Three publications of 3 regions x 6 tables. Planted: 2.3 decreases for B (and cast) in v2, then rises
    in v3; 1.2 gains A (and cast) in v2; 3.5 changes registered in v3; 3.6 appears in v2 (late); 2.6
    disappears in v3."""
    rng = np.random.default_rng(seed)
    first: Snapshot = {}
    for r in (1, 2, 3):
        for t in range(1, 7):
            reg = int(rng.integers(300, 600))
            votes = rng.multinomial(int(reg * 0.6), [0.5, 0.35, 0.15])
            first[f"{r}.{t}"] = {"registered": reg, "cast": int(votes.sum()) + 3,
                                 **{c: int(v) for c, v in zip(CANDIDATES, votes, strict=True)}}
    late = first.pop("3.6")
    v1 = {u: dict(c) for u, c in first.items()}
    v2 = {u: dict(c) for u, c in v1.items()}
    v2["3.6"] = late
    v2["2.3"]["B"] -= 40
    v2["2.3"]["cast"] -= 40
    v2["1.2"]["A"] += 25
    v2["1.2"]["cast"] += 25
    v3 = {u: dict(c) for u, c in v2.items()}
    v3["2.3"]["B"] += 15
    v3["2.3"]["cast"] += 15
    v3["3.5"]["registered"] += 50
    del v3["2.6"]
    return [v1, v2, v3]


def write_csv(snapshot: Snapshot, path: Path) -> Path:
    lines = ["region,table,registered,cast," + ",".join(CANDIDATES)]
    for unit, c in sorted(snapshot.items()):
        region, table = unit.split(".")
        lines.append(f"{region},{table},{c['registered']},{c['cast']}," + ",".join(str(c[k]) for k in CANDIDATES))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
