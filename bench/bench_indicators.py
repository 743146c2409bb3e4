"""Benchmark the Election Forensics Toolkit table (``voteaudit indicators``).

    python bench/bench_indicators.py [--units 100000] [--regions 80] [--candidates 3] [--replicates 1000]

Prints the time of the whole table (national row + every region; turnout and each candidate; every
indicator with its bootstrap interval) beside the national forensics battery on the same tables (the
anchor), with the load average.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description="EFToolkit indicator table benchmark")
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--regions", type=int, default=80)
    ap.add_argument("--candidates", type=int, default=3)
    ap.add_argument("--replicates", type=int, default=1000)
    args = ap.parse_args()

    from voteaudit.forensics import run_battery
    from voteaudit.forensics.eftoolkit import indicator_table
    from voteaudit.simulate import simulate

    e = simulate(args.units, candidates=args.candidates, regions=args.regions, seed=1)
    m = e.matrix
    level = m.levels[0]
    n_regions = len(set(m.path[0].tolist()))

    t, cpu = time.perf_counter(), time.process_time()
    table = indicator_table(m, level=level, replicates=args.replicates, seed=0)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    load = os.getloadavg()[0]
    print(f"indicators: {args.units:,} tables x {n_regions} regions (+ national) x (turnout + "
          f"{args.candidates} candidates), R = {args.replicates}: {len(table.rows)} rows in {wall:.2f} s wall, "
          f"{cpu:.2f} s CPU (load average {load:.2f} on {os.cpu_count()} cores)")

    t = time.perf_counter()
    national = indicator_table(m, replicates=args.replicates, seed=0)
    print(f"  national row only: {time.perf_counter() - t:.2f} s ({len(national.rows)} rows)")

    t, cpu = time.perf_counter(), time.process_time()
    res = run_battery(m)
    anchor, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"anchor: national forensics battery on the same tables: {anchor:.2f} s wall, {cpu:.2f} s CPU "
          f"({len(res)} results; load average {os.getloadavg()[0]:.2f})")
    print(f"ratio indicators / national battery = {wall / max(anchor, 1e-9):.2f}")


if __name__ == "__main__":
    main()
