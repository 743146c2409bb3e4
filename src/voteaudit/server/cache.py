"""Public responses: cached per read-model version, with ETag / Cache-Control, and security headers."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

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


def cacheable(path: str) -> bool:
    return path == "/" or path.startswith(PUBLIC)


class PublicCache:
    """ASGI middleware: GET/HEAD of public paths served from memory while the read model is unchanged."""

    def __init__(self, app: ASGI, *, version: Callable[[], int | None], max_age: int = 5,
                 size: int = 20_000) -> None:
        self.app, self.version, self.max_age, self.size = app, version, max_age, size
        self.entries: OrderedDict[tuple, tuple[int, list, bytes, bytes]] = OrderedDict()

    async def __call__(self, scope: Scope, receive: ASGI, send: ASGI) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        version = self.version()
        if method not in ("GET", "HEAD") or version is None or not cacheable(path):
            await self.app(scope, receive, self._secure(send))
            return
        key = (path, scope.get("query_string", b""))
        hit = self.entries.get(key)
        if hit is not None and hit[0] == version:
            self.entries.move_to_end(key)
            await self._reply(scope, send, hit[1], hit[2], hit[3])
            return
        captured: dict[str, Any] = {"body": []}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured["start"] = message
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
                if not message.get("more_body"):
                    await self._finish(scope, send, key, version, captured)

        await self.app(scope, receive, capture)

    async def _finish(self, scope: Scope, send: ASGI, key: tuple, version: int, captured: dict[str, Any]) -> None:
        start, body = captured["start"], b"".join(captured["body"])
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length",)]
        if start["status"] != 200:
            await self._secure(send)({**start, "headers": headers + [(b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        etag = b'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
        headers += [(b"etag", etag), (b"cache-control", f"public, max-age={self.max_age}".encode())]
        self.entries[key] = (version, headers, body, etag)
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)
        await self._reply(scope, send, headers, body, etag)

    async def _reply(self, scope: Scope, send: ASGI, headers: list, body: bytes, etag: bytes) -> None:
        inm = next((v for k, v in scope.get("headers", []) if k == b"if-none-match"), None)
        secure = self._secure(send)
        if inm is not None and etag in [t.strip() for t in inm.split(b",")]:
            await secure({"type": "http.response.start", "status": 304,
                          "headers": [(k, v) for k, v in headers if k in (b"etag", b"cache-control")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await secure({"type": "http.response.start", "status": 200,
                      "headers": headers + [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    @staticmethod
    def _secure(send: ASGI) -> ASGI:
        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": list(message.get("headers", []))
                           + [(k, v) for k, v in SECURITY if k not in have]}
            await send(message)
        return wrapped
