"""Aggregation and comparison of sources and announced bulletins, at every level.

Pure functions over :class:`~voteaudit.model.SourceMatrix` arrays. Units are matched by their
normalised ids (hash join in Arrow); candidates by accent/case-insensitive name. Two copies of a
table *agree* when every candidate both report has the same count; the size of a disagreement is
the sum over candidates of |b - a| (votes that would have to move to reconcile them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from voteaudit.model import SourceMatrix
from voteaudit.names import candidate_key


def totals(m: SourceMatrix, rows: np.ndarray | None = None) -> dict[str, int]:
    votes = m.votes if rows is None else m.votes[rows]
    return {c: int(v) for c, v in zip(m.candidates, votes.sum(axis=0), strict=True)}


def shares(counts: dict[str, int]) -> dict[str, float]:
    """Share of the candidate-vote total (valid votes), as a fraction."""
    total = sum(counts.values())
    return {c: (v / total if total else 0.0) for c, v in counts.items()}


def arrow_ids(m: SourceMatrix, depth: int) -> pa.Array:
    """Ids at ``depth`` (1 = outermost; the last level = the units) as Arrow strings, cached on the matrix."""
    if m.arrow_path is None:
        m.arrow_path = [pa.array(p, pa.string()) for p in m.path]
    return m.arrow_path[depth - 1]


def level_codes(m: SourceMatrix, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """(codes per unit, node ids) for hierarchy depth ``depth`` (1 = outermost)."""
    enc = pc.dictionary_encode(arrow_ids(m, depth))
    return enc.indices.to_numpy(), enc.dictionary.to_numpy(zero_copy_only=False)


def group_sum(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Sum rows of ``values`` (n,) or (n, k) by group code: one sparse (groups x units) product."""
    from scipy import sparse

    ones = np.ones(len(codes), dtype=values.dtype)
    grouping = sparse.csr_matrix((ones, (codes, np.arange(len(codes)))), shape=(n_groups, len(codes)))
    out = np.asarray(grouping @ values)
    # integer counts stay integer (exact: ingest bounds a cell at 10^9, so int64 sums cannot wrap);
    # rounding through float64 would lose units above 2^53
    return out.astype(np.int64) if out.dtype.kind in "iu" else np.rint(out).astype(np.int64)


@dataclass
class LevelTotals:
    level: str
    ids: np.ndarray
    units: np.ndarray
    registered: np.ndarray
    votes: np.ndarray           # (groups, k)
    candidates: list[str]

    def rows(self, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        labels = labels or {}
        out = []
        for i, node in enumerate(self.ids):
            counts = {c: int(v) for c, v in zip(self.candidates, self.votes[i], strict=True)}
            out.append({"id": str(node), "name": labels.get(str(node), str(node)), "units": int(self.units[i]),
                        "registered": int(self.registered[i]), "totals": counts, "shares": shares(counts)})
        return out


def level_totals(m: SourceMatrix, depth: int) -> LevelTotals:
    codes, ids = level_codes(m, depth)
    g = len(ids)
    order = np.argsort(ids)
    inv = np.empty_like(order)
    inv[order] = np.arange(g)
    codes = inv[codes]
    reg = np.clip(m.registered, 0, None)
    return LevelTotals(m.levels[depth - 1], ids[order], np.bincount(codes, minlength=g),
                       group_sum(codes, g, reg), group_sum(codes, g, m.votes), list(m.candidates))


def align_units(a: SourceMatrix, b: SourceMatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row indices (ia, ib) of units in both; rows only in a; rows only in b."""
    if a.unit_keys is not None and b.unit_keys is not None and a.key_space and a.key_space == b.key_space:
        size = int(max(a.unit_keys.max(initial=0), b.unit_keys.max(initial=0))) + 1
        where_b = np.full(size, -1, dtype=np.int64)
        where_b[b.unit_keys] = np.arange(b.n_units)
        pos = where_b[a.unit_keys]
        ia = np.flatnonzero(pos >= 0)
        ib = pos[ia]
        in_b = np.zeros(b.n_units, dtype=bool)
        in_b[ib] = True
        return ia, ib, np.flatnonzero(pos < 0), np.flatnonzero(~in_b)
    ids_a, ids_b = arrow_ids(a, len(a.path)), arrow_ids(b, len(b.path))
    pos = pc.index_in(ids_a, value_set=ids_b).to_numpy(zero_copy_only=False)
    pos = np.where(np.isnan(pos.astype(float)), -1, pos).astype(np.int64)
    ia = np.flatnonzero(pos >= 0)
    ib = pos[ia]
    only_a = np.flatnonzero(pos < 0)
    in_b = np.zeros(b.n_units, dtype=bool)
    in_b[ib] = True
    return ia, ib, only_a, np.flatnonzero(~in_b)


def align_candidates(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    keys_b = {candidate_key(c): j for j, c in enumerate(b)}
    return [(i, keys_b[candidate_key(c)]) for i, c in enumerate(a) if candidate_key(c) in keys_b]


def _columns(votes: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """votes[:, cols], without a copy when cols is every column in order."""
    if len(cols) == votes.shape[1] and np.array_equal(cols, np.arange(votes.shape[1])):
        return votes
    return votes.take(cols, axis=1)


@dataclass
class PairComparison:
    a: str
    b: str
    common: int
    only_a: int
    only_b: int
    agree: int
    differ: int
    candidates: list[str]
    totals_a: dict[str, int]          # on common units
    totals_b: dict[str, int]
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    by_region: list[dict[str, Any]] = field(default_factory=list)
    only_a_ids: list[str] = field(default_factory=list)
    only_b_ids: list[str] = field(default_factory=list)
    differ_ids: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        sa, sb = shares(self.totals_a), shares(self.totals_b)
        return {
            "a": self.a, "b": self.b, "common_units": self.common, "only_a": self.only_a, "only_b": self.only_b,
            "agree": self.agree, "differ": self.differ,
            "agreement_rate": self.agree / self.common if self.common else None,
            "common_totals": {"a": self.totals_a, "b": self.totals_b,
                              "difference": {c: self.totals_b[c] - self.totals_a[c] for c in self.candidates},
                              "difference_pp": {c: 100 * (sb[c] - sa[c]) for c in self.candidates}},
            "largest_disagreements": self.disagreements,
            "by_region": self.by_region,
            "only_a_sample": self.only_a_ids, "only_b_sample": self.only_b_ids,
        }


def compare_pair(a: SourceMatrix, b: SourceMatrix, *, top: int = 50, sample: int = 20,
                 labels: dict[str, str] | None = None) -> PairComparison:
    """Table-by-table comparison of two sources on the units and candidates they share."""
    ia, ib, only_a, only_b = align_units(a, b)
    pairs = align_candidates(a.candidates, b.candidates)
    ca = np.array([i for i, _ in pairs], dtype=np.int64)
    cb = np.array([j for _, j in pairs], dtype=np.int64)
    names = [a.candidates[i] for i in ca]
    va = _columns(a.votes.take(ia, axis=0), ca)
    vb = _columns(b.votes.take(ib, axis=0), cb)
    # only the rows that differ are worth arithmetic: everything below works on them
    rows = np.flatnonzero((va != vb).any(axis=1))
    da, db = va[rows], vb[rows]
    diff = db - da
    size = np.abs(diff).sum(axis=1)
    # winner's margin: the two leading candidates of a on the common units
    if len(names) >= 2:
        lead = np.argsort(-va.sum(axis=0))[:2]
        margin_a, margin_b = da[:, lead[0]] - da[:, lead[1]], db[:, lead[0]] - db[:, lead[1]]
    else:  # fewer than two candidates in common: no margin to speak of
        margin_a = margin_b = np.zeros(len(rows), dtype=np.int64)
    ids_differ = a.unit_ids[ia[rows]]
    labels = labels or {}
    disagreements = [{
        "unit": str(ids_differ[r]), "name": labels.get(str(ids_differ[r]), str(ids_differ[r])),
        "size": int(size[r]), "a": dict(zip(names, map(int, da[r]), strict=True)),
        "b": dict(zip(names, map(int, db[r]), strict=True)),
        "difference": {n: int(d) for n, d in zip(names, diff[r], strict=True) if d},
        "margin_a": int(margin_a[r]), "margin_b": int(margin_b[r]),
        "margin_difference": int(margin_b[r] - margin_a[r]),
    } for r in np.lexsort((ids_differ, -size))[:top]]
    by_region = []
    if a.levels and len(a.levels) > 1 and len(ia):
        codes, ids = level_codes(a, 1)
        g = len(ids)
        n_common = np.bincount(codes[ia], minlength=g)
        rc = codes[ia[rows]]
        n_diff = np.bincount(rc, minlength=g)
        sz = np.bincount(rc, weights=size, minlength=g)
        dsum = group_sum(rc, g, diff)
        for k in np.argsort(ids):
            by_region.append({"id": str(ids[k]), "name": labels.get(str(ids[k]), str(ids[k])),
                              "common_units": int(n_common[k]), "differ": int(n_diff[k]),
                              "votes_in_disagreement": int(sz[k]),
                              "difference": {n: int(d) for n, d in zip(names, dsum[k], strict=True)}})
    return PairComparison(
        a=a.source, b=b.source, common=len(ia), only_a=len(only_a), only_b=len(only_b),
        agree=len(ia) - len(rows), differ=len(rows), candidates=names,
        totals_a=dict(zip(names, map(int, va.sum(axis=0)), strict=True)),
        totals_b=dict(zip(names, map(int, vb.sum(axis=0)), strict=True)),
        disagreements=disagreements, by_region=by_region,
        only_a_ids=[str(x) for x in a.unit_ids[only_a[:sample]]],
        only_b_ids=[str(x) for x in b.unit_ids[only_b[:sample]]],
        differ_ids=ids_differ,
    )


def unit_rows(m: SourceMatrix, unit: str | None) -> np.ndarray | None:
    """Rows of the tables inside ``unit`` (an ancestor or table id); None = every table (national)."""
    if unit is None:
        return None
    depth = unit.count(".") + 1
    if depth > len(m.path):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.asarray(m.path[depth - 1]) == unit)


def compare_announced(m: SourceMatrix, bulletin_name: str, announced: dict[str, int],
                      unit: str | None = None) -> dict[str, Any]:
    """A source's totals against one bulletin: votes and percentage points, per candidate.

    ``unit`` is the area the bulletin covers (None = national): the source's tables inside it are
    summed. A bulletin line that names no candidate of the source (e.g. "Other 8 candidates
    (combined)") is compared with the sum of the source's candidates that no other line names.
    """
    rows = unit_rows(m, unit)
    src = totals(m, rows)
    keys = {candidate_key(c): c for c in src}
    matched: dict[str, str] = {}
    unmatched = []
    for name in announced:
        if candidate_key(name) in keys:
            matched[name] = keys[candidate_key(name)]
        else:
            unmatched.append(name)
    rest = [c for c in src if c not in matched.values()]
    src_for: dict[str, int] = {n: src[c] for n, c in matched.items()}
    grouped = {}
    if len(unmatched) == 1 and rest:
        src_for[unmatched[0]] = sum(src[c] for c in rest)
        grouped = {unmatched[0]: rest}
    s_ann, s_src = shares(announced), shares(src)
    s_src_for = {n: (sum(s_src[c] for c in grouped[n]) if n in grouped else s_src[matched[n]])
                 for n in src_for}
    cand_rows = {n: {"announced": announced[n], "source": src_for[n], "difference": announced[n] - src_for[n],
                "announced_share": s_ann[n], "source_share": s_src_for[n],
                "difference_pp": 100 * (s_ann[n] - s_src_for[n])} for n in announced if n in src_for}
    return {"source": m.source, "bulletin": bulletin_name, "unit": unit,
            "units_in_source": m.n_units if rows is None else int(len(rows)), "candidates": cand_rows,
            "grouped": grouped,
            "unmatched": [n for n in unmatched if n not in src_for],
            "announced_total": sum(announced.values()), "source_total": sum(src.values())}
