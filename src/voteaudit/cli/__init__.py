"""The ``voteaudit`` command line: a thin layer over ingest, store, checks, stats, audit, report and publish.

One module per command group, one pattern: every command takes ``--db`` (default ``./voteaudit.duckdb``,
or ``$VOTEAUDIT_DB``; ``postgresql://...`` selects the server store) and ``--json`` (exactly one JSON
document on stdout), and is wrapped by :func:`voteaudit.cli.common.handle_errors` (errors to stderr,
exit code 2, naming the file, row/field and problem). Command modules import only Typer and Rich at the
top; what a command needs (numpy, scipy, the store, the server stack) is imported when it runs, so
``voteaudit --help`` starts fast. Nothing outside this package imports from it.
"""

from __future__ import annotations

# Commands are listed in the order their modules register them.
# isort: off
from voteaudit.cli import ingest, analysis, indicators, pvt, report, publish, server, feeds, cases  # noqa: F401

# isort: on
from voteaudit.cli.app import app, main
from voteaudit.cli.audit import audit_app
from voteaudit.cli.cases import cases_app
from voteaudit.cli.pvt import pvt_app
from voteaudit.cli.server import users_app

app.add_typer(pvt_app, name="pvt")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(cases_app, name="cases")

__all__ = ["app", "main"]
