"""Benchmark: ``voteaudit cases`` on a store of 1,000,000 tables (issue 16: under 5 s).

    python bench/bench_cases.py [--units 1000000] [--keep]

Builds (once; ``--keep`` reuses it) a DuckDB store with two sources simulated by ``voteaudit.simulate``:
the authority's published results (with ballot stuffing in 0.1 % of tables) and observers' tally sheets
(the truth) for 90 % of the tables. Then times :func:`voteaudit.casework.cases_of` — reading both sources
from the store, aligning them, and ranking every case (the stuffed tables disagree; the 10 % without a
sheet are known one by one from the authority) — and prints the figure beside the target and the load.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from voteaudit.casework import cases_of
from voteaudit.ingest import ingest_file
from voteaudit.ingest.mapping import Mapping
from voteaudit.simulate import simulate, to_table
from voteaudit.store import open_store

DATA = Path(__file__).resolve().parent / "_data"


def build(units: int, db: Path) -> None:
    election = simulate(units, candidates=4, seed=16, fraud={"stuffing": 0.001})
    DATA.mkdir(exist_ok=True)
    official, sheets = DATA / f"cases_official_{units}.parquet", DATA / f"cases_sheets_{units}.parquet"
    pq.write_table(to_table(election), official)
    truth = to_table(election, truth=True)
    keep = np.random.default_rng(1).random(units) < 0.9
    pq.write_table(truth.filter(keep), sheets)
    m = Mapping(units=["region", "district", "table"], registered="registered", cast="cast", valid="valid",
                null="null", candidates=list(election.matrix.candidates))
    with open_store(db) as store:
        ingest_file(store, official, m, source="authority", kind="official")
        ingest_file(store, sheets, m, source="observers", kind="observer")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="reuse the store built by an earlier run")
    args = ap.parse_args()
    db = DATA / f"cases_{args.units}.duckdb"
    if not (args.keep and db.exists()):
        db.unlink(missing_ok=True)
        t0 = time.perf_counter()
        build(args.units, db)
        print(f"built the store ({args.units:,} tables, two sources) in {time.perf_counter() - t0:.1f} s")
    with open_store(db, read_only=True) as store:
        times, cpu = [], []
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            result = cases_of(store)
            doc = result.to_dict()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    kinds: dict[str, int] = {}
    for c in result.cases:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    print(f"cases on {args.units:,} tables (read both sources, rank, JSON document): best {min(times):.2f} s wall, "
          f"{min(cpu):.2f} s CPU of 3 runs (target < 5 s); {len(doc['cases']):,} cases "
          f"{kinds}; leader {result.leader}, margin {result.margin:,}, open effect {result.open_effect:,}, "
          f"could change outcome: {result.could_change_outcome}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
