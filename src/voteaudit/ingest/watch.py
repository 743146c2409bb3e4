"""Watch a feed: fetch it on a schedule and store a new version of the source whenever its bytes change.

Each fetch reads a URL (HTTP/HTTPS, with httpx) or a local path, hashes the bytes (sha256) and, when
they differ from the source's latest version, keeps them as provenance (``KEEP/<sha256><suffix>``, with
a ``<sha256>.json`` note of where and when they were fetched) and ingests them as a version published at
the fetch time. A failed fetch (network error, HTTP error status) is reported and retried with
exponential backoff; it never becomes a version. A publication that fails validation is kept as
provenance, reported, and not retried until its bytes change.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from voteaudit.ingest import ingest_file
from voteaudit.ingest.mapping import Mapping
from voteaudit.model import InputError, VoteauditError
from voteaudit.store import Store

#: Suffixes a kept file may carry (ingest tells the format from them); anything else gets none.
SUFFIXES = (".csv.gz", ".tsv.gz", ".jsonl.gz", ".csv", ".tsv", ".txt", ".xlsx", ".parquet", ".jsonl", ".ndjson",
            ".json")


class FetchError(VoteauditError):
    """A fetch that failed (network, HTTP status, unreadable path): retried, never stored."""


def is_url(target: str) -> bool:
    return re.match(r"^https?://", target, re.IGNORECASE) is not None


def fetch(target: str, *, timeout: float = 30.0) -> tuple[bytes, dict[str, Any]]:
    """The bytes at ``target`` (http(s) URL or local path) and what is known of where they came from."""
    if is_url(target):
        import httpx

        try:
            resp = httpx.get(target, timeout=timeout, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise FetchError(f"{target}: {type(exc).__name__}: {exc}") from None
        if resp.status_code != 200:
            raise FetchError(f"{target}: HTTP {resp.status_code}")
        meta = {"url": target, "status": resp.status_code, "final_url": str(resp.url)}
        meta.update({k: resp.headers[k] for k in ("etag", "last-modified", "content-type") if k in resp.headers})
        return resp.content, meta
    if "://" in target:
        raise InputError(f"{target}: only http(s) URLs and local paths can be watched", field="URL_OR_PATH")
    try:
        return Path(target).read_bytes(), {"path": str(Path(target).resolve())}
    except OSError as exc:
        raise FetchError(f"{target}: {exc.strerror or exc}") from None


def suffix_of(target: str) -> str:
    """The format suffix of the feed's name (``.csv``, ``.csv.gz``, ...), from a fixed list, or ''."""
    name = (urlparse(target).path if is_url(target) else target).lower()
    return next((s for s in SUFFIXES if name.endswith(s)), "")


@dataclass
class Watch:
    """One feed being watched into one source of a store."""

    store: Store
    target: str
    keep: Path
    source: str
    kind: str
    mapping: Mapping | None
    fmt: str | None = None
    contest: str | None = None
    strict: bool = False
    clock: Callable[[], datetime] = lambda: datetime.now(UTC).replace(tzinfo=None)

    def __post_init__(self) -> None:
        self.last_seen: str | None = None
        _, feed, has_imports = self.store._feed_state(self.source)
        if has_imports and not feed:
            raise InputError(f"source {self.source!r} is not a feed (it was ingested without --feed); "
                             "watch into a new source name", field="--source")
        if feed:
            versions = self.store.versions(self.source, self.contest)
            self.last_seen = versions[-1]["sha256"] if versions else None

    def once(self) -> dict[str, Any]:
        """One fetch: ``{"status": "unchanged"|"version"|"rejected", ...}``; raises :class:`FetchError`."""
        at = self.clock()
        data, meta = fetch(self.target)
        digest = hashlib.sha256(data).hexdigest()
        line: dict[str, Any] = {"at": at.isoformat(), "sha256": digest, "bytes": len(data)}
        if digest == self.last_seen:
            return {**line, "status": "unchanged"}
        self.keep.mkdir(parents=True, exist_ok=True)
        path = self.keep / f"{digest}{suffix_of(self.target)}"
        if not path.exists():
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        note = self.keep / f"{digest}.json"
        seen = json.loads(note.read_text()) if note.exists() else {"sha256": digest, "fetches": []}
        seen["fetches"].append({"at": at.isoformat(), **meta})
        note.write_text(json.dumps(seen, indent=2))
        self.last_seen = digest
        try:
            result = ingest_file(self.store, path, self.mapping, source=self.source, kind=self.kind,
                                 strict=self.strict, fmt=self.fmt, contest=self.contest, as_of=at, feed=True)
        except VoteauditError as exc:
            return {**line, "status": "rejected", "kept": str(path), "error": str(exc)}
        return {**line, "status": "version", "kept": str(path), "version": result.version,
                "records_added": result.records_added, "import": result.status, "conflicts": result.conflicts}


def run(watch: Watch, *, every: float, times: int | None, report: Callable[[dict[str, Any]], None],
        sleep: Callable[[float], None] = time.sleep, max_backoff: float = 600.0) -> list[dict[str, Any]]:
    """Fetch every ``every`` seconds (``times`` fetches, or until interrupted); after a failed fetch wait
    ``every * 2**failures`` (at most ``max_backoff``). Each fetch is passed to ``report`` as it happens."""
    done: list[dict[str, Any]] = []
    failures = 0
    n = 0
    try:
        while times is None or n < times:
            n += 1
            try:
                line = {"fetch": n, **watch.once()}
                failures = 0
                wait = every
            except FetchError as exc:
                failures += 1
                wait = min(every * 2 ** failures, max(max_backoff, every))
                line = {"fetch": n, "at": watch.clock().isoformat(), "status": "error", "error": str(exc),
                        "retry_in": wait}
            done.append(line)
            report(line)
            if times is None or n < times:
                sleep(wait)
    except KeyboardInterrupt:
        pass
    return done
