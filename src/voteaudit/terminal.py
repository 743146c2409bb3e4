"""What every command shares: consoles, the --db/--json options, JSON output, errors, progress.

Output quotes user data (candidate and place names), so Rich markup is off on both consoles.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from voteaudit.model import VoteauditError
from voteaudit.store import Store, open_store

err = Console(stderr=True, markup=False, highlight=False)
out = Console(markup=False, highlight=False)

DbOpt = Annotated[str, typer.Option("--db", help="Store: a DuckDB file path, or a postgresql:// URL.",
                                    envvar="VOTEAUDIT_DB")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]


def emit(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")


def run_guarded(body: Callable[[], None]) -> None:
    """Run a command body, turning voteaudit errors into a message on stderr and exit code 2."""
    try:
        body()
    except VoteauditError as exc:
        err.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn voteaudit errors into a one-line message on stderr and exit code 2."""
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        run_guarded(lambda: fn(*args, **kwargs))  # messages quote user data: printed without markup
    return wrapper


@contextmanager
def progress(quiet: bool) -> Iterator[Callable[[str], None]]:
    """A spinner with the current step on a terminal; silent with --json or when not a terminal."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  transient=True, disable=quiet or not err.is_terminal) as bar:
        task = bar.add_task("starting")
        yield lambda text: bar.update(task, description=text)


@contextmanager
def store_at(db: str, *, read_only: bool = False) -> Iterator[Store]:
    store = open_store(db, read_only=read_only and not db.startswith("postgres"))
    try:
        yield store
    finally:
        store.close()


