"""The ingest fuzzer's long profile: many mutated files per format, with cases per second.

    python bench/fuzz_ingest.py [--cases 25000] [--format csv|xlsx|parquet|jsonl ...]

Runs ``tests/fuzz/test_ingest_fuzz.py`` under the ``long`` hypothesis profile (fresh randomness each run;
``--cases`` per format) and prints, per format, the cases run, how many were refused / accepted / taken
through report+publish+verify, the failures, and cases per second next to the CI anchor (2,000 cases in
under 2 minutes: >= 17 cases/s), with the machine's load average. A failure prints hypothesis's
shrunk example.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=25_000, help="cases per format")
    ap.add_argument("--format", action="append", choices=["csv", "xlsx", "parquet", "jsonl"])
    args = ap.parse_args()
    env = dict(os.environ, VOTEAUDIT_FUZZ_PROFILE="long", VOTEAUDIT_FUZZ_EXAMPLES=str(args.cases))
    total_cases = total_time = 0.0
    failures = 0
    print(f"load average before: {os.getloadavg()[0]:.2f}, {os.getloadavg()[1]:.2f}, {os.getloadavg()[2]:.2f}")
    print(f"{'format':8} {'cases':>7} {'refused':>8} {'accepted':>9} {'full':>5} {'failures':>9} {'cases/s':>8}")
    for fmt in args.format or ["csv", "xlsx", "parquet", "jsonl"]:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                               "tests/fuzz/test_ingest_fuzz.py", "-k", f"test_fuzz_{fmt}"],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        m = re.search(r"fuzz \w+: (\{.*\})", proc.stdout)
        counts = ast.literal_eval(m.group(1)) if m else {}
        failed = proc.returncode != 0
        failures += failed
        n = counts.get("cases", 0)
        total_cases += n
        total_time += wall
        print(f"{fmt:8} {n:7,} {counts.get('rejected', 0):8,} {counts.get('accepted', 0):9,} "
              f"{counts.get('full', 0):5,} {int(failed):9} {n / wall:8.1f}")
        if failed:
            print(proc.stdout[-4000:])
    print(f"all      {int(total_cases):7,} cases in {total_time:.0f} s: {total_cases / total_time:.1f} cases/s "
          f"(CI anchor: >= 17/s), {failures} failing formats")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
