"""``voteaudit serve`` and ``voteaudit users``: the API server and its users (PostgreSQL store)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voteaudit.cli.app import app
from voteaudit.cli.common import DEFAULT_DB, DbOpt, JsonOpt, emit, err, handle_errors, is_server_url, out, refuse

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
    access_log: Annotated[bool, typer.Option("--access-log", help="Log each request (paths only; "
                                                                  "tokens never appear).")] = False,
) -> None:
    """Serve the public API and pages, and (with PostgreSQL) authenticated submissions.

    With a DuckDB file the server is read-only (DuckDB allows one writing process; submissions
    need `--db postgresql://...`). Open /docs for the API, / for the public pages.
    """
    import uvicorn

    from voteaudit.server.config import Settings

    settings = Settings(db=db, source=source, quota=quota, rate=rate, burst=max(1, int(rate * 2)),
                        max_upload=max_upload)
    if not settings.writable and not Path(db).exists():
        refuse(f"{db}: no such store (ingest data first, or give --db postgresql://...)")
    settings.to_env()
    mode = "read-write" if settings.writable else "read-only (DuckDB: submissions need PostgreSQL)"
    err.print(f"voteaudit serving on http://{host}:{port} with {workers} worker(s), {mode}")
    uvicorn.run("voteaudit.server.app:create_app", factory=True, host=host, port=port, workers=workers,
                access_log=access_log, log_level="warning", timeout_graceful_shutdown=5)


@users_app.command("add")
@handle_errors
def users_add(
    name: Annotated[str, typer.Argument(help="User name (unique).")],
    role: Annotated[str, typer.Option("--role", help="observer, reviewer or admin.")],
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Create a user and print their token (shown once: only its hash is stored)."""
    if not is_server_url(db):
        refuse("users live in the server store: give --db postgresql://...")
    from voteaudit.server.db import connect, ensure_schema
    from voteaudit.server.users import add_user

    ensure_schema(db)
    with connect(db) as conn:
        user, token = add_user(conn, name, role)
    if as_json:
        emit({"name": user.name, "role": user.role, "id": user.user_id, "token": token})
    else:
        out.print(f"user {user.name} ({user.role}) created; token (shown once): {token}")
