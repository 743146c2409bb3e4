"""``voteaudit cases``: one ranked list of what could still change the result; ``cases close``."""

from __future__ import annotations

from typing import Annotated

import typer

from voteaudit.cli.common import (
    DEFAULT_DB,
    ContestOpt,
    DbOpt,
    JsonOpt,
    emit,
    handle_errors,
    is_server_url,
    say,
    store_at,
    table,
)

cases_app = typer.Typer(help="The open problems that could still change the result, ranked; close them with a note.",
                        invoke_without_command=True, no_args_is_help=False, rich_markup_mode=None)


@cases_app.callback()
@handle_errors
def cases(
    ctx: typer.Context,
    contest: ContestOpt = None,
    top: Annotated[int, typer.Option("--top", help="How many cases to list (JSON: all).")] = 30,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Every open problem, largest possible effect on the leader's margin first.

    Tables without a sheet, tables where sources disagree, conflicting copies within a source,
    tables a feed changed after publishing them, disputed submissions (server store) and audit
    discrepancies. Each has a stable `id`, its evidence and `margin_effect`, the most it could move
    the margin between the leader and the runner-up. `could_change_outcome`: whether the open cases
    together could reverse the leader.
    """
    if ctx.invoked_subcommand is not None:
        return
    from voteaudit.casework import cases_of

    with store_at(db, read_only=True) as store:
        doc = cases_of(store, contest).to_dict()
    if as_json:
        emit(doc)
        return
    verdict = {True: "could change the outcome", False: "cannot change the outcome",
               None: "may or may not change the outcome (some effects unknown)"}[doc["could_change_outcome"]]
    say(f"Leader {doc['leader']}, runner-up {doc['runner_up']}, margin {doc['margin']:,} votes "
        f"({doc['basis']['tables']:,} tables). {doc['open']:,} open cases, effect up to {doc['open_effect']:,} "
        f"votes: together they {verdict}." if doc["margin"] is not None else "Fewer than two candidates: no margin.")
    rows = [[c["id"], c["kind"], c["unit"] or f"{c.get('tables') or '?'} tables", "?" if c["margin_effect"] is None
             else f"{c['margin_effect']:,}", c["status"], ", ".join(c.get("sources", []))]
            for c in doc["cases"][:top]]
    if rows:
        table("Cases", ["id", "kind", "table", "margin effect", "status", "sources"], rows, right={3})


@cases_app.command("close")
@handle_errors
def close(
    case: Annotated[str, typer.Argument(metavar="ID", help="The case id (from `voteaudit cases`).")],
    note: Annotated[str, typer.Option("--note", metavar="TEXT", help="Why it is closed (kept with the time).")],
    contest: ContestOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Close a case with a note (kept, with the time, in the store; and in the server's audit log)."""
    from pathlib import Path

    from voteaudit.casework import close_case

    if not is_server_url(db) and not Path(db).exists():
        with store_at(db, read_only=True):  # names the missing store and how to make one
            pass
    with store_at(db) as store:
        doc = close_case(store, case, note, contest)
    if as_json:
        emit(doc)
    else:
        say(f"case {case} closed ({doc['kind']}{', table ' + doc['unit'] if doc['unit'] else ''}).")
