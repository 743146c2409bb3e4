"""The ``voteaudit`` command line: a thin layer over ingest, store, checks, stats and report.

Every command takes ``--db`` (default ``./voteaudit.duckdb``; ``postgresql://...`` selects the
server store) and ``--json`` (exactly one JSON document on stdout, nothing else there). Errors go
to stderr with a non-zero exit code and name the file, row/field and problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from voteaudit.model import Kind, VoteauditError
from voteaudit.store import DEFAULT_DB, Store
from voteaudit.terminal import DbOpt, JsonOpt, emit, err, handle_errors, out, progress, run_guarded, store_at

__all__ = ["app", "emit", "err", "out", "run_guarded", "DbOpt", "JsonOpt"]

app = typer.Typer(
    help="Check announced election results against precinct-level evidence.\n\n"
         "Typical session: `voteaudit ingest` each source's table-level results, `voteaudit announce` the "
         "authority's bulletins, then `voteaudit compare`, `estimate`, `forensics` and `report`. "
         "`voteaudit demo --out DIR` runs it all on Venezuela 2024.",
    no_args_is_help=True, rich_markup_mode="markdown", pretty_exceptions_enable=False,
)
@app.command()
@handle_errors
def ingest(
    file: Annotated[Path, typer.Argument(help="Results file: CSV/TSV (.gz ok), XLSX, Parquet, JSON lines, "
                                              "or NIST SP 1500-100 CDF JSON.")],
    source: Annotated[str, typer.Option("--source", help="Name of the source, e.g. 'authority' or 'party-actas'.")],
    kind: Annotated[Kind, typer.Option("--kind", help="Who produced it.")],
    mapping: Annotated[Path | None, typer.Option("--mapping", help="TOML file mapping columns (see docs).")] = None,
    unit: Annotated[list[str] | None, typer.Option(
        "--unit", help="Column identifying a table; repeat, outermost level first (state, ..., table).")] = None,
    unit_name: Annotated[list[str] | None, typer.Option(
        "--unit-name", help="Column with the display name of each --unit level, in the same order.")] = None,
    level: Annotated[list[str] | None, typer.Option(
        "--level", help="Name of each hierarchy level (default: the --unit column names).")] = None,
    registered: Annotated[str | None, typer.Option("--registered", help="Column of registered voters.")] = None,
    candidate: Annotated[list[str] | None, typer.Option(
        "--candidate", help="Wide files: a column of votes for one candidate/selection; repeat per column.")] = None,
    long: Annotated[tuple[str, str] | None, typer.Option(
        "--long", help="Long files: CANDIDATE_COL VOTES_COL (one row per table and candidate).")] = None,
    valid: Annotated[str | None, typer.Option("--valid", help="Column of stated valid votes.")] = None,
    null: Annotated[str | None, typer.Option("--null", help="Column of null votes.")] = None,
    blank: Annotated[str | None, typer.Option("--blank", help="Column of blank votes.")] = None,
    cast: Annotated[str | None, typer.Option("--cast", help="Column of ballots cast/issued.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, tsv, xlsx, parquet, jsonl or nist "
                                                             "(default: from the extension).")] = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", help="CSV delimiter (default: detected).")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="Text encoding (default: detected).")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet name (default: the first).")] = None,
    contest: Annotated[str | None, typer.Option("--contest", help="NIST CDF files with several contests: "
                                                                   "the contest's Name or @id.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Reject the file if any record is implausible "
                                                          "(default: keep and flag).")] = False,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Ingest one source's table-level results (the whole file, or nothing).

    Example (wide CSV, one column per candidate):

        voteaudit ingest results.csv --source authority --kind official
            --unit state --unit district --unit table --registered registered
            --candidate "Candidate A" --candidate "Candidate B"

    Malformed files are rejected whole with the file, row and column named. Implausible records
    (votes above registered, sums that don't add up, conflicting copies) are kept and flagged.
    Ingesting the same file again changes nothing.
    """
    from voteaudit.ingest import ingest_file
    from voteaudit.ingest.mapping import Mapping, load_mapping

    if fmt and fmt.lower() == "nist":
        m = None
    elif mapping is not None:
        m = load_mapping(mapping)
        for attr, value in (("format", fmt), ("delimiter", delimiter), ("encoding", encoding), ("sheet", sheet)):
            if value:
                setattr(m, attr, value)
    elif unit:
        m = Mapping(units=list(unit), unit_names=list(unit_name or []), levels=list(level) if level else None,
                    registered=registered, cast=cast, valid=valid, null=null, blank=blank,
                    candidates=list(candidate or []), long=tuple(long) if long and long[0] else None,
                    format=fmt, delimiter=delimiter, encoding=encoding, sheet=sheet)
    else:
        m = None
    with progress(as_json) as step, store_at(db) as store:
        step(f"reading and validating {file.name}")
        result = ingest_file(store, file, m, source=source, kind=kind, strict=strict, fmt=fmt, contest=contest)
    if as_json:
        emit(result.to_dict())
        return
    if result.status == "already imported":
        out.print(f"{file}: already imported for source {source} — nothing changed.")
        return
    out.print(f"{file}: {result.rows:,} rows -> {result.records_added:,} records for source {source}"
              f" ({result.identical_copies:,} identical copies, {result.conflicts:,} units with conflicting copies).")
    for flag, n in result.flags.items():
        out.print(f"  flagged {flag}: {n:,}")


@app.command()
@handle_errors
def announce(
    file: Annotated[Path, typer.Argument(help="Bulletins as JSON or CSV (see `voteaudit.ingest.bulletins`).")],
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Record the totals the authority announced (one or more bulletins, any level).

    JSON: `{"bulletins": [{"name": ..., "announced": ..., "results": [{"candidate": ..., "votes": ...,
    "stated_pct": ...}], "registered": ..., "cast": ..., "valid": ..., "null": ...}],
    "registry": {"units": ..., "registered": ...}}`. CSV: columns bulletin, candidate, votes
    (+ optional announced, unit, stated_pct, ...).
    """
    from voteaudit.ingest import sha256_file
    from voteaudit.ingest.bulletins import read_bulletins

    bulletins, universe = read_bulletins(file)
    digest = sha256_file(file)
    for b in bulletins:
        b.sha256 = digest
    with store_at(db) as store:
        added = store.write_bulletins(bulletins, universe)
    doc = {"file": str(file), "bulletins": [b.name for b in bulletins], "added": added, "universe": universe}
    if as_json:
        emit(doc)
    else:
        out.print(f"{file}: {len(added)} bulletin(s) added ({', '.join(added) or 'none new'}).")


@app.command()
@handle_errors
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Images (JPEG, PNG, TIFF, PDF) or folders of them.")],
    source: Annotated[str, typer.Option("--source", help="Source the sheets are recorded under.")],
    kind: Annotated[Kind, typer.Option("--kind", help="Who collected the sheets.")] = Kind.observer,
    workers: Annotated[int, typer.Option("--workers", help="Decoding processes (use 2 on a 2-core machine).")] = 1,
    strict: Annotated[bool, typer.Option("--strict", help="Reject the batch if any sheet is implausible.")] = False,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Read tally sheets from photos or scans via their QR codes and record them as a source.

    Each image's sha256 and file name are kept with its record. The same image twice gives one
    record; the same table from two images with different numbers gives two (a conflict). Images
    that cannot be read go to a review queue and are retried on the next scan of this source.
    Payload formats: Venezuela 2024 actas (`ve2024`) and voteaudit's checksummed `generic` format.
    """
    from rich.progress import BarColumn, MofNCompleteColumn

    from voteaudit.ingest.scans import scan_into_store

    with Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True, disable=as_json or not err.is_terminal) as bar, store_at(db) as store:
        task = bar.add_task("scan", total=None)
        doc = scan_into_store(store, paths, source=source, kind=kind, workers=workers, strict=strict,
                              progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        emit(doc)
        return
    out.print(f"{doc['images']:,} images, {doc['sheets']:,} sheets decoded -> {doc['records_added']:,} new records "
              f"for {source}; {len(doc['unreadable'])} unreadable, {len(doc['rejected'])} rejected payloads "
              f"(review queue: {len(doc['review_queue'])}).")
    for item in doc["review_queue"][:20]:
        out.print(f"  {item['path']}: {item['reason']}")


@app.command()
@handle_errors
def compare(
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
    top: Annotated[int, typer.Option("--top", help="How many of the largest disagreements to list.")] = 20,
    level: Annotated[str | None, typer.Option(
        "--level", help="Also list every area of this level (name or depth) with each source's totals there.")]
    = None,
) -> None:
    """Compare every source with every other and with the announced bulletins.

    Shows totals and shares per source, coverage, units only in one source, tables where sources
    disagree (largest first) and each source against each bulletin.
    """
    from voteaudit.report.summary import build_summary

    with progress(as_json) as step, store_at(db, read_only=True) as store:
        step("comparing sources")
        levels = store.levels() or []
        depth = None
        if level is not None:
            depth = int(level) if level.isdigit() else (levels.index(level) + 1 if level in levels else 0)
            if not 1 <= depth <= len(levels):
                raise VoteauditError(f"unknown level {level!r} (levels: {', '.join(levels) or 'none'})")
        doc = build_summary(store, top=top, level=depth)
    if as_json:
        emit(doc)
        return
    print_summary(doc)
    if doc.get("by_level"):
        for node in doc["by_level"]["nodes"]:
            parts = "; ".join(f"{name} {r['units']:,} tables" for name, r in node["sources"].items())
            out.print(f"{node['id']} {node['name']}: {parts}")


def print_summary(doc: dict[str, Any]) -> None:
    cands: list[str] = []
    for s in doc["sources"]:
        for c in sorted(s["totals"], key=lambda c: -s["totals"][c]):
            if c not in cands:
                cands.append(c)
    table = Table(title="Totals by source (share of valid votes)")
    table.add_column("candidate")
    for s in doc["sources"]:
        table.add_column(f"{s['name']} ({s['kind']})", justify="right")
    for c in cands:
        table.add_row(c, *[f"{s['totals'].get(c, 0):,} ({100 * s['shares'].get(c, 0):.2f}%)" for s in doc["sources"]])
    table.add_row("tables", *[f"{s['units']:,} ({100 * (s['coverage'] or 0):.1f}%)" for s in doc["sources"]])
    out.print(table)
    for p in doc["comparison"]["pairs"]:
        out.print(f"{p['a']} vs {p['b']}: {p['common_units']:,} tables in both, {p['differ']:,} differ; "
                  f"{p['only_a']:,} only in {p['a']}, {p['only_b']:,} only in {p['b']}.")
        for d in p["largest_disagreements"][:5]:
            out.print(f"  {d['unit']} {d['name']}: {d['size']:,} votes apart {d['difference']}")
    for c in doc["comparison"]["announced"]:
        parts = ", ".join(f"{n} {r['difference']:+,} ({r['difference_pp']:+.2f} pp)"
                          for n, r in c["candidates"].items())
        out.print(f"{c['bulletin']} minus {c['source']}: {parts}")


@app.command()
@handle_errors
def estimate(
    source: Annotated[str, typer.Option("--source", help="Source whose collected tables are projected.")],
    confidence: Annotated[float, typer.Option("--confidence", help="Confidence level of the intervals.")] = 0.95,
    boot: Annotated[int, typer.Option("--boot", help="Bootstrap replicates.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds for the integer program.")] = 20.0,
    partial_count: Annotated[bool, typer.Option(
        "--partial-count", help="For bulletins announced before the count ended, let the tables not yet counted "
                                "be any of the collected ones (integer program; slower).")] = False,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """What the evidence says: the full result estimated from partial coverage, and what it would take.

    Gives the estimate with confidence intervals (stratified ratio estimator, analytic and bootstrap),
    worst-case bounds (missing tables voting anything within their registered voters), for each
    announced bulletin the votes the uncovered tables would need and the minimum number of collected
    sheets that would have to be false, and tests of the bulletins themselves (round percentages,
    arithmetic, successive bulletins). Needs the election's size: `voteaudit announce` a file with a
    `registry` (tables, registered voters), or ingest the authority's full table list as an official source.
    """
    from voteaudit.evidence import evidence

    with progress(as_json) as step, store_at(db, read_only=True) as store:
        step(f"estimating from {source}")
        doc = evidence(store, source, confidence=confidence, n_boot=boot, seed=seed, time_limit=time_limit,
                       partial_count=partial_count)
    if as_json:
        emit(doc)
        return
    for key in ("coverage", "estimate", "bounds_detail"):
        if doc.get(key, {}).get("statement"):
            out.print(doc[key]["statement"])
    for cert in doc["what_it_would_take"]:
        out.print(cert["statement"])
    for name, results in doc["announced_tests"].items():
        for r in results:
            out.print(f"{name} — {r['test']}: {r['interpretation']}")


pvt_app = typer.Typer(help="Quick counts (parallel vote tabulation): design a sample, estimate from it.",
                      no_args_is_help=True)
app.add_typer(pvt_app, name="pvt")


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
    import numpy as np
    from scipy import stats as st

    from voteaudit.stats import design, select_sample

    with store_at(db, read_only=True) as store:
        m = store.matrix(source)
    reg = np.clip(m.registered, 0, None)
    if reg.sum() == 0:
        raise VoteauditError(f"source {source!r} has no registered voters: it cannot serve as a sampling frame")
    strata = m.path[0]
    keys, counts = np.unique(strata, return_counts=True)
    z = float(st.norm.ppf(0.5 + confidence / 2))
    plan = design(margin / 100, dict(zip(keys.tolist(), counts.tolist(), strict=True)), int(reg.sum()),
                  float(reg[reg > 0].mean()), z=z, turnout=turnout, reporting_rate=reporting, minimum=minimum)
    mask = select_sample(m.unit_ids, strata, plan.allocation, seed)
    doc = {**plan.to_dict(), "frame": source, "seed": seed, "sample": m.unit_ids[mask].tolist()}
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
        raise VoteauditError("no sampling frame: give --frame SOURCE or announce the election's size")
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


def _level_name(store: Store, level: str | None) -> str | None:
    """Accept a level by name or 1-based depth; None = national."""
    if level is None or level in ("national", ""):
        return None
    levels = store.levels() or []
    if level.isdigit() and 1 <= int(level) <= len(levels):
        return levels[int(level) - 1]
    if level not in levels[:-1]:
        raise VoteauditError(f"unknown level {level!r}; levels above the table: {', '.join(levels[:-1]) or 'none'}")
    return level


def _materiality_option(items: list[str] | None) -> dict[str, float]:
    """--materiality TEST=VALUE (repeatable) as a mapping."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            out[name] = float(value) if sep else float("nan")
        except ValueError:
            out[name] = float("nan")
        if not sep or not out[name] >= 0:
            raise VoteauditError(f"--materiality {item!r}: give TEST=VALUE with VALUE a number >= 0")
    return out


def forensics_table(docs: list[dict], title: str, headline_text: str) -> Table:
    """The terminal table of forensics results (area names, both p-values, effect, count of tables)."""
    table = Table(title=title, caption=headline_text)
    per_area = any("area" in d for d in docs)
    cols = ["test", "target"] + (["area"] if per_area else []) + ["statistic", "p-value"] \
        + (["adjusted p"] if per_area else []) + ["effect (95 % CI)", "flagged", "tables singled out"]
    for col in cols:
        table.add_column(col)
    for d in docs:
        p = "not tested" if not d["tested"] else "—" if d["p_value"] is None else f"{d['p_value']:.3g}"
        stat = "—" if d["statistic"] is None else f"{d['statistic']:.4g}"
        e = d.get("effect")
        if e is None:
            eff = "—"
        else:
            ci = "" if e["ci95"] is None else f" ({e['ci95'][0]:.3g} to {e['ci95'][1]:.3g})"
            eff = f"{e['value']:.3g}{ci} {e['unit']}"
        flag = "YES" if d["flagged"] else ("not material" if d.get("significant") else "no")
        row = [d["test"], d["target"]] + ([d["area"]["name"] if "area" in d else ""] if per_area else []) \
            + [stat, p] + (["—" if d.get("p_adjusted") is None else f"{d['p_adjusted']:.3g}"] if per_area else []) \
            + [eff, flag, f"{d['units_flagged_count']:,}"]
        table.add_row(*row)
    return table


@app.command()
@handle_errors
def forensics(
    source: Annotated[str, typer.Option("--source", help="Source whose table results are tested.")],
    level: Annotated[str | None, typer.Option(
        "--level", help="Run per area of this level (name or depth), with a correction across areas; "
                        "default national.")] = None,
    test: Annotated[list[str] | None, typer.Option("--test", help="Run only these tests (repeat).")] = None,
    other: Annotated[str | None, typer.Option("--other", help="Second source for source_agreement.")] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Monte-Carlo nulls.")] = 0,
    correction: Annotated[str | None, typer.Option(
        "--correction", help="Across areas: holm (family-wise error) or bh (Benjamini-Hochberg false discovery "
                             "rate); default bh for 20 areas or more, else holm.")] = None,
    materiality: Annotated[list[str] | None, typer.Option(
        "--materiality", help="TEST=VALUE: the smallest effect that is flagged (repeat); defaults in "
                              "voteaudit.forensics.materiality.")] = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Run the election-forensics battery on one source's table results.

    Tests: second_digit, last_digit (digit tests), fingerprint (Klimek turnout x share), integer_percent
    and round_percentage (Kobak), spikes (Rozenas), turnout_share_correlation (Myagkov), dip (Hartigan),
    outliers, source_agreement (with --other), and the honest-counting calibrations
    second_digit_calibrated, dip_calibrated, turnout_share_correlation_calibrated. Each result says what
    was tested, the statistic and its own p-value, the effect size with its interval, whether it is
    flagged (significant AND material), the tables it singles out, and how (not) to read it.
    A flag is a reason to look closer, not proof of fraud.
    """
    from voteaudit.forensics import TEST_IDS, headline, run_battery

    for t in test or []:
        if t not in TEST_IDS:
            raise VoteauditError(f"unknown test {t!r} (tests: {', '.join(TEST_IDS)})")
    if correction not in (None, "holm", "bh"):
        raise VoteauditError(f"--correction {correction!r}: choose holm or bh")
    thresholds = _materiality_option(materiality)
    with progress(as_json) as step, store_at(db, read_only=True) as store:
        step(f"loading {source}")
        m = store.matrix(source)
        o = store.matrix(other) if other else None
        lvl = _level_name(store, level)
        names = {}
        if lvl:
            names = store.labels(sorted(set(m.path[m.levels.index(lvl)].tolist())))
        step("running the battery")
        try:
            results = run_battery(m, level=lvl, alpha=alpha, seed=seed, other=o, tests=test or None,
                                  correction=correction, materiality=thresholds, names=names)
        except ValueError as exc:
            raise VoteauditError(str(exc)) from None
    docs = [r.to_dict() for r in results]
    if as_json:
        emit(docs)
        return
    title = f"Forensics: {source}" + (f" by {lvl}" if lvl else " (national)")
    out.print(forensics_table(docs, title, headline(results, alpha)["text"]))


@app.command()
@handle_errors
def simulate(
    units: Annotated[int, typer.Option("--units", help="Number of tables.")],
    out_file: Annotated[Path, typer.Option("--out", help="Output file: .csv, .csv.gz or .parquet.")],
    fraud: Annotated[list[str] | None, typer.Option(
        "--fraud", help="MODEL=SIZE, repeatable. Models: stuffing, switching, klimek_incremental, klimek_extreme, "
                        "round_percent, invented; SIZE = share of tables touched (0-1).")] = None,
    candidates: Annotated[int, typer.Option("--candidates", help="Number of candidates.")] = 4,
    regions: Annotated[int, typer.Option("--regions", help="Number of regions.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same election).")] = 0,
    truth: Annotated[Path | None, typer.Option("--truth", help="Also write the fraud-free results here.")] = None,
    db: Annotated[str, typer.Option("--db", help="Accepted for uniformity; simulate writes a file, not a store.")]
    = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Write a synthetic election (columns region, district, table, registered, cast, valid, null, candidates).

    The generative model (regional turnout and preference, realistic table sizes, multinomial counts)
    is documented in `voteaudit.simulate`. Ingest the file with:
    `voteaudit ingest FILE --source sim --kind official --unit region --unit district --unit table
    --registered registered --cast cast --valid valid --null null --candidate "Candidate A" ...`
    """
    from voteaudit.simulate import FRAUD_MODELS, write
    from voteaudit.simulate import simulate as run_sim

    models: dict[str, float] = {}
    for item in fraud or []:
        name, _, size = item.partition("=")
        if name not in FRAUD_MODELS:
            raise VoteauditError(f"unknown fraud model {name!r} (models: {', '.join(FRAUD_MODELS)})")
        try:
            models[name] = float(size)
        except ValueError:
            raise VoteauditError(f"--fraud {item!r}: SIZE must be a number between 0 and 1") from None
        if not 0 <= models[name] <= 1:
            raise VoteauditError(f"--fraud {item!r}: SIZE must be between 0 and 1")
    if units < 1:
        raise VoteauditError("--units must be at least 1")
    if out_file.suffix not in (".csv", ".parquet", ".gz"):
        raise VoteauditError(f"{out_file}: the output must end in .csv, .csv.gz or .parquet")
    with progress(as_json) as step:
        step(f"simulating {units:,} tables")
        election = run_sim(units, candidates=candidates, regions=regions, fraud=models or None, seed=seed)
        step(f"writing {out_file}")
        write(election, out_file)
        if truth:
            write(election, truth, truth=True)
    doc = {"file": str(out_file), "units": units, "candidates": election.matrix.candidates, "fraud": models,
           "seed": seed, "tables_with_fraud": int(election.fraudulent.sum())}
    if as_json:
        emit(doc)
    else:
        out.print(f"Wrote {units:,} tables to {out_file} ({doc['tables_with_fraud']:,} touched by fraud).")


@app.command()
@handle_errors
def power(
    source: Annotated[str | None, typer.Option("--source", help="Take the election's structure (tables, "
                                                                "candidates, regions) from this source.")] = None,
    units: Annotated[int | None, typer.Option("--units", help="Number of tables (instead of --source).")] = None,
    sims: Annotated[int, typer.Option("--sims", help="Simulations per fraud size (more = slower, surer).")] = 20,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level.")] = 0.05,
    target: Annotated[float, typer.Option("--power", help="Detection probability sought.")] = 0.8,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """The smallest fraud each forensic test detects with 80 % power, for an election of this structure.

    Simulates clean and fraudulent elections shaped like yours and reports, per fraud model, the smallest
    share of tables altered that each test flags in at least --power of the simulations. A test that
    found nothing in your data may simply have been unable to see fraud of the size that matters.
    """
    from voteaudit.forensics.power import power_for

    if source:
        with store_at(db, read_only=True) as store:
            m = store.matrix(source)
        n, k = m.n_units, len(m.candidates)
        regions = len(set(m.path[0].tolist())) if len(m.levels) > 1 else 1
    elif units:
        n, k, regions = units, 4, 10
    else:
        raise VoteauditError("give --source NAME or --units N")
    with progress(as_json) as step:
        step(f"simulating elections of {n:,} tables")
        table = power_for(n, candidates=max(2, k), regions=max(1, regions), power=target, sims=sims, alpha=alpha,
                          seed=seed)
    doc = {"units": n, "candidates": k, "regions": regions, "power": target, "alpha": alpha, "sims": sims,
           "smallest_detectable": table}
    if as_json:
        emit(doc)
        return
    tab = Table(title=f"Smallest share of tables altered detected with {target:.0%} power ({n:,} tables)")
    tests = sorted({t for row in table.values() for t in row})
    tab.add_column("fraud model")
    for t in tests:
        tab.add_column(t)
    for model, row in table.items():
        tab.add_row(model, *["—" if row.get(t) is None else f"{row[t]:.1%}" for t in tests])
    out.print(tab)


@app.command()
@handle_errors
def conflicts(
    source: Annotated[str, typer.Option("--source", help="Source to inspect.")],
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """List tables for which one source holds differing copies, with each copy's provenance."""
    with store_at(db, read_only=True) as store:
        items = store.conflicts(source)
    if as_json:
        emit(items)
        return
    for item in items:
        out.print(f"{item['unit']}: {len(item['copies'])} copies")
        for c in item["copies"]:
            p = c["provenance"]
            out.print(f"  {p['file']} row {p['row']}: {c['votes']}")
    if not items:
        out.print(f"No conflicting copies in {source}.")


@app.command("unit")
@handle_errors
def show_unit(
    unit_id: Annotated[str, typer.Argument(help="Unit id as listed by compare (e.g. 13.4.2.130402001.1).")],
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Show one table as every source reports it, with provenance."""
    with store_at(db, read_only=True) as store:
        records = store.unit_records(unit_id)
    if not records:
        raise VoteauditError(f"no records for unit {unit_id!r}")
    if as_json:
        emit({"unit": unit_id, "records": records})
        return
    for r in records:
        out.print(f"{r['source']} ({r['kind']}): {r['votes']} registered={r['registered']} "
                  f"flags={r['flags']} from {r['provenance']['file']} row {r['provenance']['row']}")


@app.command()
@handle_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for report.html and summary.json.")] = Path("out"),
    db: Annotated[str | None, typer.Option("--db", help="Store to build (default: DIR/demo.duckdb, "
                                                        "rebuilt each run).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the report: en or es.")] = "en",
    scan: Annotated[int, typer.Option("--scan", help="Also generate N photographed tally sheets of real tables "
                                                     "(needs the scan extra) and read them back as source `scans`.")]
    = 0,
    site: Annotated[bool, typer.Option("--site/--no-site", help="Also publish the static site into DIR/site.")]
    = True,
    as_json: JsonOpt = False,
) -> None:
    """Run the whole pipeline on the bundled Venezuela 2024 data and write a report (and the static site).

    Sources: the opposition's tally-sheet CSV (`actas`) and an independent reading of the sheets'
    QR codes (`qr`); announced: the CNE's two bulletins.
    """
    from voteaudit.demo import run_demo

    with progress(as_json) as step:
        doc = run_demo(out_dir, db=db, step=step, lang=lang, scan=scan, site=site)
    if as_json:
        emit(doc)
    else:
        out.print(f"Wrote {out_dir / 'report.html'} and {out_dir / 'summary.json'}"
                  + (f"; the static site is in {out_dir / 'site'} (open index.html)." if site else "."))


@app.command()
@handle_errors
def report(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for report.html and summary.json.")],
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
    title: Annotated[str, typer.Option("--title", help="Report title.")] = "Election results check",
    lang: Annotated[str, typer.Option("--lang", help="Language of the report: en or es.")] = "en",
    geojson: Annotated[Path | None, typer.Option("--geojson", help="Region boundaries (GeoJSON) for maps.")] = None,
    geo_key: Annotated[str, typer.Option("--geo-key", help="GeoJSON property naming each region.")] = "NAME_1",
    geo_crosswalk: Annotated[Path | None, typer.Option(
        "--geo-crosswalk", help="CSV: first column the region code, last column the GeoJSON name "
                                "(default: match region names).")] = None,
) -> None:
    """Write a self-contained HTML report (opens offline, no CDN) and summary.json, with data downloads."""
    from voteaudit.report.build import write_report
    from voteaudit.report.charts import read_crosswalk

    if lang not in ("en", "es"):
        raise VoteauditError(f"--lang must be en or es, not {lang!r}")
    names = read_crosswalk(geo_crosswalk) if geo_crosswalk else None
    with progress(as_json) as step, store_at(db, read_only=True) as store:
        doc = write_report(store, out_dir, title=title, step=step, lang=lang, geojson=geojson, geo_key=geo_key,
                           geo_names=names)
    if as_json:
        emit({"report": str(out_dir / "report.html"), "summary": str(out_dir / "summary.json"),
              "sources": [s["name"] for s in doc["sources"]]})
    else:
        out.print(f"Wrote {out_dir / 'report.html'} and {out_dir / 'summary.json'}.")


def _register_subapps() -> None:
    from voteaudit.audit_cli import app as audit_app
    from voteaudit.publish.cli import publish_command, verify_command
    from voteaudit.server.cli import serve_command, users_app

    app.command("publish")(publish_command)
    app.command("verify")(verify_command)
    app.add_typer(audit_app, name="audit")
    app.command("serve")(serve_command)
    app.add_typer(users_app, name="users")


_register_subapps()

if __name__ == "__main__":  # pragma: no cover
    app()
