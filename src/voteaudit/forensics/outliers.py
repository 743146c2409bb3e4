"""Outlying tables: near-100 % turnout, near-unanimous candidates, duplicated sheets, round counts.

Each kind is a count of tables compared with what a clean election would give (the Election
Forensics Toolkit and observer-mission practice list these; thresholds as there):

* ``turnout >= 95%`` and ``candidate share >= 95%`` (of valid votes): expected count
  lambda = sum_i P(logit y_i >= logit 0.95) under logit y_i ~ N(m_area, s^2 + 1 / (n y (1 - y))), where
  m_area is the mean logit of the unit's parent area, s the pooled robust (MAD) spread of units around
  their area mean and the last term the binomial noise of a table of n voters;
* ``identical vote vectors``: pairs of tables in the same parent area with exactly the same
  (candidate votes, null) vector. Chance coincidences are estimated from near misses: pairs differing by
  exactly +1 vote for candidate A (or B) are about as likely as exact matches when counts spread over
  many values, so with X exact and Y near-miss pairs over m shift directions, X | X + Y ~
  Binomial(X + Y, 1 / (1 + m)) under the null (an exact conditional test of two Poisson rates);
* ``round counts``: tables whose counts >= 10 (at least two of them) all end in 0; expected
  lambda = sum_i 0.1^(m_i), m_i = number of such counts (only candidates whose median count is >= 50,
  as in the last-digit test: smaller counts do not have uniform last digits).

p-values for the threshold and round-count kinds are exact Poisson tails P(X >= observed | lambda) (the
count of tables is a sum of many independent rare Bernoullis); for duplicates the exact binomial tail.
Measured on clean simulations the expectations are right (round counts: 9.7 observed vs 10.0 expected
per 1,000 tables; the others ~0 vs ~0), so these p-values are valid, not conservative.

Targets with nothing to test (documented). On honest data of a few thousand tables the threshold and
duplicate kinds are *inert*: no table is observed and about none is expected. A Poisson test with
lambda ~ 0 and nothing observed has p = 1, and a conditional duplicate test with N = exact + near pairs
cannot reach a p-value below (1 / (1 + m))^N. Counting such targets in a multiple-testing family (Holm
across targets in :func:`voteaudit.forensics.power.fires`, Holm across areas in ``run_battery``) only
dilutes the others (with four targets, the family's false-positive rate fell to ~alpha / 4). Following
Tarone (1990, Biometrics 46: 515-522: leave out of the multiplicity count the tests that cannot
contribute), such a target is reported *not tested* (``p_value`` None, ``details["tested"]`` False):

* a Poisson kind when nothing is observed and P(X >= 1 | lambda) < alpha / 20 (it could have produced a
  false positive with probability under alpha / 20, which bounds the error this exclusion adds);
* duplicates when (1 / (1 + m))^N >= alpha (even all N pairs exact would not be significant).

As soon as a table is observed (e.g. manufactured 100 % tables) the target is tested as usual. Measured
on clean simulations: the test (Holm over its targets) fires on 4.0 % of 400 elections of 1,000 tables and
5.0 % of 400 of 2,000 (before this rule: 0.7 % and 2 %, the round-count target alone at alpha / 4).
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import ndtr

from voteaudit.forensics.digits import LAST_DIGIT_MIN_MEDIAN
from voteaudit.forensics.inputs import Counts, listed
from voteaudit.forensics.materiality import effect
from voteaudit.result import TestResult

REF_OUTLIERS = ("Hicken, A. & Mebane, W. R. (2017) A Guide to Election Forensics (USAID/IIE); "
                "Klimek et al. (2012) PNAS 109(41) for 100 %/100 % tables; Tarone (1990) Biometrics 46 for "
                "untestable targets")
#: A Poisson target with nothing observed is not tested when P(X >= 1) < alpha * INERT_SHARE.
INERT_SHARE = 1 / 20
_LOGIT95 = float(np.log(0.95 / 0.05))
_MASK64 = (1 << 64) - 1


def _logit(y: np.ndarray, n: np.ndarray) -> np.ndarray:
    y = np.clip(y, 0.5 / np.maximum(n, 1), 1 - 0.5 / np.maximum(n, 1))
    return np.log(y / (1 - y))


def expected_above(y: np.ndarray, n: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Per-unit P(y >= 0.95) under the area logit-normal + binomial model."""
    if y.size == 0:
        return np.zeros(0)
    z = _logit(y, n)
    if z.size == 0:
        return np.zeros(0)
    inv = np.zeros(z.size, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    cnt = np.bincount(inv)
    m = (np.bincount(inv, weights=z) / np.maximum(cnt, 1))[inv]
    dev = z - m
    s = 1.4826 * float(np.median(np.abs(dev))) if dev.size else 0.0
    # remove the binomial part already inside the spread
    yc = 1 / (1 + np.exp(-m))
    vb = 1.0 / np.maximum(n * yc * (1 - yc), 1e-9)
    s2 = max(s**2 - float(np.median(vb)), 0.0)
    return ndtr((m - _LOGIT95) / np.sqrt(s2 + vb))


def _hash_rows(rows: np.ndarray, salt: int = 0) -> np.ndarray:
    """64-bit hashes of integer rows (multiply-xorshift; collisions negligible at 1e6 rows)."""
    rng = np.random.default_rng(12345 + salt)
    mult = rng.integers(1, 2**62, size=rows.shape[1], dtype=np.uint64) | np.uint64(1)
    with np.errstate(over="ignore"):
        h = np.zeros(rows.shape[0], dtype=np.uint64)
        for j in range(rows.shape[1]):
            h = (h ^ (rows[:, j].astype(np.uint64) * mult[j])) * np.uint64(0x9E3779B97F4A7C15)
            h ^= h >> np.uint64(29)
    return h


def duplicate_pairs(vectors: np.ndarray, groups: np.ndarray | None, shifts: int = 2
                    ) -> tuple[int, int, int, np.ndarray]:
    """(exact pairs, near-miss pairs, shift directions, mask of units in exact duplicates)."""
    n = vectors.shape[0]
    g = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    rows = np.column_stack([g, vectors])
    h = _hash_rows(rows)
    uniq, inv, cnt = np.unique(h, return_inverse=True, return_counts=True)
    exact = int((cnt * (cnt - 1) // 2).sum())
    in_dup = cnt[inv] > 1
    near = 0
    m = min(shifts, vectors.shape[1])
    for j in range(m):
        shifted = rows.copy()
        shifted[:, 1 + j] += 1
        hs = np.sort(_hash_rows(shifted))  # sorted queries: cache-friendly search
        pos = np.searchsorted(uniq, hs)
        pos = np.minimum(pos, uniq.size - 1)
        hit = uniq[pos] == hs
        near += int(cnt[pos[hit]].sum())
    return exact, near, m, in_dup


def _singular(what: str) -> str:
    verb, _, rest = what.partition(" ")
    return {"report": "reports", "give": "gives", "have": "has"}.get(verb, verb) + " " + rest


def _poisson_result(kind: str, observed: int, lam: float, n: int, mask, ids, alpha, level,
                    what: str) -> TestResult:
    p = float(stats.poisson.sf(observed - 1, lam)) if observed > 0 else 1.0
    tested = observed > 0 or -np.expm1(-lam) >= alpha * INERT_SHARE
    res = TestResult("outliers", kind, level, float(observed), p, False, n=n, alpha=alpha,
                     reference=REF_OUTLIERS, p_value_method="poisson_upper")
    res.details = {"observed": observed, "expected": lam, "tested": bool(tested), "p_poisson": p,
                   "null": "Poisson count of tables under the area logit-normal + binomial model"}
    res.units_flagged, res.units_flagged_total = listed(ids, mask), int(np.count_nonzero(mask))
    if not tested:
        res.not_tested(f"no table {_singular(what)}, "
                       f"and about {lam:.2g} would in a clean election of this shape: nothing to test.")
    elif lam <= 0 and observed == 0:
        res.not_tested("the clean-election expectation is zero (no variance).")
    else:
        lo, hi = stats.poisson.interval(0.95, max(observed, 1e-9)) if observed > 0 else (0.0, 3.69)
        effect(res, (observed - lam) / max(n, 1), ((lo - lam) / max(n, 1), (hi - lam) / max(n, 1)),
               count=observed - lam)
        res.describe = lambda res: (
            f"{observed} tables {what}; about {lam:.1f} would in a clean election of this shape "
            f"(p = {p:.3g}). " + ("More than chance: these tables deserve a look at their sheets."
                                  if res.flagged else "More than chance, but below the materiality threshold."
                                  if res.significant else "Not more than chance.")
        )
        res.interpretation = res.describe(res)
    res.caveats = ("The clean-election expectation is a model (area means plus spread); small or "
                   "special tables (hospitals, military, abroad) legitimately reach extreme values. "
                   "The listed tables are candidates for checking, not proven irregular.")
    return res


def run_outliers(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    out = []
    b, reg, ok_t = c.turnout_counts()
    ok_t &= reg > 0
    t = np.where(ok_t, b / np.maximum(reg, 1), 0.0)
    q = expected_above(t[ok_t], reg[ok_t], None if c.parent is None else c.parent[ok_t])
    out.append(_poisson_result("turnout >= 95%", int((t[ok_t] >= 0.95).sum()), float(q.sum()),
                               int(ok_t.sum()), t[ok_t] >= 0.95, c.unit_ids[ok_t], alpha, level,
                               "report turnout of 95 % or more"))

    ok = c.votes_ok() & (c.valid > 0)
    v, valid = c.votes[ok], c.valid[ok]
    share = v / valid[:, None]
    grp = None if c.parent is None else c.parent[ok]
    lam = 0.0
    for j in range(v.shape[1]):
        lam += float(expected_above(share[:, j], valid, grp).sum())
    hit = (share >= 0.95).any(axis=1)
    out.append(_poisson_result("candidate share >= 95%", int(hit.sum()), lam, int(ok.sum()), hit,
                               c.unit_ids[ok], alpha, level, "give one candidate 95 % or more"))

    vec = np.column_stack([v, np.where(c.null[ok] >= 0, c.null[ok], 0)])
    exact, near, m, dup = duplicate_pairs(vec, grp)
    trials = exact + near
    p = float(stats.binom.sf(exact - 1, trials, 1 / (1 + m))) if exact > 0 else 1.0
    tested = m > 0 and (1 / (1 + m)) ** trials < alpha  # Tarone: the smallest attainable p must be < alpha
    res = TestResult("outliers", "identical vote vectors", level, float(exact), p, False, n=int(ok.sum()),
                     alpha=alpha, reference=REF_OUTLIERS, p_value_method="binomial_upper")
    lam_dup = near / m if m else 0.0
    res.details = {"exact_pairs": exact, "near_miss_pairs": near, "shift_directions": m,
                   "expected_pairs": lam_dup, "tables_in_duplicates": int(dup.sum()),
                   "scope": "same area" if grp is not None else "whole matrix", "trials": trials,
                   "p0": 1 / (1 + m) if m else None, "tested": bool(tested), "p_binomial": p,
                   "null": "exact pairs among exact + near-miss pairs ~ Binomial(N, 1 / (1 + m))"}
    res.units_flagged, res.units_flagged_total = listed(c.unit_ids[ok], dup), int(dup.sum())
    if not tested:
        res.not_tested(
            f"{exact} exact and {near} near-miss pairs of tables in the same area: too few to tell copying "
            "from coincidence (even all of them exact would not be significant): nothing to test."
        )
    else:
        nt = max(int(ok.sum()), 1)
        half = 1.96 * np.sqrt(max(exact, 1))
        effect(res, (exact - lam_dup) / nt, ((exact - lam_dup - half) / nt, (exact - lam_dup + half) / nt),
               count=exact - lam_dup)
        res.describe = lambda res: (
            f"{exact} pairs of tables in the same area report exactly the same votes; near misses suggest "
            f"about {lam_dup:.1f} by coincidence (p = {p:.3g}). "
            + ("More than coincidence: copied or invented sheets are one explanation; check the originals."
               if res.flagged else "More than coincidence, but below the materiality threshold."
               if res.significant else "Not more than coincidence.")
        )
        res.interpretation = res.describe(res)
    res.caveats = ("Coincidences grow with the number of tables and shrink with their size; very small "
                   "tables match by chance. Duplicate uploads of one sheet also look like this.")
    out.append(res)

    usable = [j for j in range(v.shape[1])
              if (v[:, j] >= 10).any() and np.median(v[v[:, j] >= 10, j]) >= LAST_DIGIT_MIN_MEDIAN]
    v = v[:, usable]
    big = v >= 10
    mcount = big.sum(axis=1)
    roundall = (mcount >= 2) & ((~big) | (v % 10 == 0)).all(axis=1)
    lam_r = float(np.where(mcount >= 2, 0.1 ** mcount.astype(float), 0.0).sum())
    out.append(_poisson_result("round counts", int(roundall.sum()), lam_r, int(ok.sum()), roundall,
                               c.unit_ids[ok], alpha, level, "have every count of 10 or more ending in 0"))
    return out
