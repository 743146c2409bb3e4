"""Attacks on a running ``voteaudit serve`` (loopback, PostgreSQL store in a fresh schema, the Venezuela demo's
actas): a 1 GiB chunked JSON POST, a 1 GiB chunked upload, a 13 KB PNG declaring 110 megapixels, and 1,000
slow-header connections held open (each reconnects when cut off). During each attack, public reads run
(one keep-alive client, one request every 20 ms) and the server's RSS is sampled every 50 ms (psutil:
the server process, and the photo decoder child separately).

Target (issue 13): the server's RSS grows by under 300 MB under each attack and public reads keep answering.

    python bench/bench_server_limits.py [--pg postgresql://postgres@127.0.0.1:5432/test] [--slow 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import psutil
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "server"))
MB = 2**20

from server_data import bomb_png, read_all, start_server  # noqa: E402 - tests/server is on the path


def prepare(pg: str) -> tuple[str, str, str, list[str]]:
    """A fresh schema with the demo's actas source and one observer; (url, schema, token, table ids)."""
    from bench_server import prepare as prepare_demo

    url, schema, tokens, units = prepare_demo(pg, 1)
    return url, schema, tokens[0], units


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sampler(threading.Thread):
    """RSS of the server process and of its children (the photo decoder), every 50 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc, self.stopping = psutil.Process(pid), threading.Event()
        self.server: list[int] = []
        self.children: list[int] = []

    def run(self) -> None:
        while not self.stopping.wait(0.05):
            try:
                self.server.append(self.proc.memory_info().rss)
                self.children.append(sum(c.memory_info().rss for c in self.proc.children(recursive=True)))
            except psutil.Error:
                pass


class Reader(threading.Thread):
    """Public reads (a random table, the state totals) every 20 ms on one keep-alive connection."""

    def __init__(self, base: str, units: list[str]) -> None:
        super().__init__(daemon=True)
        self.base, self.units, self.stopping = base, units, threading.Event()
        self.latencies: list[float] = []
        self.failures = 0
        self.rng = random.Random(1)

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self.stopping.wait(0.02):
                path = ("/api/results" if self.rng.random() < 0.2
                        else "/api/units/" + quote(self.rng.choice(self.units), safe=""))
                t = time.perf_counter()
                try:
                    ok = client.get(path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append(time.perf_counter() - t)
                self.failures += not ok


def during(pid: int, base: str, units: list[str], attack) -> dict:
    """Run ``attack()`` with the sampler and the reader going; the figures of that phase."""
    sampler, reader = Sampler(pid), Reader(base, units)
    sampler.start()
    reader.start()
    time.sleep(0.5)
    t = time.perf_counter()
    detail = attack()
    seconds = time.perf_counter() - t
    time.sleep(0.5)
    sampler.stopping.set()
    reader.stopping.set()
    sampler.join()
    reader.join()
    lat = np.array(reader.latencies) * 1000
    return {"seconds": round(seconds, 2), "attack": detail,
            "server_rss_mb": {"start": round(sampler.server[0] / MB), "peak": round(max(sampler.server) / MB),
                              "growth": round((max(sampler.server) - sampler.server[0]) / MB)},
            "decoder_rss_peak_mb": round(max(sampler.children) / MB) if sampler.children else 0,
            "reads": {"n": len(lat), "failed": reader.failures,
                      "p50_ms": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
                      "p99_ms": round(float(np.percentile(lat, 99)), 1) if len(lat) else None,
                      "max_ms": round(float(lat.max()), 1) if len(lat) else None},
            "load": os.getloadavg()[0]}


def gigabyte_post(port: int, token: str, *, upload: bool) -> dict:
    """Send up to 1 GiB chunked as fast as the server reads; how much went out before the refusal."""
    chunk_size = 64 * 1024
    if upload:
        head = b"Content-Type: multipart/form-data; boundary=x\r\n"
        first = (b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
                 b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n")
    else:
        head, first = b"Content-Type: application/json\r\n", b'{"unit": "'
    body = b"a" * chunk_size
    sent, t = 0, time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"POST /api/submissions HTTP/1.1\r\nHost: x\r\n" + head + b"Authorization: Bearer "
                  + token.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        s.settimeout(10)
        try:
            s.sendall(b"%x\r\n%s\r\n" % (len(first), first))
            while sent < 2**30:
                s.sendall(b"%x\r\n%s\r\n" % (chunk_size, body))
                sent += chunk_size
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        refused_after = time.perf_counter() - t
        reply = read_all(s, 10)
    return {"status_line": reply.split(b"\r\n", 1)[0].decode(errors="replace"), "mb_sent": round(sent / MB, 1),
            "refused_after_s": round(refused_after, 2)}


def bomb_upload(port: int, token: str, url: str) -> dict:
    data = bomb_png(11_000, 10_000)
    base = f"http://127.0.0.1:{port}"
    r = httpx.post(base + "/api/submissions", files={"image": ("acta.png", data, "image/png")},
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
    sid = r.json()["id"]
    deadline = time.time() + 120
    status = "decoding"
    while status == "decoding" and time.time() < deadline:
        time.sleep(0.2)
        doc = httpx.get(f"{base}/api/submissions/{sid}", headers={"Authorization": f"Bearer {token}"}).json()
        status = doc["status"]
    return {"png_bytes": len(data), "megapixels": 110, "upload_status": r.status_code, "final_status": status,
            "error": doc.get("error")}


def slow_clients(port: int, n: int, seconds: float) -> dict:
    """``n`` connections sending one header byte a second for ``seconds``, each reopened when cut off."""
    stats = {"opened": 0, "cut_off": 0, "refused": 0, "max_open": 0}
    open_now = 0

    async def one(stop: float) -> None:
        nonlocal open_now
        while time.monotonic() < stop:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                stats["refused"] += 1
                await asyncio.sleep(0.5)
                continue
            stats["opened"] += 1
            open_now += 1
            stats["max_open"] = max(stats["max_open"], open_now)
            try:
                writer.write(b"GET /api/units HTTP/1.1\r\nHost: x\r\n")
                while time.monotonic() < stop:
                    await asyncio.sleep(1)
                    if reader.at_eof():
                        break
                    writer.write(b"X")
                    await writer.drain()
                    try:   # the server answered (408) and closed?
                        data = await asyncio.wait_for(reader.read(1024), timeout=0.01)
                        if data or reader.at_eof():
                            stats["cut_off"] += 1
                            break
                    except TimeoutError:
                        pass
            except (ConnectionError, OSError):
                stats["cut_off"] += 1
            finally:
                open_now -= 1
                writer.close()

    async def main() -> None:
        stop = time.monotonic() + seconds
        await asyncio.gather(*(one(stop) for _ in range(n)))

    asyncio.run(main())
    return {"clients": n, **stats}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg", default=os.environ.get("VOTEAUDIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--slow", type=int, default=1000, help="slow-header connections")
    ap.add_argument("--slow-seconds", type=float, default=30.0)
    args = ap.parse_args()
    url, schema, token, units = prepare(args.pg)
    port = free_port()
    log = HERE / "_data" / "bench_server_limits.log"
    log.parent.mkdir(exist_ok=True)
    code = ("from voteaudit.server.serve import run; from voteaudit.server.config import Settings; "
            f"run(Settings(db={url!r}, refresh=1.0), host='127.0.0.1', port={port})")
    proc = start_server(code, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as c:   # warm the read model and a few pages
            for u in units[:50]:
                c.get("/api/units/" + quote(u, safe=""))
        try:
            import httptools  # noqa: F401
            protocol = "httptools"
        except ImportError:
            protocol = "h11"
        out = {"tables": len(units), "protocol": protocol, "phases": {}}
        out["phases"]["baseline"] = during(proc.pid, base, units, lambda: time.sleep(5) or {})
        out["phases"]["1GiB_chunked_json"] = during(proc.pid, base, units,
                                                    lambda: gigabyte_post(port, token, upload=False))
        out["phases"]["1GiB_chunked_upload"] = during(proc.pid, base, units,
                                                      lambda: gigabyte_post(port, token, upload=True))
        out["phases"]["110MP_png"] = during(proc.pid, base, units, lambda: bomb_upload(port, token, url))
        out["phases"][f"{args.slow}_slow_connections"] = during(
            proc.pid, base, units, lambda: slow_clients(port, args.slow, args.slow_seconds))
        worst = max(p["server_rss_mb"]["growth"] for p in out["phases"].values())
        out["target"] = {"rss_growth_mb_max": worst, "anchor": "< 300 MB per attack",
                         "reads_failed": sum(p["reads"]["failed"] for p in out["phases"].values())}
        out["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(json.dumps(out, indent=1))
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
