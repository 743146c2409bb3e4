"""Tests of announced totals: round percentages, arithmetic within a bulletin, and the sequence
of bulletins. Each returns a :class:`voteaudit.result.TestResult` (test ids ``round_percentage``,
``bulletin_arithmetic``, ``bulletin_sequence``).

Round-percentage test. Counts c_1..c_m of a total N (the denominator of the stated percentages)
are "round" at precision d (a fraction: 0.001 for 0.1 %) when each lies within half a vote of a
multiple of the grid spacing g = N·d: |c − j·g| ≤ ½ for some integer j. Model (H0: the counts were
tallied, not derived from chosen percentages): each free count is uniformly distributed over the
integers of a window of ±W grid cells around its observed value, independently; when the counts add
up to N, the last one is fixed by the total. Then

    P(all round) = Π_{k<m} q_k · P(|Σ_{k<m} e_k| within ½ of a multiple of g | all k<m round)

where q_k is the share of round integers in count k's window (≈ 1/g) and e_k = c_k − j_k·g is the
offset of a round count from its grid point (the last count's offset is −Σ e_k). The conditional
factor is computed exactly by convolving the offsets' distributions (integers in units of 1/D,
D = 1/d); for incommensurable g it approaches the Irwin–Hall value P(|U_1+…+U_{m−1}| ≤ ½), U ~ U(−½, ½)
(¾ for three counts). With fewer than m round counts the p-value P(#round ≥ observed) is taken from
the Poisson-binomial law of m independent counts with probabilities q_k (an approximation, noted).
The p-value is the probability of the coincidence under H0, not a probability that the bulletin
was made up (cf. T. Tao, "What are the odds, II", 2024, on the Bayesian reading).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.signal import fftconvolve

from voteaudit.result import TestResult
from voteaudit.stats.bulletin import Bulletin, decimals_of
from voteaudit.stats.message import msg

ROUND_REF = (
    "voteaudit METHODS.md 'Announced totals'; observation on Venezuela 2024 bulletin 1 "
    "(Gelman blog 2024-07-31; Tao, What are the odds II, 2024-08-02)"
)


@dataclass
class RoundProbability:
    """Result of :func:`round_percentage_probability`."""

    p_all: float  # P(all m counts round) under the model
    q: list[float]  # per count: P(round) in its window
    conditional_last: float | None  # P(last round | others round); None if counts don't sum to N
    round_flags: list[bool]
    offsets: list[float]  # c_k − nearest grid point, votes
    grid: float  # g = N·d


def _int_div_ceil(a: int, b: int) -> int:
    return -((-a) // b)


def _round_ints(j: int, N: int, D: int) -> list[int]:
    """Integers c with |D·c − j·N| ≤ D/2, i.e. within half a vote of grid point j·N/D."""
    lo = _int_div_ceil(2 * j * N - D, 2 * D)
    hi = (2 * j * N + D) // (2 * D)
    return list(range(lo, hi + 1))


def _window(c: int, N: int, D: int, W: int) -> tuple[int, int, int, list[tuple[int, int]]]:
    """(j_lo, j_hi, #integers in window, [(round c, E = D·c − j·N)]) for count c."""
    j0 = round(c * D / N)
    j_lo, j_hi = max(j0 - W, 0), min(j0 + W, D)
    lo = _int_div_ceil((2 * j_lo - 1) * N, 2 * D)  # integers with (j_lo-½)g ≤ c < (j_hi+½)g
    hi = _int_div_ceil((2 * j_hi + 1) * N, 2 * D) - 1
    lo, hi = max(lo, 0), min(hi, N)
    opts = [(ci, D * ci - j * N) for j in range(j_lo, j_hi + 1) for ci in _round_ints(j, N, D) if lo <= ci <= hi]
    return j_lo, j_hi, hi - lo + 1, sorted(set(opts))


def precision_as_int(precision: float) -> int:
    """D = 1/d, required to be an integer (decimal precisions: 0.01 -> 100, 0.001 -> 1000)."""
    D = round(1 / precision)
    if D < 1 or abs(1 / precision - D) > 1e-6 * D:
        raise ValueError(f"precision {precision} is not 1/integer")
    return int(D)


def is_round(c: int, N: int, D: int) -> bool:
    """|c − j·N/D| ≤ ½ for some integer j (exact integer arithmetic)."""
    r = (D * c) % N
    return min(r, N - r) * 2 <= D


def round_percentage_probability(
    counts: Sequence[int], precision: float, total: int | None = None, *, window: int = 50
) -> RoundProbability:
    """P(all counts round at ``precision``) under the model of the module docstring.

    ``precision`` is a fraction (0.001 = 0.1 %); ``total`` is the percentages' denominator N
    (default: the sum of the counts); ``window`` = W grid cells each side.
    """
    c = [int(v) for v in counts]
    N = int(total) if total is not None else sum(c)
    D = precision_as_int(precision)
    m = len(c)
    flags = [is_round(v, N, D) for v in c]
    offsets = [v - round(v * D / N) * N / D for v in c]
    qs, hists = [], []
    for v in c:
        _, _, n_int, opts = _window(v, N, D, window)
        qs.append(len({ci for ci, _ in opts}) / n_int if n_int else 0.0)
        hists.append([e for _, e in opts])
    coupled = sum(c) == N and m >= 2
    if not coupled:
        return RoundProbability(float(np.prod(qs)), qs, None, flags, offsets, N / D)
    # distribution of S = Σ_{k<m} E_k (E in [-D/2, D/2]) over round options, each uniform
    half = D // 2 + 1
    dist = np.array([1.0])
    offset = 0
    for es in hists[:-1]:
        if not es:
            return RoundProbability(0.0, qs, 0.0, flags, offsets, N / D)
        h = np.zeros(2 * half + 1)
        np.add.at(h, np.asarray(es) + half, 1.0 / len(es))
        dist = fftconvolve(dist, h) if dist.size * h.size > 4_000_000 else np.convolve(dist, h)
        dist = np.clip(dist, 0, None)
        offset += half
    S = np.arange(dist.size) - offset
    r = np.mod(S, N)
    ok = np.minimum(r, N - r) * 2 <= D
    cond = float(dist[ok].sum() / dist.sum())
    p_all = float(np.prod(qs[:-1]) * cond)
    return RoundProbability(p_all, qs, cond, flags, offsets, N / D)


def _poisson_binomial_tail(q: Sequence[float], r: int) -> float:
    pmf = np.array([1.0])
    for p in q:
        pmf = np.convolve(pmf, [1 - p, p])
    return float(pmf[r:].sum())


def round_percentage_test(
    bulletin: Bulletin, precision: float | None = None, *, alpha: float = 0.05, window: int = 50
) -> TestResult:
    """Are the bulletin's counts suspiciously close to round percentages?

    ``precision`` defaults to the finest decimal of the stated percentages (51.2 -> 0.1 % -> 0.001).
    Denominator: stated valid votes, else the sum of the counts.
    """
    labels = bulletin.labels
    counts = [bulletin.totals[lab] for lab in labels]
    if precision is None:
        if not bulletin.stated_pct:
            raise ValueError("no stated percentages: give the precision")
        dec = max(decimals_of(v) for v in bulletin.stated_pct.values())
        precision = 10.0 ** -(dec + 2)
    N = bulletin.valid_total
    rp = round_percentage_probability(counts, precision, N, window=window)
    n_round = sum(rp.round_flags)
    m = len(counts)
    if n_round == m and rp.conditional_last is not None:
        p = rp.p_all
        caveat = ""
    else:
        p = _poisson_binomial_tail(rp.q, n_round)
        caveat = "p-value from independent counts (Poisson-binomial), an approximation. "
    pct = f"{100 * precision:g} %"
    one_in = (1 / p) if p > 0 else math.inf
    if n_round == m:
        interp = (
            f"All {m} counts lie within half a vote of exact multiples of {pct} of {N:,}. If the counts had "
            f"been tallied rather than derived from percentages, this would happen with probability "
            f"{p:.2g} (about 1 in {one_in:,.0f})."
        )
        message = msg("st_round_all", m=m, precision=precision, total=N, p=p, one_in=one_in)
    else:
        interp = f"{n_round} of {m} counts are round at {pct} of {N:,}; nothing unusual (p = {p:.2g})."
        message = msg("st_round_some", n=n_round, m=m, precision=precision, total=N, p=p)
    return TestResult(
        test="round_percentage",
        target=str(bulletin.name),
        level="national",
        statistic=float(n_round),
        p_value=p,
        flagged=p < alpha,
        effect_size=float(max(abs(o) for o in rp.offsets)),
        n=m,
        alpha=alpha,
        interpretation=interp,
        message=message,
        caveats=caveat + "Probability of the coincidence under the stated model (counts uniform over a window of "
        f"±{window} grid cells, last count fixed by the total), not a probability of fraud; it does not "
        "account for choosing which pattern to test after seeing the data.",
        reference=ROUND_REF,
        details={
            "precision": precision,
            "denominator": N,
            "grid_votes": rp.grid,
            "counts": {lab: {"votes": v, "pct": 100 * v / N, "offset_votes": o, "round": f, "q": q}
                       for lab, v, o, f, q in zip(labels, counts, rp.offsets, rp.round_flags, rp.q, strict=True)},
            "conditional_last": rp.conditional_last,
            "one_in": one_in,
            "model": "free counts uniform over ±W grid cells; last count = total − others",
        },
    )


def _check(name: str, ok: bool | None, computed: Any, stated: Any, note: str = "") -> dict[str, Any]:
    return {"check": name, "ok": ok, "computed": computed, "stated": stated, "note": note}


def _pct_ok(stated: float, value: float) -> bool:
    dec = decimals_of(stated)
    return abs(value - stated) <= 0.5 * 10.0**-dec + 1e-9


def bulletin_arithmetic(bulletin: Bulletin) -> TestResult:
    """Arithmetic consistency inside one bulletin.

    Checks, where the bulletin states the figures: Σ candidates = valid; valid + null (+ blank) = cast;
    cast ≤ registered (counted); each stated percentage = count / valid rounded to its printed
    decimals; stated turnout = cast / registered in counted tables (or / registered); stated null
    share = null / cast; stated progress = registered in counted tables / registered.
    ``statistic`` = number of failed checks; flagged when any fails.
    """
    b = bulletin
    checks: list[dict[str, Any]] = []
    total = sum(b.totals.values())
    if b.valid is not None:
        checks.append(_check("sum of candidates = valid votes", total == b.valid, total, b.valid))
    if b.cast is not None and b.valid is not None and b.null is not None:
        comp = b.valid + b.null + (b.blank or 0)
        checks.append(_check("valid + null (+ blank) = votes cast", comp == b.cast, comp, b.cast))
    reg_base = b.registered_counted or b.registered
    if b.cast is not None and reg_base:
        checks.append(_check("votes cast ≤ registered", b.cast <= reg_base, b.cast, reg_base))
    denom = b.valid_total
    for lab, st in b.stated_pct.items():
        if lab in b.totals and denom:
            comp = 100 * b.totals[lab] / denom
            checks.append(_check(f"stated % of {lab}", _pct_ok(st, comp), comp, st))
    if b.stated_turnout_pct is not None:
        if b.cast is not None and (b.registered_counted or b.registered):
            opts = {k: 100 * b.cast / v for k, v in (("registered in counted tables", b.registered_counted),
                                                      ("registered", b.registered)) if v}
            hit = [k for k, v in opts.items() if _pct_ok(b.stated_turnout_pct, v)]
            checks.append(_check("stated turnout", bool(hit), opts, b.stated_turnout_pct,
                                 f"matches cast / {hit[0]}" if hit else "matches no base"))
        else:
            checks.append(_check("stated turnout", None, None, b.stated_turnout_pct,
                                 "not checkable: votes cast or registered voters not stated"))
    if b.stated_null_pct is not None and b.null is not None and b.cast:
        comp = 100 * b.null / b.cast
        checks.append(_check("stated null %", _pct_ok(b.stated_null_pct, comp), comp, b.stated_null_pct))
    if b.progress_pct is not None and b.registered and b.registered_counted:
        comp = 100 * b.registered_counted / b.registered
        checks.append(_check("stated progress = registered counted / registered",
                             _pct_ok(b.progress_pct, comp), comp, b.progress_pct))
    failed = [c for c in checks if c["ok"] is False]
    done = [c for c in checks if c["ok"] is not None]
    interp = (
        f"{len(failed)} of {len(done)} arithmetic checks fail: " + "; ".join(c["check"] for c in failed)
        if failed
        else f"All {len(done)} arithmetic checks that the stated figures allow pass."
    )
    return TestResult(
        test="bulletin_arithmetic", target=str(b.name), level="national", statistic=float(len(failed)),
        p_value=None, flagged=bool(failed), n=len(done), interpretation=interp,
        message=(msg("st_arith_fail", failed=len(failed), done=len(done), checks="; ".join(c["check"] for c in failed))
                 if failed else msg("st_arith_pass", done=len(done))),
        caveats="Deterministic checks; percentages are compared at the precision they were printed with.",
        reference="voteaudit METHODS.md 'Announced totals'", details={"checks": checks},
    )


def bulletin_sequence(
    previous: Bulletin,
    current: Bulletin,
    *,
    tables_total: int | None = None,
    registered_total: int | None = None,
) -> TestResult:
    """Plausibility between successive bulletins.

    Labels present in both are compared directly; labels in only one of them are pooled into
    "others" on both sides (e.g. "Other 8 candidates (combined)"). Checks: no count decreases;
    the ballots added fit in the registered voters of the tables counted in between, estimated as
    registered_counted difference when both bulletins state it, else (progress difference) ×
    registered (``registered_total``, or the bulletin's own), assuming registered voters are spread
    evenly over tables; the ballots added do not exceed the registered voters of the tables left
    after ``previous``. Reports the implied turnout and shares of the added votes.
    """
    common = [lab for lab in current.totals if lab in previous.totals]
    others_prev = sum(v for lab, v in previous.totals.items() if lab not in common)
    others_cur = sum(v for lab, v in current.totals.items() if lab not in common)
    pairs = {lab: (previous.totals[lab], current.totals[lab]) for lab in common}
    if others_prev or others_cur:
        pairs["others"] = (others_prev, others_cur)
    checks: list[dict[str, Any]] = []
    for lab, (a, b) in pairs.items():
        checks.append(_check(f"{lab} does not decrease", b >= a, b - a, None))
    added_valid = sum(current.totals.values()) - sum(previous.totals.values())
    added_null = (current.null - previous.null) if current.null is not None and previous.null is not None else None
    added_ballots = added_valid + (added_null or 0)
    reg = registered_total or current.registered or previous.registered
    reg_added = None
    basis = ""
    if current.registered_counted and previous.registered_counted:
        reg_added, basis = current.registered_counted - previous.registered_counted, "registered counted"
    elif reg and current.progress_pct is not None and previous.progress_pct is not None:
        p_prev = previous.progress_pct / 100
        p_cur = (current.registered_counted / reg) if current.registered_counted else current.progress_pct / 100
        reg_added = (p_cur - p_prev) * reg
        basis = "progress difference × registered (registered spread evenly over tables)"
    turnout_added = added_ballots / reg_added if reg_added else None
    if turnout_added is not None:
        checks.append(_check("turnout of the votes added ≤ 100 %", turnout_added <= 1.0, turnout_added, None, basis))
    if reg and previous.progress_pct is not None:
        left = (1 - previous.progress_pct / 100) * reg
        checks.append(_check("votes added ≤ registered voters left", added_ballots <= left, added_ballots, left))
    if tables_total and previous.progress_pct is not None:
        tables_left = (1 - previous.progress_pct / 100) * tables_total
    else:
        tables_left = None
    shares = {lab: (b - a) / added_valid if added_valid > 0 else None for lab, (a, b) in pairs.items()}
    failed = [c for c in checks if c["ok"] is False]
    parts = [f"{lab} {100 * s:.1f} %" for lab, s in shares.items() if s is not None]
    interp = (
        f"Between bulletins {previous.name} and {current.name}, {added_valid:,} valid votes were added"
        + (f" (turnout {100 * turnout_added:.1f} % of the registered voters counted in between)"
           if turnout_added is not None else "")
        + (f"; shares of the added votes: {', '.join(parts)}" if parts else "")
        + ("." if not failed else "; failed: " + "; ".join(c["check"] for c in failed) + ".")
    )
    return TestResult(
        test="bulletin_sequence", target=f"{previous.name}->{current.name}", level="national",
        statistic=float(len(failed)), p_value=None, flagged=bool(failed), n=len(checks),
        effect_size=turnout_added, interpretation=interp,
        message=msg("st_sequence", previous=previous.name, current=current.name, added=added_valid,
                    turnout=msg("st_sequence_turnout", turnout=turnout_added) if turnout_added is not None else "",
                    shares=msg("st_sequence_shares", shares=[msg("st_cand_share", candidate=lab, share=s)
                                                             for lab, s in shares.items() if s is not None])
                    if parts else "",
                    failed=msg("st_sequence_failed", checks="; ".join(c["check"] for c in failed)) if failed else
                    msg("st_period")),
        caveats="Progress figures may be on different bases (tables vs registered voters); the registered "
        "voters counted in between are then an estimate.",
        reference="voteaudit METHODS.md 'Announced totals'",
        details={"checks": checks, "added_valid": added_valid, "added_null": added_null,
                 "registered_added": reg_added, "tables_left_after_previous": tables_left,
                 "shares_of_added": shares},
    )


def announced_tests(
    bulletins: Sequence[Bulletin],
    *,
    tables_total: int | None = None,
    registered_total: int | None = None,
    alpha: float = 0.05,
) -> dict[str, list[TestResult]]:
    """All announced-totals tests, per bulletin (in the order given = order of announcement).

    The sequence test is attached to the later bulletin of each successive pair. A round-percentage
    test is run when the bulletin states percentages.
    """
    out: dict[str, list[TestResult]] = {}
    for i, b in enumerate(bulletins):
        res: list[TestResult] = []
        if b.stated_pct:
            res.append(round_percentage_test(b, alpha=alpha))
        res.append(bulletin_arithmetic(b))
        if i > 0:
            res.append(bulletin_sequence(bulletins[i - 1], b, tables_total=tables_total,
                                         registered_total=registered_total))
        out[str(b.name)] = res
    return out


def announced_tests_to_dict(results: dict[str, list[TestResult]]) -> dict[str, list[dict[str, Any]]]:
    """The ``announced_tests`` JSON contract: bulletin -> list of TestResult dicts."""
    return {name: [r.to_dict() for r in rs] for name, rs in results.items()}
