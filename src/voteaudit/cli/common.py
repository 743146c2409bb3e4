"""What every command shares: consoles, the --db/--json options, JSON output, errors, progress.

Output quotes user data (candidate and place names), so Rich markup is off on both consoles and
control characters (terminal escapes) are shown as ``\\x1b``-style text, never sent to the terminal.
This module imports only the standard library, Typer and Rich: the command line starts fast, and each
command imports what it needs when it runs.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

if TYPE_CHECKING:
    from voteaudit.store import Store

DEFAULT_DB = "voteaudit.duckdb"  # = voteaudit.store.DEFAULT_DB, kept here so that --help never imports the store
KindName = Literal["official", "independent", "observer", "audit"]  # voteaudit.model.Kind, without numpy



class SafeConsole(Console):
    """A Rich console for user data: no markup, no highlighting, control characters shown escaped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, highlight=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:  # every str printed or put in a table passes here
        return super().render_str(safe(text), **kwargs)


err = SafeConsole(stderr=True)
out = SafeConsole()

DbOpt = Annotated[str, typer.Option("--db", help="Store: a DuckDB file path, or a postgresql:// URL "
                                                 "(env VOTEAUDIT_DB).", envvar="VOTEAUDIT_DB", show_envvar=False,
                                    metavar="PATH|URL")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
ContestOpt = Annotated[str | None, typer.Option(
    "--contest", metavar="NAME",
    help="The contest to analyse (default: the store's only one; `voteaudit contests` lists them).")]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", metavar="ISO8601",
    help="For sources that are feeds: the version current at this time (default: the latest).")]

# Optional extras: the top-level module a missing import names -> the extra that installs it.
EXTRAS = {"cv2": "scan", "zxingcpp": "scan", "PIL": "scan", "segno": "scan", "pypdfium2": "scan",
          "psycopg": "server", "fastapi": "server", "uvicorn": "server", "multipart": "server",
          "python_multipart": "server", "httptools": "server", "uvloop": "server", "httpx": "server"}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: object) -> str:
    """Text for a terminal: control characters (escape sequences, bells, CRs) shown escaped, never run."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def say(*parts: object) -> None:
    """Print a line for people on stdout (control characters shown escaped, as everywhere on ``out``)."""
    out.print(" ".join(str(p) for p in parts), soft_wrap=True)


def emit(doc: Any) -> None:
    """The one JSON document of ``--json``."""
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")


def fail(message: str) -> None:
    err.print(Text.assemble(("error: ", "bold red"), safe(message)), soft_wrap=True)


def refuse(message: str) -> NoReturn:
    """Stop a command with a message for the user (a :class:`~voteaudit.model.VoteauditError`: exit code 2)."""
    from voteaudit.model import VoteauditError

    raise VoteauditError(message)


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The one-line message for a missing optional dependency, or None when it is not one of ours."""
    root = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(root)
    if extra is None:
        return None
    return f"this needs the {extra!r} extra ({root} is not installed): pip install 'voteaudit[{extra}]'"


def run_guarded(body: Callable[[], Any]) -> Any:
    """Run a command body; voteaudit errors and missing extras become one message on stderr and exit code 2."""
    from voteaudit.model import VoteauditError

    try:
        return body()
    except VoteauditError as exc:
        fail(str(exc))
        raise typer.Exit(2) from None
    except ModuleNotFoundError as exc:
        message = missing_extra(exc)
        if message is None:
            raise
        fail(message)
        raise typer.Exit(2) from None


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for every command: see :func:`run_guarded`."""
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return run_guarded(lambda: fn(*args, **kwargs))
    return wrapper


@contextmanager
def progress(quiet: bool) -> Iterator[Callable[[str], None]]:
    """A spinner with the current step on a terminal; silent with --json or when not a terminal."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  transient=True, disable=quiet or not err.is_terminal) as bar:
        task = bar.add_task("starting")
        yield lambda text: bar.update(task, description=text)


def is_server_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


@contextmanager
def store_at(db: str, *, read_only: bool = False) -> Iterator[Store]:
    """Open the store for one command. Reading commands never create a store: a missing file is an error
    naming the path and how to make one."""
    from voteaudit.model import StoreError
    from voteaudit.store import open_store

    if read_only and not is_server_url(db) and not Path(db).exists():
        hint = " (set by VOTEAUDIT_DB)" if os.environ.get("VOTEAUDIT_DB") == db else ""
        raise StoreError(f"{db}{hint}: no such store; create it with `voteaudit ingest FILE --db {db} ...` "
                         "or name another with --db")
    store = open_store(db, read_only=read_only and not is_server_url(db))
    try:
        yield store
    finally:
        store.close()


def read_matrix(store: Store, source: str, contest: str | None, as_of: str | None) -> Any:
    """One source's matrix; ``--as-of`` picks a feed's version and leaves other sources as they are."""
    if as_of is not None and store.is_feed(source):
        return store.matrix(source, contest, as_of=as_of)
    return store.matrix(source, contest)


def table(title: str, columns: list[str], rows: list[list[object]], *, right: set[int] | None = None) -> None:
    """Print a Rich table of plain values."""
    from rich.table import Table

    tab = Table(title=title)
    for i, col in enumerate(columns):
        tab.add_column(col, justify="right" if right and i in right else "left")
    for row in rows:
        tab.add_row(*["—" if v is None else str(v) for v in row])
    out.print(tab)
