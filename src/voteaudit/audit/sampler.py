"""Public, re-derivable random sampling from a seed: SHA-256 in counter mode.

The scheme is Rivest's ``sampler.py`` (R. L. Rivest, "Reference implementation code for pseudo-random
sampler for election audits or other purposes", 2011), the generator US audits have used with a seed
from public dice rolls (and the SHA-256 basis of Arlo's ``server/audit_math/sampler.py`` / Rivest's
consistent sampler): draw number i (1, 2, 3, ...) is the integer

    r_i = int(SHA-256(seed + "," + str(i)) as hex, 16)        (0 <= r_i < 2**256)

Rounds continue the numbering: a second round of n draws after m earlier draws uses i = m+1 .. m+n,
so the union of the rounds is exactly the sample one long draw would have given. Every draw is with
replacement (a table can be drawn more than once; every draw counts).

Two ways to turn r_i into a table, both a cumulative sum plus a binary search:

- ``ballots`` (uniform over ballots; super-simple, ALPHA, BRAVO): ballot number r_i mod B
  (B = total ballots, 0-based) in the ballot manifest listing tables in the given order; the table is
  the one whose cumulative ballot count first exceeds it.
- ``ppeb`` (probability proportional to error bound, Aslam, Popa & Rivest 2008; MACRO): x_i =
  (r_i / 2**256) * U with U = sum of the tables' error bounds u_p (float64, summed in table order);
  the table is the first whose cumulative bound exceeds x_i.

A third party reproduces a sample with these lines (``weights``: ballots per table in manifest
order, or for PPEB MACRO's u_p per table, computed from the published table results as in
:mod:`.macro` — ``voteaudit.audit.weights`` gives them)::

    import hashlib, bisect, itertools
    def draw(seed, weights, size, start=0, ppeb=False):
        cum = list(itertools.accumulate(weights))           # float for PPEB, int for ballots
        out = []
        for i in range(start + 1, start + size + 1):
            r = int(hashlib.sha256(f"{seed},{i}".encode()).hexdigest(), 16)
            x = r / 2**256 * cum[-1] if ppeb else r % cum[-1]
            out.append(bisect.bisect_right(cum, x))          # index of the drawn table
        return out

Only the drawn sample is hashed (one SHA-256 per draw), never every table, so drawing from 1,000,000
tables costs a cumulative sum and ``size`` hashes.

Without replacement (``--without-replacement``; uniform over ballots only): the tickets are read in the
same order and a ballot already drawn is skipped, so the sample is the first ``size`` *distinct* ballot
numbers r_i mod B (rounds: the next distinct ones). Rivest's sampler treats repeats the same way.
"""

from __future__ import annotations

import hashlib

import numpy as np

KINDS = ("ballots", "ppeb")


def ticket(seed: str, i: int) -> int:
    """r_i = SHA-256(f"{seed},{i}") read as a 256-bit integer (draws numbered from 1)."""
    return int(hashlib.sha256(f"{seed},{i}".encode()).hexdigest(), 16)


def tickets(seed: str, size: int, start: int = 0) -> list[int]:
    """r_i for i = start+1 .. start+size."""
    return [ticket(seed, i) for i in range(start + 1, start + size + 1)]


def _manifest(ballots: np.ndarray) -> tuple[np.ndarray, int]:
    """Cumulative ballots per table and their total (refusing negative counts and an empty manifest)."""
    b = np.asarray(ballots, dtype=np.int64)
    if np.any(b < 0):
        raise ValueError("ballot counts must be non-negative")
    cum = np.cumsum(b)
    total = int(cum[-1]) if cum.size else 0
    if total <= 0:
        raise ValueError("no ballots to sample")
    return cum, total


def _locate(cum: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Table index and 1-based position in it of 0-based ballot numbers r."""
    idx = np.searchsorted(cum, r, side="right")
    before = np.where(idx > 0, cum[np.maximum(idx - 1, 0)], 0)
    return idx, r - before + 1


def draw_ballots(seed: str, ballots: np.ndarray, size: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Uniform draws of ballots with replacement: (table index, 1-based ballot number in its table)."""
    cum, total = _manifest(ballots)
    return _locate(cum, np.array([t % total for t in tickets(seed, size, start)], dtype=np.int64))


def draw_ballots_distinct(seed: str, ballots: np.ndarray, size: int, start: int = 0
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Uniform draws without replacement: distinct ballots number start+1 .. start+size in ticket order
    (repeats skipped), as (table index, 1-based ballot number in its table)."""
    cum, total = _manifest(ballots)
    if start + size > total:
        raise ValueError(f"cannot draw {start + size} distinct ballots of {total}: count them all")
    seen: set[int] = set()
    order: list[int] = []
    i = 0
    while len(order) < start + size:
        i += 1
        r = ticket(seed, i) % total
        if r not in seen:
            seen.add(r)
            order.append(r)
    return _locate(cum, np.array(order[start:], dtype=np.int64))


def draw_ppeb(seed: str, weights: np.ndarray, size: int, start: int = 0) -> np.ndarray:
    """Draws with replacement, table p with probability weights[p] / sum(weights) (PPEB)."""
    w = np.asarray(weights, dtype=float)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("PPEB weights must be finite and non-negative")
    cum = np.cumsum(w)
    total = float(cum[-1]) if cum.size else 0.0
    if total <= 0:
        raise ValueError("PPEB weights sum to zero: nothing can be misreported")
    x = np.array([t / 2**256 * total for t in tickets(seed, size, start)])
    return np.minimum(np.searchsorted(cum, x, side="right"), w.size - 1)


def draw(kind: str, seed: str, weights: np.ndarray, size: int, start: int = 0,
         replacement: bool = True) -> np.ndarray:
    """Table indices in draw order (repeats included) for ``kind`` in :data:`KINDS`."""
    if size < 0:
        raise ValueError("sample size must be non-negative")
    if not replacement:
        if kind != "ballots":
            raise ValueError("sampling without replacement is of ballots (uniform), not PPEB")
        return draw_ballots_distinct(seed, weights, size, start)[0]
    if kind == "ballots":
        return draw_ballots(seed, weights, size, start)[0]
    if kind == "ppeb":
        return draw_ppeb(seed, weights, size, start)
    raise ValueError(f"unknown sampling kind {kind!r}; expected one of {KINDS}")
