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

The records are kept column-wise (:class:`RecordSet` holds one Arrow table in leaf order): the canonical
bytes and the compact shard rows are assembled as Arrow strings from per-column JSON pieces
(:func:`json_strings`, :func:`json_ints`), never as a Python list per record. :func:`canonical_bytes`
(one record, through the JSON encoder) is the reference they must equal and what ``verify`` uses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from voteaudit.store.base import Store

PER_UNIT = ("registered", "cast", "valid", "null", "blank")
_CANON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ESCAPED = r'["\\\x00-\x1f]'   # characters JSON escapes (RE2 syntax): rows holding one go through _CANON


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

    ``table`` has one row per record with columns ``src`` (source index), ``unit``, ``copy``, the five
    counts (null when not reported), ``v0..`` (votes per candidate of ``candidates``, the union of the
    sources' candidates; null where the record's source has no such candidate), ``a0..`` (ancestor ids,
    outermost first, one column per level above the table), ``flags`` (``;``-joined) and ``sheet``, and
    the JSON pieces ``unit_json`` (the unit id as a JSON string), ``canonical`` (the canonical bytes
    preceded by a 0x00 byte: exactly what the Merkle leaf hash covers) and ``row`` (the compact published
    form ``[source_index, unit, copy, registered, cast, valid, null, blank, votes, flags, sheet]``).
    """

    sources: list[SourceHead]
    table: pa.Table
    levels: list[str]
    candidates: list[str]
    depth: int   # number of ancestor columns

    def __len__(self) -> int:
        return self.table.num_rows

    def column(self, name: str) -> pa.Array:
        return self.table.column(name).combine_chunks()


def canonical(sources: list[SourceHead], row: list[Any]) -> list[Any]:
    """The canonical array of a compact row (see the module docstring)."""
    s = sources[row[0]]
    return [s.name, s.kind, row[1], row[2], *row[3:8], s.candidates, row[8], row[9], row[10]]


def canonical_bytes(sources: list[SourceHead], row: list[Any]) -> bytes:
    return _CANON.encode(canonical(sources, row)).encode("utf-8")


def record_key(sources: list[SourceHead], row: list[Any]) -> str:
    """Human-readable record name used in verify reports: ``source unit #copy``."""
    return f"{sources[row[0]].name} {row[1]} #{row[2]}"


def json_text(value: Any) -> str:
    """``value`` as canonical JSON text (the encoder behind :func:`canonical_bytes`)."""
    return _CANON.encode(value)


def json_strings(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each string as a canonical JSON string literal (quoted, minimally escaped); null becomes ``null``."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    out = pc.binary_join_element_wise('"', arr, '"', "")
    bad = np.flatnonzero(pc.fill_null(pc.match_substring_regex(arr, _ESCAPED), False).to_numpy(zero_copy_only=False))
    if len(bad):
        fixed = pa.array([_CANON.encode(s) for s in arr.take(pa.array(bad)).to_pylist()], pa.string())
        mask = np.zeros(len(arr), dtype=bool)
        mask[bad] = True
        out = pc.replace_with_mask(out, pa.array(mask), fixed)
    return pc.fill_null(out, "null")


def json_ints(arr: pa.Array | pa.ChunkedArray | np.ndarray) -> pa.Array:
    """Integers as decimal text; null (or a negative numpy value: "not reported") becomes ``null``."""
    if isinstance(arr, np.ndarray):
        arr = pa.array(arr, pa.int64(), mask=arr < 0)
    return pc.fill_null(pc.cast(arr, pa.string()), "null")


def join(*parts: Any, sep: str = "") -> pa.Array:
    """Element-wise concatenation of string arrays and plain strings (broadcast); large_string if any part is."""
    if any(isinstance(x, pa.Array | pa.ChunkedArray) and pa.types.is_large_string(x.type) for x in parts):
        ls = pa.large_string()
        parts = tuple(pa.scalar(x, ls) if isinstance(x, str) else x.cast(ls) for x in parts)
        return pc.binary_join_element_wise(*parts, pa.scalar(sep, ls))
    return pc.binary_join_element_wise(*parts, sep)


def offsets(arr: pa.Array) -> np.ndarray:
    """Value offsets of an Arrow (large) string array, as numpy."""
    large = pa.types.is_large_string(arr.type)
    return np.frombuffer(arr.buffers()[1], dtype=np.int64 if large else np.int32, count=len(arr) + 1,
                         offset=arr.offset * (8 if large else 4))


def text_bytes(arr: pa.Array) -> memoryview:
    """The concatenated UTF-8 bytes of a string array's values (no copy)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not len(arr):
        return memoryview(b"")
    o = offsets(arr)
    return memoryview(arr.buffers()[2])[int(o[0]):int(o[-1])]


def _lists_json(lists: Sequence[Sequence[str]], n: int) -> tuple[pa.Array, pa.Array]:
    """(JSON arrays, ``;``-joined text) of per-row string lists, touching only the non-empty ones."""
    rows = [i for i, f in enumerate(lists) if f] if len(lists) else []
    as_json = np.full(n, "[]", dtype=object)
    joined = np.full(n, "", dtype=object)
    for i in rows:
        as_json[i] = _CANON.encode(list(lists[i]))
        joined[i] = ";".join(lists[i])
    return pa.array(as_json, pa.string()), pa.array(joined, pa.string())


def _sheet_column(sheets: Mapping[Any, str] | None, source: str, units: list[str] | None, n: int) -> pa.Array:
    if not sheets:
        return pa.nulls(n, pa.string())
    assert units is not None
    return pa.array([sheets.get((source, u)) or sheets.get(u) for u in units], pa.string())


def _piece(si: int, head: SourceHead, unit: pa.Array, copy: pa.Array, counts: list[pa.Array],
           votes: np.ndarray, flags: Sequence[Sequence[str]], sheet: pa.Array, ancestors: list[pa.Array],
           cand_pos: dict[str, int], n_cands: int) -> pa.Table:
    """One source's records (any order) as a table of :class:`RecordSet` columns."""
    n = len(unit)
    unit_json = json_strings(unit)
    flags_json, flags_text = _lists_json(flags, n)
    if votes.shape[1]:
        vote_text = join("[", join(*[json_ints(pa.array(votes[:, j])) for j in range(votes.shape[1])], sep=","),
                         "]")
    else:
        vote_text = pa.array(["[]"] * n, pa.string())
    shared = join(unit_json, json_ints(copy), *[json_ints(c) for c in counts], sep=",")
    tail = join(vote_text, flags_json, json_strings(sheet), sep=",")
    src = json_text([head.name, head.kind])[:-1]
    cands = json_text(head.candidates)
    cols: dict[str, Any] = {"src": pa.array(np.full(n, si, dtype=np.int32)), "unit": unit, "copy": copy}
    for key, c in zip(PER_UNIT, counts, strict=True):
        cols[key] = c
    empty = pa.nulls(n, pa.int64())
    vcols = [empty] * n_cands
    for j, c in enumerate(head.candidates):
        vcols[cand_pos[c]] = pa.array(votes[:, j], pa.int64())
    cols.update({f"v{j}": v for j, v in enumerate(vcols)})
    cols.update({f"a{k}": a for k, a in enumerate(ancestors)})
    cols.update({"flags": flags_text, "sheet": sheet, "unit_json": unit_json,
                 "canonical": join("\x00", src, ",", shared, ",", cands, ",", tail, "]"),
                 "row": join(f"[{si},", shared, ",", tail, "]")})
    return pa.table(cols)


def _pick(arr: pa.Array, sel: pa.Array | None) -> pa.Array:
    return arr if sel is None else arr.take(sel)


def _ints(values: list[int | None]) -> pa.Array:
    return pa.array(values, pa.int64())


def collect(store: Store, *, sheets: Mapping[Any, str] | None = None, contest: str | None = None) -> RecordSet:
    """Every record of every source, in leaf order. ``sheets`` maps unit id or (source, unit id) to an image."""
    levels = store.levels() or []
    matrices = [store.matrix(info.name, contest) for info in store.sources(contest)]
    heads = [SourceHead(m.source, m.kind, list(m.candidates)) for m in matrices]
    candidates = list(dict.fromkeys(c for h in heads for c in h.candidates))
    cand_pos = {c: j for j, c in enumerate(candidates)}
    depth = max((len(m.path) - 1 for m in matrices), default=0)
    pieces: list[pa.Table] = []
    for si, m in enumerate(matrices):
        n = m.n_units
        arrow_path = m.arrow_path if m.arrow_path is not None else [pa.array(p, pa.string()) for p in m.path]
        unit = arrow_path[-1] if arrow_path else pa.array(m.unit_ids, pa.string())
        unit = unit.cast(pa.string()) if not pa.types.is_string(unit.type) else unit
        ancestors = [a.cast(pa.string()) for a in arrow_path[:-1]]
        ancestors += [pa.nulls(n, pa.string())] * (depth - len(ancestors))
        keep = np.ones(n, dtype=bool)
        conflicted = set(m.conflicted)
        ids = m.unit_ids.tolist() if (conflicted or sheets) else None
        if conflicted:
            assert ids is not None
            keep = np.array([u not in conflicted for u in ids], dtype=bool)
        sel = None if keep.all() else pa.array(np.flatnonzero(keep))
        flags: Sequence[Sequence[str]] = m.flags if m.flags else []
        if sel is not None and flags:
            flags = [flags[i] for i in np.flatnonzero(keep).tolist()]
        kept_ids = ids if sel is None or ids is None else [ids[i] for i in np.flatnonzero(keep).tolist()]
        votes = m.votes if sel is None else m.votes[keep]
        counts = [_pick(json_ready(getattr(m, k)), sel) for k in PER_UNIT]
        nk = len(votes)
        pieces.append(_piece(si, heads[si], _pick(unit, sel), pa.array(np.zeros(nk, dtype=np.int32)), counts, votes,
                             flags, _sheet_column(sheets, m.source, kept_ids, nk), [_pick(a, sel) for a in ancestors],
                             cand_pos, len(candidates)))
        if conflicted:
            assert ids is not None
            index = {u: i for i, u in enumerate(ids)}
            pos = {c: j for j, c in enumerate(m.candidates)}
            where, copy_no, per, vrows, fl = [], [], [[] for _ in PER_UNIT], [], []  # type: ignore[var-annotated]
            units = []
            for item in store.conflicts(m.source, contest):
                for copy, rec in enumerate(item["copies"]):
                    v = [0] * len(m.candidates)
                    for cand, k in rec["votes"].items():
                        v[pos[cand]] += int(k)
                    where.append(index[item["unit"]])
                    units.append(item["unit"])
                    copy_no.append(copy)
                    for j, key in enumerate(PER_UNIT):
                        per[j].append(rec[key])
                    vrows.append(v)
                    fl.append(list(rec["flags"] or []))
            at = pa.array(where, pa.int64())
            pieces.append(_piece(
                si, heads[si], pa.array(units, pa.string()), pa.array(copy_no, pa.int32()), [_ints(p) for p in per],
                np.array(vrows, dtype=np.int64).reshape(len(vrows), len(m.candidates)), fl,
                _sheet_column(sheets, m.source, units, len(units)), [a.take(at) for a in ancestors],
                cand_pos, len(candidates)))
    if not pieces:
        return RecordSet(heads, pa.table({}), levels, candidates, depth)
    table = pa.concat_tables(pieces).combine_chunks()
    if len(pieces) > 1 or not _increasing(table.column("unit").combine_chunks()):
        order = pc.sort_indices(table, sort_keys=[("unit", "ascending"), ("src", "ascending"), ("copy", "ascending")])
        table = table.take(order)
    return RecordSet(heads, table, levels, candidates, depth)


def _increasing(arr: pa.Array) -> bool:
    """Strictly increasing (UTF-8 byte order): already in leaf order (one source, as the store sorts it)."""
    n = len(arr)
    return n < 2 or bool(pc.all(pc.greater(arr.slice(1), arr.slice(0, n - 1))).as_py())


def json_ready(values: np.ndarray) -> pa.Array:
    """int64 counts with -1 = not reported -> Arrow int64 with nulls."""
    return pa.array(values, pa.int64(), mask=values < 0)
