"""Running the server: uvicorn with the limits of :mod:`voteaudit.server.limits` and an access log that logs.

Connection-level settings (all per server process, from :class:`~voteaudit.server.config.Settings`):

* ``header_timeout`` (10 s): a request's line and headers must be complete this long after its first
  byte (or after the connection opened), else 408 and the connection is closed;
* ``max_header_bytes`` (64 KiB): larger headers are a 431;
* ``read_timeout`` (30 s) per body chunk and ``body_timeout`` (300 s) per body: else 408;
* ``keep_alive`` (5 s): an idle keep-alive connection is closed (uvicorn ``timeout_keep_alive``);
* ``max_connections`` (2048): connections plus requests in progress; beyond it new requests get a
  503 at once (uvicorn ``limit_concurrency``), so memory stays bounded whatever the number of clients.

Behind a reverse proxy, set its equivalents too (nginx: ``client_header_timeout``,
``client_body_timeout``, ``client_max_body_size``, ``limit_conn``).
"""

from __future__ import annotations

import copy
from typing import Any

import uvicorn  # at the top: a missing server extra is reported before anything is printed

from voteaudit.server.config import Settings


def log_config(access_log: bool) -> dict[str, Any]:
    """uvicorn's logging configuration with warnings only, plus one line per request when ``access_log``."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["uvicorn"]["level"] = "WARNING"
    config["loggers"]["uvicorn.error"]["level"] = "WARNING"
    config["loggers"]["uvicorn.access"]["level"] = "INFO" if access_log else "WARNING"
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"   # beside the server's other messages
    return config


def run(settings: Settings, *, host: str, port: int, workers: int = 1, access_log: bool = False,
        protocol: str | None = None) -> None:
    """Serve ``create_app(settings)`` with uvicorn until interrupted (settings reach workers by environment).

    ``protocol``: "httptools" (the default when installed) or "h11", each with the header guard.
    """
    if protocol is None:
        try:
            import httptools  # noqa: F401
            protocol = "httptools"
        except ImportError:  # the server extra brings httptools
            protocol = "h11"
    http = {"httptools": "voteaudit.server.limits:GuardedHttpTools", "h11": "voteaudit.server.limits:GuardedH11"}[
        protocol]
    settings.to_env()
    uvicorn.run("voteaudit.server.app:create_app", factory=True, host=host, port=port, workers=workers,
                http=http, access_log=access_log, log_level=None, log_config=log_config(access_log),
                timeout_keep_alive=settings.keep_alive, limit_concurrency=settings.max_connections,
                # h11's own bound, above ours (one socket read further) so that ours answers, with a 431
                h11_max_incomplete_event_size=settings.max_header_bytes + 8192 + 256 * 1024,
                timeout_graceful_shutdown=5)
