"""Public responses: cached in memory with ETag / Cache-Control, and security headers on every response.

Each cached response carries tags naming what it depends on (one table, one node's subtree, the list
of tables, or the data as a whole); when the read model is updated, only the responses whose tags
the update touched are dropped, so tables nobody submitted for stay cached while uploads run.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from voteaudit.server.readmodel import ALL, LEAVES, node_tag, unit_tag

Scope = dict[str, Any]
ASGI = Callable[..., Any]

PUBLIC = ("/api/units", "/api/results", "/api/summary", "/api/comparisons", "/api/levels", "/openapi.json",
          "/units/", "/regions/", "/search", "/static/")
SECURITY = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                 b"frame-ancestors 'none'; form-action 'self'"),
]
STATIC = "static"   # tag of responses that never depend on the data (dropped only when everything is)


def cacheable(path: str) -> bool:
    return path == "/" or path.startswith(PUBLIC)


def tags_for(path: str) -> frozenset[str]:
    """What the response at ``path`` depends on (see :func:`voteaudit.server.readmodel.update_model`)."""
    for prefix in ("/api/units/", "/units/"):
        if path.startswith(prefix):
            return frozenset((unit_tag(path[len(prefix):]),))
    for prefix in ("/api/results/", "/regions/"):
        if path.startswith(prefix):
            return frozenset((node_tag(path[len(prefix):]),))
    if path in ("/api/units", "/search"):
        return frozenset((LEAVES,))
    if path == "/openapi.json" or path.startswith("/static/"):
        return frozenset((STATIC,))
    return frozenset((ALL,))


class Entry:
    __slots__ = ("headers", "body", "etag", "tags", "not_modified")

    def __init__(self, headers: list, body: bytes, etag: bytes, tags: frozenset[str], max_age: int) -> None:
        have = {k.lower() for k, _ in headers}
        self.headers = headers + [(k, v) for k, v in SECURITY if k not in have]
        self.body, self.etag, self.tags = body, etag, tags
        self.not_modified = [(b"etag", etag), (b"cache-control", f"public, max-age={max_age}".encode())] + [
            (k, v) for k, v in SECURITY]


class PublicCache:
    """ASGI middleware: GET/HEAD of public paths served from memory until an update touches what they show.

    ``reader`` returns the app's :class:`~voteaudit.server.readmodel.Reader` (None before startup).
    Concurrent misses of one path are computed once; a response computed across a model update
    is sent but not kept.
    """

    def __init__(self, app: ASGI, *, reader: Callable[[], Any], max_age: int = 5, size: int = 20_000) -> None:
        self.app, self.reader, self.max_age, self.size = app, reader, max_age, size
        self.entries: OrderedDict[tuple, Entry] = OrderedDict()
        self.tagged: dict[str, set[tuple]] = {}
        self.seen: int | None = None          # reader version whose invalidations are applied
        self.inflight: dict[tuple, asyncio.Event] = {}

    async def __call__(self, scope: Scope, receive: ASGI, send: ASGI) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        reader = self.reader()
        if method not in ("GET", "HEAD") or reader is None or reader._model is None or not cacheable(path):
            await self.app(scope, receive, self._secure(send))
            return
        self._sync(reader)
        key = (path, scope.get("query_string", b""))
        hit = self.entries.get(key)
        if hit is None and key in self.inflight:   # someone is computing it: wait for theirs
            await self.inflight[key].wait()
            self._sync(reader)
            hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
            await self._reply(scope, send, hit)
            return
        leader = key not in self.inflight
        if leader:
            self.inflight[key] = asyncio.Event()
        version = reader.version
        captured: dict[str, Any] = {"body": []}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured["start"] = message
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
                if not message.get("more_body"):
                    await self._finish(scope, send, key, reader, version, captured)

        try:
            await self.app(scope, receive, capture)
        finally:
            if leader:
                self.inflight.pop(key).set()

    def _sync(self, reader: Any) -> None:
        """Drop the entries that the read-model updates since the last request invalidated."""
        version = reader.version
        if version == self.seen:
            return
        tags = reader.changes_since(self.seen)
        if tags is None:
            self.entries.clear()
            self.tagged.clear()
        else:
            for tag in tags:
                for key in self.tagged.pop(tag, ()):
                    self._drop(key)
        self.seen = version

    def _drop(self, key: tuple) -> None:
        entry = self.entries.pop(key, None)
        if entry is None:
            return
        for tag in entry.tags:
            keys = self.tagged.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.tagged[tag]

    async def _finish(self, scope: Scope, send: ASGI, key: tuple, reader: Any, version: int,
                      captured: dict[str, Any]) -> None:
        start, body = captured["start"], b"".join(captured["body"])
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        if start["status"] != 200:
            await self._secure(send)({**start, "headers": headers + [(b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        etag = b'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
        headers += [(b"etag", etag), (b"cache-control", f"public, max-age={self.max_age}".encode()),
                    (b"content-length", str(len(body)).encode())]
        entry = Entry(headers, body, etag, tags_for(scope["path"]), self.max_age)
        self._sync(reader)
        if reader.version == version:   # not computed across an update: keep it
            self._drop(key)
            self.entries[key] = entry
            for tag in entry.tags:
                self.tagged.setdefault(tag, set()).add(key)
            while len(self.entries) > self.size:
                self._drop(next(iter(self.entries)))
        await self._reply(scope, send, entry)

    async def _reply(self, scope: Scope, send: ASGI, entry: Entry) -> None:
        for k, v in scope.get("headers", ()):
            if k == b"if-none-match":
                if entry.etag in [t.strip() for t in v.split(b",")]:
                    await send({"type": "http.response.start", "status": 304, "headers": entry.not_modified})
                    await send({"type": "http.response.body", "body": b""})
                    return
                break
        await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else entry.body})

    @staticmethod
    def _secure(send: ASGI) -> ASGI:
        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": list(message.get("headers", []))
                           + [(k, v) for k, v in SECURITY if k not in have]}
            await send(message)
        return wrapped
