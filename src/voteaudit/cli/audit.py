"""``voteaudit audit plan|sample|record|status``: a risk-limiting audit of one source's table results.

The audit's state lives in the store (:mod:`voteaudit.audit.session`); these commands only parse
options and print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from voteaudit.cli.common import DEFAULT_DB, ContestOpt, DbOpt, JsonOpt, emit, handle_errors, say, store_at, table

audit_app = typer.Typer(help="Risk-limiting audits: plan a sample, draw it from a public seed, record the hand "
                             "counts of the sampled tally sheets, and measure the risk.", no_args_is_help=True)

Method = Annotated[str, typer.Option("--method", help="macro (batch comparison, PPEB), supersimple, alpha or bravo "
                                                      "(ballot polling).")]
Source = Annotated[str, typer.Option("--source", help="Source whose reported table results are audited.")]
RiskLimit = Annotated[float, typer.Option("--risk-limit", help="Risk limit in percent, e.g. 5.")]
Winners = Annotated[int, typer.Option("--winners", help="Number of winners (seats).")]
Threshold = Annotated[float | None, typer.Option("--threshold", help="Share (percent) a single winner needs to "
                                                                     "avoid a runoff, e.g. 50.")]


def _print_status(doc: dict[str, Any]) -> None:
    say(f"Risk {doc['risk']:.4g} after {doc['draws']:,} draws (risk limit {doc['risk_limit']}%): {doc['verdict']}.")
    rows = doc.get("discrepancies", [])[:20]
    if rows:
        keys = list(rows[0])
        table("Discrepancies (reported, then audited)", keys, [[r.get(k) for k in keys] for r in rows])


@audit_app.command("plan")
@handle_errors
def plan(source: Source, method: Method = "macro", risk_limit: RiskLimit = 5.0, winners: Winners = 1,
         threshold: Threshold = None, contest: ContestOpt = None, db: DbOpt = DEFAULT_DB,
         as_json: JsonOpt = False) -> None:
    """First-round sample size for a risk limit, from the source's reported table results."""
    from voteaudit.audit.session import plan_audit

    with store_at(db) as store:
        doc = plan_audit(store, source, method, risk_limit, winners, threshold, contest=contest)
    if as_json:
        emit(doc)
    else:
        say(f"{method}: sample {doc['sample_size']:,} draws for a {risk_limit}% risk limit "
            f"(diluted margin {doc.get('diluted_margin')}).")


@audit_app.command("sample")
@handle_errors
def sample(source: Source, seed: Annotated[str, typer.Option("--seed", help="Public seed, e.g. 20 dice rolls.")],
           size: Annotated[int, typer.Option("--size", help="Draws in this round.")], method: Method = "macro",
           winners: Winners = 1, threshold: Threshold = None,
           risk_limit: Annotated[float | None, typer.Option("--risk-limit", help="Risk limit in percent.")] = None,
           contest: ContestOpt = None, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Draw tables to hand-count from a public seed (SHA-256; anyone can re-derive it). Repeats are kept."""
    from voteaudit.audit.session import draw_round

    with store_at(db) as store:
        doc = draw_round(store, source, method, seed, size, winners, threshold, risk_limit, contest=contest)
    if as_json:
        emit(doc)
    else:
        say(f"draws {doc['start'] + 1}..{doc['start'] + size}: " + ", ".join(doc["sample"]))


@audit_app.command("record")
@handle_errors
def record(file: Annotated[Path, typer.Argument(help="Hand counts of the sampled sheets (any ingest format).")],
           source: Source,
           audit_source: Annotated[str | None, typer.Option("--audit-source", help="Name for the hand counts "
                                                                                     "(default SOURCE-audit).")] = None,
           mapping: Annotated[Path | None, typer.Option("--mapping", help="TOML column mapping.")] = None,
           unit: Annotated[list[str] | None, typer.Option("--unit", help="Key column; repeat.")] = None,
           candidate: Annotated[list[str] | None, typer.Option("--candidate", help="Vote column; repeat.")] = None,
           contest: ContestOpt = None, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Record hand counts as a source of kind `audit`, then report the measured risk."""
    from voteaudit.audit.session import record_hand_counts
    from voteaudit.ingest import load_mapping
    from voteaudit.ingest.mapping import Mapping

    m = load_mapping(mapping) if mapping else Mapping(units=list(unit or []), candidates=list(candidate or []))
    with store_at(db) as store:
        doc = record_hand_counts(store, source, file, m, audit_source or f"{source}-audit", contest=contest)
    if as_json:
        emit(doc)
    else:
        _print_status(doc)


@audit_app.command("status")
@handle_errors
def status(source: Source,
           audit_source: Annotated[str | None, typer.Option("--audit-source", help="Hand-count source.")] = None,
           contest: ContestOpt = None, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Measured risk, verdict and per-table discrepancies (reported first, then audited)."""
    from voteaudit.audit.session import audit_status

    with store_at(db, read_only=True) as store:
        doc = audit_status(store, source, audit_source, contest=contest)
    if as_json:
        emit(doc)
    else:
        _print_status(doc)
