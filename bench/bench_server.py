"""Load benchmark of ``voteaudit serve`` on loopback (PostgreSQL store, the Venezuela demo data).

200 concurrent submitters x 25 JSON submissions (every table entered twice by two users, so double
entry accepts and stores tables while the load runs), public reads at the same time, and one server
worker process killed with SIGKILL mid-upload. Then checks: every acknowledged submission stored
exactly once, none lost, none duplicated, every accepted table a record exactly once. Prints one
JSON document, with the load average at each phase (the machine may be shared).

Reads come from ``wrk`` (C, one thread: the load generator costs little CPU; ``apt-get install wrk``)
or, without it, from raw keep-alive asyncio sockets; submissions from raw keep-alive asyncio sockets
(no HTTP client library: 200 of them would compete with the server for the CPU).

    python bench/bench_server.py [--pg postgresql://postgres@127.0.0.1:5432/test] [--submitters 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import psycopg

HERE = Path(__file__).resolve().parent


def prepare(pg: str, submitters: int) -> tuple[str, str, list[str], list[str]]:
    """A fresh schema with the demo's actas source and ``submitters`` observers; returns url, schema, tokens, units."""
    from voteaudit.demo import demo_file
    from voteaudit.ingest import ingest_file, load_mapping
    from voteaudit.server.db import connect, ensure_schema
    from voteaudit.server.users import add_user
    from voteaudit.store import open_store

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    url = f"{pg}{'&' if '?' in pg else '?'}options={quote(f'-csearch_path={schema}')}"
    with open_store(url) as store:
        ingest_file(store, demo_file("actas.csv.gz"), load_mapping(demo_file("actas.toml")), source="actas",
                    kind="independent")
        units = store.matrix("actas").unit_ids.tolist()
    ensure_schema(url)
    with connect(url) as conn:
        tokens = [add_user(conn, f"observer{i}", "observer")[1] for i in range(submitters)]
    return url, schema, tokens, units


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    code = ("from voteaudit.cli.server import serve_command; "
            f"serve_command(db={url!r}, host='127.0.0.1', port={port}, workers={workers}, source='observers', "
            "quota=10000, rate=1000.0, max_upload=8388608, access_log=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    for _ in range(workers * 4):   # warm every worker's read model
        httpx.get(f"http://127.0.0.1:{port}/api/units", timeout=30)
    return proc


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(x) for x in text]
    return out


async def read_response(rd: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one HTTP/1.1 response."""
    head = await rd.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:] if line)}
    if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
        parts = []
        while size := int((await rd.readuntil(b"\r\n")).strip(), 16):
            parts.append((await rd.readexactly(size + 2))[:-2])
        await rd.readuntil(b"\r\n")
        body = b"".join(parts)
    else:
        body = await rd.readexactly(int(fields.get(b"content-length", b"0")))
    return status, body, fields.get(b"connection", b"").lower() != b"close"


async def submitter(port: int, token: str, docs: list[dict], acked: list, stats: dict) -> None:
    """One observer on one keep-alive connection, sending pre-encoded requests (reconnects and resends)."""
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    for doc in docs:
        body = json.dumps(doc, ensure_ascii=False).encode()
        request = (f"POST /api/submissions HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        for attempt in range(40):
            try:
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", port)
                conn[1].write(request)
                status, payload, keep = await read_response(conn[0])
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError):
                stats["retries"] += 1      # connection lost (e.g. the worker was killed): send again
                if conn is not None:
                    conn[1].close()
                conn = None
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            if not keep:
                conn[1].close()
                conn = None
            if status in (200, 201):
                acked.append((token, json.loads(payload)["id"], status))
                break
            stats[f"http_{status}"] = stats.get(f"http_{status}", 0) + 1
            await asyncio.sleep(0.2)
    if conn is not None:
        conn[1].close()


WRK_SCRIPT = """
local paths = {%s}
local counter = 0
function setup(thread) counter = counter + 1; thread:set("seed", counter) end
function init(args) math.randomseed(seed * 7919 + os.time()) end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p90_us": %%d, '
    .. '"p99_us": %%d, "max_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


class Wrk:
    """``wrk`` reading random paths until stopped (SIGINT: wrk then prints its figures)."""

    def __init__(self, port: int, paths: list[str], connections: int, script_dir: str) -> None:
        self.port, self.connections = port, connections
        self.script = Path(script_dir) / "paths.lua"
        self.script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, seconds: int = 3600) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "wrk", "-t1", f"-c{self.connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(self.script),
            f"http://127.0.0.1:{self.port}", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self.started = time.perf_counter()

    async def stop(self, interrupt: bool = True) -> dict:
        """Figures of the run (interrupt: end it now; else wait for its duration)."""
        assert self.proc is not None
        if interrupt and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
        out, err = await self.proc.communicate()
        seconds = time.perf_counter() - self.started
        line = next((x for x in out.decode().splitlines() if x.startswith("WRKJSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no figures: {out.decode()[-500:]} {err.decode()[-500:]}")
        doc = json.loads(line[len("WRKJSON "):])
        errors = {k: doc[k] for k in ("connect", "read", "write", "status", "timeout") if doc[k]}
        return {"requests": doc["requests"], "req_per_s": round(doc["requests"] / (doc["duration_us"] / 1e6), 1),
                "p50_ms": round(doc["p50_us"] / 1000, 2), "p90_ms": round(doc["p90_us"] / 1000, 2),
                "p99_ms": round(doc["p99_us"] / 1000, 2), "max_ms": round(doc["max_us"] / 1000, 2),
                "seconds": round(seconds, 1), "errors": errors, "load": load()}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def reader(port: int, paths: list[str], stop: asyncio.Event, lat: list[float], errors: list[str]) -> None:
    """A keep-alive HTTP/1.1 client on a raw socket (the Python HTTP clients would be the bottleneck)."""
    while not stop.is_set():
        try:
            rd, wr = await asyncio.open_connection("127.0.0.1", port)
            while not stop.is_set():
                path = random.choice(paths)
                t0 = time.perf_counter()
                wr.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
                head = await rd.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await rd.readexactly(length)
                lat.append(time.perf_counter() - t0)
                if status != 200:
                    errors.append(f"{status} {path}")
        except (OSError, asyncio.IncompleteReadError) as exc:
            errors.append(type(exc).__name__)
            await asyncio.sleep(0.05)


async def run_load(args: argparse.Namespace, port: int, tokens: list[str], units: list[str],
                   server: subprocess.Popen) -> dict:
    rng = random.Random(1)
    per = args.submissions
    n_units = len(tokens) * per // 2
    chosen = rng.sample(units, n_units)
    docs_of: list[list[dict]] = [[] for _ in tokens]
    for j, unit in enumerate(chosen):   # each table entered by two different submitters, same numbers
        doc = {"unit": unit, "results": {"Nicolás Maduro": rng.randint(0, 300),
                                         "Edmundo González Urrutia": rng.randint(0, 300)}}
        a = (2 * j) % len(tokens)
        docs_of[a].append(doc)
        docs_of[(a + 1) % len(tokens)].append(doc)
    for d in docs_of:
        rng.shuffle(d)
    read_paths = ([f"/api/units?offset={50 * k}&limit=50" for k in range(200)]
                  + [f"/api/units/{u}" for u in rng.sample(units, 300)]
                  + ["/api/results", "/api/results?level=municipality", "/", "/api/health"])
    acked: list = []
    stats = {"retries": 0}
    lat: list[float] = []
    errors: list[str] = []
    use_wrk = shutil.which("wrk") is not None and not args.no_wrk
    tmp = tempfile.mkdtemp(prefix="bench_wrk_")
    load_before = load()

    async def python_reads(seconds: float | None, stop: asyncio.Event | None = None) -> tuple[list[float], float]:
        lat.clear()
        stop = stop or asyncio.Event()
        readers = [asyncio.create_task(reader(port, read_paths, stop, lat, errors)) for _ in range(args.readers)]
        t = time.perf_counter()
        if seconds is not None:
            await asyncio.sleep(seconds)
            stop.set()
        await asyncio.gather(*readers)
        return list(lat), time.perf_counter() - t

    # warm-up (every path cached in each worker), reads alone (baseline), then reads under upload load
    if use_wrk:
        for seconds in (4, args.alone):
            w = Wrk(port, read_paths, args.readers, tmp)
            await w.start(seconds)
            alone = await w.stop(interrupt=False)
    else:
        await python_reads(4)
        alone = figures(*await python_reads(args.alone))
    errors.clear()
    load_upload_start = load()
    t0 = time.perf_counter()
    if use_wrk:
        w = Wrk(port, read_paths, args.readers, tmp)
        await w.start()
    else:
        stop = asyncio.Event()
        during_task = asyncio.create_task(python_reads(None, stop))
    subs = [asyncio.create_task(submitter(port, t, d, acked, stats)) for t, d in zip(tokens, docs_of, strict=True)]
    killed = None
    while len(acked) < len(tokens) * per * 0.4:
        await asyncio.sleep(0.05)
    workers = children(server.pid)
    victims = [w for w in workers if b"spawn_main" in Path(f"/proc/{w}/cmdline").read_bytes()]
    if victims:
        killed = victims[0]
        os.kill(killed, signal.SIGKILL)
        killed_at = len(acked)
    await asyncio.gather(*subs)
    upload_seconds = time.perf_counter() - t0
    load_upload_end = load()
    if use_wrk:
        during = await w.stop()
    else:
        stop.set()
        during = figures(*await during_task)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"acked": acked, "stats": stats, "killed_worker": killed, "killed_after_acks": killed_at if killed else None,
            "upload_seconds": round(upload_seconds, 2),
            "submissions_per_s": round(len(acked) / upload_seconds, 1),
            "read_client": "wrk -t1" if use_wrk else "python sockets", "read_connections": args.readers,
            "reads_alone": alone, "reads_during_uploads": during,
            "python_read_errors": len(errors), "python_read_error_kinds": sorted(set(errors))[:5],
            "load_before": load_before, "load_upload_start": load_upload_start, "load_upload_end": load_upload_end,
            "expected": len(tokens) * per, "units": n_units}


def figures(values: list[float], seconds: float) -> dict:
    a = np.array(values) * 1000
    return {"requests": len(a), "req_per_s": round(len(a) / seconds, 1),
            "p50_ms": round(float(np.percentile(a, 50)), 2), "p90_ms": round(float(np.percentile(a, 90)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2), "max_ms": round(float(a.max()), 2),
            "seconds": round(seconds, 1), "load": load()}


def verify(url: str, report: dict, timeout: float = 120) -> dict:
    acked_ids = [i for _, i, _ in report["acked"]]
    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.time() + timeout
        while time.time() < deadline:   # the worker stores accepted tables shortly after
            left = conn.execute("SELECT count(*) FROM submissions WHERE status = 'accepted' "
                                "AND NOT stored").fetchone()[0]
            if left == 0:
                break
            time.sleep(0.5)
        stored = dict(conn.execute("SELECT status, count(*) FROM submissions GROUP BY status").fetchall())
        ids = {r[0] for r in conn.execute("SELECT submission_id FROM submissions")}
        dup_content = conn.execute("SELECT count(*) FROM (SELECT user_id, content_sha256 FROM submissions "
                                   "GROUP BY 1, 2 HAVING count(*) > 1) x").fetchone()[0]
        records = conn.execute("SELECT count(*), count(DISTINCT unit_key) FROM records r JOIN sources s "
                               "USING (source_id) WHERE s.name = 'observers'").fetchone()
        accepted = conn.execute("SELECT count(*) FROM submissions WHERE status = 'accepted'").fetchone()[0]
    return {
        "acknowledged": len(acked_ids), "acknowledged_distinct": len(set(acked_ids)),
        "in_store": len(ids), "lost": len(set(acked_ids) - ids), "unacknowledged_in_store": len(ids - set(acked_ids)),
        "duplicate_contents": dup_content, "by_status": stored,
        "observer_records": records[0], "observer_units": records[1], "accepted_tables": accepted,
        "exactly_once": (len(set(acked_ids)) == report["expected"] and not (set(acked_ids) - ids)
                         and dup_content == 0 and records[0] == records[1] == accepted == report["units"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default=os.environ.get("VOTEAUDIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--submitters", type=int, default=200)
    ap.add_argument("--submissions", type=int, default=25)
    ap.add_argument("--readers", type=int, default=16, help="concurrent keep-alive read connections")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--alone", type=int, default=10, help="seconds of reads alone")
    ap.add_argument("--no-wrk", action="store_true", help="read with Python sockets even if wrk is installed")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--keep", action="store_true", help="keep the bench schema")
    args = ap.parse_args()
    t = time.perf_counter()
    url, schema, tokens, units = prepare(args.pg, args.submitters)
    setup = time.perf_counter() - t
    server = start_server(url, args.port, args.workers)
    try:
        report = asyncio.run(run_load(args, args.port, tokens, units, server))
        check = verify(url, report)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if not args.keep:
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
    report.pop("acked")
    print(json.dumps({"setup_seconds": round(setup, 1), "cpus": os.cpu_count(), "workers": args.workers,
                      "submitters": args.submitters, "per_submitter": args.submissions, **report, "check": check},
                     indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
