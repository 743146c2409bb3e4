"""Users, roles, tokens and sessions. Only a SHA-256 of each token is stored; tokens are shown once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import psycopg

from voteaudit.model import InputError

ROLES = ("observer", "reviewer", "admin")
#: What each role may do: observers submit, reviewers resolve, admins both.
CAN = {"submit": {"observer", "admin"}, "resolve": {"reviewer", "admin"}, "review": {"reviewer", "admin"}}
SESSION_DAYS = 7


@dataclass(frozen=True)
class User:
    user_id: int
    name: str
    role: str

    def can(self, action: str) -> bool:
        return self.role in CAN[action]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def audit(conn: psycopg.Connection, action: str, *, user_id: int | None = None, submission_id: int | None = None,
          detail: dict | None = None) -> None:
    """Append one event to the audit log (append-only: a trigger refuses updates and deletes)."""
    conn.execute("INSERT INTO audit_log (user_id, action, submission_id, detail) VALUES (%s, %s, %s, %s)",
                 [user_id, action, submission_id, psycopg.types.json.Jsonb(detail or {})])


def add_user(conn: psycopg.Connection, name: str, role: str) -> tuple[User, str]:
    """Create a user; return it and its token (the only time the token exists in clear)."""
    name = name.strip()
    if role not in ROLES:
        raise InputError(f"unknown role {role!r} (roles: {', '.join(ROLES)})", field="--role")
    if not name or len(name) > 100:
        raise InputError("a user name is 1 to 100 characters", field="NAME")
    token = "va_" + secrets.token_urlsafe(32)
    with conn.transaction():
        row = conn.execute("INSERT INTO users (name, role, token_hash) VALUES (%s, %s, %s) "
                           "ON CONFLICT (name) DO NOTHING RETURNING user_id",
                           [name, role, token_hash(token)]).fetchone()
        if row is None:
            raise InputError(f"a user named {name!r} already exists", field="NAME")
        audit(conn, "user.add", user_id=row[0], detail={"name": name, "role": role})
    return User(row[0], name, role), token


def by_token(conn: psycopg.Connection, token: str) -> User | None:
    row = conn.execute("SELECT user_id, name, role FROM users WHERE token_hash = %s AND NOT disabled",
                       [token_hash(token)]).fetchone()
    return User(*row) if row else None


def new_session(conn: psycopg.Connection, user: User) -> tuple[str, str]:
    """A browser session for ``user``: (session cookie value, CSRF token)."""
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    conn.execute("INSERT INTO sessions VALUES (%s, %s, %s, now(), now() + make_interval(days => %s))",
                 [token_hash(sid), user.user_id, csrf, SESSION_DAYS])
    audit(conn, "session.login", user_id=user.user_id)
    return sid, csrf


def by_session(conn: psycopg.Connection, sid: str) -> tuple[User, str] | None:
    row = conn.execute("SELECT u.user_id, u.name, u.role, s.csrf FROM sessions s JOIN users u USING (user_id) "
                       "WHERE s.session_hash = %s AND s.expires_at > now() AND NOT u.disabled",
                       [token_hash(sid)]).fetchone()
    return (User(*row[:3]), row[3]) if row else None


def end_session(conn: psycopg.Connection, sid: str) -> None:
    conn.execute("DELETE FROM sessions WHERE session_hash = %s", [token_hash(sid)])
