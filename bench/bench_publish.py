"""Publish a national-scale election and report time, site size, files and the bytes one look-up fetches.

    python bench/bench_publish.py [--units 1000000] [--keep] [--reuse] [--no-verify] [--no-nist]

Generates ``voteaudit.simulate.simulate(units, candidates=10)`` as CSV, ingests it (one source), then
times ``voteaudit.publish.publish`` (shards of 256 records, NIST CDF export and report included; above
250,000 records the report leaves out estimation and forensics) and ``verify``. Each step is printed as
it starts; the load average before and after is in the result (shared cores: quote it). The look-up
cost is what ``table.html#<id>`` downloads for one table: root, the search index and one block, and the
table's shard — measured on the files, in both the ``.json`` (HTTP) and ``.js`` (file://) forms. The
site is written into a staging directory and swapped in (the swap is in the publish time); verify checks
it against the release root publish returned, as a reader with the announced root does.
Target (issue 6): publish 1,000,000 tables in under 2 minutes.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"


def lookup_bytes(site: Path, unit: str, ext: str) -> dict[str, int]:
    """Files (and their sizes) the look-up page loads to show ``unit``."""
    index = json.loads((site / "search/index.json").read_text(encoding="utf-8"))
    b = bisect.bisect_right(index["first"], unit) - 1
    block = json.loads((site / f"search/{b:06d}.json").read_text(encoding="utf-8"))["entries"]
    entry = next(e for e in block if e[0] == unit)
    meta = json.loads((site / "root.json").read_text(encoding="utf-8"))
    files = ["root", "search/index", f"search/{b:06d}"]
    first, n = entry[4], entry[5]
    files += [f"tables/{k:06d}" for k in range(first // meta["shard_size"], (first + n - 1) // meta["shard_size"] + 1)]
    sizes = {f + ext: (site / (f + ext)).stat().st_size for f in files}
    for asset in ("table.html", "assets/common.js", "assets/site.js", "assets/site.css"):
        sizes[asset] = (site / asset).stat().st_size
    return sizes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the generated store and site under bench/_data")
    ap.add_argument("--reuse", action="store_true", help="reuse a store kept by an earlier --keep run")
    ap.add_argument("--no-verify", action="store_true", help="skip the (slow) full verify of the site")
    ap.add_argument("--no-nist", action="store_true", help="leave out the NIST CDF export")
    args = ap.parse_args()
    from voteaudit.ingest import ingest_file
    from voteaudit.ingest.mapping import Mapping
    from voteaudit.publish import publish, verify
    from voteaudit.simulate import simulate, write
    from voteaudit.store import open_store

    work = DATA / f"publish-{args.units}"
    if args.reuse and (work / "store.duckdb").is_file():
        shutil.rmtree(work / "site", ignore_errors=True)
    else:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        t = time.perf_counter()
        election = simulate(args.units, candidates=10, seed=6)
        csv = work / "results.csv"
        write(election, csv)
        cands = list(election.matrix.candidates)
        with open_store(work / "store.duckdb") as store:
            ingest_file(store, csv, Mapping(units=["region", "district", "table"], registered="registered",
                                            cast="cast", valid="valid", null="null", candidates=cands),
                        source="authority", kind="official")
        print(f"generated and ingested {args.units:,} tables in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    steps: list[tuple[float, str]] = []
    load_before = os.getloadavg()

    def step(name: str) -> None:
        steps.append((time.perf_counter() - t, name))
        print(f"{steps[-1][0]:7.1f} s  {name}", file=sys.stderr, flush=True)

    with open_store(work / "store.duckdb", read_only=True) as store:
        t = time.perf_counter()
        doc = publish(store, work / "site", title="Simulated national election", step=step,
                      **({"nist": False} if args.no_nist else {}))
        publish_s = time.perf_counter() - t
        load_after = os.getloadavg()
        ids = store.matrix("authority").unit_ids
        unit = str(ids[len(ids) // 2])
    t = time.perf_counter()
    res = None if args.no_verify else verify(work / "site", root=doc["root"])   # against the announced root
    verify_s = time.perf_counter() - t
    http = lookup_bytes(work / "site", unit, ".json")
    disk = lookup_bytes(work / "site", unit, ".js")
    big = sorted(((f, m["bytes"]) for f, m in json.loads((work / "site/manifest.json").read_bytes())["files"].items()),
                 key=lambda kv: -kv[1])[:6]
    report = {
        "units": args.units, "records": doc["records"], "publish_seconds": round(publish_s, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "steps": [[round(s, 1), name] for s, name in steps],
        "verify_seconds": round(verify_s, 1) if res else None, "verify_ok": res.ok if res else None,
        "site_files": doc["files"], "site_bytes": doc["bytes"],
        "manifest_bytes": (work / "site/manifest.json").stat().st_size,
        "largest_files": big,
        "lookup_unit": unit, "lookup_bytes_http": sum(http.values()), "lookup_files_http": http,
        "lookup_bytes_file": sum(disk.values()),
        "target_publish_under_120s": publish_s < 120,
    }
    print(json.dumps(report, indent=1))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
