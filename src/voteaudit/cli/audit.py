"""``voteaudit audit plan|sample|record|status``: a risk-limiting audit of one source's results.

The audit's state lives in the store (:mod:`voteaudit.audit.session`); these commands only parse
options and print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from voteaudit.cli.common import DEFAULT_DB, ContestOpt, DbOpt, JsonOpt, emit, handle_errors, out, store_at, table

audit_app = typer.Typer(help="Risk-limiting audits: plan a sample and commit to the manifest, draw rounds from a "
                             "public seed, record the hand counts of the sampled sheets or ballots, and measure "
                             "the risk.", no_args_is_help=True)

Method = Annotated[str, typer.Option("--method", help="macro (batch comparison, PPEB), supersimple, alpha, ballot "
                                                      "polling (bravo, minerva), or comparison (ballots vs --cvr).")]
Source = Annotated[str, typer.Option("--source", help="Source whose reported table results are audited.")]
RiskLimit = Annotated[float, typer.Option("--risk-limit", help="Risk limit in percent, e.g. 5.")]
Winners = Annotated[int, typer.Option("--winners", help="Number of winners (seats).")]
VotesAllowed = Annotated[int | None, typer.Option("--votes-allowed", help="Vote-for-n: votes a ballot may hold "
                                                                        "(macro, supersimple; default 1).")]
Threshold = Annotated[float | None, typer.Option("--threshold", help="Share (percent) a single winner needs to "
                                                                     "avoid a runoff, e.g. 50.")]
Force = Annotated[bool, typer.Option("--force", help="Go on despite a broken commitment order (recorded in the "
                                                     "audit's state and output).")]


def status_tables(doc: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The status for people, as (title, columns, rows) tables: summary, rounds, risk per assertion, drawn units."""
    first = (doc.get("discrepancies") or [{}])[0]
    names = list(first.get("reported") or first.get("audited") or {})
    c = doc.get("commitment") or {}
    summary = [["source", doc["source"]], ["method", doc["method"]], ["risk limit", f"{doc['risk_limit'] * 100:g} %"],
               ["measured risk", f"{doc['risk']:.4g}"], ["verdict", doc["verdict"]], ["draws", doc["draws"]],
               ["units audited", doc["tables_audited"]], ["next round size", doc["next_round_size"]],
               ["seed", doc["seed"]], ["manifest sha256", c.get("manifest_sha256", "(none: drawn with --force)")],
               ["committed at", c.get("committed_at", "")],
               ["hand counts", doc.get("audit_source") or ("ballot records" if doc.get("cvr") else "(none yet)")]]
    if doc.get("pending"):
        summary.append(["awaiting hand counts", ", ".join(doc["pending"][:20]) + (" ..." if len(doc["pending"]) > 20
                                                                                  else "")])
    if doc.get("notes"):
        summary.append(["notes", doc["notes"]])
    tables = [("Audit", ["", ""], summary),
              ("Rounds", ["round", "draws", "size", "drawn at"],
               [[r["round"], f"{r['start'] + 1}..{r['start'] + r['size']}", r["size"], r.get("drawn_at", "")]
                for r in doc.get("rounds", [])]),
              ("Risk per assertion", ["assertion", "risk"], [[a, f"{p:.4g}"] for a, p in doc.get("risks", {}).items()])]
    rows = []
    for d in doc.get("discrepancies", [])[:50]:
        rep, aud, diff = d.get("reported") or {}, d.get("audited") or {}, d.get("difference") or {}
        rows.append([d["unit"], d.get("times_drawn", ""), *[rep.get(n, "") for n in names],
                     *["" if not aud else aud.get(n, "") for n in names],
                     *["" if not diff else diff.get(n, "") for n in names],
                     "" if d.get("overstatement") is None else f"{d['overstatement']:.4g}"])
    cols = ["unit", "times drawn", *[f"reported {n}" for n in names], *[f"audited {n}" for n in names],
            *[f"difference {n}" for n in names], "overstatement"]
    more = len(doc.get("discrepancies", [])) - 50
    tables.append(("Drawn units" + (f" (first 50; {more} more with --json)" if more > 0 else ""), cols, rows))
    return tables


def _print_status(doc: dict[str, Any]) -> None:
    for title, cols, rows in status_tables(doc):
        table(title, cols, rows)


@audit_app.command("plan")
@handle_errors
def plan(source: Source, method: Method = "macro", risk_limit: RiskLimit = 5.0, winners: Winners = 1,
         threshold: Threshold = None, votes_allowed: VotesAllowed = None,
         without_replacement: Annotated[bool, typer.Option(
             "--without-replacement", help="Draw distinct ballots (alpha; SHANGRLA's finite-population "
                                           "ALPHA). Later samples follow the plan.")] = False,
         cvr: Annotated[Path | None, typer.Option("--cvr", help="Cast-vote records (CSV: ballot_id, table, one 0/1 "
                                                                "column per candidate): --method comparison.")] = None,
         force: Force = False, contest: ContestOpt = None, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """First-round sample size for a risk limit, and the commitment: sha256 of the ballot manifest and of the
    reported results, recorded before any seed (publish them, then generate the seed)."""
    from voteaudit.audit.session import plan_audit

    with store_at(db) as store:
        doc = plan_audit(store, source, method, risk_limit, winners, threshold, force, votes_allowed or 1,
                         not without_replacement, cvr, contest=contest)
    if as_json:
        emit(doc)
        return
    c = doc["commitment"]
    out.print(f"{doc['method']}: sample {doc['sample_size']:,} draws for a {risk_limit}% risk limit "
        f"(diluted margin {doc.get('diluted_margin')}).")
    out.print(f"committed at {c['committed_at']}: manifest sha256 {c['manifest_sha256']}")
    out.print(f"reported results sha256 {c['results_sha256']} ({c['tables']:,} units, {c['ballots']:,} ballots). "
        "Publish these before the seed is generated.")


@audit_app.command("sample")
@handle_errors
def sample(source: Source, seed: Annotated[str, typer.Option("--seed", help="Public seed, e.g. 20 dice rolls.")],
           size: Annotated[int | None, typer.Option("--size", help="Draws in this round (round 1: the plan's "
                                                                   "size by default).")] = None,
           round_no: Annotated[int | None, typer.Option(
               "--round", help="Round to draw (default: the next); a round drawn before is re-derived.")] = None,
           method: Annotated[str | None, typer.Option("--method", help="Default: planned.")] = None,
           winners: Annotated[int | None, typer.Option("--winners", help="Number of winners (seats).")] = None,
           threshold: Threshold = None,
           risk_limit: Annotated[float | None, typer.Option("--risk-limit", help="Risk limit in percent.")] = None,
           seed_time: Annotated[str | None, typer.Option("--seed-time", help="When the seed was generated (ISO "
                                                                             "8601); default: now.")] = None,
           votes_allowed: VotesAllowed = None, force: Force = False, contest: ContestOpt = None, db: DbOpt = DEFAULT_DB,
           as_json: JsonOpt = False) -> None:
    """Draw a round of tables (or ballots) to hand-count from a public seed (SHA-256; anyone can re-derive it).
    Repeats are kept. Refuses a seed recorded before the plan's commitment unless --force."""
    from voteaudit.audit.session import draw_round

    with store_at(db) as store:
        doc = draw_round(store, source, method, seed, size, winners, threshold, risk_limit, round_no=round_no,
                         force=force, seed_time=seed_time, votes_allowed=votes_allowed, contest=contest)
    if as_json:
        emit(doc)
    else:
        again = " (drawn before: the same draws)" if doc["repeat"] else ""
        out.print(f"round {doc['round']}{again}, draws {doc['start'] + 1}..{doc['start'] + doc['size']}: "
            + ", ".join(doc["sample"]))


@audit_app.command("record")
@handle_errors
def record(file: Annotated[Path, typer.Argument(help="Hand counts of the sampled sheets (any ingest format); for "
                                                    "a CVR audit, the drawn ballots' marks in the CVR format.")],
           source: Source,
           audit_source: Annotated[str | None, typer.Option("--audit-source", help="Name for the hand counts "
                                                                                     "(default SOURCE-audit).")] = None,
           mapping: Annotated[Path | None, typer.Option("--mapping", help="TOML column mapping.")] = None,
           unit: Annotated[list[str] | None, typer.Option("--unit", help="Key column; repeat.")] = None,
           candidate: Annotated[list[str] | None, typer.Option("--candidate", help="Vote column; repeat.")] = None,
           contest: ContestOpt = None, db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """Record hand counts (a source of kind `audit`) or ballot records (CVR audit), then report the risk."""
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
    """Measured risk, verdict, rounds and per-unit discrepancies (reported first, then audited), as tables."""
    from voteaudit.audit.session import audit_status

    with store_at(db, read_only=True) as store:
        doc = audit_status(store, source, audit_source, contest=contest)
    if as_json:
        emit(doc)
    else:
        _print_status(doc)
