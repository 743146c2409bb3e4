"""``voteaudit serve`` and ``voteaudit users``: Typer commands the main CLI registers.

    app.command("serve")(serve_command)
    app.add_typer(users_app, name="users")
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voteaudit.model import StoreError
from voteaudit.store import DEFAULT_DB
from voteaudit.terminal import DbOpt, JsonOpt, emit, err, out, run_guarded

users_app = typer.Typer(help="Server users: observers submit sheets, reviewers resolve disputes, admins both.",
                        no_args_is_help=True)


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
    --decode-memory (see voteaudit/server/serve.py for every limit).
    """
    from voteaudit.server.config import Settings
    from voteaudit.server.serve import run

    def body() -> None:
        settings = Settings(db=db, source=source, quota=quota, rate=rate, burst=max(1, int(rate * 2)),
                            max_upload=max_upload, header_timeout=header_timeout, max_connections=max_connections,
                            max_pixels=max_pixels, decode_memory=decode_memory << 20)
        if not settings.writable and not Path(db).exists():
            raise StoreError(f"{db}: no such store (ingest data first, or give --db postgresql://...)")
        mode = "read-write" if settings.writable else "read-only (DuckDB: submissions need PostgreSQL)"
        err.print(f"voteaudit serving on http://{host}:{port} with {workers} worker(s), {mode}")
        run(settings, host=host, port=port, workers=workers, access_log=access_log)

    run_guarded(body)


def _server_db(db: str):  # -> psycopg.Connection, with the server's tables in place
    if not db.startswith(("postgresql://", "postgres://")):
        raise StoreError("users live in the server store: give --db postgresql://...")
    from voteaudit.server.db import connect, ensure_schema

    ensure_schema(db)
    return connect(db)


def _expiry(expires_at) -> str:
    return f"expires {expires_at:%Y-%m-%d %H:%M %Z}" if expires_at else "never expires"


ExpiresOpt = Annotated[int | None, typer.Option("--expires", metavar="DAYS", help="Token valid for DAYS days.")]


@users_app.command("add")
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
    def body() -> None:
        from voteaudit.server.users import add_user

        with _server_db(db) as conn:
            user, token = add_user(conn, name, role, expires_days=expires, scope=scope)
            expires_at = conn.execute("SELECT expires_at FROM users WHERE user_id = %s", [user.user_id]).fetchone()[0]
        if as_json:
            emit({"name": user.name, "role": user.role, "id": user.user_id, "token": token, "scope": user.scope,
                  "expires_at": expires_at.isoformat() if expires_at else None})
        else:
            out.print(f"user {user.name} ({user.role}) created, {_expiry(expires_at)}; token (shown once): {token}")

    run_guarded(body)


@users_app.command("revoke")
def users_revoke(name: Annotated[str, typer.Argument(help="User name.")], db: DbOpt = DEFAULT_DB,
                 as_json: JsonOpt = False) -> None:
    """Disable a user's token now and end their sessions (their submissions are kept)."""
    def body() -> None:
        from voteaudit.server.users import revoke_user

        with _server_db(db) as conn:
            user = revoke_user(conn, name)
        if as_json:
            emit({"name": user.name, "revoked": True})
        else:
            out.print(f"user {user.name} revoked: their token and sessions no longer work")

    run_guarded(body)


@users_app.command("rotate")
def users_rotate(name: Annotated[str, typer.Argument(help="User name.")], db: DbOpt = DEFAULT_DB,
                 expires: ExpiresOpt = None, as_json: JsonOpt = False) -> None:
    """Give a user a new token (printed once); the old token and its sessions stop working."""
    def body() -> None:
        from voteaudit.server.users import rotate_user

        with _server_db(db) as conn:
            issued = rotate_user(conn, name, expires_days=expires)
        if as_json:
            emit({"name": issued.user.name, "token": issued.token,
                  "expires_at": issued.expires_at.isoformat() if issued.expires_at else None})
        else:
            out.print(f"user {issued.user.name}: new token, {_expiry(issued.expires_at)} (shown once): {issued.token}")

    run_guarded(body)


@users_app.command("import")
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
    def body() -> None:
        from voteaudit.server.users import import_roster

        target = tokens_out or roster.with_name(roster.stem + "-tokens.csv")
        with _server_db(db) as conn:
            issued = import_roster(conn, roster, target, expires_days=expires)
        roles: dict[str, int] = {}
        for i in issued:
            roles[i.user.role] = roles.get(i.user.role, 0) + 1
        if as_json:
            emit({"created": len(issued), "roles": roles, "tokens_file": str(target)})
        else:
            out.print(f"{len(issued)} users created ({', '.join(f'{n} {r}' for r, n in sorted(roles.items()))}); "
                      f"tokens in {target} (readable by you only)")

    run_guarded(body)
