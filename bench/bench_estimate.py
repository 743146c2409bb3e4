"""Benchmarks for voteaudit.stats estimation.

    python bench/bench_estimate.py              # timings at 10^4..10^6 tables (estimate + bootstrap)
    python bench/bench_estimate.py --coverage   # 1,000 synthetic elections x {random, region-skewed}
                                                # missingness: how often 95 % intervals cover the truth
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "stats"))
from synth import big_election, election, missing_mask  # noqa: E402

from voteaudit.stats import Universe, estimate_shares  # noqa: E402


def timings(sizes: list[int], n_boot: int) -> None:
    for n in sizes:
        e = big_election(n, seed=1)
        m = np.random.default_rng(2).random(n) < 0.8
        u = Universe.from_frame(e.regions, e.registered)
        args = (e.votes[m], e.registered[m], e.regions[m])
        t0 = time.perf_counter()
        estimate_shares(*args, universe=u, n_boot=0)
        t1 = time.perf_counter()
        r = estimate_shares(*args, universe=u, n_boot=n_boot)
        t2 = time.perf_counter()
        c = r.estimates[0]
        print(f"{n:>9,} tables ({int(m.sum()):,} covered): analytic {t1 - t0:6.2f} s, "
              f"analytic + bootstrap (B={n_boot}) {t2 - t1:6.2f} s; c0 {c.share:.5f} "
              f"[{c.ci_low:.5f}, {c.ci_high:.5f}] truth {e.truth[0]:.5f}")


def coverage_rates(reps: int, n_boot: int, n_tables: int) -> None:
    for kind in ("random", "region"):
        ha = hb = tot = 0
        t0 = time.perf_counter()
        for s in range(reps):
            e = election(n_tables, seed=s)
            m = missing_mask(e, kind, seed=s)
            u = Universe.from_frame(e.regions, e.registered)
            r = estimate_shares(e.votes[m], e.registered[m], e.regions[m], universe=u, n_boot=n_boot, seed=s)
            for j, c in enumerate(r.estimates):
                ha += c.analytic[0] <= e.truth[j] <= c.analytic[1]
                hb += c.bootstrap[0] <= e.truth[j] <= c.bootstrap[1]
                tot += 1
        print(f"{kind:>7} missingness, {reps} elections x {tot // reps} candidates: 95 % interval coverage "
              f"analytic {100 * ha / tot:.1f} %, bootstrap {100 * hb / tot:.1f} % "
              f"({time.perf_counter() - t0:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--coverage", action="store_true", help="interval coverage on synthetic elections")
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--tables", type=int, default=2000, help="tables per synthetic election (--coverage)")
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    a = ap.parse_args()
    if a.coverage:
        coverage_rates(a.reps, a.boot, a.tables)
    else:
        timings(a.sizes, a.boot)


if __name__ == "__main__":
    main()
