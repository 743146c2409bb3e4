"""Shared data for the server tests: a small five-level election (tables of the ve2024 sheets)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from voteaudit.ingest import ingest_file
from voteaudit.ingest.mapping import Mapping
from voteaudit.store import open_store

PG = os.environ.get("VOTEAUDIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
LEVELS = ["state", "municipality", "parish", "centre", "table"]
CANDIDATES = ["Nicolás Maduro", "Edmundo González Urrutia"]
ROWS = [("01", "Capital", "01", "13", "010113042", "01", 600, 120, 232),
        ("01", "Capital", "01", "13", "010113042", "02", 600, 93, 260),
        ("02", "Anzoátegui", "03", "01", "020301001", "01", 500, 200, 150)]


def pg_schema_url() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {PG}: {str(exc).strip().splitlines()[0]}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG else "?"
    try:
        yield f"{PG}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def election_csv(path: Path, extra: list[tuple] = ()) -> Path:
    lines = ["state,state_name,municipality,parish,centre,table,registered,NM,EG"]
    for r in [*ROWS, *extra]:
        lines.append(",".join(map(str, r)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


MAPPING = Mapping(units=["state", "municipality", "parish", "centre", "table"],
                  unit_names=["state_name", None, None, None, None], levels=LEVELS, registered="registered",
                  candidates=["NM", "EG"], selections={"NM": CANDIDATES[0], "EG": CANDIDATES[1]})


def load_election(url: str, tmp: Path, extra: list[tuple] = ()) -> None:
    with open_store(url) as store:
        ingest_file(store, election_csv(tmp / "authority.csv", extra), MAPPING, source="authority", kind="official")



def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def bomb_png(width: int, height: int) -> bytes:
    """A PNG of ``width`` x ``height`` black 1-bit pixels: a few KB that decode to width x height bytes or more."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (width + 7) // 8)          # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)   # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def start_server(code: str, port: int, log: Path, timeout: float = 120):  # -> subprocess.Popen
    """Run ``python -c code`` (a server on 127.0.0.1:``port``) with its output in ``log``; wait for /api/health."""
    import subprocess
    import sys
    import time

    import httpx

    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=fh, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start: " + log.read_text())


def read_all(sock, timeout: float) -> bytes:
    """Everything ``sock`` receives until it closes or is silent for ``timeout`` seconds."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data
