"""Benchmark and simulated risk figures for voteaudit.audit.

Run: python bench/bench_audit.py [--units 1000000] [--reps 2000]
Prints (1) planning / sampling / measuring times on N tables, (2) the rate at which simulated audits
confirm a wrong reported outcome (must be <= the risk limit) and a right one.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from voteaudit import audit
from voteaudit.audit.simulation import confirm_rate

CANDS = ["A", "B", "C", "D"]


def election(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    b = rng.integers(150, 450, n)
    shares = rng.dirichlet([52, 44, 3, 1], n)
    votes = np.floor(shares * (b * 0.98)[:, None]).astype(np.int64)
    return np.char.add("T", np.arange(n).astype(str)), votes, b


def flipped(n: int = 300, seed: int = 11, lead_true: float = 0.495):
    rng = np.random.default_rng(seed)
    b = rng.integers(250, 350, n)
    blank = rng.binomial(b, 0.02)
    a = rng.binomial(b - blank, lead_true)
    true = np.column_stack([a, b - blank - a, blank])
    rep = true.copy()
    altered = rng.choice(n, n // 10, replace=False)
    gap = true[:, 1].sum() - true[:, 0].sum() + 0.01 * b.sum()
    move = np.minimum(true[altered, 1], int(np.ceil(gap / 2 / len(altered))))
    rep[altered, 0] += move
    rep[altered, 1] -= move
    return rep, true, b


def clean(n: int = 300, seed: int = 13):
    rng = np.random.default_rng(seed)
    b = rng.integers(250, 350, n)
    blank = rng.binomial(b, 0.02)
    a = rng.binomial(b - blank, 0.56 / 0.98)
    return np.column_stack([a, b - blank - a, blank]), b


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=2000)
    args = ap.parse_args()
    ids, votes, b = election(args.units)
    print(f"# {args.units:,} tables, {int(b.sum()):,} ballots, risk limit 5 %")
    for method in audit.METHODS:
        t0 = time.perf_counter()
        plan = audit.plan(method, ids, votes, CANDS, b, risk_limit=0.05)
        t1 = time.perf_counter()
        drawn = audit.sample(method, ids, votes, CANDS, b, seed="8675309 dice 3141592653",
                             size=plan.sample_size)
        t2 = time.perf_counter()
        if method == "bravo":
            aud = {}
            rng = np.random.default_rng(0)
            for u in drawn:
                i = int(u[1:])
                row = aud.setdefault(u, np.zeros(len(CANDS), dtype=np.int64))
                p = votes[i] / b[i]
                c = rng.choice(len(CANDS) + 1, p=np.append(p, 1 - p.sum()))
                if c < len(CANDS):
                    row[c] += 1
        else:
            aud = {u: votes[int(u[1:])] for u in drawn}
        st = audit.measure(method, ids, votes, CANDS, b, risk_limit=0.05, sampled_ids=drawn,
                           audited_votes=aud)
        t3 = time.perf_counter()
        prob = "n/a" if plan.prob_one_round is None else f"{plan.prob_one_round:.3f}"
        print(f"{method:12s} plan {t1 - t0:6.2f} s  sample {t2 - t1:6.3f} s  measure {t3 - t2:6.2f} s  "
              f"(plan+sample {t2 - t0:5.2f} s)  n={plan.sample_size}  P(one round)={prob}  "
              f"risk={st.risk:.4f} {st.verdict}")
    print(f"# simulated audits, risk limit 10 %, {args.reps} replicates each (300 tables)")
    rep, true, bb = flipped()
    good, b2 = clean()
    for method in ("macro", "supersimple", "alpha"):
        t0 = time.perf_counter()
        kw = dict(risk_limit=0.1, reps=args.reps)
        wrong = confirm_rate(method, rep, true, bb, max_draws=len(bb), seed=1, **kw)
        right = confirm_rate(method, good, good, b2, max_draws=len(b2), seed=2, **kw)
        print(f"{method:12s} wrong outcome confirmed {wrong:.4f}   right outcome confirmed {right:.4f}"
              f"   ({time.perf_counter() - t0:.1f} s)")
    rep, true, bb = flipped(n=40, seed=5)
    rep = rep // 3
    true = true // 3
    bb = bb // 3
    t0 = time.perf_counter()
    wrong = confirm_rate("bravo", rep, true, bb, risk_limit=0.1, reps=args.reps, max_draws=int(bb.sum()),
                         seed=3)
    big = np.column_stack([np.full(40, 60), np.full(40, 38), np.full(40, 2)])
    right = confirm_rate("bravo", big, big, np.full(40, 100), risk_limit=0.1, reps=args.reps,
                         max_draws=4000, seed=4)
    print(f"{'bravo':12s} wrong outcome confirmed {wrong:.4f}   right outcome confirmed {right:.4f}"
          f"   ({time.perf_counter() - t0:.1f} s; 40 tables)")


if __name__ == "__main__":
    main()
