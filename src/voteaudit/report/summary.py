"""The summary document: everything the store holds, reconciled (DESIGN.md's JSON contract).

``sources`` (name, kind, units, coverage, totals, shares, ...), ``announced`` (name, totals,
shares, ...), ``comparison`` (source pairs table by table, sources against bulletins) — the
same document ``compare --json`` prints and ``summary.json`` holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from voteaudit.checks.compare import compare_announced, compare_pair, level_totals, shares, totals
from voteaudit.ingest.tables import FLAGS
from voteaudit.model import SourceMatrix
from voteaudit.store.base import Store


def known_units(matrices: list[SourceMatrix]) -> int:
    """Units seen in any source (the universe when none was announced)."""
    if not matrices:
        return 0
    ids = pa.chunked_array([pa.array(m.unit_ids, pa.string()) for m in matrices])
    return len(pc.unique(ids))


def source_summary(m: SourceMatrix, info: Any, universe: dict[str, int], union: int,
                   labels: dict[str, str]) -> dict[str, Any]:
    t = totals(m)
    reg = np.clip(m.registered, 0, None)
    ballots = m.ballots()
    with_reg = m.registered > 0
    base_units = universe.get("units") or union
    cov = {
        "units": m.n_units, "units_total": base_units,
        "units_basis": "announced" if universe.get("units") else "units seen in any source",
        "registered": int(reg.sum()),
        "registered_total": universe.get("registered"),
        "registered_share": (int(reg.sum()) / universe["registered"]) if universe.get("registered") else None,
    }
    regions = []
    if len(m.levels) > 1:
        regions = level_totals(m, 1).rows(labels)
    return {
        "name": m.source, "kind": m.kind, "units": m.n_units,
        "coverage": m.n_units / base_units if base_units else None,
        "coverage_detail": cov,
        "totals": t, "shares": shares(t), "valid": int(sum(t.values())),
        "null": int(np.clip(m.null, 0, None).sum()) if (m.null >= 0).any() else None,
        "registered": int(reg.sum()) if with_reg.any() else None,
        "turnout": float(ballots[with_reg].sum() / reg[with_reg].sum()) if with_reg.any() else None,
        "records": info.records, "conflicts": info.conflicts, "conflicted_units": m.conflicted[:50],
        "flags": {k: {"count": v, "meaning": FLAGS.get(k, k)} for k, v in info.flags.items()},
        "imports": info.imports, "by_region": regions,
    }


def level_table(store: Store, matrices: list[SourceMatrix], depth: int) -> dict[str, Any]:
    """Every node of one level: each source's tables, registered voters, totals and shares there."""
    per = {m.source: level_totals(m, depth) for m in matrices}
    ids = sorted({str(i) for lt in per.values() for i in lt.ids})
    labels = store.labels(ids)
    rows = {lt_name: {r["id"]: r for r in lt.rows(labels)} for lt_name, lt in per.items()}
    return {"level": matrices[0].levels[depth - 1] if matrices else None,
            "nodes": [{"id": i, "name": labels.get(i, i),
                       "sources": {name: rows[name].get(i) for name in rows if i in rows[name]}} for i in ids]}


def build_summary(store: Store, *, top: int = 50, level: int | None = None,
                  loaded: dict[str, SourceMatrix] | None = None, contest: str | None = None) -> dict[str, Any]:
    """The summary document of one contest; ``level`` (depth, 1 = outermost) adds every node of that level.

    ``loaded``: matrices the caller already read (by source name), so a report reads each source once.
    ``contest``: which contest (None: the store's only one).
    """
    infos = store.sources(contest)
    loaded = loaded or {}
    matrices = [loaded[i.name] if i.name in loaded else store.matrix(i.name, contest) for i in infos]
    universe = store.universe(contest)
    union = known_units(matrices)
    # tables a source listed as not reporting are known tables without results: missing in coverage
    unreported = sorted({u["unit"] for i in infos for u in store.unreported(i.name, contest)})
    if unreported:
        seen = set(pc.unique(pa.chunked_array([pa.array(m.unit_ids, pa.string()) for m in matrices])).to_pylist())
        union += len(set(unreported) - seen)
    levels = store.levels() or []
    pairs = [compare_pair(a, b, top=top) for i, a in enumerate(matrices) for b in matrices[i + 1:]]
    wanted: set[str] = set()
    for m in matrices:
        if len(m.levels) > 1:
            wanted.update(map(str, np.unique(m.path[0])))
    for p in pairs:
        wanted.update(d["unit"] for d in p.disagreements)
    labels = store.labels(sorted(wanted))
    for p in pairs:
        for d in p.disagreements:
            d["name"] = labels.get(d["unit"], d["unit"])
        for r in p.by_region:
            r["name"] = labels.get(r["id"], r["id"])
    bulletins = store.bulletins(contest)
    announced = []
    for b in bulletins:
        t = b.totals
        announced.append({
            "name": b.name, "announced_at": b.announced_at, "unit": b.unit, "totals": t, "shares": shares(t),
            "stated_pct": {r.candidate: r.stated_pct for r in b.results if r.stated_pct is not None},
            "progress_pct": b.progress_pct, "registered": b.registered, "cast": b.cast, "valid": b.valid,
            "null": b.null, "blank": b.blank, "turnout_pct": b.turnout_pct, "units_counted": b.units_counted,
            "file": b.file,
        })
    vs_announced = [compare_announced(m, b.name, b.totals, b.unit) for b in bulletins for m in matrices]
    extra = {"by_level": level_table(store, matrices, level)} if level else {}
    return {
        **extra,
        "election": {"levels": levels, "universe": universe, "units_seen": union,
                     **({"units_unreported": len(unreported)} if unreported else {}),
                     **({"vocabulary": vocab} if (vocab := store.vocabulary()) else {})},
        "sources": [source_summary(m, i, universe, union, labels) for m, i in zip(matrices, infos, strict=True)],
        "announced": announced,
        "comparison": {"pairs": [p.to_dict() for p in pairs], "announced": vs_announced},
    }


def build_contests_summary(store: Store, *, top: int = 50, level: int | None = None) -> dict[str, Any]:
    """Every contest of a multi-contest store: ``{"contests": [doc, ...], "cross_contest": [...]}``.

    Each doc is :func:`build_summary`'s for that contest (plus ``contest``, its name); ``cross_contest``
    lists, per source reporting several contests, the tables whose contests' ballots differ.
    """
    from voteaudit.checks.cross_contest import cross_contest

    names = store.contest_names()
    docs, by_source = [], {}
    for name in names:
        loaded = {i.name: store.matrix(i.name, name) for i in store.sources(name)}
        for src, m in loaded.items():
            by_source.setdefault(src, {})[name] = m
        docs.append({"contest": name, **build_summary(store, top=top, level=level, loaded=loaded, contest=name)})
    cross = []
    for per in by_source.values():
        if len(per) > 1:
            found = cross_contest(per, top=top)
            labels = store.labels([t["unit"] for t in found["tables"]])
            for t in found["tables"]:
                t["name"] = labels.get(t["unit"], t["unit"])
            cross.append(found)
    return {"contests": docs, "cross_contest": cross}
