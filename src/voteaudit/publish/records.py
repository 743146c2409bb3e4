"""The published tally records and their canonical bytes (what the manifest hashes and the Merkle tree binds).

A **record** is one source's copy of one table. A source's first copy of every table comes from
``store.matrix(source)`` (bulk arrays, so a million tables need no per-table query); tables for which
the source holds differing copies are replaced by every copy, from ``store.conflicts(source)``.

**Canonical serialisation** of a record (``canonical_bytes``): the UTF-8 encoding of the JSON array

    [source, kind, unit, copy, registered, cast, valid, null, blank, candidates, votes, flags, sheet]

with no whitespace anywhere, where ``source``/``kind``/``unit`` are strings (``unit`` is the normalised
unit id), ``copy`` is the copy number (0 = first copy), the five counts are integers or ``null`` when not
reported, ``candidates`` is the source's list of candidate names and ``votes`` the list of integer
counts aligned with it, ``flags`` the list of validation flags (strings) and ``sheet`` the tally-sheet
image path/URL or ``null``. Strings use RFC 8259 minimal escaping: ``"`` and ``\\`` and U+0000..U+001F
are escaped (``\\b \\f \\n \\r \\t`` short forms, the rest as ``\\u00xx``, lower-case hex), every other
character is written as itself in UTF-8; integers are plain decimal. This is exactly what Python's
``json.dumps(rec, ensure_ascii=False, separators=(",", ":"))`` and JavaScript's ``JSON.stringify(rec)``
produce, so a browser recomputes the same bytes. Arrays, not objects: no key-ordering rules needed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from voteaudit.store.base import Store

PER_UNIT = ("registered", "cast", "valid", "null", "blank")
_CANON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@dataclass
class SourceHead:
    """What every record of a source shares (published once per shard, not once per record)."""

    name: str
    kind: str
    candidates: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "candidates": self.candidates}


@dataclass
class RecordSet:
    """All published records, sorted by (unit id, source order, copy): the Merkle leaf order.

    ``rows`` are the compact published form ``[source_index, unit, copy, registered, cast, valid,
    null, blank, votes, flags, sheet]``; :func:`canonical` expands one to the canonical array.
    """

    sources: list[SourceHead]
    rows: list[list[Any]]
    levels: list[str]
    paths: dict[str, list[str]] = field(default_factory=dict)   # table id -> ancestor ids, outermost first

    def __len__(self) -> int:
        return len(self.rows)


def canonical(sources: list[SourceHead], row: list[Any]) -> list[Any]:
    """The canonical array of a compact row (see the module docstring)."""
    s = sources[row[0]]
    return [s.name, s.kind, row[1], row[2], *row[3:8], s.candidates, row[8], row[9], row[10]]


def canonical_bytes(sources: list[SourceHead], row: list[Any]) -> bytes:
    return _CANON.encode(canonical(sources, row)).encode("utf-8")


def record_key(sources: list[SourceHead], row: list[Any]) -> str:
    """Human-readable record name used in verify reports: ``source unit #copy``."""
    return f"{sources[row[0]].name} {row[1]} #{row[2]}"


def _counts(arr: np.ndarray) -> list[int | None]:
    return [None if v < 0 else v for v in arr.tolist()]


def _sheet(sheets: Mapping[Any, str] | None, source: str, unit: str) -> str | None:
    if not sheets:
        return None
    return sheets.get((source, unit)) or sheets.get(unit)


def collect(store: Store, *, sheets: Mapping[Any, str] | None = None) -> RecordSet:
    """Every record of every source, in leaf order. ``sheets`` maps unit id or (source, unit id) to an image."""
    heads: list[SourceHead] = []
    units: list[str] = []
    src_idx: list[int] = []
    copies: list[int] = []
    rows: list[list[Any]] = []
    levels = store.levels() or []
    paths: dict[str, list[str]] = {}
    for si, info in enumerate(store.sources()):
        m = store.matrix(info.name)
        heads.append(SourceHead(m.source, m.kind, list(m.candidates)))
        ids = m.unit_ids.tolist()
        if len(m.path) > 1:
            anc = [p.tolist() for p in m.path[:-1]]
            for i, uid in enumerate(ids):
                if uid not in paths:
                    paths[uid] = [a[i] for a in anc]
        else:
            for uid in ids:
                paths.setdefault(uid, [])
        conflicted = set(m.conflicted)
        per = [_counts(getattr(m, k)) for k in PER_UNIT]
        votes = m.votes.tolist()
        flags = [list(f or []) for f in m.flags] if m.flags else [[] for _ in ids]
        for i, uid in enumerate(ids):
            if uid in conflicted:
                continue
            rows.append([si, uid, 0, per[0][i], per[1][i], per[2][i], per[3][i], per[4][i], votes[i], flags[i],
                         _sheet(sheets, m.source, uid)])
        units += [r[1] for r in rows[len(units):]]
        if conflicted:
            pos = {c: j for j, c in enumerate(m.candidates)}
            for item in store.conflicts(info.name):
                for copy, rec in enumerate(item["copies"]):
                    v = [0] * len(m.candidates)
                    for cand, n in rec["votes"].items():
                        v[pos[cand]] += int(n)
                    rows.append([si, item["unit"], copy, *[rec[k] for k in PER_UNIT], v, list(rec["flags"] or []),
                                 _sheet(sheets, m.source, item["unit"])])
            units += [r[1] for r in rows[len(units):]]
        src_idx += [si] * (len(rows) - len(src_idx))
    copies = [r[2] for r in rows]
    order = pc.sort_indices(pa.table({"u": pa.array(units, pa.string()), "s": pa.array(src_idx, pa.int32()),
                                      "c": pa.array(copies, pa.int32())}),
                            sort_keys=[("u", "ascending"), ("s", "ascending"), ("c", "ascending")])
    rows = [rows[i] for i in order.to_numpy()]
    return RecordSet(heads, rows, levels, paths)
