"""Benchmark the forensics battery.

    python bench/bench_forensics.py [--units 1000000]

Prints: simulation time, whole-battery time (national, every test incl. resampling nulls and
source_agreement against the truth), per-test times, and second-digit Benford on the same counts vs
``benford_py`` (PyPI benford-py, module ``benford``) with the speed ratio.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description="forensics battery benchmark")
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--candidates", type=int, default=4)
    args = ap.parse_args()

    from voteaudit.forensics import run_battery
    from voteaudit.forensics.agreement import source_agreement
    from voteaudit.forensics.digits import second_digit_test
    from voteaudit.forensics.inputs import counts
    from voteaudit.forensics.registry import TESTS
    from voteaudit.simulate import simulate

    t = time.perf_counter()
    e = simulate(args.units, candidates=args.candidates, seed=1)
    print(f"simulate {args.units:,} tables x {args.candidates} candidates: {time.perf_counter() - t:.2f} s")

    import os

    t, cpu = time.perf_counter(), time.process_time()
    res = run_battery(e.matrix, other=e.truth)
    total, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"whole battery (national, {len(res)} results): {total:.2f} s wall, {cpu:.2f} s CPU "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")

    c = counts(e.matrix)
    for name, fn in TESTS.items():
        t = time.perf_counter()
        fn(c, alpha=0.05, seed=0, level="national")
        print(f"  {name:28s} {time.perf_counter() - t:6.2f} s")
    t = time.perf_counter()
    source_agreement(e.matrix, e.truth)
    print(f"  {'source_agreement':28s} {time.perf_counter() - t:6.2f} s")

    x = e.matrix.votes[:, 0].astype(np.int64)
    t = time.perf_counter()
    ours = second_digit_test(x)
    t_ours = time.perf_counter() - t
    try:
        import benford as bf
        import pandas as pd
    except ImportError as exc:
        print(f"benford_py comparison skipped: {exc}")
        return
    s = pd.Series(x[x >= 10].astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        theirs = bf.second_digit(s, decimals=0, verbose=False, show_plot=False)
        t_theirs = time.perf_counter() - t
    print(f"second digit on {x.size:,} counts: voteaudit {t_ours:.3f} s, benford_py {t_theirs:.3f} s, "
          f"ratio benford_py/voteaudit = {t_theirs / max(t_ours, 1e-9):.1f}x")
    try:
        found = theirs["Counts"].to_numpy() if "Counts" in theirs else None
        if found is not None:
            print(f"  digit counts agree: {np.array_equal(np.asarray(found).ravel(), ours.details['observed'])}"
                  f" (voteaudit {ours.details['observed']})")
    except Exception as exc:  # report, do not fail the benchmark
        print(f"  could not compare counts: {exc}")


if __name__ == "__main__":
    main()
