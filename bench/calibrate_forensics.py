"""Calibration and power of the forensics battery on simulated elections.

    python bench/calibrate_forensics.py [--units 5000] [--sims 40] [--power-sims 10]

Prints the false-positive rate per test at alpha 0.05 on clean simulations (target 0.02-0.08) and the
power per fraud model and size, then the smallest size each test detects with 80 % power.
"""

from __future__ import annotations

import argparse
import time

from voteaudit.forensics.power import DEFAULT_SIZES, false_positive_rates, power_curve
from voteaudit.forensics.registry import TESTS
from voteaudit.simulate import FRAUD_MODELS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=5000)
    ap.add_argument("--sims", type=int, default=40)
    ap.add_argument("--power-sims", type=int, default=10)
    ap.add_argument("--sizes", type=float, nargs="*", default=list(DEFAULT_SIZES))
    args = ap.parse_args()
    tests = list(TESTS)
    t0 = time.time()
    fpr = false_positive_rates(args.units, sims=args.sims)
    print(f"False-positive rate, {args.sims} clean simulations of {args.units} tables, alpha 0.05:")
    for t in tests:
        ok = "ok" if 0.02 <= fpr[t] <= 0.08 else ("conservative" if fpr[t] < 0.02 else "HIGH")
        print(f"  {t:28s} {fpr[t]:.3f}  {ok}")
    print(f"Power ({args.power_sims} simulations per cell, {args.units} tables):")
    print("  " + " " * 20 + "size " + " ".join(f"{t[:10]:>10s}" for t in tests))
    smallest: dict[str, dict[str, float | None]] = {}
    for model in FRAUD_MODELS:
        curve = power_curve(args.units, model, args.sizes, sims=args.power_sims)
        smallest[model] = {t: next((s for s in sorted(curve) if curve[s][t] >= 0.8), None) for t in tests}
        for s, rates in curve.items():
            print(f"  {model:20s} {s:5.3f} " + " ".join(f"{rates[t]:10.2f}" for t in tests))
    print("Smallest size with >= 80 % power (- = not within sizes):")
    for model, row in smallest.items():
        print(f"  {model:20s} " + " ".join(f"{t[:10]}={'-' if v is None else v}" for t, v in row.items()))
    print(f"elapsed {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
