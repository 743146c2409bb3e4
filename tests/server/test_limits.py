"""Limits against hostile clients (issue 13 defect 9): bodies refused while they stream, slow or huge headers cut
off, image bombs refused before decoding and decoded only in a capped child process; the access log logs."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from server_data import auth, bomb_png, read_all, start_server

from voteaudit.server.decoder import Decoder, Limits
from voteaudit.server.worker import run_once
from voteaudit.store.postgres import PostgresStore

CHUNK = 64 * 1024


def stream_into(app, path: str, headers: list[tuple[bytes, bytes]], *, chunks: int = 16384,
                stall_after: int | None = None, prefix: bytes = b"") -> tuple[int, int]:
    """Drive ``app`` with an endless chunked body (``chunks`` x 64 KiB = 1 GiB by default); (status, chunks read)."""
    read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        if stall_after is not None and read >= stall_after:
            await asyncio.sleep(3600)
        read += 1
        body = (prefix if read == 1 else b"") + b"{" * CHUNK
        return {"type": "http.request", "body": body[:CHUNK], "more_body": read < chunks}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"transfer-encoding", b"chunked"), *headers],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert (b"connection", b"close") in [(k.lower(), v.lower()) for k, v in start["headers"]], (start, sent[-1])
    return start["status"], read


def test_json_body_refused_while_streaming(make_client, tokens: dict[str, str]) -> None:
    app = make_client().app
    bearer = [(b"authorization", f"Bearer {tokens['ana']}".encode())]
    status, read = stream_into(app, "/api/submissions", [(b"content-type", b"application/json"), *bearer])
    assert status == 413 and read <= 2            # 64 KiB allowed: refused at the second chunk of 1 GiB
    status, read = stream_into(app, "/login", [(b"content-type", b"application/x-www-form-urlencoded")])
    assert status == 413 and read <= 2


def test_upload_refused_past_its_limit(make_client, tokens: dict[str, str]) -> None:
    app = make_client(max_upload=1024 * 1024).app
    headers = [(b"content-type", b"multipart/form-data; boundary=x"), (b"authorization",
                                                                      f"Bearer {tokens['ana']}".encode())]
    part = b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
    status, read = stream_into(app, "/api/submissions", headers, prefix=part)
    assert status == 413 and read <= (1024 * 1024 + CHUNK) // CHUNK + 1


def test_declared_length_refused_before_reading(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post("/api/submissions", content=b"x" * 70_000, headers={**auth(tokens["ana"]),
                                                                       "content-type": "application/json"})
    assert r.status_code == 413 and "larger than 65536 bytes" in r.json()["detail"]


def test_slow_body_times_out(make_client, tokens: dict[str, str]) -> None:
    app = make_client(read_timeout=0.5).app
    t = time.monotonic()
    status, read = stream_into(app, "/api/submissions", [(b"content-type", b"application/json"), (
        b"authorization", f"Bearer {tokens['ana']}".encode())], stall_after=0)
    assert status == 408 and time.monotonic() - t < 10


# -- image bombs ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bomb() -> bytes:
    return bomb_png(11_000, 10_000)      # 110 megapixels in ~13 KB


def test_bomb_refused_from_its_header(bomb: bytes) -> None:
    assert len(bomb) < 30_000
    decoder = Decoder(Limits(max_pixels=40_000_000))
    try:
        doc, error, details = decoder.decode(bomb, "bomb.png")
        assert doc is None and "11000×10000 pixels (110.0 megapixels)" in error and "limit of 40.0" in error
        assert details["refused"] == "before decoding"
    finally:
        decoder.close()


def test_decoder_memory_is_capped_and_it_recovers(bomb: bytes) -> None:
    """With the pixel limit lifted, decoding the bomb hits the child's RLIMIT_AS, not the server's memory."""
    import io

    from PIL import Image

    decoder = Decoder(Limits(max_pixels=10**9, memory=1024 * 1024 * 1024))
    try:
        me = __import__("psutil").Process()
        before = me.memory_info().rss
        doc, error, _ = decoder.decode(bomb, "bomb.png")
        assert doc is None and ("1024 MiB of memory" in error or "the decoder stopped" in error)
        assert me.memory_info().rss - before < 50 * 2**20      # the parent never held the pixels
        buf = io.BytesIO()
        Image.new("L", (400, 300), 255).save(buf, "PNG")
        assert decoder.decode(buf.getvalue(), "blank.png")[1] == "no QR code found"   # a working child again
    finally:
        decoder.close()


def test_decoder_cpu_is_capped_per_upload() -> None:
    """A file that needs more CPU than the limit kills only the child (SIGXCPU), which is replaced."""
    import io

    import numpy as np
    from PIL import Image

    noise = Image.fromarray((np.random.default_rng(0).random((3000, 3000)) > 0.5).astype(np.uint8) * 255)
    buf = io.BytesIO()
    noise.save(buf, "PNG")
    decoder = Decoder(Limits(cpu_seconds=1))
    try:
        doc, error, _ = decoder.decode(buf.getvalue(), "noise.png")
        assert doc is None and "SIGXCPU: the file needs more than 1 s of CPU" in error
        small = io.BytesIO()
        Image.new("L", (200, 200), 255).save(small, "PNG")
        assert decoder.decode(small.getvalue(), "blank.png")[1] == "no QR code found"
    finally:
        decoder.close()


def test_bomb_upload_becomes_unreadable(make_client, tokens: dict[str, str], pg_url: str, bomb: bytes) -> None:
    client = make_client()
    r = client.post("/api/submissions", files={"image": ("acta.png", bomb, "image/png")}, headers=auth(tokens["ana"]))
    assert r.status_code == 201 and r.json()["status"] == "decoding"
    store = PostgresStore(pg_url)
    try:
        assert run_once(store, "observers", Decoder(Limits(max_pixels=40_000_000))) == 1
    finally:
        store.close()
    doc = client.get(f"/api/submissions/{r.json()['id']}", headers=auth(tokens["ana"])).json()
    assert doc["status"] == "unreadable" and "110.0 megapixels" in doc["error"]


# -- the real server: slow and huge headers, a 1 GiB chunked body over a socket, the access log ---------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["h11", "cli"])
def server(request: pytest.FixtureRequest, pg_url: str, tokens: dict[str, str], tmp_path: Path):
    """The real server: over h11, or as ``voteaudit serve`` starts it (httptools when installed)."""
    port = free_port()
    log = tmp_path / "server.log"
    if request.param == "cli":
        code = ("from voteaudit.cli.server import serve_command; "
                f"serve_command(db={pg_url!r}, port={port}, access_log=True, header_timeout=1.0)")
    else:
        code = ("from voteaudit.server.serve import run; from voteaudit.server.config import Settings; "
                f"run(Settings(db={pg_url!r}, worker=False, header_timeout=1.0), "
                f"host='127.0.0.1', port={port}, access_log=True, protocol='h11')")
    proc = start_server(code, port, log, timeout=60)
    yield port, log
    proc.terminate()
    proc.wait(10)


def test_slow_and_huge_headers_are_cut_off(server) -> None:
    port, _ = server
    with socket.create_connection(("127.0.0.1", port)) as slow:
        slow.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")        # ... and the rest never comes
        t = time.monotonic()
        reply = read_all(slow, 10)
        assert reply.startswith(b"HTTP/1.1 408") and time.monotonic() - t < 5
    with socket.create_connection(("127.0.0.1", port)) as idle:          # not a byte sent
        assert read_all(idle, 10).startswith(b"HTTP/1.1 408")
    with socket.create_connection(("127.0.0.1", port)) as huge:
        huge.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000)
        assert read_all(huge, 10).startswith(b"HTTP/1.1 431")
    assert httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200


def test_gigabyte_chunked_body_refused_early(server, tokens: dict[str, str], pg_url: str) -> None:
    port, _ = server
    chunk = b"%x\r\n%s\r\n" % (CHUNK, b"[" * CHUNK)
    sent = 0
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"POST /api/submissions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + tokens["ana"].encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        s.settimeout(5)
        try:
            while sent < 2**30:
                s.sendall(chunk)
                sent += CHUNK
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        reply = read_all(s, 5)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert sent < 64 * 2**20            # refused long before the 1 GiB (what was sent sat in socket buffers)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM submissions").fetchone()[0] == 0


def test_access_log_logs_requests(server) -> None:
    port, log = server
    assert httpx.get(f"http://127.0.0.1:{port}/api/units", params={"limit": 1}).status_code == 200
    assert httpx.get(f"http://127.0.0.1:{port}/regions/nowhere").status_code == 404
    deadline = time.time() + 5
    while time.time() < deadline and "/regions/nowhere" not in log.read_text():
        time.sleep(0.1)
    text = log.read_text()
    assert '"GET /api/units?limit=1 HTTP/1.1" 200' in text and '"GET /regions/nowhere HTTP/1.1" 404' in text
