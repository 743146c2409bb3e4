"""NIST SP 1500-100 (v2) Election Results Common Data Format, JSON -> a Batch.

The reporting units (``GpUnit``) form the hierarchy through ``ComposingGpUnitIds``; the tables
are the finest units that carry vote counts for the contest; levels are named by their
``ReportingUnit.Type`` (state, county, precinct...) and a common root (the country) is dropped.
Votes per candidate are the ``total`` count where given, else the sum of the other count types
(election-day, absentee, ...). ``VotersRegistered`` gives registered voters; ballots cast come from
the election's ``BallotCounts`` (else ``VotersParticipated``); a contest's ``OtherCounts`` give null
(over-votes) and blank (under-votes). Every contest of the report is read in one pass (one batch
per contest). Unit keys are the GpUnit ``@id``s, names their ``Name``. Where ``ComposingGpUnitIds``
do not form a tree (a precinct composes a city and several overlapping districts), no hierarchy is
assumed: the tables are the reporting GpUnits, at one level.
Reference: NIST SP 1500-100 Rev. 2, https://doi.org/10.6028/NIST.SP.1500-100r2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb

from voteaudit.ingest.counts import MAX_COUNT
from voteaudit.ingest.mapping import Mapping
from voteaudit.ingest.readers import RawTable, _register_rows, load_json
from voteaudit.ingest.shape import split
from voteaudit.model import InputError
from voteaudit.store.batch import Batch


def _text(value: Any) -> str | None:
    """First string of an InternationalizedText (or a plain string)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for item in value.get("Text") or []:
            if isinstance(item, dict) and item.get("Content"):
                return str(item["Content"])
    return None


def _count(value: Any, origin: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value != int(value) or value < 0:
        raise InputError(f"must be a whole non-negative number, not {value!r}", file=origin, field=where)
    if value > MAX_COUNT:
        raise InputError(f"count {value!r} too large: above the plausible maximum of {MAX_COUNT:,} per cell",
                         file=origin, field=where)
    return int(value)


def _list(obj: dict, key: str, origin: str, where: str) -> list:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise InputError("must be a list", file=origin, field=f"{where}.{key}")
    return value


def _contests(doc: dict, origin: str) -> list[tuple[dict, dict, str, str, dict]]:
    """Every CandidateContest / BallotMeasureContest: (contest, selection names, where, name, ballots cast)."""
    out = []
    for e, election in enumerate(_list(doc, "Election", origin, "")):
        ew = f"Election[{e}]"
        cands = {c["@id"]: (_text(c.get("BallotName")) or c["@id"])
                 for c in _list(election, "Candidate", origin, ew) if isinstance(c, dict) and "@id" in c}
        cast: dict[str, int] = {}
        for b, bc in enumerate(_list(election, "BallotCounts", origin, ew)):
            if isinstance(bc, dict) and bc.get("BallotsCast") is not None:
                gid = bc.get("GpUnitId")
                cast[gid] = cast.get(gid, 0) + _count(bc["BallotsCast"], origin, f"{ew}.BallotCounts[{b}].BallotsCast")
        for c, con in enumerate(_list(election, "Contest", origin, ew)):
            if isinstance(con, dict) and con.get("@type") in CONTEST_TYPES:
                out.append((con, cands, f"{ew}.Contest[{c}]", str(con.get("Name") or con.get("@id") or f"contest {c}"),
                            cast))
    seen: dict[str, int] = {}
    for _, _, _, name, _ in out:
        seen[name] = seen.get(name, 0) + 1
    return [(con, cands, where, f"{name} ({con.get('@id')})" if seen[name] > 1 else name, cast)
            for con, cands, where, name, cast in out]


CONTEST_TYPES = ("ElectionResults.CandidateContest", "ElectionResults.BallotMeasureContest")
WRITE_INS = "Write-ins"            # OtherCounts.WriteIns: counted, never a candidate
WRITE_IN_SELECTION = "Write-in"    # a CandidateSelection with IsWriteIn and no candidate: votes for write-ins


def read_nist(path: Path, *, sha256: str, store_levels: list[str] | None = None,
              contest: str | None = None) -> list[Batch]:
    """Every contest of the report as one Batch each (``contest``: keep only that one, by Name or @id).

    Linear in the size of the report. ``BallotCounts.BallotsCast`` gives cast (per GpUnit, every contest
    of the election), ``OtherCounts`` gives null (``Overvotes``) and blank (``Undervotes``) per contest;
    ``WriteIns`` are counted as the non-candidate selection "Write-ins".
    """
    origin = str(path)
    try:
        doc = load_json(Path(path).read_text(encoding="utf-8-sig"), origin)
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=origin) from None
    if not isinstance(doc, dict) or doc.get("@type") != "ElectionResults.ElectionReport":
        raise InputError("not a NIST SP 1500-100 ElectionReport (@type ElectionResults.ElectionReport)",
                         file=origin, field="@type")
    units: dict[str, dict] = {}
    for i, gp in enumerate(_list(doc, "GpUnit", origin, "")):
        if not isinstance(gp, dict) or "@id" not in gp:
            raise InputError("GpUnit without @id", file=origin, field=f"GpUnit[{i}]")
        units[gp["@id"]] = gp
    parent: dict[str, str] = {}
    parents: dict[str, int] = {}
    for gid, gp in units.items():
        for child in gp.get("ComposingGpUnitIds") or []:
            if child not in units:
                raise InputError(f"unknown GpUnit {child!r}: not declared (no GpUnit has this @id)", file=origin,
                                 field=f"GpUnit[{gid}].ComposingGpUnitIds")
            parent[child] = gid
            parents[child] = parents.get(child, 0) + 1
    if any(n > 1 for n in parents.values()):
        # overlapping districts (a precinct in a city, a state-house and a congressional district ...):
        # not a tree, so no hierarchy is assumed; the tables are the GpUnits that report counts
        parent = {}
    contests = _contests(doc, origin)
    if not contests:
        raise InputError("no CandidateContest or BallotMeasureContest in the report", file=origin, field="Election")
    if contest is not None:
        picked = [c for c in contests if contest in (c[3], c[0].get("Name"), c[0].get("@id"))]
        if not picked:
            names = ", ".join(repr(c[3]) for c in contests[:12])
            raise InputError(f"no contest named {contest!r} (contests: {names})", file=origin, field="--contest")
        contests = picked

    def unit_of(gid: object, where: str) -> str:
        if gid not in units:
            raise InputError(f"unknown GpUnit {gid!r}: not declared (no GpUnit has this @id)", file=origin, field=where)
        return gid  # type: ignore[return-value]

    # (contest, gpunit) -> selection -> {count type: n}; (contest, gpunit) -> (overvotes, undervotes, write-ins)
    counts: dict[tuple[str, str], dict[str, dict[str, int]]] = {}
    other: dict[tuple[str, str], list[int | None]] = {}
    for con, cands, where, name, _ in contests:
        for s, sel in enumerate(_list(con, "ContestSelection", origin, where)):
            sw = f"{where}.ContestSelection[{s}]"
            ids = sel.get("CandidateIds") or []
            label = (" / ".join(cands.get(i, i) for i in ids) or _text(sel.get("Selection"))
                     or (WRITE_IN_SELECTION if sel.get("IsWriteIn") else None) or sel.get("@id", f"selection {s + 1}"))
            for v, vc in enumerate(_list(sel, "VoteCounts", origin, sw)):
                vw = f"{sw}.VoteCounts[{v}]"
                gid = unit_of(vc.get("GpUnitId"), f"{vw}.GpUnitId")
                kinds = counts.setdefault((name, gid), {}).setdefault(label, {})
                kind = vc.get("Type") or "total"
                kinds[kind] = kinds.get(kind, 0) + _count(vc.get("Count"), origin, f"{vw}.Count")
        for o, oc in enumerate(_list(con, "OtherCounts", origin, where)):
            ow = f"{where}.OtherCounts[{o}]"
            gid = unit_of(oc.get("GpUnitId"), f"{ow}.GpUnitId")
            acc = other.setdefault((name, gid), [None, None, None])
            for k, key in enumerate(("Overvotes", "Undervotes", "WriteIns")):
                if oc.get(key) is not None:
                    acc[k] = (acc[k] or 0) + _count(oc[key], origin, f"{ow}.{key}")
    # tables: per contest, the finest units with counts (no other reported unit of the contest below them)
    by_contest: dict[str, set[str]] = {}
    for name, gid in counts:
        by_contest.setdefault(name, set()).add(gid)
    leaves: dict[str, list[str]] = {}
    for name, reported in by_contest.items():
        above = set()
        for g in reported:
            p = parent.get(g)
            while p is not None and p not in above:
                above.add(p)
                p = parent.get(p)
        leaves[name] = sorted(reported - above)
    if not leaves:
        raise InputError("no contest has vote counts", file=origin, field="Election")

    chains: dict[str, list[str]] = {}

    def chain(g: str) -> list[str]:
        if g not in chains:
            out = [g]
            while out[-1] in parent:
                out.append(parent[out[-1]])
            chains[g] = out[::-1]
        return chains[g]

    all_chains = [chain(g) for ls in leaves.values() for g in ls]
    depths = {len(c) for c in all_chains}
    if len(depths) > 1:
        deep = {name: len(chain(ls[0])) for name, ls in leaves.items()}
        raise InputError("tables sit at different depths of the GpUnit hierarchy "
                         f"({', '.join(f'{n!r}: {d}' for n, d in list(deep.items())[:6])}): ingest contests with "
                         "--contest one depth at a time", file=origin, field="GpUnit")
    drop = 1 if len({c[0] for c in all_chains}) == 1 and depths.pop() > 1 else 0
    sample = [c[drop:] for c in all_chains]
    levels = []
    for k in range(len(sample[0])):
        types = {units[c[k]].get("Type", "") for c in sample}
        levels.append(types.pop() if len(types) == 1 and "" not in types else f"level {k + 1}")
    n = len(levels)
    header = ([f"key{k}" for k in range(n)] + [f"name{k}" for k in range(n)]
              + ["contest", "registered", "cast", "null", "blank", "candidate", "votes"])
    rows = []
    names = {g: _text(gp.get("Name")) or g for g, gp in units.items()}
    write_ins = False
    for _, _, _, name, cast in contests:
        for leaf in leaves.get(name, []):
            gp = units[leaf]
            path_ids = chain(leaf)[drop:]
            reg, voted = gp.get("VotersRegistered"), gp.get("VotersParticipated")
            reg = _count(reg, origin, f"GpUnit[{leaf}].VotersRegistered") if reg is not None else None
            ballots = cast.get(leaf)
            if ballots is None and voted is not None:
                ballots = _count(voted, origin, f"GpUnit[{leaf}].VotersParticipated")
            over, under, wi = other.get((name, leaf), [None, None, None])
            prefix = [*path_ids, *[names[p] for p in path_ids], name, reg, ballots, over, under]
            for label, kinds in counts[(name, leaf)].items():
                rows.append([*prefix, label, kinds["total"] if "total" in kinds else sum(kinds.values())])
            if wi is not None:
                write_ins = True
                rows.append([*prefix, WRITE_INS, wi])
    db = duckdb.connect()
    try:
        _register_rows(db, header, rows, list(range(2, len(rows) + 2)))
        raw = RawTable(header, len(rows), "nist")
        mapping = Mapping(units=header[:n], unit_names=header[n:2 * n], levels=levels, registered="registered",
                          cast="cast", null="null", blank="blank", long=("candidate", "votes"),
                          contest_columns=["contest"], not_candidates=[WRITE_INS] if write_ins else [])
        return split(db, raw, mapping, origin=origin, sha256=sha256, store_levels=store_levels)
    finally:
        db.close()
