"""The sharded look-up index: find a table by code or place without downloading the dataset.

Two static "sorted block" directories (like the leaves of a B-tree, written once):

* ``search/`` — entries ``[term, id, level, label, first_leaf, leaves]`` sorted by ``term``; ``id`` is
  ``null`` when equal to ``term``. Terms are every unit's id, every place's own code (the last id part)
  and the words of place names (accents dropped, lower-case). A browser reads ``search/index`` (the
  first term of each block), binary-searches it and fetches one or two blocks.
* ``places/`` — one entry per place (non-table unit) sorted by id: ``[id, level, label, ancestors,
  first_leaf, leaves, children]`` with ``children`` as ``[id, label, first_leaf, leaves]``.

``first_leaf``/``leaves`` give the unit's records in the Merkle leaf order (contiguous, because leaves
are sorted by unit id and an ancestor's id prefixes its descendants'), hence its shards
``tables/NNNNNN`` = ``leaf // shard_size``.
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from voteaudit.publish.records import RecordSet, join, json_ints, json_text, offsets, text_bytes
from voteaudit.publish.writer import SiteWriter

WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Accent-free lower case, as the look-up page's ``fold()`` computes it (NFKD, drop marks, lower)."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def words(text: str) -> list[str]:
    return [w for w in WORD.findall(fold(text)) if len(w) > 1 or w.isdigit()]


def write_blocks(w: SiteWriter, folder: str, entries: list[list[Any]], per_block: int,
                 weight: Callable[[list[Any]], int] = lambda e: 1) -> int:
    """Sorted ``entries`` (by ``entry[0]``) in blocks of at most ``per_block`` total ``weight`` (at least one
    entry each); returns the number of blocks."""
    first: list[str] = []
    chunk: list[list[Any]] = []
    load = 0

    def flush() -> None:
        first.append(chunk[0][0])
        w.data(f"{folder}/{len(first) - 1:06d}", {"entries": chunk})

    for e in entries:
        cost = weight(e)
        if chunk and load + cost > per_block:
            flush()
            chunk, load = [], 0
        chunk.append(e)
        load += cost
    if chunk:
        flush()
    w.data(f"{folder}/index", {"count": len(entries), "per_block": per_block, "first": first})
    return len(first)


def build(w: SiteWriter, recs: RecordSet, labels: dict[str, str], starts: np.ndarray, label_json: pa.Array, *,
          per_block: int = 1024) -> dict[str, int]:
    """Write ``search/`` and ``places/``; return counts for the publish summary.

    ``starts``: first leaf of each distinct table (leaves are sorted by unit id); ``label_json``: each
    table's label as a JSON string. Tables (the bulk) are handled column-wise; places one by one.
    """
    n = len(recs)
    tables = recs.column("unit").take(pa.array(starts))
    t_first = starts.astype(np.int64)
    t_count = np.diff(np.append(t_first, n))
    anc_cols = [recs.column(f"a{k}") for k in range(recs.depth)]
    t_anc = [a.take(pa.array(starts)) for a in anc_cols]
    t_depth = np.zeros(len(starts), dtype=np.int64)
    for a in t_anc:
        t_depth += pc.is_valid(a).to_numpy(zero_copy_only=False)
    t_json = recs.column("unit_json").take(pa.array(starts))
    first_txt, count_txt = json_ints(pa.array(t_first)), json_ints(pa.array(t_count))
    t_terms = join("[", t_json, ",null,", json_ints(pa.array(t_depth)), ",", label_json, ",", first_txt, ",",
                   count_txt, "]")
    t_child = join("[", t_json, ",", label_json, ",", first_txt, ",", count_txt, "],").cast(pa.large_string())
    # places: every ancestor, with its leaf range (contiguous: an ancestor's id prefixes its descendants')
    place_range: dict[str, list[int]] = {}
    depth: dict[str, int] = {}
    kids: dict[str, dict[str, None]] = {}
    for k, col in enumerate(anc_cols):
        valid = pc.is_valid(col).to_numpy(zero_copy_only=False)
        new = valid.copy()
        if n > 1:
            new[1:] &= pc.fill_null(pc.not_equal(col.slice(1), col.slice(0, n - 1)), True).to_numpy(
                zero_copy_only=False)
        at = np.flatnonzero(new)
        ends = np.append(at[1:], n)
        for pid, lo, hi in zip(col.take(pa.array(at)).to_pylist(), at.tolist(), ends.tolist(), strict=True):
            r = place_range.get(pid)
            if r is None:
                place_range[pid] = [lo, hi - lo]
                depth.setdefault(pid, k)
                kids[pid] = {}
            else:
                r[1] = hi - r[0]
        if k:
            pairs = pc.unique(pc.binary_join_element_wise(anc_cols[k - 1], col, "\x00")).drop_null().to_pylist()
            for pair in pairs:
                parent, child = pair.split("\x00")
                kids[parent][child] = None
    # tables under each place: runs of the deepest ancestor over the (sorted) distinct tables
    t_parent = pc.coalesce(*reversed(t_anc)) if t_anc else pa.nulls(len(starts), pa.string())
    table_kids: dict[str, list[tuple[int, int]]] = {}
    if len(starts):
        nt = len(starts)
        new = np.ones(nt, dtype=bool)
        if nt > 1:
            new[1:] = pc.fill_null(pc.not_equal(t_parent.slice(1), t_parent.slice(0, nt - 1)), True).to_numpy(
                zero_copy_only=False)
        at = np.flatnonzero(new)
        for pid, lo, hi in zip(t_parent.take(pa.array(at)).to_pylist(), at.tolist(), np.append(at[1:], nt).tolist(),
                               strict=True):
            if pid is not None:
                table_kids.setdefault(pid, []).append((lo, hi))
    # search terms
    p_terms: list[str] = []
    p_keys: list[str] = []
    p_text: list[str] = []
    for pid, (first, count) in place_range.items():
        label = labels.get(pid) or ""
        level = depth[pid]
        p_terms.append(pid)
        p_keys.append(pid)
        p_text.append(json_text([pid, None, level, label, first, count]))
        code = pid.rsplit(".", 1)[-1]
        if code != pid:
            p_terms.append(code)
            p_keys.append(pid)
            p_text.append(json_text([code, pid, level, label, first, count]))
        for word in sorted(set(words(label)) - {code, pid}):
            p_terms.append(word)
            p_keys.append(pid)
            p_text.append(json_text([word, pid, level, label, first, count]))
    terms = pa.table({"term": pa.concat_arrays([tables, pa.array(p_terms, pa.string())]),
                      "key": pa.concat_arrays([tables, pa.array(p_keys, pa.string())]),
                      "text": pa.concat_arrays([t_terms, pa.array(p_text, pa.string())])})
    terms = terms.take(pc.sort_indices(terms, sort_keys=[("term", "ascending"), ("key", "ascending")]))
    search_blocks = _write_sorted(w, "search", terms.column("term").combine_chunks(),
                                  join(terms.column("text").combine_chunks(), ",").cast(pa.large_string()), per_block)
    # places
    cdata = text_bytes(t_child)
    coff = offsets(t_child) - offsets(t_child)[0] if len(t_child) else np.zeros(1, dtype=np.int64)
    first_of: list[str] = []
    chunk: list[bytes] = []
    load = 0
    blocks = 0
    for pid in sorted(place_range):
        child_text = [json_text([c, labels.get(c) or "", *place_range[c]]) for c in sorted(kids[pid])]
        segs = [cdata[int(coff[lo]):int(coff[hi]) - 1] for lo, hi in table_kids.get(pid, [])]
        n_kids = len(child_text) + sum(hi - lo for lo, hi in table_kids.get(pid, []))
        anc = [[a, labels.get(a) or a] for a in _ancestors(pid, depth)]
        head = json_text([pid, depth[pid], labels.get(pid) or "", anc, *place_range[pid]])[:-1]
        entry = b"".join([head.encode("utf-8"), b",[", b",".join([t.encode("utf-8") for t in child_text] + segs),
                          b"]]"])
        if chunk and load + 1 + n_kids > per_block:
            w.json_bytes(f"places/{blocks:06d}", b'{"entries":[' + b",".join(chunk) + b"]}")
            blocks += 1
            chunk, load = [], 0
        if not chunk:
            first_of.append(pid)
        chunk.append(entry)
        load += 1 + n_kids
    if chunk:
        w.json_bytes(f"places/{blocks:06d}", b'{"entries":[' + b",".join(chunk) + b"]}")
        blocks += 1
    w.data("places/index", {"count": len(place_range), "per_block": per_block, "first": first_of})
    return {"search_terms": len(terms), "search_blocks": search_blocks, "places": len(place_range),
            "place_blocks": blocks}


def _write_sorted(w: SiteWriter, folder: str, keys: pa.Array, text: pa.Array, per_block: int) -> int:
    """Blocks of ``per_block`` entries from sorted entries given as JSON text each followed by a comma."""
    n = len(keys)
    cuts = list(range(0, n, per_block)) + [n]
    data = memoryview(text.buffers()[2]) if n else memoryview(b"")
    bounds = offsets(text)[np.asarray(cuts, dtype=np.int64)].tolist()
    for b in range(len(cuts) - 1):
        w.json_bytes(f"{folder}/{b:06d}", b"".join([b'{"entries":[', data[bounds[b]:bounds[b + 1] - 1], b"]}"]))
    first = keys.take(pa.array(cuts[:-1], pa.int64())).to_pylist()
    w.data(f"{folder}/index", {"count": n, "per_block": per_block, "first": first})
    return len(cuts) - 1


def _ancestors(uid: str, depth: dict[str, int]) -> list[str]:
    parts = uid.split(".")
    return [".".join(parts[:k + 1]) for k in range(len(parts) - 1) if ".".join(parts[:k + 1]) in depth]


def find(site: Path, folder: str, key: str) -> list[list[Any]]:
    """Entries whose key equals ``key`` (what the look-up page does, for ``verify --record``)."""
    index = json.loads((site / folder / "index.json").read_text(encoding="utf-8"))
    b = bisect.bisect_right(index["first"], key) - 1
    out: list[list[Any]] = []
    while 0 <= b < len(index["first"]) and (not out or index["first"][b] == key):
        block = json.loads((site / folder / f"{b:06d}.json").read_text(encoding="utf-8"))["entries"]
        out += [e for e in block if e[0] == key]
        b += 1
        if b < len(index["first"]) and index["first"][b] != key:
            break
    return out
