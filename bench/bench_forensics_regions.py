"""Per-region forensics against the national battery on the same election.

    nice -n 10 python bench/bench_forensics_regions.py [--units 100000] [--regions 80]

Prints the wall time of the whole battery nationally and per region (``level="region"``, every test,
BH across regions), their ratio against the target (per region within 2.5x the national battery,
issue 11), the per-test split of the per-region run, and the load average.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--regions", type=int, default=80)
    ap.add_argument("--per-test", action="store_true", help="also time each test per region")
    args = ap.parse_args()

    from voteaudit.forensics import TESTS, run_battery
    from voteaudit.simulate import simulate

    e = simulate(args.units, regions=args.regions, seed=1)
    print(f"{args.units:,} tables, {args.regions} regions; load average at start {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores")
    t = time.perf_counter()
    nat = run_battery(e.matrix, other=e.truth)
    t_nat = time.perf_counter() - t
    print(f"national battery: {t_nat:.1f} s ({len(nat)} results)")
    t = time.perf_counter()
    reg = run_battery(e.matrix, level="region", other=e.truth)
    t_reg = time.perf_counter() - t
    ratio = t_reg / t_nat
    print(f"per-region battery: {t_reg:.1f} s ({len(reg)} results)")
    print(f"ratio per-region / national = {ratio:.2f}x (target <= 2.5x: {'ok' if ratio <= 2.5 else 'MISSED'})")
    if args.per_test:
        for name in TESTS:
            t = time.perf_counter()
            run_battery(e.matrix, level="region", tests=[name])
            print(f"  {name:38s} {time.perf_counter() - t:6.1f} s")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
