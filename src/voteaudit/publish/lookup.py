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

from voteaudit.publish.records import RecordSet
from voteaudit.publish.writer import SiteWriter

WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Accent-free lower case, as the look-up page's ``fold()`` computes it (NFKD, drop marks, lower)."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def words(text: str) -> list[str]:
    return [w for w in WORD.findall(fold(text)) if len(w) > 1 or w.isdigit()]


def unit_ranges(recs: RecordSet) -> dict[str, list[int]]:
    """``id -> [first_leaf, leaves]`` for every table and every ancestor."""
    ranges: dict[str, list[int]] = {}
    last = None
    for i, row in enumerate(recs.rows):
        uid = row[1]
        if uid != last:
            ranges[uid] = [i, 1]
            for anc in recs.paths.get(uid, []):
                r = ranges.get(anc)
                if r is None:
                    ranges[anc] = [i, 1]
                else:
                    r[1] = i + 1 - r[0]
            last = uid
        else:
            ranges[uid][1] += 1
            for anc in recs.paths.get(uid, []):
                ranges[anc][1] = i + 1 - ranges[anc][0]
    return ranges


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


def build(w: SiteWriter, recs: RecordSet, labels: dict[str, str], *, per_block: int = 1024) -> dict[str, int]:
    """Write ``search/`` and ``places/``; return counts for the publish summary."""
    ranges = unit_ranges(recs)
    depth = {uid: len(p) for uid, p in recs.paths.items()}
    places: dict[str, list[str]] = {}     # place id -> child ids
    for uid, anc in recs.paths.items():
        chain = [*anc, uid]
        for k, a in enumerate(anc):
            depth.setdefault(a, k)
            places.setdefault(a, [])
        for parent, child in zip(chain, chain[1:], strict=False):
            places[parent].append(child)
    terms: list[list[Any]] = []
    for uid, (first, n) in ranges.items():
        label = labels.get(uid) or ""
        level = depth.get(uid, 0)
        terms.append([uid, None, level, label, first, n])
        if uid in places:
            code = uid.rsplit(".", 1)[-1]
            if code != uid:
                terms.append([code, uid, level, label, first, n])
            for word in sorted(set(words(label)) - {code, uid}):
                terms.append([word, uid, level, label, first, n])
    terms.sort(key=lambda e: (e[0], e[1] or e[0]))
    search_blocks = write_blocks(w, "search", terms, per_block)
    place_entries = []
    for pid in sorted(places):
        kids = sorted(set(places[pid]))
        anc = [[a, labels.get(a) or a] for a in _ancestors(pid, depth)]
        place_entries.append([pid, depth[pid], labels.get(pid) or "", anc, *ranges[pid],
                              [[c, labels.get(c) or "", *ranges[c]] for c in kids]])
    place_blocks = write_blocks(w, "places", place_entries, per_block, weight=lambda e: 1 + len(e[6]))
    return {"search_terms": len(terms), "search_blocks": search_blocks, "places": len(place_entries),
            "place_blocks": place_blocks}


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
