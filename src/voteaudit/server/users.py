"""Users, roles, tokens and sessions. Only a SHA-256 of each token is stored; tokens are shown once.

Tokens are 256 random bits (``secrets.token_urlsafe(32)``): guessing one is hopeless, so a plain
SHA-256 is the right hash (a slow password KDF protects low-entropy secrets and would only make a
roster of thousands slow to create). A token may expire (``expires_at``); revoking a user disables
the token and ends their sessions; rotating gives a new token and invalidates the old one and its
sessions. A user may be limited to one region (``scope``): they submit only for tables under it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from voteaudit.model import InputError

ROLES = ("observer", "reviewer", "admin")
#: What each role may do: observers submit, reviewers resolve, admins both.
CAN = {"submit": {"observer", "admin"}, "resolve": {"reviewer", "admin"}, "review": {"reviewer", "admin"}}
SESSION_DAYS = 7
MAX_DAYS = 3650
#: A token is valid while its user is not revoked and its expiry (if any) is in the future.
VALID = "NOT u.disabled AND (u.expires_at IS NULL OR u.expires_at > now())"


@dataclass(frozen=True)
class User:
    user_id: int
    name: str
    role: str
    scope: str | None = None

    def can(self, action: str) -> bool:
        return self.role in CAN[action]

    def covers(self, unit: str) -> bool:
        return in_region(unit, self.scope)


def in_region(unit: str, scope: str | None) -> bool:
    """Whether ``unit`` lies in region ``scope`` (always, without a scope)."""
    return scope is None or unit == scope or unit.startswith(scope + ".")


@dataclass(frozen=True)
class Issued:
    """A user and their token (the only time the token exists in clear)."""

    user: User
    token: str
    expires_at: datetime | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "va_" + secrets.token_urlsafe(32)


def audit(conn: psycopg.Connection, action: str, *, user_id: int | None = None, submission_id: int | None = None,
          detail: dict | None = None) -> None:
    """Append one event to the audit log (append-only: a trigger refuses updates and deletes)."""
    conn.execute("INSERT INTO audit_log (user_id, action, submission_id, detail) VALUES (%s, %s, %s, %s)",
                 [user_id, action, submission_id, psycopg.types.json.Jsonb(detail or {})])


def check_user(name: str, role: str, expires_days: int | None, *, file: str | None = None,
               row: int | None = None) -> str:
    """The clean name; InputError naming the field (and the roster's file and row) when invalid."""
    name = name.strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise InputError("a user name is 1 to 100 characters", file=file, row=row, field="name" if row else "NAME")
    if role not in ROLES:
        raise InputError(f"unknown role {role!r} (roles: {', '.join(ROLES)})", file=file, row=row,
                         field="role" if row else "--role")
    if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
        raise InputError(f"expiry is 1 to {MAX_DAYS} days", file=file, row=row, field="--expires")
    return name


def _missing_regions(conn: psycopg.Connection, scopes: set[str]) -> set[str]:
    if not scopes:
        return set()
    found = {r[0] for r in conn.execute("SELECT id FROM nodes WHERE id = ANY(%s)", [sorted(scopes)])}
    return scopes - found


def add_user(conn: psycopg.Connection, name: str, role: str, *, expires_days: int | None = None,
             scope: str | None = None) -> tuple[User, str]:
    """Create a user; return it and its token (the only time the token exists in clear)."""
    name = check_user(name, role, expires_days)
    scope = (scope or "").strip() or None
    if scope is not None and _missing_regions(conn, {scope}):
        raise InputError(f"no region {scope!r} in this election", field="--scope")
    token = new_token()
    with conn.transaction():
        row = conn.execute("INSERT INTO users (name, role, token_hash, expires_at, scope) VALUES "
                           "(%s, %s, %s, now() + make_interval(days => %s), %s) "
                           "ON CONFLICT (name) DO NOTHING RETURNING user_id",
                           [name, role, token_hash(token), expires_days, scope]).fetchone()
        if row is None:
            raise InputError(f"a user named {name!r} already exists", field="NAME")
        audit(conn, "user.add", user_id=row[0], detail={"name": name, "role": role, "scope": scope,
                                                        "expires_days": expires_days})
    return User(row[0], name, role, scope), token


def _named(conn: psycopg.Connection, name: str) -> tuple[int, str, str | None]:
    row = conn.execute("SELECT user_id, role, scope FROM users WHERE name = %s FOR UPDATE", [name]).fetchone()
    if row is None:
        raise InputError(f"no user named {name!r}", field="NAME")
    return row


def revoke_user(conn: psycopg.Connection, name: str) -> User:
    """Disable ``name``'s token at once and end their sessions (the user and their submissions are kept)."""
    with conn.transaction():
        uid, role, scope = _named(conn, name)
        conn.execute("UPDATE users SET disabled = true, revoked_at = now() WHERE user_id = %s", [uid])
        conn.execute("DELETE FROM sessions WHERE user_id = %s", [uid])
        audit(conn, "user.revoke", user_id=uid, detail={"name": name})
    return User(uid, name, role, scope)


def rotate_user(conn: psycopg.Connection, name: str, *, expires_days: int | None = None) -> Issued:
    """A new token for ``name``; the old one and its sessions stop working. Re-enables a revoked user.

    ``expires_days`` sets a new expiry from now; without it the user's expiry is kept.
    """
    if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
        raise InputError(f"expiry is 1 to {MAX_DAYS} days", field="--expires")
    token = new_token()
    with conn.transaction():
        uid, role, scope = _named(conn, name)
        (expires,) = conn.execute(
            "UPDATE users SET token_hash = %s, disabled = false, revoked_at = NULL, expires_at = CASE WHEN "
            "%s::int IS NULL THEN expires_at ELSE now() + make_interval(days => %s::int) END "
            "WHERE user_id = %s RETURNING expires_at", [token_hash(token), expires_days, expires_days, uid]).fetchone()
        conn.execute("DELETE FROM sessions WHERE user_id = %s", [uid])
        audit(conn, "user.rotate", user_id=uid, detail={"name": name, "expires_days": expires_days})
    return Issued(User(uid, name, role, scope), token, expires)


def read_roster(path: Path) -> list[tuple[int, str, str, str | None]]:
    """(row, name, role, scope) of each user of a roster CSV (columns name, role, optional scope or region).

    InputError names the file, row and field of the first problem (a duplicate name included).
    """
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=file) from None
    except OSError as exc:
        raise InputError(f"cannot read the roster: {exc.strerror}", file=file) from None
    try:
        lines = list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise InputError(f"not a readable CSV file ({exc})", file=file) from None
    reader = iter(lines)
    header = [{"region": "scope"}.get(h.strip().lower(), h.strip().lower()) for h in next(reader, [])]
    for needed in ("name", "role"):
        if needed not in header:
            raise InputError(f"the header needs a {needed!r} column (columns: name, role, optional scope)",
                             file=file, row=1)
    unknown = [h for h in header if h not in ("name", "role", "scope")]
    if unknown:
        raise InputError(f"unknown column {unknown[0]!r} (columns: name, role, optional scope)", file=file, row=1)
    col = {h: header.index(h) for h in header}
    out, seen = [], {}
    for row, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise InputError(f"{len(cells)} cells, the header has {len(header)}", file=file, row=row)
        role = cells[col["role"]].strip().lower()
        name = check_user(cells[col["name"]], role, None, file=file, row=row)
        if name in seen:
            raise InputError(f"user {name!r} is also on row {seen[name]}", file=file, row=row, field="name")
        seen[name] = row
        scope = cells[col["scope"]].strip() or None if "scope" in col else None
        out.append((row, name, role, scope))
    if not out:
        raise InputError("the roster lists no users", file=file)
    return out


def import_roster(conn: psycopg.Connection, roster: Path, tokens_out: Path, *,
                  expires_days: int | None = None) -> list[Issued]:
    """Create every user of ``roster`` in one transaction and write their tokens to ``tokens_out``.

    The tokens file is created first (mode 0600, never over an existing file) and written before
    the transaction commits; if anything fails, no user is created and the file is removed.
    """
    rows = read_roster(roster)
    if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
        raise InputError(f"expiry is 1 to {MAX_DAYS} days", field="--expires")
    try:
        fd = os.open(tokens_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError("the tokens file already exists: choose a new name (tokens are never overwritten)",
                         file=str(tokens_out)) from None
    except OSError as exc:
        raise InputError(f"cannot create the tokens file: {exc.strerror}", file=str(tokens_out)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            issued = _create_all(conn, roster, rows, expires_days, fh)
        return issued
    except BaseException:
        tokens_out.unlink(missing_ok=True)
        raise


def _create_all(conn: psycopg.Connection, roster: Path, rows: list[tuple[int, str, str, str | None]],
                expires_days: int | None, fh) -> list[Issued]:
    file = str(roster)
    tokens = [new_token() for _ in rows]
    with conn.transaction():
        conn.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")   # no name can appear meanwhile
        taken = {r[0] for r in conn.execute("SELECT name FROM users WHERE name = ANY(%s)", [[r[1] for r in rows]])}
        for row, name, _, _ in rows:
            if name in taken:
                raise InputError(f"a user named {name!r} already exists", file=file, row=row, field="name")
        missing = _missing_regions(conn, {r[3] for r in rows if r[3]})
        for row, _, _, scope in rows:
            if scope in missing:
                raise InputError(f"no region {scope!r} in this election", file=file, row=row, field="scope")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO users (name, role, token_hash, expires_at, scope) VALUES "
                            "(%s, %s, %s, now() + make_interval(days => %s), %s) RETURNING user_id, expires_at",
                            [(name, role, token_hash(t), expires_days, scope)
                             for (_, name, role, scope), t in zip(rows, tokens, strict=True)], returning=True)
            made = []
            while True:
                made.append(cur.fetchone())
                if not cur.nextset():
                    break
        conn.execute("INSERT INTO audit_log (user_id, action, detail) SELECT u, 'user.add', "
                     "jsonb_build_object('name', n, 'role', r, 'scope', s, 'roster', %s::text) "
                     "FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[]) AS t(u, n, r, s)",
                     [Path(file).name, [m[0] for m in made], [r[1] for r in rows], [r[2] for r in rows],
                      [r[3] for r in rows]])
        issued = [Issued(User(m[0], name, role, scope), t, m[1])
                  for (_, name, role, scope), t, m in zip(rows, tokens, made, strict=True)]
        writer = csv.writer(fh)
        writer.writerow(["name", "role", "scope", "token", "expires_at"])
        for i in issued:
            writer.writerow([i.user.name, i.user.role, i.user.scope or "", i.token,
                             i.expires_at.isoformat() if i.expires_at else ""])
        fh.flush()
        os.fsync(fh.fileno())
    return issued


def by_token(conn: psycopg.Connection, token: str) -> User | None:
    row = conn.execute(f"SELECT u.user_id, u.name, u.role, u.scope FROM users u WHERE u.token_hash = %s AND {VALID}",
                       [token_hash(token)]).fetchone()
    return User(*row) if row else None


def new_session(conn: psycopg.Connection, user: User) -> tuple[str, str]:
    """A browser session for ``user``: (session cookie value, CSRF token); it ends no later than the token."""
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    conn.execute("INSERT INTO sessions SELECT %s, %s, %s, now(), least(now() + make_interval(days => %s), "
                 "(SELECT expires_at FROM users WHERE user_id = %s))",
                 [token_hash(sid), user.user_id, csrf, SESSION_DAYS, user.user_id])
    audit(conn, "session.login", user_id=user.user_id)
    return sid, csrf


def by_session(conn: psycopg.Connection, sid: str) -> tuple[User, str] | None:
    row = conn.execute("SELECT u.user_id, u.name, u.role, u.scope, s.csrf FROM sessions s JOIN users u USING (user_id) "
                       f"WHERE s.session_hash = %s AND s.expires_at > now() AND {VALID}",
                       [token_hash(sid)]).fetchone()
    return (User(*row[:4]), row[4]) if row else None


def end_session(conn: psycopg.Connection, sid: str) -> None:
    conn.execute("DELETE FROM sessions WHERE session_hash = %s", [token_hash(sid)])
