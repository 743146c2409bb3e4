"""Calibration and power of the forensics battery on simulated elections.

    python bench/calibrate_forensics.py [--units 3000] [--sims 60] [--power-sims 20] [--json OUT]

Prints, as Markdown tables: the false-positive rate per test at alpha 0.05 on ``--sims`` clean
simulations (target 0.02-0.08, with a 95 % Wilson interval: with 60 simulations a rate of 0.05 is
measured to about +/- 0.06, so "ok" means the interval overlaps the target), the power per fraud model
and size on ``--power-sims`` simulations per cell, and the smallest size each test detects with 80 %
power. A test fires on an election when its smallest Holm-adjusted p-value over its targets is below
alpha (:func:`voteaudit.forensics.power.fires`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

from voteaudit.forensics.power import false_positive_rates, power_curve
from voteaudit.forensics.registry import TESTS
from voteaudit.simulate import FRAUD_MODELS

SIZES = (0.01, 0.02, 0.05, 0.1, 0.2)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=3000)
    ap.add_argument("--sims", type=int, default=60)
    ap.add_argument("--power-sims", type=int, default=20)
    ap.add_argument("--sizes", type=float, nargs="*", default=list(SIZES))
    ap.add_argument("--models", nargs="*", default=list(FRAUD_MODELS))
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = ap.parse_args()
    tests = list(TESTS)
    t0 = time.time()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    fpr = false_positive_rates(args.units, sims=args.sims, seed=10_000) if args.sims else {}
    if fpr:
        print(f"\nFalse-positive rate, {args.sims} clean simulations of {args.units} tables, alpha 0.05\n")
        print("| test | FPR | 95 % Wilson | verdict |\n|---|---|---|---|")
        for t in tests:
            lo, hi = wilson(round(fpr[t] * args.sims), args.sims)
            ok = "ok" if 0.02 <= fpr[t] <= 0.08 else ("conservative" if fpr[t] < 0.02 else "HIGH")
            print(f"| {t} | {fpr[t]:.3f} | {lo:.3f}-{hi:.3f} | {ok} |")
    print(f"\nPower, {args.power_sims} simulations per cell, {args.units} tables\n")
    short = [t[:12] for t in tests]
    print("| model | size | " + " | ".join(short) + " |\n|---|---|" + "---|" * len(tests))
    smallest: dict[str, dict[str, float | None]] = {}
    curves = {}
    for model in args.models:
        curve = power_curve(args.units, model, args.sizes, sims=args.power_sims, seed=20_000)
        curves[model] = curve
        smallest[model] = {t: next((s for s in sorted(curve) if curve[s][t] >= 0.8), None) for t in tests}
        for s, rates in curve.items():
            print(f"| {model} | {s:.3f} | " + " | ".join(f"{rates[t]:.2f}" for t in tests) + " |")
    print("\nSmallest size with >= 80 % power (- = not within sizes)\n")
    print("| model | " + " | ".join(short) + " |\n|---|" + "---|" * len(tests))
    for model, row in smallest.items():
        print(f"| {model} | " + " | ".join("-" if v is None else f"{v:g}" for v in row.values()) + " |")
    print(f"\nelapsed {time.time() - t0:.0f} s, load average at end: {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"units": args.units, "sims": args.sims, "power_sims": args.power_sims, "fpr": fpr,
                       "power": {m: {str(s): r for s, r in c.items()} for m, c in curves.items()},
                       "smallest": smallest}, f, indent=1)


if __name__ == "__main__":
    main()
