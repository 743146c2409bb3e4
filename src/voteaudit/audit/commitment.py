"""Commitments an audit makes before its seed is known: SHA-256 digests of the ballot manifest and of
the reported results it audits.

A risk-limiting audit is only as good as the order of its steps: the ballot manifest (which tables
exist and how many ballots each holds) and the reported results must be fixed and published *before*
the random seed is generated (Lindeman & Stark, "A gentle introduction to risk-limiting audits",
IEEE Security & Privacy 2012, section "the audit steps"), or whoever controls the data could choose it
knowing which tables will be drawn. ``voteaudit audit plan`` prints and stores these digests;
``voteaudit audit sample`` refuses a seed recorded before them.

The digested texts, UTF-8, one JSON array per line (so no table name can break the format), tables in
the store's order (the order the sampler's cumulative sums use)::

    manifest:  ["<table id>", <ballots>]\\n  ...
    results:   ["<candidate 1>", ..., "<candidate k>"]\\n  ["<table id>", <votes 1>, ..., <votes k>]\\n ...

Re-deriving them takes a few lines of any language: ``hashlib.sha256("".join(json.dumps([u, int(b)],
ensure_ascii=False) + "\\n" for u, b in zip(ids, ballots)).encode()).hexdigest()``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

import numpy as np


def _digest(lines: Iterable[list[object]]) -> str:
    h = hashlib.sha256()
    for row in lines:
        h.update((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
    return h.hexdigest()


def manifest_sha256(unit_ids: np.ndarray, ballots: np.ndarray) -> str:
    """SHA-256 of the ballot manifest text (module docstring)."""
    b = np.asarray(ballots, dtype=np.int64).tolist()
    return _digest([str(u), n] for u, n in zip(np.asarray(unit_ids).tolist(), b, strict=True))


def results_sha256(unit_ids: np.ndarray, candidates: list[str], votes: np.ndarray) -> str:
    """SHA-256 of the reported results text (module docstring)."""
    v = np.asarray(votes, dtype=np.int64).tolist()
    rows = ([str(u), *r] for u, r in zip(np.asarray(unit_ids).tolist(), v, strict=True))
    return _digest(_prepend([str(c) for c in candidates], rows))


def _prepend(first: list[object], rest: Iterable[list[object]]) -> Iterable[list[object]]:
    yield first
    yield from rest
