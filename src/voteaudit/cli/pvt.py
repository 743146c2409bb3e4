"""``voteaudit pvt plan|estimate``: quick counts (parallel vote tabulation)."""

from __future__ import annotations

from typing import Annotated

import typer

from voteaudit.cli.common import DEFAULT_DB, DbOpt, JsonOpt, emit, handle_errors, out, refuse, store_at

pvt_app = typer.Typer(help="Quick counts (parallel vote tabulation): design a sample, estimate from it.",
                      no_args_is_help=True)


@pvt_app.command("plan")
@handle_errors
def pvt_plan(
    source: Annotated[str, typer.Option("--source", help="A source listing every table (with registered voters): "
                                                         "the sampling frame.")],
    seed: Annotated[str, typer.Option("--seed", help="Public seed for the draw (e.g. dice rolls).")],
    margin: Annotated[float, typer.Option("--margin", help="Margin of error, in points (e.g. 1 = ±1 point).")] = 1.0,
    confidence: Annotated[float, typer.Option("--confidence", help="Confidence level.")] = 0.99,
    turnout: Annotated[float, typer.Option("--turnout", help="Expected turnout (0-1).")] = 1.0,
    reporting: Annotated[float, typer.Option("--reporting", help="Expected share of sampled tables "
                                                                 "that report (0-1).")] = 1.0,
    minimum: Annotated[int, typer.Option("--minimum", help="Minimum tables per stratum.")] = 2,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Sample size (NDI's formula with finite-population correction), stratified allocation by the top level,
    and the tables drawn from a public seed (SHA-256 tickets: anyone can re-derive the sample)."""
    from voteaudit.stats import plan_from_frame

    with store_at(db, read_only=True) as store:
        m = store.matrix(source)
    try:
        plan, drawn = plan_from_frame(m.unit_ids, m.path[0], m.registered, seed=seed, margin=margin / 100,
                                      confidence=confidence, turnout=turnout, reporting=reporting, minimum=minimum)
    except ValueError as exc:
        refuse(f"source {source!r}: {exc}")
    doc = {**plan.to_dict(), "frame": source, "seed": seed, "sample": drawn.tolist()}
    if as_json:
        emit(doc)
    else:
        out.print(plan.statement)
        out.print(f"Drawn with seed {seed!r}: {len(doc['sample']):,} tables, e.g. {', '.join(doc['sample'][:5])}")


@pvt_app.command("estimate")
@handle_errors
def pvt_estimate_cmd(
    source: Annotated[str, typer.Option("--source", help="The quick-count results (sampled tables).")],
    frame: Annotated[str | None, typer.Option("--frame", help="Source listing every table (the sampling frame); "
                                                              "default: the announced size.")] = None,
    confidence: Annotated[float, typer.Option("--confidence", help="Confidence level.")] = 0.95,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Estimate the result from the sampled tables and check each announced national bulletin against it."""
    from voteaudit.evidence import stats_bulletin, universe_of
    from voteaudit.stats import Universe, check_announced, pvt_estimate

    with store_at(db, read_only=True) as store:
        m = store.matrix(source)
        if frame:
            full = store.matrix(frame)
            universe = Universe.from_frame(full.path[0], full.registered, note=f"frame {frame!r}")
        else:
            universe = universe_of(store, m)
        bulletins = [stats_bulletin(b) for b in store.bulletins() if b.unit is None]
    if universe is None:
        refuse("no sampling frame: give --frame SOURCE or announce the election's size")
    est = pvt_estimate(m.votes, m.registered, m.path[0], universe, candidates=m.candidates, confidence=confidence)
    checks = []
    for b in bulletins:
        total = sum(b.totals.values())
        checks.append(check_announced(est, {c: v / total for c, v in b.totals.items()}, target=b.name).to_dict())
    doc = {"source": source, "estimate": est.to_dict(), "checks": checks}
    if as_json:
        emit(doc)
    else:
        out.print(est.statement)
        for c in checks:
            out.print(f"{c['target']}: {c['interpretation']}")


