"""``voteaudit users import`` of a roster of 1,000 observers into a fresh PostgreSQL schema (issue 15 item 6).

Times the whole command as an operator runs it (a new process: start-up included; wall clock and CPU
time, as the machine may be shared) and the library call alone, and checks every token of the file
authenticates. Target: under 5 s for 1,000 observers.

    python bench/bench_users_import.py [--pg postgresql://postgres@127.0.0.1:5432/test] [--users 1000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg


def fresh(pg: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    return f"{pg}{'&' if '?' in pg else '?'}options={quote(f'-csearch_path={schema}')}", schema


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default=os.environ.get("VOTEAUDIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--users", type=int, default=1000)
    args = ap.parse_args()
    from voteaudit.server.db import connect, ensure_schema
    from voteaudit.server.users import by_token, import_roster

    out: dict = {"users": args.users}
    schemas = []
    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "roster.csv"
        roster.write_text("name,role,scope\n" + "".join(f"observer{i:05d},observer,\n" for i in range(args.users)))
        url, schema = fresh(args.pg)
        schemas.append(schema)
        ensure_schema(url)   # as after `voteaudit serve` or `users add` has run once
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        exe = str(Path(sys.executable).parent / "voteaudit")
        run = subprocess.run([exe, "users", "import", str(roster), "--db", url,
                              "--tokens-out", str(Path(tmp) / "cli-tokens.csv"), "--json"],
                             capture_output=True, text=True)
        out["cli_seconds"] = round(time.perf_counter() - t, 2)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)   # CPU the command used (the machine may be shared)
        out["cli_cpu_seconds"] = round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 2)
        if run.returncode:
            raise SystemExit(run.stderr)
        out["cli"] = json.loads(run.stdout)
        url2, schema2 = fresh(args.pg)
        schemas.append(schema2)
        ensure_schema(url2)
        with connect(url2) as conn:
            t = time.perf_counter()
            issued = import_roster(conn, roster, Path(tmp) / "lib-tokens.csv")
            out["library_seconds"] = round(time.perf_counter() - t, 3)
        with connect(url) as conn:
            rows = list(csv.DictReader((Path(tmp) / "cli-tokens.csv").read_text().splitlines()))
            out["tokens_valid"] = sum(by_token(conn, r["token"]) is not None for r in rows)
        out["tokens_file_mode"] = oct(os.stat(Path(tmp) / "cli-tokens.csv").st_mode & 0o777)
        out["library_users"] = len(issued)
    with psycopg.connect(args.pg, autocommit=True) as admin:
        for s in schemas:
            admin.execute(f"DROP SCHEMA {s} CASCADE")
    out["target"] = {"cli_seconds": out["cli_seconds"], "anchor": "< 5 s for 1,000 observers"}
    out["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
