"""Who is asking: a bearer token (API) or a session cookie (pages); per-user rate limits."""

from __future__ import annotations

import threading
import time

from fastapi import HTTPException, Request

from voteaudit.server.users import User, by_session, by_token

SESSION_COOKIE = "va_session"


class RateLimiter:
    """A token bucket per user (per server process): ``rate`` per second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, user_id: int) -> bool:
        now = time.monotonic()
        with self._lock:
            level, at = self._buckets.get(user_id, (float(self.burst), now))
            level = min(float(self.burst), level + (now - at) * self.rate)
            if level < 1:
                self._buckets[user_id] = (level, now)
                return False
            self._buckets[user_id] = (level - 1, now)
            return True


def pool(request: Request):  # -> Pool
    p = request.app.state.pool
    if p is None:
        raise HTTPException(503, "submissions need a PostgreSQL store; this server is read-only")
    return p


def bearer_user(request: Request) -> User:
    """The user of the request's ``Authorization: Bearer`` token (401 otherwise)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    with pool(request).connection() as conn:
        user = by_token(conn, token.strip())
    if user is None:
        raise HTTPException(401, "unknown or disabled token", headers={"WWW-Authenticate": "Bearer"})
    return user


def session_user(request: Request) -> tuple[User, str] | None:
    """(user, csrf token) of the session cookie, or None."""
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid or request.app.state.pool is None:
        return None
    with pool(request).connection() as conn:
        return by_session(conn, sid)


def require(user: User, action: str) -> None:
    if not user.can(action):
        raise HTTPException(403, f"role {user.role!r} may not {action}")


def limit(request: Request, user: User) -> None:
    if not request.app.state.limiter.allow(user.user_id):
        raise HTTPException(429, "too many submissions: slow down", headers={"Retry-After": "1"})
