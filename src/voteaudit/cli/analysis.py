"""``voteaudit compare``, ``estimate``, ``forensics``, ``simulate``, ``power``, ``conflicts`` and ``unit``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from voteaudit.cli.app import app
from voteaudit.cli.common import (
    DEFAULT_DB,
    AsOfOpt,
    ContestOpt,
    DbOpt,
    JsonOpt,
    emit,
    handle_errors,
    out,
    progress,
    read_matrix,
    refuse,
    store_at,
)

if TYPE_CHECKING:
    from voteaudit.store import Store


@app.command()
@handle_errors
def compare(
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
    top: Annotated[int, typer.Option("--top", help="How many of the largest disagreements to list.")] = 20,
    level: Annotated[str | None, typer.Option(
        "--level", help="Also list every area of this level (name or depth) with each source's totals there.")]
    = None,
    contest: ContestOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Compare every source with every other and with the announced bulletins.

    Shows totals and shares per source, coverage, units only in one source, tables where sources
    disagree (largest first) and each source against each bulletin. A store with several contests
    and no --contest: every contest (`{"contests": [...]}`) and `cross_contest`, the tables whose
    contests' ballots cast differ.
    """
    from voteaudit.report.summary import build_contests_summary, build_summary

    with progress(as_json) as step, store_at(db, read_only=True) as store:
        step("comparing sources")
        levels = store.levels() or []
        depth = None
        if level is not None:
            depth = int(level) if level.isdigit() else (levels.index(level) + 1 if level in levels else 0)
            if not 1 <= depth <= len(levels):
                refuse(f"unknown level {level!r} (levels: {', '.join(levels) or 'none'})")
        if contest is None and len(store.contest_names()) > 1:
            if as_of is not None:
                refuse("--as-of compares one contest: give --contest (`voteaudit contests` lists them)")
            multi = build_contests_summary(store, top=top, level=depth)
        else:
            multi = None
            loaded = {i.name: read_matrix(store, i.name, contest, as_of) for i in store.sources(contest)}
            doc = build_summary(store, top=top, level=depth, contest=contest, loaded=loaded)
    if multi is not None:
        if as_json:
            emit(multi)
            return
        for doc in multi["contests"]:
            out.print(f"Contest: {doc['contest']}")
            print_summary(doc)
        for found in multi["cross_contest"]:
            out.print(f"{found['source']}: {found['differ']:,} of {found['tables_compared']:,} tables give "
                      "different ballots in different contests")
            for t in found["tables"][:10]:
                parts = ", ".join(f"{c} {n:,}" for c, n in t["ballots"].items())
                out.print(f"  {t['unit']} {t['name']}: {parts} (difference {t['difference']:,}, {t['basis']})")
        return
    if as_json:
        emit(doc)
        return
    print_summary(doc)
    if doc.get("by_level"):
        for node in doc["by_level"]["nodes"]:
            parts = "; ".join(f"{name} {r['units']:,} tables" for name, r in node["sources"].items())
            out.print(f"{node['id']} {node['name']}: {parts}")


def print_summary(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from voteaudit.report.i18n import translator

    t = translator("en", doc.get("election", {}).get("vocabulary"))  # the election's word for a table
    units = t("unit_plural")

    cands: list[str] = []
    for s in doc["sources"]:
        for c in sorted(s["totals"], key=lambda c: -s["totals"][c]):
            if c not in cands:
                cands.append(c)
    table = Table(title="Totals by source (share of valid votes)")
    table.add_column("candidate")
    for s in doc["sources"]:
        table.add_column(f"{s['name']} ({t('kind_' + s['kind']) if t.has('kind_' + s['kind']) else s['kind']})",
                         justify="right")
    for c in cands:
        table.add_row(c, *[f"{s['totals'].get(c, 0):,} ({100 * s['shares'].get(c, 0):.2f}%)" for s in doc["sources"]])
    table.add_row(units, *[f"{s['units']:,} ({100 * (s['coverage'] or 0):.1f}%)" for s in doc["sources"]])
    out.print(table)
    for p in doc["comparison"]["pairs"]:
        out.print(f"{p['a']} vs {p['b']}: {p['common_units']:,} {units} in both, {p['differ']:,} differ; "
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
    contest: ContestOpt = None,
    as_of: AsOfOpt = None,
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
                       partial_count=partial_count, contest=contest,
                       matrix=read_matrix(store, source, contest, as_of))
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


def _level_name(store: Store, level: str | None) -> str | None:
    """Accept a level by name or 1-based depth; None = national."""
    if level is None or level in ("national", ""):
        return None
    levels = store.levels() or []
    if level.isdigit() and 1 <= int(level) <= len(levels):
        return levels[int(level) - 1]
    if level not in levels[:-1]:
        refuse(f"unknown level {level!r}; levels above the table: {', '.join(levels[:-1]) or 'none'}")
    return level


def _materiality_option(items: list[str] | None) -> dict[str, float]:
    """--materiality TEST=VALUE (repeatable) as a mapping."""
    found: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            found[name] = float(value) if sep else float("nan")
        except ValueError:
            found[name] = float("nan")
        if not sep or not found[name] >= 0:
            refuse(f"--materiality {item!r}: give TEST=VALUE with VALUE a number >= 0")
    return found


def forensics_rows(docs: list[dict[str, Any]]) -> tuple[list[str], list[list[object]]]:
    """The terminal table of forensics results: area names, both p-values, effect, count of tables."""
    per_area = any("area" in d for d in docs)
    cols = ["test", "target"] + (["area"] if per_area else []) + ["statistic", "p-value"] \
        + (["adjusted p"] if per_area else []) + ["effect (95 % CI)", "flagged", "tables singled out"]
    rows: list[list[object]] = []
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
        rows.append([d["test"], d["target"]] + ([d["area"]["name"] if "area" in d else ""] if per_area else [])
                    + [stat, p] + (["—" if d.get("p_adjusted") is None else f"{d['p_adjusted']:.3g}"]
                                   if per_area else [])
                    + [eff, flag, f"{d['units_flagged_count']:,}"])
    return cols, rows


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
    contest: ContestOpt = None,
    as_of: AsOfOpt = None,
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
    A flag is a reason to look closer, not proof of fraud. Results are computed once per store state
    (`voteaudit report` reuses them).
    """
    from voteaudit.cli.common import table
    from voteaudit.forensics import TEST_IDS, headline
    from voteaudit.results_cache import forensics_docs

    for t in test or []:
        if t not in TEST_IDS:
            refuse(f"unknown test {t!r} (tests: {', '.join(TEST_IDS)})")
    if correction not in (None, "holm", "bh"):
        refuse(f"--correction {correction!r}: choose holm or bh")
    thresholds = _materiality_option(materiality)
    with progress(as_json) as step, store_at(db, read_only=True) as store:
        step(f"loading {source}")
        m = read_matrix(store, source, contest, as_of)
        o = read_matrix(store, other, contest, as_of) if other else None
        lvl = _level_name(store, level)
        names = store.labels(sorted(set(m.path[m.levels.index(lvl)].tolist()))) if lvl else {}
        step("running the battery")
        try:
            docs = forensics_docs(store, m, level=lvl, alpha=alpha, seed=seed, other=o, tests=test or None,
                                  correction=correction, materiality=thresholds, names=names, as_of=as_of)
        except ValueError as exc:
            refuse(str(exc))
    if as_json:
        emit(docs)
        return
    cols, rows = forensics_rows(docs)
    table(f"Forensics: {source}" + (f" by {lvl}" if lvl else " (national)"), cols, rows)
    out.print(headline(docs, alpha)["text"])


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
            refuse(f"unknown fraud model {name!r} (models: {', '.join(FRAUD_MODELS)})")
        try:
            models[name] = float(size)
        except ValueError:
            refuse(f"--fraud {item!r}: SIZE must be a number between 0 and 1")
        if not 0 <= models[name] <= 1:
            refuse(f"--fraud {item!r}: SIZE must be between 0 and 1")
    if units < 1:
        refuse("--units must be at least 1")
    if out_file.suffix not in (".csv", ".parquet", ".gz"):
        refuse(f"{out_file}: the output must end in .csv, .csv.gz or .parquet")
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
    contest: ContestOpt = None,
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
            m = store.matrix(source, contest)
        n, k = m.n_units, len(m.candidates)
        regions = len(set(m.path[0].tolist())) if len(m.levels) > 1 else 1
    elif units:
        n, k, regions = units, 4, 10
    else:
        refuse("give --source NAME or --units N")
    with progress(as_json) as step:
        step(f"simulating elections of {n:,} tables")
        table = power_for(n, candidates=max(2, k), regions=max(1, regions), power=target, sims=sims, alpha=alpha,
                          seed=seed)
    doc = {"units": n, "candidates": k, "regions": regions, "power": target, "alpha": alpha, "sims": sims,
           "smallest_detectable": table}
    if as_json:
        emit(doc)
        return
    from rich.table import Table

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
    contest: ContestOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """List tables for which one source holds differing copies, with each copy's provenance."""
    with store_at(db, read_only=True) as store:
        items = store.conflicts(source, contest)
    if as_json:
        emit(items)
        return
    for item in items:
        out.print(f"{item['unit']}: {len(item['copies'])} copies")
        for c in item["copies"]:
            p = c["provenance"]
            votes = ", ".join(f"{name} {v:,}" for name, v in c["votes"].items())
            out.print(f"  {Path(str(p['file'])).name} row {p['row']}: {votes}")
    if not items:
        out.print(f"No conflicting copies in {source}.")


@app.command("unit")
@handle_errors
def show_unit(
    unit_id: Annotated[str, typer.Argument(help="Unit id as listed by compare (e.g. 13.4.2.130402001.1).")],
    contest: ContestOpt = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Show one table as every source reports it, with provenance."""
    with store_at(db, read_only=True) as store:
        records = store.unit_records(unit_id, contest)
    if not records:
        refuse(f"no records for unit {unit_id!r}")
    if as_json:
        emit({"unit": unit_id, "records": records})
        return
    print_unit(unit_id, records)


def print_unit(unit_id: str, records: list[dict[str, Any]]) -> None:
    """One table as every source reports it: a column per copy, a row per count and candidate."""
    from voteaudit.cli.common import table

    heads = [f"{r['source']} ({r['kind']})" for r in records]
    cands = list(dict.fromkeys(c for r in records for c in r["votes"]))
    rows: list[list[object]] = []
    for key in ("registered", "cast", "valid", "null", "blank"):
        if any(r.get(key) is not None for r in records):
            rows.append([key, *[_count(r.get(key)) for r in records]])
    rows += [[c, *[_count(r["votes"].get(c)) for r in records]] for c in cands]
    modes = list(dict.fromkeys(mode for r in records for mode in r.get("modes") or {}))
    rows += [[f"{c} ({mode})", *[_count(((r.get("modes") or {}).get(mode) or {}).get(c)) for r in records]]
             for mode in modes for c in cands]
    rows.append(["flags", *[", ".join(r["flags"]) or "none" for r in records]])
    rows.append(["from", *[f"{Path(str(r['provenance'].get('file', '?'))).name} row {r['provenance'].get('row', '?')}"
                           for r in records]])
    table(f"Table {unit_id}", ["", *heads], rows, right=set(range(1, len(heads) + 1)))


def _count(value: object) -> str:
    return "—" if value is None or (isinstance(value, int) and value < 0) else f"{value:,}"



@app.command("contests")
@handle_errors
def contests_cmd(db: DbOpt = DEFAULT_DB, as_json: JsonOpt = False) -> None:
    """List the store's contests: each with its tables with results and the sources reporting it."""
    with store_at(db, read_only=True) as store:
        found = [c.to_dict() for c in store.contests()]
    if as_json:
        emit(found)
        return
    if not found:
        out.print("no contests yet: ingest a results file first.")
    for c in found:
        out.print(f"{c['name']}: {c['units']:,} tables; sources: {', '.join(c['sources']) or 'none'}")
