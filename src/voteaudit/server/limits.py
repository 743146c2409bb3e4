"""Limits that hold against hostile clients: request bodies counted while they stream, slow bodies
and slow headers timed out, oversized headers refused.

* :class:`BodyLimit` (ASGI middleware) counts the bytes of each ``http.request`` message as the
  application reads them and refuses a body over its limit with a 413 the moment the limit is
  crossed (a declared ``Content-Length`` over it is refused before anything is read), so a 1 GiB
  chunked POST costs at most one limit's worth of memory. A body whose next chunk does not arrive
  within ``read_timeout`` seconds, or that is not complete within ``body_timeout``, is a 408. Both
  answers close the connection (the rest of the body is never read).
* :class:`GuardedHttpTools` / :class:`GuardedH11` (the uvicorn protocols ``voteaudit serve`` uses)
  close a connection whose request line and headers are not complete ``header_timeout`` seconds
  after its first byte (or after the connection opened), and answer 431 to headers over
  ``max_header_bytes``: uvicorn itself has no header timeout, so slow-header clients ("slowloris")
  would otherwise hold their connections for ever.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException

Scope = dict[str, Any]

#: Largest body of any request that is not an upload (JSON submissions, forms).
SMALL_BODY = 64 * 1024
UPLOAD_PATHS = ("/api/submissions", "/submit")


class BodyRefused(HTTPException):
    """Raised from ``receive`` when a body is too large (413) or too slow (408); closes the connection."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status, detail, headers={"Connection": "close"})


def body_limit(scope: Scope, max_upload: int) -> int:
    """The body size allowed for the request of ``scope``: an upload's size (+64 KiB of form) or 64 KiB."""
    if scope.get("method") == "POST" and scope.get("path") in UPLOAD_PATHS:
        for name, value in scope.get("headers", ()):
            if name == b"content-type" and value.split(b";")[0].strip().lower() == b"multipart/form-data":
                return max_upload + SMALL_BODY
    return SMALL_BODY


class BodyLimit:
    """ASGI middleware enforcing :func:`body_limit` and the body timeouts while the body streams."""

    def __init__(self, app: Any, *, max_upload: int, read_timeout: float = 30.0, body_timeout: float = 300.0,
                 limit: Callable[[Scope, int], int] = body_limit) -> None:
        self.app, self.max_upload = app, max_upload
        self.read_timeout, self.body_timeout, self.limit = read_timeout, body_timeout, limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed = self.limit(scope, self.max_upload)
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.strip().isdigit() and int(value) > allowed:
                await refuse(send, 413, f"request body larger than {allowed} bytes")
                return
        state = {"seen": 0, "done": False, "started": False, "refused": None}
        deadline = time.monotonic() + self.body_timeout

        async def counted() -> dict[str, Any]:
            if state["refused"] is not None:
                raise state["refused"]
            if state["done"]:
                return await receive()   # after the body: only http.disconnect remains to wait for
            wait = min(self.read_timeout, deadline - time.monotonic())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait, 0.001))
            except TimeoutError:
                state["refused"] = BodyRefused(408, "request body too slow: timed out")
                raise state["refused"] from None
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > allowed:
                    state["refused"] = BodyRefused(413, f"request body larger than {allowed} bytes")
                    raise state["refused"]
                state["done"] = not message.get("more_body", False)
            else:
                state["done"] = True
            return message

        async def tracked(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyRefused as exc:   # raised where no exception handler answered it
            if state["started"]:
                raise
            await refuse(send, exc.status_code, str(exc.detail))


async def refuse(send: Any, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"), (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": body})


# -- the connection level (uvicorn) --------------------------------------------------------------------------

def _guarded(base: type) -> type:
    """``base`` (uvicorn's httptools or h11 protocol) with a header timeout and a header size limit.

    Both protocols create a new ``cycle`` when a request's headers are complete: the timer runs from
    the connection (or the first byte after a response) until then.
    """
    from voteaudit.server.config import Settings

    settings = Settings.from_env()

    class Guarded(base):  # type: ignore[misc, valid-type]
        header_timeout = settings.header_timeout
        max_header_bytes = settings.max_header_bytes

        def connection_made(self, transport: Any) -> None:   # type: ignore[override]
            self._header_timer: asyncio.TimerHandle | None = None
            self._header_bytes = 0
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_bytes = 0
                self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

        def _disarm(self) -> None:
            timer, self._header_timer = self._header_timer, None
            if timer is not None:
                timer.cancel()

        def _too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self._reply_and_close(408, b"request headers too slow: timed out")

        def _reply_and_close(self, status: int, msg: bytes) -> None:
            reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
            self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                 b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                                 % (status, reason, len(msg), msg))
            self.transport.close()

        def data_received(self, data: bytes) -> None:
            cycle = self.cycle
            if cycle is None or cycle.response_complete:    # these bytes begin a request's headers
                self._arm()
            super().data_received(data)
            if self._header_timer is None:
                return
            if self.cycle is not cycle and self.cycle is not None:    # headers complete: a request began
                self._disarm()
                return
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes + 8192 and not self.transport.is_closing():
                self._disarm()                                       # (+ the request line)
                self._reply_and_close(431, b"request headers too large")

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    Guarded.__name__ = Guarded.__qualname__ = "Guarded" + base.__name__
    return Guarded


_CLASSES: dict[str, type] = {}


def _class(name: str) -> type:
    if name not in _CLASSES:
        if name == "httptools":
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
        else:
            from uvicorn.protocols.http.h11_impl import H11Protocol as base
        _CLASSES[name] = _guarded(base)
    return _CLASSES[name]


class GuardedHttpTools:
    """Importable name for uvicorn's ``http=`` option (``voteaudit.server.limits:GuardedHttpTools``)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _class("httptools")(*args, **kwargs)


class GuardedH11:
    """The same over h11 (when httptools is not installed)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _class("h11")(*args, **kwargs)
