"""One ranked list of the open problems that could still change the result (issue 16).

Kinds of case, each with the most it could move the margin between the leader and the runner-up
(``margin_effect``, in votes), where the margin of a copy of a table is ``m = v_leader - v_runner_up``:

- ``disagreement`` — sources give a table different numbers: ``max m - min m`` over the copies
  (``audit_discrepancy`` when one copy is a hand count, a source of kind ``audit``);
- ``conflict`` — one source holds differing copies of a table: ``max m - min m`` over its copies;
- ``changed_after_publication`` — a feed's table changed between versions:
  ``max_v |m_v - m_latest|`` over its versions; ``withdrawn_after_publication`` — a table a feed
  published and then dropped from its latest version: ``|m|`` of its last published copy;
- ``disputed_submission`` — observers' submissions for a table disagree (server store):
  ``max m - min m`` over the submissions and the stored copy;
- ``no_sheet`` — tables without a sheet (no copy from a source other than the authority): each
  table's registered voters where known one by one (an official copy gives them), else one case
  for the rest with their registered voters in total. Registered voters are the capacity the
  "what it would take" certificate gives uncovered tables (:mod:`voteaudit.stats.certificate`):
  every voter there could have voted for the runner-up. Unknown size: ``margin_effect`` None.

The leader, runner-up and margin come from the basis: every table once, from the source with the
most tables first, then tables only other sources have. ``could_change_outcome``: the open cases'
effects add up to at least the margin (None when an open case's effect is unknown and the known ones
do not reach it). A case's ``id`` is a hash of its kind, unit and evidence values: stable across runs,
and new when the evidence changes. Pure: arrays and records in, a :class:`CaseList` out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voteaudit.checks.changes import COUNTS, FeedChanges
from voteaudit.checks.compare import align_candidates, align_units
from voteaudit.model import SourceMatrix
from voteaudit.names import candidate_key


@dataclass(slots=True)
class Case:
    kind: str
    unit: str | None
    margin_effect: int | None
    evidence: dict[str, Any]
    id: str = ""
    status: str = "open"
    notes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "unit": self.unit, "margin_effect": self.margin_effect,
                "status": self.status, "notes": self.notes, **self.evidence}


@dataclass
class CaseList:
    contest: str | None
    leader: str | None
    runner_up: str | None
    margin: int | None
    basis: dict[str, Any]
    cases: list[Case]

    @property
    def open_cases(self) -> list[Case]:
        return [c for c in self.cases if c.status == "open"]

    @property
    def open_effect(self) -> int:
        return sum(c.margin_effect or 0 for c in self.open_cases)

    @property
    def could_change_outcome(self) -> bool | None:
        if self.margin is None:
            return None
        if self.open_effect >= self.margin:
            return True
        return None if any(c.margin_effect is None for c in self.open_cases) else False

    def to_dict(self) -> dict[str, Any]:
        return {"contest": self.contest, "leader": self.leader, "runner_up": self.runner_up, "margin": self.margin,
                "basis": self.basis, "open": len(self.open_cases), "open_effect": self.open_effect,
                "unknown_effect": sum(c.margin_effect is None for c in self.open_cases),
                "could_change_outcome": self.could_change_outcome, "cases": [c.to_dict() for c in self.cases]}


def case_id(kind: str, unit: str | None, core: Any) -> str:
    """sha256 of kind, unit and the canonical JSON of the evidence values, first 16 hex digits."""
    text = core if isinstance(core, str) else json.dumps(core, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{kind}\x1f{unit}\x1f{text}".encode()).hexdigest()[:16]



def basis_totals(matrices: Sequence[SourceMatrix]) -> tuple[dict[str, int], dict[str, Any]]:
    """Votes per candidate with every table counted once (largest source first, then tables only others have)."""
    order = sorted(range(len(matrices)), key=lambda i: -matrices[i].n_units)
    names: dict[str, str] = {}
    for i in order:
        for c in matrices[i].candidates:
            names.setdefault(candidate_key(c), c)
    totals = dict.fromkeys(names.values(), 0)
    used: list[tuple[SourceMatrix, np.ndarray]] = []
    parts = []
    for i in order:
        m = matrices[i]
        rows = np.ones(m.n_units, dtype=bool)
        for other, taken in used:
            ia, ib, _, _ = align_units(m, other)
            rows[ia[taken[ib]]] = False
        sums = m.votes[rows].sum(axis=0)
        for c, v in zip(m.candidates, sums.tolist(), strict=True):
            totals[names[candidate_key(c)]] += int(v)
        used.append((m, rows))
        parts.append({"source": m.source, "tables": int(rows.sum())})
    return totals, {"sources": parts, "tables": sum(p["tables"] for p in parts)}


def _margin(votes: dict[str, int], leader: str, runner: str) -> int | None:
    keys = {candidate_key(c): v for c, v in votes.items()}
    a, b = keys.get(candidate_key(leader)), keys.get(candidate_key(runner))
    return None if a is None or b is None else int(a) - int(b)


def _spread(copies: list[dict[str, Any]]) -> int | None:
    ms = [c["margin"] for c in copies]
    return None if any(m is None for m in ms) else max(ms) - min(ms)


def disagreements(matrices: Sequence[SourceMatrix], leader: str, runner: str) -> list[Case]:
    """Tables to which sources give different candidate votes (compared on the candidates both report)."""
    per_unit: dict[str, dict[str, dict[str, Any]]] = {}
    for i, a in enumerate(matrices):
        for b in matrices[i + 1:]:
            ia, ib, _, _ = align_units(a, b)
            cols = align_candidates(a.candidates, b.candidates)
            if not cols or not len(ia):
                continue
            ca, cb = (np.array(x) for x in zip(*cols, strict=True))
            differ = np.flatnonzero((a.votes[ia][:, ca] != b.votes[ib][:, cb]).any(axis=1))
            for m, rows in ((a, ia[differ]), (b, ib[differ])):
                for r in rows.tolist():
                    copy = per_unit.setdefault(str(m.unit_ids[r]), {})
                    if m.source not in copy:
                        votes = {c: int(v) for c, v in zip(m.candidates, m.votes[r].tolist(), strict=True)}
                        copy[m.source] = {"source": m.source, "kind": m.kind, "votes": votes,
                                          "registered": None if m.registered[r] < 0 else int(m.registered[r]),
                                          "margin": _margin(votes, leader, runner)}
    out = []
    for unit, copies in per_unit.items():
        listed = sorted(copies.values(), key=lambda c: c["source"])
        kind = "audit_discrepancy" if any(c["kind"] == "audit" for c in listed) else "disagreement"
        out.append(Case(kind, unit, _spread(listed), {"sources": [c["source"] for c in listed], "copies": listed}))
    return out


def conflicts(conflicting: dict[str, list[dict[str, Any]]], leader: str, runner: str) -> list[Case]:
    """Differing copies of a table within one source (``Store.conflicts`` records, with provenance)."""
    out = []
    for source, units in conflicting.items():
        for u in units:
            copies = [{"votes": c["votes"], "registered": c["registered"],
                       "margin": _margin(c["votes"], leader, runner),
                       "provenance": {k: c["provenance"].get(k) for k in ("file", "sha256", "row")}}
                      for c in u["copies"]]
            out.append(Case("conflict", u["unit"], _spread(copies), {"sources": [source], "copies": copies}))
    return out


def changed_tables(changes: dict[str, FeedChanges], leader: str, runner: str) -> list[Case]:
    """Tables of a feed whose numbers changed after first publication."""
    out = []
    for source, fc in changes.items():
        fields = [candidate_key(f) for f in fc.fields]
        k = len(COUNTS)
        try:
            li = k + fields[k:].index(candidate_key(leader))
            ri = k + fields[k:].index(candidate_key(runner))
        except ValueError:
            li = ri = -1
        for t in fc.changed:
            ms = [int(v[li] - v[ri]) if li >= 0 and v[li] >= 0 and v[ri] >= 0 else None for _, v in t.history]
            effect = None if None in ms else max(abs(m - ms[-1]) for m in ms)
            detail = fc.table_dict(t)
            out.append(Case("changed_after_publication", t.unit, effect, {
                "sources": [source], "decreased": t.decreased, "votes_moved": t.size,
                "margins": [{"version": fc.versions[v]["version"], "as_of": fc.versions[v]["as_of"], "margin": m}
                            for (v, _), m in zip(t.history, ms, strict=True)], "changes": detail["changes"]}))
        for d in fc.disappeared:
            if d["returned"] is None:  # published, then gone from the latest version: its margin is unaccounted for
                m = _margin(d["votes"], leader, runner)
                out.append(Case("withdrawn_after_publication", d["unit"], None if m is None else abs(m), {
                    "sources": [source], "votes": d["votes"], "last_version": d["last_version"],
                    "last_as_of": d["last_as_of"], "gone_version": d["gone_version"], "gone_as_of": d["gone_as_of"]}))
    return out


def disputed(submissions: list[dict[str, Any]], stored: dict[str, dict[str, int]], leader: str,
             runner: str) -> list[Case]:
    """Tables with disputed observer submissions (``unit``, ``submission_id``, ``results``, ``status``)."""
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for s in submissions:
        by_unit.setdefault(s["unit"], []).append(
            {"submission_id": s["submission_id"], "status": s["status"], "votes": s["results"],
             "margin": _margin(s["results"], leader, runner)})
    out = []
    for unit, subs in by_unit.items():
        copies = list(subs)
        if unit in stored:
            copies.append({"stored": True, "votes": stored[unit], "margin": _margin(stored[unit], leader, runner)})
        out.append(Case("disputed_submission", unit, _spread(copies), {"sources": ["submissions"],
                                                                        "copies": copies}))
    return out


def missing_tables(universe: dict[str, int | None], covered_tables: int, covered_registered: int,
                   covered_unknown: int, known: dict[str, int | None], unreported: list[str]) -> list[Case]:
    """Tables without a sheet: ``known`` (unit -> registered, one by one) and the rest of the universe in total.

    ``universe``: the contest's ``tables`` and ``registered`` (either may be None); ``covered_*``: the
    tables with a sheet, the registered voters of those that state them, and how many do not (then the
    rest's registered voters are an upper bound: ``registered_is_upper_bound``); ``unreported``: tables a
    source listed as not reporting.
    """
    out = [Case("no_sheet", u, reg, {"registered": reg, "tables": 1}, case_id("no_sheet", u, str(reg)))
           for u, reg in known.items()]
    total, registered = universe.get("tables"), universe.get("registered")
    rest_tables = None if total is None else total - covered_tables - len(known)
    known_reg = [r for r in known.values() if r is not None]
    rest_reg = None
    if registered is not None and len(known_reg) == len(known):
        rest_reg = max(registered - covered_registered - sum(known_reg), 0)
    if (rest_tables or 0) > 0 or (rest_tables is None and (rest_reg or 0) > 0):
        out.append(Case("no_sheet", None, rest_reg, {
            "tables": rest_tables, "registered": rest_reg, "registered_is_upper_bound": covered_unknown > 0,
            "covered_without_registered": covered_unknown, "listed_unreported": sorted(unreported),
            "aggregate": True}))
    elif unreported and total is None:
        out += [Case("no_sheet", u, None, {"tables": 1, "registered": None}) for u in unreported if u not in known]
    return out


def rank(cases: list[Case], closed: dict[str, dict[str, Any]]) -> list[Case]:
    """Give each case its id and status (closed ones keep their notes), largest effect first (unknown last)."""
    for c in cases:
        if not c.id:  # the evidence's values, not the margins (they depend on who leads)
            core = {k: v for k, v in c.evidence.items() if k != "margins"}
            if "copies" in core:
                core["copies"] = [{k: v for k, v in cp.items() if k != "margin"} for cp in core["copies"]]
            c.id = case_id(c.kind, c.unit, core)
        if c.id in closed:
            c.status = "closed"
            c.notes = list(closed[c.id].get("notes", []))
    return sorted(cases, key=lambda c: (c.margin_effect is None, -(c.margin_effect or 0), c.kind, c.unit or ""))


def build_cases(matrices: Sequence[SourceMatrix], *, universe: dict[str, int | None] | None = None,
                conflicting: dict[str, list[dict[str, Any]]] | None = None,
                changes: dict[str, FeedChanges] | None = None, unreported: list[str] | None = None,
                submissions: list[dict[str, Any]] | None = None,
                closed: dict[str, dict[str, Any]] | None = None) -> CaseList:
    """Every open problem of one contest, ranked by how much it could move the leader's margin."""
    contest = matrices[0].contest if matrices else None
    if not matrices:
        return CaseList(contest, None, None, None, {"sources": [], "tables": 0}, [])
    totals, basis = basis_totals(matrices)
    ranked = sorted(totals, key=lambda c: -totals[c])
    if len(ranked) < 2:
        return CaseList(contest, ranked[0] if ranked else None, None, None, basis, [])
    leader, runner = ranked[0], ranked[1]
    basis["totals"] = totals
    cases = disagreements(matrices, leader, runner)
    cases += conflicts(conflicting or {}, leader, runner)
    cases += changed_tables(changes or {}, leader, runner)
    if submissions:
        stored = {}
        want = {s["unit"] for s in submissions}
        for m in matrices:
            for r in np.flatnonzero(np.isin(m.unit_ids, list(want))).tolist():
                stored.setdefault(str(m.unit_ids[r]), dict(zip(m.candidates, m.votes[r].tolist(), strict=True)))
        cases += disputed(submissions, stored, leader, runner)
    cases += _no_sheet(matrices, universe or {}, unreported or [])
    return CaseList(contest, leader, runner, totals[leader] - totals[runner], basis, rank(cases, closed or {}))


def _no_sheet(matrices: Sequence[SourceMatrix], universe: dict[str, int | None], unreported: list[str]) -> list[Case]:
    """Tables without a sheet: known one by one where only the authority has them, the rest in total."""
    sheets = [m for m in matrices if m.kind != "official"]
    official = [m for m in matrices if m.kind == "official"] if sheets else []
    sheets = sheets or list(matrices)
    covered: list[tuple[SourceMatrix, np.ndarray]] = []
    tables, registered, unknown = 0, 0, 0
    for m in sorted(sheets, key=lambda m: -m.n_units):
        rows = np.ones(m.n_units, dtype=bool)
        for other, taken in covered:
            ia, ib, _, _ = align_units(m, other)
            rows[ia[taken[ib]]] = False
        covered.append((m, rows))
        tables += int(rows.sum())
        reg = m.registered[rows]
        registered += int(reg[reg >= 0].sum())
        unknown += int((reg < 0).sum())
    known: dict[str, int | None] = {}
    for m in official:
        rows = np.ones(m.n_units, dtype=bool)
        for other, taken in covered:
            ia, ib, _, _ = align_units(m, other)
            rows[ia[taken[ib]]] = False
        idx = np.flatnonzero(rows)
        for u, reg in zip(m.unit_ids[idx].tolist(), m.registered[idx].tolist(), strict=True):
            known.setdefault(str(u), None if reg < 0 else reg)
    listed = np.asarray(sorted(set(unreported) - set(known)), dtype=object)
    for m in sheets:
        listed = listed[~np.isin(listed, m.unit_ids)] if len(listed) else listed
    unlisted = [str(u) for u in listed]
    return missing_tables(universe, tables, registered, unknown, known, unlisted)
