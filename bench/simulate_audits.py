"""Simulated risk: how often each audit method confirms a wrong reported outcome close to the margin.

Run: python bench/simulate_audits.py [--reps 1000] [--quick]
For every method and scenario, at risk limits 5 % and 10 %, ``reps`` simulated audits of a reported
outcome that is wrong (the true loser is reported the winner; the true margin is a fraction of a
percent the other way) are run with :func:`voteaudit.audit.simulation.confirm_rate` — the test applied
after every draw (Minerva: after every round of Arlo's schedule) up to a full hand count. A
risk-limiting audit confirms such an outcome in at most a fraction alpha of audits: each line prints the
observed rate with its Wilson 95 % interval beside the risk limit, and ``ok`` when the rate is at most
alpha or its interval reaches below alpha (``HIGH`` otherwise).
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
from scipy import stats

from voteaudit.audit.simulation import confirm_rate


def overturn(rep: np.ndarray, ballots: np.ndarray, w: int, lo: int, seed: int) -> np.ndarray:
    """The truth behind a wrong reported outcome, close to the margin and as hard to catch as it gets:
    whole units, in random order, really went to the loser (the winner's votes and blanks became the
    loser's, the largest error a unit can hide: taint 1), just enough of them for the loser to win."""
    rng = np.random.default_rng(seed)
    true = rep.copy()
    for i in rng.permutation(len(rep)):
        if true[:, lo].sum() > true[:, w].sum():
            break
        true[i, lo] = ballots[i]          # every ballot of the unit has a vote for the loser
        true[i, w] = 0
        if ballots[i] < true[i].sum() and true.shape[1] > 2 and rep[i].sum() <= ballots[i]:
            true[i, [c for c in range(true.shape[1]) if c not in (w, lo)]] = 0   # vote-for-1: room for them
    assert true[:, lo].sum() > true[:, w].sum()
    return true


def tables(n: int = 300, seed: int = 11):
    """Tables of ~300 ballots, reported A 56 % / B 42 % / blank 2 %; truth: enough tables were B's."""
    rng = np.random.default_rng(seed)
    b = rng.integers(250, 350, n)
    blank = rng.binomial(b, 0.02)
    a = rng.binomial(b - blank, 0.57)
    rep = np.column_stack([a, b - blank - a, blank])
    return rep, overturn(rep, b, 0, 1, seed), b


def vote_for_two(n: int = 120, seed: int = 9):
    """Vote-for-2 among 4 (two seats), reported 0.35 / 0.30 / 0.20 / 0.15 of the votes; truth: the
    third candidate took the second seat (whole tables of the second's votes were the third's)."""
    rng = np.random.default_rng(seed)
    b = rng.integers(300, 400, n)
    rep = np.column_stack([rng.binomial(b, p) for p in (0.70, 0.60, 0.40, 0.30)])
    rep[:, 3] = np.minimum(rep[:, 3], 2 * b - rep[:, :3].sum(axis=1))
    true = overturn(rep, b, 1, 2, seed)
    true[:, 3] = np.minimum(true[:, 3], 2 * b - true[:, :3].sum(axis=1))   # still two marks a ballot at most
    return rep, true, b


def ballot_level(N: int = 2000, seed: int = 5):
    """CVRs, one ballot per unit, reported A 55 % / B 45 %; truth: enough of A's CVRs were B's ballots
    (two-vote overstatements) for B to win."""
    rng = np.random.default_rng(seed)
    rep = np.zeros((N, 2), dtype=np.int64)
    rep[:, 1] = 1
    rep[rng.choice(N, int(N * 0.55), replace=False)] = [1, 0]
    return rep, overturn(rep, np.ones(N, dtype=np.int64), 0, 1, seed), np.ones(N, dtype=np.int64)


def polling(n: int = 40):
    """Ballot polling, 40 tables of 100: reported A 55 / B 43; truth B wins 49.5 / 48.5 (blank 2)."""
    rep = np.tile([55, 43], (n, 1))
    true = np.tile([49, 49], (n, 1))
    true[: n // 2] = [48, 50]
    return rep, true, np.full(n, 100)


def macro_exact(rep: np.ndarray, true: np.ndarray, b: np.ndarray, alpha: float, **kw: int) -> float:
    """MACRO's exact chance of confirming here: every misreported table has taint 1, so the audit confirms
    iff none is drawn in the n0 = ceil(ln alpha / ln(1 - 1/U)) error-free draws: (1 - w)^n0, w their share
    of U. Kaplan-Markov's bound: w >= 1/U when the outcome is wrong, so this is at most alpha."""
    from voteaudit.audit import build_contest, macro

    c = build_contest(rep, [f"c{i}" for i in range(rep.shape[1])], b, winners=kw.get("winners", 1),
                      votes_allowed=kw.get("votes_allowed", 1))
    u = macro.max_errors(c, rep, b)
    bad = macro.overstatements(c, rep, true) > 0
    n0 = math.ceil(math.log(alpha) / math.log1p(-1 / u.sum()))
    return float((1 - u[bad].sum() / u.sum()) ** n0)


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    return float(ci.low), float(ci.high)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="only the fast scenarios")
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"# simulated wrong-outcome audits, {args.reps} each; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    t_rep, t_true, t_b = tables()
    v_rep, v_true, v_b = vote_for_two()
    c_rep, c_true, c_b = ballot_level()
    p_rep, p_true, p_b = polling()
    cases = [
        ("macro", "tables (300), vote-for-1", t_rep, t_true, t_b, {}),
        ("supersimple", "tables (300), vote-for-1", t_rep, t_true, t_b, {}),
        ("alpha", "tables (300), vote-for-1", t_rep, t_true, t_b, {}),
        ("alpha", "tables (300), without replacement", t_rep, t_true, t_b, {"replacement": False}),
        ("macro", "tables (120), vote-for-2, 2 seats", v_rep, v_true, v_b, {"winners": 2, "votes_allowed": 2}),
        ("supersimple", "tables (120), vote-for-2, 2 seats", v_rep, v_true, v_b, {"winners": 2, "votes_allowed": 2}),
        ("alpha", "ballots vs CVRs (2,000)", c_rep, c_true, c_b, {}),
        ("alpha", "ballots vs CVRs, without replacement", c_rep, c_true, c_b, {"replacement": False}),
        ("supersimple", "ballots vs CVRs (2,000)", c_rep, c_true, c_b, {}),
        ("bravo", "ballot polling (4,000 ballots)", p_rep, p_true, p_b, {}),
        ("minerva", "ballot polling (4,000 ballots)", p_rep, p_true, p_b, {}),
        ("polling", "ALPHA ballot polling (4,000 ballots)", p_rep, p_true, p_b, {}),
        ("polling", "ALPHA polling, without replacement", p_rep, p_true, p_b, {"replacement": False}),
    ]
    if args.quick:
        cases = [c for c in cases if c[0] != "minerva"]
    print(f"{'method':12s} {'scenario':38s} {'alpha':>5s} {'confirmed':>9s} {'rate':>7s}  Wilson 95 %        verdict")
    for method, label, rep, true, b, kw in cases:
        for alpha in (0.05, 0.10):
            t0 = time.perf_counter()
            max_draws = int(b.sum()) if method in ("bravo", "minerva", "polling") else len(b)
            rate = confirm_rate(method, rep, true, b, risk_limit=alpha, reps=args.reps, max_draws=max_draws,
                                seed=int(alpha * 1000) + len(label), **kw)
            k = round(rate * args.reps)
            lo, hi = wilson(k, args.reps)
            verdict = "ok" if rate <= alpha or lo <= alpha else "HIGH"
            exact = f"  exact {macro_exact(rep, true, b, alpha, **kw):.4f}" if method == "macro" else ""
            print(f"{method:12s} {label:38s} {alpha:5.2f} {k:9d} {rate:7.4f}  [{lo:.4f}, {hi:.4f}]  {verdict}"
                  f"  ({time.perf_counter() - t0:.1f} s){exact}", flush=True)


if __name__ == "__main__":
    main()
