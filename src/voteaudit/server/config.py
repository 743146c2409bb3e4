"""Server settings: from ``voteaudit serve`` options, handed to worker processes through the environment."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields

ENV = "VOTEAUDIT_SERVER_SETTINGS"


@dataclass
class Settings:
    db: str = "voteaudit.duckdb"
    source: str = "observers"            # accepted submissions become records of this source (kind observer)
    quota: int = 10_000                  # submissions per user, ever
    rate: float = 20.0                   # submissions per second per user (token bucket, per process)
    burst: int = 40
    max_upload: int = 8 * 1024 * 1024    # bytes
    read_pool: int = 3                   # store connections for reads, per process
    write_pool: int = 8                  # connections for submissions, per process
    refresh: float = 5.0                 # seconds between read-model rebuilds while the store changes
    cache_seconds: int = 5               # Cache-Control max-age of public responses
    worker: bool = True                  # run the background worker (decode images, store accepted)
    submit_concurrency: int = 4          # submissions handled at once per process (the rest wait their turn,
                                         # so that uploads never crowd out public reads)
    # Limits against hostile or broken clients (see server/limits.py and server/decoder.py):
    header_timeout: float = 10.0         # s from a request's first byte to its last header (else 408, closed)
    max_header_bytes: int = 64 * 1024    # request line + headers (else 431)
    read_timeout: float = 30.0           # s to wait for each chunk of a request body (else 408)
    body_timeout: float = 300.0          # s for a whole request body (else 408)
    keep_alive: int = 5                  # s an idle keep-alive connection stays open (uvicorn timeout_keep_alive)
    max_connections: int = 2048          # per process: connections + requests in progress; beyond, 503 (uvicorn
                                         # limit_concurrency)
    max_pixels: int = 40_000_000         # largest image decoded (width x height, read from its header first)
    decode_memory: int = 1024 * 1024 * 1024   # bytes of address space of the decoding process (RLIMIT_AS)
    decode_seconds: int = 60             # CPU seconds per decoded upload (RLIMIT_CPU, then killed)

    @property
    def writable(self) -> bool:
        return self.db.startswith(("postgresql://", "postgres://"))

    def to_env(self) -> None:
        os.environ[ENV] = json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> Settings:
        raw = json.loads(os.environ.get(ENV, "{}"))
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})
