"""``voteaudit serve`` and ``voteaudit users``: the API server and its users (PostgreSQL store)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voteaudit.cli.app import app
from voteaudit.cli.common import DEFAULT_DB, DbOpt, JsonOpt, emit, err, handle_errors, is_server_url, out, refuse

if TYPE_CHECKING:
    from datetime import datetime

    import psycopg

users_app = typer.Typer(help="Server users: observers submit sheets, reviewers resolve disputes, admins both.",
                        no_args_is_help=True)


@app.command("serve")
@handle_errors
def serve_command(
    db: DbOpt = DEFAULT_DB,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", help="Server processes.", min=1, max=64)] = 1,
    source: Annotated[str, typer.Option("--source", help="Source that accepted submissions join "
                                                         "(kind observer).")] = "observers",
    quota: Annotated[int, typer.Option("--quota", help="Submissions allowed per user.")] = 10_000,
    rate: Annotated[float, typer.Option("--rate", help="Submissions per second per user (per process).")] = 20.0,
    max_upload: Annotated[int, typer.Option("--max-upload", help="Largest upload, bytes.")] = 8 * 1024 * 1024,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log one line per request to stderr (method, "
                                                                  "path, status; tokens never appear).")] = False,
    header_timeout: Annotated[float, typer.Option("--header-timeout", min=0.5, help="Seconds a client has to send a "
                                                  "request's headers (slow clients are cut off).")] = 10.0,
    max_connections: Annotated[int, typer.Option("--max-connections", min=16, help="Connections and requests in "
                                                 "progress per process; beyond, new requests get 503 at once.")] = 2048,
    max_pixels: Annotated[int, typer.Option("--max-pixels", min=1_000_000, help="Largest photo decoded, in pixels "
                                            "(read from its header before decoding).")] = 40_000_000,
    decode_memory: Annotated[int, typer.Option("--decode-memory", min=768, help="Memory cap of the photo-decoding "
                                               "process, MiB.")] = 1024,
) -> None:
    """Serve the public API and pages, and (with PostgreSQL) authenticated submissions.

    With a DuckDB file the server is read-only (DuckDB allows one writing process; submissions
    need `--db postgresql://...`). Open /docs for the API, / for the public pages. Bodies are
    limited while they stream (uploads: --max-upload; anything else: 64 KiB), slow headers and
    bodies time out, and photos are decoded in a separate process under --max-pixels and
    --decode-memory (voteaudit/server/serve.py lists every limit).
    """
    from voteaudit.server.config import Settings
    from voteaudit.server.serve import run

    settings = Settings(db=db, source=source, quota=quota, rate=rate, burst=max(1, int(rate * 2)),
                        max_upload=max_upload, header_timeout=header_timeout, max_connections=max_connections,
                        max_pixels=max_pixels, decode_memory=decode_memory << 20)
    if not settings.writable and not Path(db).exists():
        refuse(f"{db}: no such store (ingest data first, or give --db postgresql://...)")
    mode = "read-write" if settings.writable else "read-only (DuckDB: submissions need PostgreSQL)"
    err.print(f"voteaudit serving on http://{host}:{port} with {workers} worker(s), {mode}")
    run(settings, host=host, port=port, workers=workers, access_log=access_log)


def server_db(db: str) -> psycopg.Connection:
    """A connection to the server store ``db``, with the server's tables in place."""
    if not is_server_url(db):
        refuse("users live in the server store: give --db postgresql://...")
    from voteaudit.server.db import connect, ensure_schema

    ensure_schema(db)
    return connect(db)


def expiry(expires_at: datetime | None) -> str:
    return f"expires {expires_at:%Y-%m-%d %H:%M %Z}" if expires_at else "never expires"


def iso(expires_at: datetime | None) -> str | None:
    return expires_at.isoformat() if expires_at else None


ExpiresOpt = Annotated[int | None, typer.Option("--expires", metavar="DAYS", help="Token valid for DAYS days.")]


@users_app.command("add")
@handle_errors
def users_add(
    name: Annotated[str, typer.Argument(help="User name (unique).")],
    role: Annotated[str, typer.Option("--role", help="observer, reviewer or admin.")],
    db: DbOpt = DEFAULT_DB,
    expires: ExpiresOpt = None,
    scope: Annotated[str | None, typer.Option("--scope", metavar="REGION", help="Submit only for tables under "
                                              "this region id.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user and print their token (shown once: only its hash is stored)."""
    from voteaudit.server.users import add_user

    with server_db(db) as conn:
        user, token = add_user(conn, name, role, expires_days=expires, scope=scope)
        expires_at = conn.execute("SELECT expires_at FROM users WHERE user_id = %s", [user.user_id]).fetchone()[0]
    if as_json:
        emit({"name": user.name, "role": user.role, "id": user.user_id, "token": token, "scope": user.scope,
              "expires_at": iso(expires_at)})
    else:
        out.print(f"user {user.name} ({user.role}) created, {expiry(expires_at)}; token (shown once): {token}")


@users_app.command("revoke")
@handle_errors
def users_revoke(name: Annotated[str, typer.Argument(help="User name.")], db: DbOpt = DEFAULT_DB,
                 as_json: JsonOpt = False) -> None:
    """Disable a user's token now and end their sessions (their submissions are kept)."""
    from voteaudit.server.users import revoke_user

    with server_db(db) as conn:
        user = revoke_user(conn, name)
    if as_json:
        emit({"name": user.name, "revoked": True})
    else:
        out.print(f"user {user.name} revoked: their token and sessions no longer work")


@users_app.command("rotate")
@handle_errors
def users_rotate(name: Annotated[str, typer.Argument(help="User name.")], db: DbOpt = DEFAULT_DB,
                 expires: ExpiresOpt = None, as_json: JsonOpt = False) -> None:
    """Give a user a new token (printed once); the old token and its sessions stop working."""
    from voteaudit.server.users import rotate_user

    with server_db(db) as conn:
        issued = rotate_user(conn, name, expires_days=expires)
    if as_json:
        emit({"name": issued.user.name, "token": issued.token, "expires_at": iso(issued.expires_at)})
    else:
        out.print(f"user {issued.user.name}: new token, {expiry(issued.expires_at)} (shown once): {issued.token}")


@users_app.command("import")
@handle_errors
def users_import(
    roster: Annotated[Path, typer.Argument(help="CSV with columns name, role and optionally scope (a region id).")],
    db: DbOpt = DEFAULT_DB,
    tokens_out: Annotated[Path | None, typer.Option("--tokens-out", metavar="FILE", help="Where to write the "
                                                    "tokens (mode 0600, never overwritten; default: "
                                                    "ROSTER-tokens.csv).")] = None,
    expires: ExpiresOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create every user of a roster in one transaction (all or none) and write their tokens to a file."""
    from voteaudit.server.users import import_roster

    target = tokens_out or roster.with_name(roster.stem + "-tokens.csv")
    with server_db(db) as conn:
        issued = import_roster(conn, roster, target, expires_days=expires)
    roles: dict[str, int] = {}
    for i in issued:
        roles[i.user.role] = roles.get(i.user.role, 0) + 1
    if as_json:
        emit({"created": len(issued), "roles": roles, "tokens_file": str(target)})
    else:
        out.print(f"{len(issued)} users created ({', '.join(f'{n} {r}' for r, n in sorted(roles.items()))}); "
                  f"tokens in {target} (readable by you only)")
