"""NIST SP 1500-100 (v2) Election Results Common Data Format, JSON -> a Batch.

The reporting units (``GpUnit``) form the hierarchy through ``ComposingGpUnitIds``; the tables
are the finest units that carry vote counts for the contest; levels are named by their
``ReportingUnit.Type`` (state, county, precinct...) and a common root (the country) is dropped.
Votes per candidate are the ``total`` count where given, else the sum of the other count types
(election-day, absentee, ...). ``VotersRegistered`` / ``VotersParticipated`` give registered and
cast. Unit keys are the GpUnit ``@id``s, names their ``Name``.
Reference: NIST SP 1500-100 Rev. 2, https://doi.org/10.6028/NIST.SP.1500-100r2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from voteaudit.ingest.mapping import Mapping
from voteaudit.ingest.readers import RawTable, _register_rows
from voteaudit.ingest.tables import stage
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
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 0:
        raise InputError(f"must be a whole non-negative number, not {value!r}", file=origin, field=where)
    return int(value)


def _list(obj: dict, key: str, origin: str, where: str) -> list:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise InputError("must be a list", file=origin, field=f"{where}.{key}")
    return value


def read_nist(path: Path, *, sha256: str, store_levels: list[str] | None = None,
              contest: str | None = None) -> Batch:
    origin = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=origin) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=origin, row=exc.lineno) from None
    if not isinstance(doc, dict) or doc.get("@type") != "ElectionResults.ElectionReport":
        raise InputError("not a NIST SP 1500-100 ElectionReport (@type ElectionResults.ElectionReport)",
                         file=origin, field="@type")
    units: dict[str, dict] = {}
    for i, gp in enumerate(_list(doc, "GpUnit", origin, "")):
        if not isinstance(gp, dict) or "@id" not in gp:
            raise InputError("GpUnit without @id", file=origin, field=f"GpUnit[{i}]")
        units[gp["@id"]] = gp
    parent: dict[str, str] = {}
    for gid, gp in units.items():
        for child in gp.get("ComposingGpUnitIds") or []:
            if child not in units:
                raise InputError(f"unknown GpUnit {child!r}", file=origin, field=f"GpUnit[{gid}].ComposingGpUnitIds")
            parent[child] = gid
    contests = []
    for e, election in enumerate(_list(doc, "Election", origin, "")):
        cands = {c["@id"]: (_text(c.get("BallotName")) or c["@id"])
                 for c in _list(election, "Candidate", origin, f"Election[{e}]") if isinstance(c, dict) and "@id" in c}
        for c, con in enumerate(_list(election, "Contest", origin, f"Election[{e}]")):
            if isinstance(con, dict) and con.get("@type") == "ElectionResults.CandidateContest":
                contests.append((con, cands, f"Election[{e}].Contest[{c}]"))
    if not contests:
        raise InputError("no CandidateContest in the report", file=origin, field="Election")
    if contest is not None:
        contests = [c for c in contests if c[0].get("Name") == contest or c[0].get("@id") == contest]
        if not contests:
            raise InputError(f"no contest named {contest!r}", file=origin, field="Contest")
    if len(contests) > 1:
        names = ", ".join(repr(c[0].get("Name")) for c in contests)
        raise InputError(f"several contests ({names}): choose one with --contest", file=origin, field="Contest")
    con, cands, where = contests[0]
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for s, sel in enumerate(_list(con, "ContestSelection", origin, where)):
        sw = f"{where}.ContestSelection[{s}]"
        ids = sel.get("CandidateIds") or []
        name = " / ".join(cands.get(i, i) for i in ids) or sel.get("@id", f"selection {s + 1}")
        for v, vc in enumerate(_list(sel, "VoteCounts", origin, sw)):
            vw = f"{sw}.VoteCounts[{v}]"
            gid = vc.get("GpUnitId")
            if gid not in units:
                raise InputError(f"unknown GpUnit {gid!r}", file=origin, field=f"{vw}.GpUnitId")
            kinds = counts.setdefault((gid, name), {})
            kind = vc.get("Type") or "total"
            kinds[kind] = kinds.get(kind, 0) + _count(vc.get("Count"), origin, f"{vw}.Count")
    reported = {gid for gid, _ in counts}
    leaves = sorted(g for g in reported if not any(parent.get(o) == g for o in reported))
    if not leaves:
        raise InputError("the contest has no vote counts", file=origin, field=where)

    def chain(g: str) -> list[str]:
        out = [g]
        while out[-1] in parent:
            out.append(parent[out[-1]])
        return out[::-1]

    chains = [chain(g) for g in leaves]
    depths = {len(c) for c in chains}
    if len(depths) > 1:
        raise InputError("tables sit at different depths of the GpUnit hierarchy", file=origin, field="GpUnit")
    drop = 1 if len({c[0] for c in chains}) == 1 and depths.pop() > 1 else 0
    chains = [c[drop:] for c in chains]
    levels = []
    for k in range(len(chains[0])):
        types = {units[c[k]].get("Type", "") for c in chains}
        levels.append(types.pop() if len(types) == 1 and "" not in types else f"level {k + 1}")
    n = len(levels)
    header = [f"key{k}" for k in range(n)] + [f"name{k}" for k in range(n)] + ["registered", "cast", "candidate",
                                                                                 "votes"]
    rows = []
    for leaf, path_ids in zip(leaves, chains, strict=True):
        gp = units[leaf]
        reg = gp.get("VotersRegistered")
        cast = gp.get("VotersParticipated")
        reg = _count(reg, origin, f"GpUnit[{leaf}].VotersRegistered") if reg is not None else None
        cast = _count(cast, origin, f"GpUnit[{leaf}].VotersParticipated") if cast is not None else None
        for (gid, name), kinds in counts.items():
            if gid != leaf:
                continue
            votes = kinds["total"] if "total" in kinds else sum(kinds.values())
            rows.append([*path_ids, *[_text(units[p].get("Name")) or p for p in path_ids], reg, cast, name, votes])
    db = duckdb.connect()
    try:
        _register_rows(db, header, rows, list(range(2, len(rows) + 2)))
        raw = RawTable(header, len(rows), "nist")
        mapping = Mapping(units=header[:n], unit_names=header[n:2 * n], levels=levels, registered="registered",
                          cast="cast", long=("candidate", "votes"))
        return stage(db, raw, mapping, origin=origin, sha256=sha256, store_levels=store_levels)
    finally:
        db.close()
