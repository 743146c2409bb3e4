"""The FastAPI application: ``create_app(settings)`` (uvicorn workers call it as a factory)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from voteaudit.server import api, pages, submit_api
from voteaudit.server.auth import RateLimiter
from voteaudit.server.cache import PublicCache
from voteaudit.server.config import Settings
from voteaudit.server.limits import BodyLimit
from voteaudit.server.readmodel import Reader

log = logging.getLogger("voteaudit.server")


class Refresher(threading.Thread):
    """Updates the read model when the store changes (every ``interval`` seconds at most)."""

    def __init__(self, reader: Reader, interval: float) -> None:
        super().__init__(name="voteaudit-refresh", daemon=True)
        self.reader, self.interval, self.stopping = reader, interval, threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.reader.refresh_if_changed()
            except Exception:  # noqa: BLE001 - the old model keeps serving
                log.exception("read model refresh failed")


class SubmitGate:
    """ASGI middleware: at most ``limit`` submission requests of this process in progress at once.

    The others wait (cheaply, holding only their connection), so a burst of uploads keeps a bounded
    share of the event loop, the thread pool and the store's connections, and public reads stay fast.
    """

    def __init__(self, app: Any, *, limit: int) -> None:
        self.app, self.limit = app, limit
        self.gate: asyncio.Semaphore | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/api/submissions"):
            await self.app(scope, receive, send)
            return
        if self.gate is None:
            self.gate = asyncio.Semaphore(self.limit)
        async with self.gate:
            await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from voteaudit.server.db import Pool, ensure_schema
        from voteaudit.server.decoder import Limits
        from voteaudit.server.worker import Worker

        threads: list = []
        app.state.pool = None
        app.state.wake = lambda: None
        if settings.writable:
            ensure_schema(settings.db)
            app.state.pool = Pool(settings.db, settings.write_pool)
            if settings.worker:
                worker = Worker(settings.db, settings.source, limits=Limits(
                    settings.max_pixels, settings.decode_memory, settings.decode_seconds))
                worker.start()
                app.state.wake = worker.wake
                threads.append(worker)
        reader = Reader(settings.db, pool=settings.read_pool, refresh=settings.refresh)
        app.state.reader = reader
        reader.rebuild()
        refresher = Refresher(reader, settings.refresh)
        refresher.start()
        try:
            yield
        finally:
            refresher.stopping.set()
            for t in threads:
                t.stop()
            for t in threads:
                t.join(timeout=5)
            reader.close()
            if app.state.pool is not None:
                app.state.pool.close()

    app = FastAPI(title="voteaudit", version="1", lifespan=lifespan,
                  description="Public read-only results API and authenticated submissions of tally sheets.")
    app.state.settings = settings
    app.state.limiter = RateLimiter(settings.rate, settings.burst)
    app.state.reader = None

    app.add_middleware(SubmitGate, limit=max(1, settings.submit_concurrency))
    app.add_middleware(PublicCache, reader=lambda: app.state.reader, max_age=settings.cache_seconds)
    # outermost: bodies are counted (and refused) before any other layer sees them
    app.add_middleware(BodyLimit, max_upload=settings.max_upload, read_timeout=settings.read_timeout,
                       body_timeout=settings.body_timeout)
    app.include_router(api.router)
    app.include_router(submit_api.router)
    app.include_router(pages.router)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api") or request.url.path == "/openapi.json":
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return pages.error_page(exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        detail = [{k: e.get(k) for k in ("loc", "msg", "type")} for e in exc.errors()]
        if request.url.path.startswith("/api"):
            return JSONResponse({"detail": detail}, status_code=422)
        return pages.error_page(422, "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail))

    return app
