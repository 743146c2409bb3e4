"""Start-up time of the command line beside its anchor, in one run.

Anchor: ``python -c "import typer, rich, duckdb"`` (what any Typer + DuckDB tool pays). Each command is run
as a whole process ``--repeat`` times, interleaved with the anchor so that load drifts hit both alike;
the medians and their ratio are printed. Target (#14): every ratio <= 2.5.

    .venv/bin/python bench/bench_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

VOTEAUDIT = str(Path(sys.executable).with_name("voteaudit"))
ANCHOR = [sys.executable, "-c", "import typer, rich, duckdb"]
COMMANDS = [["--help"], ["compare", "--help"], ["ingest", "--help"], ["forensics", "--help"],
            ["audit", "status", "--help"], ["users", "add", "--help"]]


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    wall(ANCHOR)
    wall([VOTEAUDIT, "--help"])  # warm the file cache
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'command':<32} {'median s':>9} {'anchor s':>9} {'ratio':>6}  target <= 2.5")
    worst = 0.0
    for args_ in COMMANDS:
        ours, anchor = [], []
        for _ in range(args.repeat):
            anchor.append(wall(ANCHOR))
            ours.append(wall([VOTEAUDIT, *args_]))
        m, a = statistics.median(ours), statistics.median(anchor)
        worst = max(worst, m / a)
        print(f"{'voteaudit ' + ' '.join(args_):<32} {m:9.3f} {a:9.3f} {m / a:6.2f}")
    print(f"worst ratio {worst:.2f} ({'met' if worst <= 2.5 else 'NOT met'}); "
          f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
