"""Ingest and comparison at national scale, side by side with DuckDB's own CSV read.

    python bench/bench_ingest.py [--units 1000000] [--candidates 10] [--keep]

Generates a synthetic election (``voteaudit.simulate``) of N tables as two sources — the
published results and an "observer" copy that lacks 3 % of the tables and differs on 1 % — then
times, each in a fresh process (wall time and peak RSS):

* DuckDB ``CREATE TABLE AS SELECT * FROM read_csv(file)`` of the same CSV (the reference);
* ``voteaudit ingest`` of each source (read, validate, normalise, hash, store);
* loading both sources' matrices and comparing them at every level of the hierarchy;
* the whole ``voteaudit compare --json`` command.

Targets (issue 2): ingest <= 2x DuckDB's read, peak memory < 2 GB, comparison at all levels < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"


def run_child(code: str) -> tuple[float, float, str]:
    """Run Python code in a child; peak RSS from wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    if "Traceback" in err:
        raise SystemExit(err)
    return wall, usage.ru_maxrss / 1024, out


def generate(units: int, candidates: int) -> tuple[Path, Path]:
    import numpy as np

    from voteaudit.simulate import simulate, write

    DATA.mkdir(exist_ok=True)
    a, b = DATA / f"official_{units}.csv", DATA / f"observer_{units}.csv"
    if a.exists() and b.exists():
        return a, b
    election = simulate(units, candidates=candidates, seed=7)
    write(election, a)
    rng = np.random.default_rng(8)
    m = election.matrix
    keep = rng.random(m.n_units) >= 0.03
    changed = rng.random(m.n_units) < 0.01
    m.votes = m.votes.copy()
    m.votes[changed, 0] += rng.integers(1, 20, changed.sum())
    m.valid = m.votes.sum(axis=1)
    m.cast = m.valid + np.clip(m.null, 0, None)
    for name in ("unit_ids", "registered", "cast", "valid", "null", "blank", "votes"):
        setattr(m, name, getattr(m, name)[keep])
    m.path = [p[keep] for p in m.path]
    election.fraudulent = election.fraudulent[keep]
    election.truth = m
    write(election, b)
    return a, b


INGEST = """
import json, sys, time
from voteaudit.ingest import ingest_file
from voteaudit.ingest.mapping import Mapping
from voteaudit.store import open_store
cands = [f"Candidate {{chr(65 + i)}}" for i in range({k})]
m = Mapping(units=["region", "district", "table"], registered="registered", cast="cast", valid="valid",
            null="null", candidates=cands)
t = time.perf_counter()
with open_store({db!r}) as store:
    r = ingest_file(store, {path!r}, m, source={source!r}, kind="official")
print(json.dumps({{"seconds": time.perf_counter() - t, "records": r.records_added}}))
"""

COMPARE = """
import json, time
from voteaudit.store import open_store
from voteaudit.checks.compare import compare_pair, level_totals
t0 = time.perf_counter()
with open_store({db!r}, read_only=True) as store:
    a, b = store.matrix("official"), store.matrix("observer")
t1 = time.perf_counter()
pair = compare_pair(a, b)
levels = [level_totals(m, d) for m in (a, b) for d in range(1, len(a.levels))]
t2 = time.perf_counter()
print(json.dumps({{"load": t1 - t0, "compare": t2 - t1, "differ": pair.differ, "common": pair.common,
                  "groups": [len(x.ids) for x in levels]}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--candidates", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the generated files and store in bench/_data")
    args = ap.parse_args()
    t = time.perf_counter()
    a, b = generate(args.units, args.candidates)
    print(f"generated {args.units:,} tables x {args.candidates} candidates in {time.perf_counter() - t:.1f} s "
          f"({a.stat().st_size / 1e6:.0f} MB + {b.stat().st_size / 1e6:.0f} MB CSV)")
    db = DATA / "bench.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    duck_code = ("import duckdb, time; c = duckdb.connect(); t = time.perf_counter(); "
                 f"c.execute(\"CREATE TABLE t AS SELECT * FROM read_csv('{a}')\"); "
                 "print(time.perf_counter() - t)")
    rows = []
    wall, peak, out = run_child(duck_code)
    duck_inner = float(out)
    rows.append(("DuckDB read_csv (reference)", wall, duck_inner, peak))
    inner = {}
    for source, path in (("official", a), ("observer", b)):
        wall, peak, out = run_child(INGEST.format(k=args.candidates, db=str(db), path=str(path), source=source))
        inner[source] = json.loads(out.strip().splitlines()[-1])["seconds"]
        rows.append((f"voteaudit ingest {source}", wall, inner[source], peak))
    wall, peak, out = run_child(COMPARE.format(db=str(db)))
    cmp = json.loads(out.strip().splitlines()[-1])
    rows.append(("load both matrices", float("nan"), cmp["load"], float("nan")))
    rows.append(("compare at all levels", wall, cmp["compare"], peak))
    w0 = time.perf_counter()
    voteaudit = shutil.which("voteaudit") or str(Path(sys.executable).parent / "voteaudit")
    proc = subprocess.run([voteaudit, "compare", "--db", str(db), "--json"], capture_output=True, check=True)
    rows.append(("voteaudit compare --json (command)", time.perf_counter() - w0, float("nan"), float("nan")))
    json.loads(proc.stdout)
    print(f"{'step':38s} {'process s':>10s} {'in-process s':>13s} {'peak MB':>9s}")
    for name, w, i, p in rows:
        print(f"{name:38s} {w:10.2f} {i:13.2f} {p:9.0f}")
    print(f"ingest / DuckDB read (in-process): official {inner['official'] / duck_inner:.2f}x, "
          f"observer {inner['observer'] / duck_inner:.2f}x")
    print(f"compare: {cmp['common']:,} common tables, {cmp['differ']:,} differ; groups per level {cmp['groups']}")
    if not args.keep:
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
