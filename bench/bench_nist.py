"""NIST SP 1500-100 CDF ingest is linear: reading a report takes at most 15x ``json.load`` of the same file.

    python bench/bench_nist.py [--tables 21952] [--contests 3] [--candidates 10]

Writes a synthetic ElectionReport (a county of N precincts, every contest reported by every precinct,
BallotCounts and OtherCounts included) to bench/_data and times, in this process, ``json.load`` of the
file and ``voteaudit.ingest.nist.read_nist`` (parse, validate, stage every contest). Target (issue 12):
ratio <= 15. The issue's report: our own export of 21,952 tables did not finish in 10 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def report(tables: int, contests: int, candidates: int) -> dict:
    rnd = random.Random(7)
    precincts = [f"p{i}" for i in range(tables)]
    gp = [{"@type": "ElectionResults.ReportingUnit", "@id": "county", "Type": "county", "Name": "County",
           "ComposingGpUnitIds": precincts}]
    gp += [{"@type": "ElectionResults.ReportingUnit", "@id": p, "Type": "precinct", "Name": f"Precinct {i}",
            "VotersRegistered": 500 + i % 300} for i, p in enumerate(precincts)]
    cands = [{"@type": "ElectionResults.Candidate", "@id": f"c{k}-{j}", "BallotName": f"Candidate {k}-{j}"}
             for k in range(contests) for j in range(candidates)]
    cons = []
    for k in range(contests):
        sels = [{"@type": "ElectionResults.CandidateSelection", "@id": f"s{k}-{j}", "CandidateIds": [f"c{k}-{j}"],
                 "VoteCounts": [{"@type": "ElectionResults.VoteCounts", "GpUnitId": p, "Type": "total",
                                 "Count": rnd.randint(0, 60)} for p in precincts]} for j in range(candidates)]
        cons.append({"@type": "ElectionResults.CandidateContest", "@id": f"k{k}", "Name": f"Contest {k}",
                     "ContestSelection": sels,
                     "OtherCounts": [{"@type": "ElectionResults.OtherCounts", "GpUnitId": p,
                                      "Undervotes": rnd.randint(0, 5), "Overvotes": rnd.randint(0, 2)}
                                     for p in precincts]})
    ballots = [{"@type": "ElectionResults.BallotCounts", "GpUnitId": p, "BallotsCast": 400} for p in precincts]
    return {"@type": "ElectionResults.ElectionReport", "GpUnit": gp,
            "Election": [{"@type": "ElectionResults.Election", "Candidate": cands, "Contest": cons,
                          "BallotCounts": ballots}]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", type=int, default=21_952)
    ap.add_argument("--contests", type=int, default=3)
    ap.add_argument("--candidates", type=int, default=10)
    args = ap.parse_args()
    from voteaudit.ingest.nist import read_nist

    (HERE / "_data").mkdir(exist_ok=True)
    path = HERE / "_data" / f"nist_{args.tables}_{args.contests}.json"
    if not path.exists():
        path.write_text(json.dumps(report(args.tables, args.contests, args.candidates)), encoding="utf-8")
    t = time.perf_counter()
    with open(path, encoding="utf-8") as fh:
        json.load(fh)
    load = time.perf_counter() - t
    t = time.perf_counter()
    batches = read_nist(path, sha256="bench")
    read = time.perf_counter() - t
    records = sum(b.records.num_rows for b in batches)
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB, {len(batches)} contests, {records:,} records; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"json.load {load:.2f} s; read_nist {read:.2f} s; ratio {read / load:.1f}x (target <= 15x)")


if __name__ == "__main__":
    main()
