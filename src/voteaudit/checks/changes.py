"""What changed in a feed after first publication: per table, per count, per version (issue 16).

Authorities publish results progressively and revise them. Given the successive versions of one
source (each a :class:`~voteaudit.model.SourceMatrix` with its publication time), this lists every
table whose numbers changed after the table was first published — each changed count with its value
in every version where it changed, ``decreased`` when a count went down — and the tables that
disappeared from a later version or appeared only after the first one. A table that disappears and
comes back with other numbers is a change at the version it came back in.

Size of a change (the ranking): the total variation of the table's candidate votes over its versions,
``sum_v sum_c |x_{v,c} - x_{v-1,c}|``, ties broken by the total variation of its per-table counts
(registered, cast, valid, null, blank). Pure: no I/O; one pass over the versions, memory O(tables).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voteaudit.model import SourceMatrix

COUNTS = ("registered", "cast", "valid", "null", "blank")
MISSING = -1


@dataclass(frozen=True)
class Version:
    """One publication: its number (1 = first), time (ISO 8601) and content."""

    number: int
    as_of: str
    matrix: SourceMatrix
    sha256: str | None = None


@dataclass
class TableChanges:
    """One table's changes: its values (counts then candidates, -1 = not reported) at first publication
    and at every version where they changed."""

    unit: str
    region: str
    history: list[tuple[int, np.ndarray]]   # (version index, values) — first publication, then each change
    size: int                               # total variation of candidate votes
    count_size: int                         # total variation of the per-table counts
    decreased: bool


@dataclass
class FeedChanges:
    source: str
    level: str | None
    versions: list[dict[str, Any]]
    fields: list[str]                        # COUNTS then the candidates
    changed: list[TableChanges]              # ranked by size
    disappeared: list[dict[str, Any]]
    appeared_late: list[dict[str, Any]]
    timeline: list[dict[str, Any]]           # per version: tables changed, votes moved, decreases, ...
    tables: int                              # tables ever published
    _times: list[str] = field(default_factory=list, repr=False)

    @property
    def candidates(self) -> list[str]:
        return self.fields[len(COUNTS):]

    def table_dict(self, t: TableChanges) -> dict[str, Any]:
        """One changed table for JSON: each count that changed, with its value and time in each version."""
        counts = []
        for j, name in enumerate(self.fields):
            series = [(v, int(vals[j])) for v, vals in t.history]
            points = [series[0]] + [p for p, q in zip(series[1:], series[:-1], strict=True) if p[1] != q[1]]
            if len(points) < 2:
                continue
            pairs = zip(points[:-1], points[1:], strict=True)
            down = any(b[1] < a[1] for a, b in pairs if a[1] != MISSING and b[1] != MISSING)
            counts.append({
                "field": name if j < len(COUNTS) else "votes", "candidate": None if j < len(COUNTS) else name,
                "values": [{"version": self.versions[v]["version"], "as_of": self._times[v],
                            "value": None if x == MISSING else x} for v, x in points],
                "decreased": bool(down)})
        first = t.history[0][0]
        return {"unit": t.unit, "region": t.region, "size": t.size, "count_size": t.count_size,
                "decreased": t.decreased,
                "first_published": {"version": self.versions[first]["version"], "as_of": self._times[first]},
                "changes": counts}

    def by_region(self) -> list[dict[str, Any]]:
        """Per region: tables changed (and with a decrease), votes moved, net vote change per candidate,
        tables that disappeared or appeared late."""
        k = len(COUNTS)
        out: dict[str, dict[str, Any]] = {}

        def row(region: str) -> dict[str, Any]:
            return out.setdefault(region, {"region": region, "tables_changed": 0, "tables_decreased": 0,
                                           "votes_moved": 0, "net": dict.fromkeys(self.candidates, 0),
                                           "disappeared": 0, "appeared_late": 0})
        for t in self.changed:
            r = row(t.region)
            r["tables_changed"] += 1
            r["tables_decreased"] += int(t.decreased)
            r["votes_moved"] += t.size
            first, last = t.history[0][1][k:], t.history[-1][1][k:]
            for c, a, b in zip(self.candidates, first, last, strict=True):
                if a != MISSING and b != MISSING:
                    r["net"][c] += int(b - a)
        for d in self.disappeared:
            row(d["region"])["disappeared"] += 1
        for a in self.appeared_late:
            row(a["region"])["appeared_late"] += 1
        return sorted(out.values(), key=lambda r: (-r["votes_moved"], -r["tables_changed"], r["region"]))

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "level": self.level, "versions": self.versions, "tables": self.tables,
                "tables_changed": len(self.changed), "tables_decreased": sum(t.decreased for t in self.changed),
                "changed": [self.table_dict(t) for t in self.changed], "disappeared": self.disappeared,
                "appeared_late": self.appeared_late, "by_region": self.by_region(), "timeline": self.timeline}


def _values(m: SourceMatrix, fields: list[str]) -> np.ndarray:
    """(n, len(fields)) int64: the per-table counts then the votes of each candidate (-1 = not reported)."""
    out = np.full((m.n_units, len(fields)), MISSING, dtype=np.int64)
    for j, name in enumerate(COUNTS):
        out[:, j] = getattr(m, name)
    pos = {c: j for j, c in enumerate(m.candidates)}
    for j, name in enumerate(fields[len(COUNTS):], start=len(COUNTS)):
        if name in pos:
            out[:, j] = m.votes[:, pos[name]]
    return out


def _variation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise sum of |b - a| over the entries reported in both."""
    both = (a != MISSING) & (b != MISSING)
    return np.where(both, np.abs(b - a), 0).sum(axis=1)


def feed_changes(versions: Sequence[Version], *, level: int = 0) -> FeedChanges:
    """Every table that changed after first publication, in versions ordered by publication time.

    ``level``: the hierarchy depth regions are summarised at (0 = the outermost level).
    """
    if not versions:
        raise ValueError("a feed needs at least one version")
    cands: list[str] = []
    for v in versions:
        cands += [c for c in v.matrix.candidates if c not in cands]
    fields = [*COUNTS, *cands]
    k = len(COUNTS)
    units = np.unique(np.concatenate([np.asarray(v.matrix.unit_ids, dtype=object) for v in versions]))
    g = len(units)
    last = np.full((g, len(fields)), MISSING, dtype=np.int64)
    known = np.zeros(g, dtype=bool)
    present_before = np.zeros(g, dtype=bool)
    first_version = np.full(g, -1)
    region = np.empty(g, dtype=object)
    size = np.zeros(g, dtype=np.int64)
    count_size = np.zeros(g, dtype=np.int64)
    decreased = np.zeros(g, dtype=bool)
    history: dict[int, list[tuple[int, np.ndarray]]] = {}
    gone: dict[int, dict[str, Any]] = {}
    disappeared: list[dict[str, Any]] = []
    appeared: list[dict[str, Any]] = []
    timeline = []
    times = [v.as_of for v in versions]
    for vi, v in enumerate(versions):
        m = v.matrix
        idx = np.searchsorted(units, np.asarray(m.unit_ids, dtype=object))
        vals = _values(m, fields)
        present = np.zeros(g, dtype=bool)
        present[idx] = True
        depth = min(level, len(m.path) - 1)
        region[idx] = np.asarray(m.path[depth], dtype=object) if len(m.path) else m.unit_ids
        old = last[idx]
        seen = known[idx]
        diff = seen & (old != vals).any(axis=1)
        rows = np.flatnonzero(diff)
        moved = _variation(old[rows, k:], vals[rows, k:])
        size[idx[rows]] += moved
        count_size[idx[rows]] += _variation(old[rows, :k], vals[rows, :k])
        down = ((old[rows] != MISSING) & (vals[rows] != MISSING) & (vals[rows] < old[rows])).any(axis=1)
        decreased[idx[rows]] |= down
        for r in rows.tolist():
            gi = int(idx[r])
            history.setdefault(gi, [(int(first_version[gi]), last[gi].copy())]).append((vi, vals[r].copy()))
        new = idx[~seen]
        first_version[new] = vi
        if vi > 0:
            appeared += [{"unit": str(units[gi]), "region": str(region[gi]), "version": v.number, "as_of": v.as_of}
                         for gi in new.tolist()]
        vanished = np.flatnonzero(present_before & ~present)
        for gi in vanished.tolist():
            gone[gi] = {"unit": str(units[gi]), "region": str(region[gi]),
                        "last_version": versions[vi - 1].number, "last_as_of": times[vi - 1],
                        "gone_version": v.number, "gone_as_of": v.as_of, "returned": None,
                        "votes": {c: int(x) for c, x in zip(cands, last[gi, k:].tolist(), strict=True) if x >= 0}}
            disappeared.append(gone[gi])
        for gi in np.flatnonzero(present & ~present_before & known).tolist():
            if gi in gone:
                gone.pop(gi)["returned"] = {"version": v.number, "as_of": v.as_of}
        last[idx] = vals
        known |= present
        present_before = present
        timeline.append({"version": v.number, "as_of": v.as_of, "sha256": v.sha256, "tables": m.n_units,
                         "tables_changed": len(rows), "votes_moved": int(moved.sum()),
                         "tables_decreased": int(down.sum()), "appeared": int(len(new)) if vi else 0,
                         "disappeared": len(vanished)})
    changed = [TableChanges(str(units[gi]), str(region[gi]), h, int(size[gi]), int(count_size[gi]),
                            bool(decreased[gi])) for gi, h in history.items()]
    changed.sort(key=lambda t: (-t.size, -t.count_size, t.unit))
    meta = [{"version": v.number, "as_of": v.as_of, "sha256": v.sha256, "tables": v.matrix.n_units}
            for v in versions]
    lv = versions[-1].matrix.levels
    return FeedChanges(source=versions[-1].matrix.source, level=lv[min(level, len(lv) - 1)] if lv else None,
                       versions=meta, fields=fields, changed=changed, disappeared=disappeared,
                       appeared_late=appeared, timeline=timeline, tables=g, _times=times)
