"""``voteaudit ingest``, ``announce`` and ``scan``: results files, bulletins and tally-sheet images into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TextColumn, TimeElapsedColumn

from voteaudit.cli.app import app
from voteaudit.cli.common import (
    DEFAULT_DB,
    ContestOpt,
    DbOpt,
    JsonOpt,
    KindName,
    emit,
    err,
    handle_errors,
    out,
    progress,
    store_at,
)


@app.command()
@handle_errors
def ingest(
    file: Annotated[Path, typer.Argument(help="Results file: CSV/TSV (.gz ok), XLSX, Parquet, JSON lines, "
                                              "or NIST SP 1500-100 CDF JSON.")],
    source: Annotated[str, typer.Option("--source", help="Name of the source, e.g. 'authority' or 'party-actas'.")],
    kind: Annotated[KindName, typer.Option("--kind", help="Who produced it.")],
    mapping: Annotated[Path | None, typer.Option("--mapping", help="TOML file mapping columns (see docs).")] = None,
    unit: Annotated[list[str] | None, typer.Option(
        "--unit", help="Column identifying a table; repeat, outermost level first (state, ..., table).")] = None,
    unit_name: Annotated[list[str] | None, typer.Option(
        "--unit-name", help="Column with the display name of each --unit level, in the same order.")] = None,
    level: Annotated[list[str] | None, typer.Option(
        "--level", help="Name of each hierarchy level (default: the --unit column names).")] = None,
    registered: Annotated[list[str] | None, typer.Option(
        "--registered", help="Column of registered voters (repeat: the columns are added up).")] = None,
    candidate: Annotated[list[str] | None, typer.Option(
        "--candidate", help="Wide files: a column of votes for one candidate/selection; repeat per column.")] = None,
    long: Annotated[tuple[str, str] | None, typer.Option(
        "--long", help="Long files: CANDIDATE_COL VOTES_COL (one row per table and candidate).")] = None,
    valid: Annotated[list[str] | None, typer.Option("--valid", help="Column of stated valid votes "
                                                                    "(repeat: added up).")] = None,
    null: Annotated[list[str] | None, typer.Option("--null", help="Column of null votes (repeat: added up).")] = None,
    blank: Annotated[list[str] | None, typer.Option(
        "--blank", help="Column of blank votes (repeat: added up).")] = None,
    cast: Annotated[list[str] | None, typer.Option(
        "--cast", help="Column of ballots cast/issued (repeat: added up, e.g. issued early + at the station + "
                       "outside).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, tsv, xlsx, parquet, jsonl or nist "
                                                             "(default: from the extension).")] = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", help="CSV delimiter (default: detected).")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="Text encoding (default: detected).")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet name (default: the first).")] = None,
    contest: Annotated[str | None, typer.Option(
        "--contest", help="The contest this file's results are for (default: the store's only one, 'main'); "
                          "with --contest-column or a NIST CDF file, the one contest to keep.")] = None,
    contest_column: Annotated[list[str] | None, typer.Option(
        "--contest-column", help="Column naming the contest of each row (repeat: values joined with ' / '); "
                                 "every contest of the file is stored.")] = None,
    where: Annotated[list[str] | None, typer.Option(
        "--where", help="COL=VALUE (or COL!=VALUE): keep only rows where COL is (is not) VALUE; repeat: every "
                          "condition must hold.")] = None,
    mode_column: Annotated[str | None, typer.Option(
        "--mode-column", help="Long files: column of the vote mode / count type; rows differing only in it are "
                              "added up (per-mode counts kept).")] = None,
    registered_row: Annotated[str | None, typer.Option(
        "--registered-row", help="Long files: rows whose candidate (or contest) is this TEXT give the table's "
                                 "registered voters, for every contest.")] = None,
    cast_row: Annotated[str | None, typer.Option(
        "--cast-row", help="Long files: rows whose candidate (or contest) is this TEXT give ballots cast.")] = None,
    not_candidate: Annotated[list[str] | None, typer.Option(
        "--not-candidate", help="Long files: a candidate value that is not a candidate (over/under votes, "
                                "'Not Assigned'...): counted and shown, never in shares. Repeat.")] = None,
    missing_if: Annotated[list[str] | None, typer.Option(
        "--missing-if", help="COL=VALUE: such rows are tables that did not report (repeat).")] = None,
    empty_as_missing: Annotated[bool, typer.Option(
        "--empty-as-missing", help="Rows whose vote counts are all empty are tables that did not report.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Reject the file if any record is implausible "
                                                          "(default: keep and flag).")] = False,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="ISO8601", help="Feed sources: when this file was published (ISO 8601; without an "
                                           "offset, UTC; default: now).")] = None,
    feed: Annotated[bool, typer.Option("--feed", help="Declare the source a feed (at its first import): each file "
                                                      "is a version, tables may change between versions.")] = False,
    unit_label: Annotated[str | None, typer.Option(
        "--unit-label", help="What a table is called in this election (e.g. precinct): used by reports instead of "
                             "'table'.")] = None,
    unit_plural: Annotated[str | None, typer.Option(
        "--unit-plural", help="Its plural, when not the label + 's' (e.g. --unit-label 'polling box' "
                              "--unit-plural 'polling boxes').")] = None,
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
    from voteaudit.ingest import ingest_files
    from voteaudit.ingest.mapping import Mapping, load_mapping, parse_condition
    from voteaudit.store.base import unit_vocabulary

    vocabulary = unit_vocabulary(unit_label, unit_plural) if unit_label else None  # checked before any write

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
    if m is not None:
        from voteaudit.model import InputError

        try:
            reshape_flags(m, contest_column, where, mode_column, registered_row, cast_row, not_candidate,
                          missing_if, empty_as_missing, parse_condition)
        except InputError as exc:
            raise InputError(exc.problem, file=str(file), field=exc.field) from None
    with progress(as_json) as step, store_at(db) as store:
        step(f"reading and validating {file.name}")
        results = ingest_files(store, file, m, source=source, kind=kind, strict=strict, fmt=fmt, contest=contest,
                               as_of=as_of, feed=feed)
        if vocabulary:
            store.set_vocabulary(vocabulary["unit"], vocabulary["units"])
    if as_json:
        emit(results[0].to_dict() if len(results) == 1 else {"contests": [r.to_dict() for r in results]})
        return
    for result in results:
        name = f" [{result.contest}]" if len(results) > 1 else ""
        if result.status == "already imported":
            out.print(f"{file}{name}: already imported for source {source} — nothing changed.")
            continue
        if result.version:
            out.print(f"{file}{name}: version {result.version['version']} of feed {source}, published "
                      f"{result.version['as_of']}" + (" (the same bytes as an earlier version)"
                                                      if result.status == "new version" else ""))
        if result.status == "new version":
            continue
        out.print(f"{file}{name}: {result.rows:,} rows -> {result.records_added:,} records for source {source}"
                  f" ({result.identical_copies:,} identical copies, {result.conflicts:,} units with conflicting "
                  "copies).")
        for flag, n in result.flags.items():
            out.print(f"  flagged {flag}: {n:,}")


def reshape_flags(m: object, contest_column: list[str] | None, where: list[str] | None, mode_column: str | None,
                  registered_row: str | None, cast_row: str | None, not_candidate: list[str] | None,
                  missing_if: list[str] | None, empty_as_missing: bool, parse: object) -> None:
    """Add the reshaping flags to a mapping (flags extend what a --mapping file says)."""
    m.contest_columns = [*m.contest_columns, *(contest_column or [])]
    conds = [parse(w, "--where") for w in where or []]
    m.where = [*m.where, *((c, v) for c, v, neg in conds if not neg)]
    m.where_not = [*m.where_not, *((c, v) for c, v, neg in conds if neg)]
    m.missing_if = [*m.missing_if, *((c, v) for c, v, _ in (parse(w, "--missing-if") for w in missing_if or []))]
    m.not_candidates = [*m.not_candidates, *(not_candidate or [])]
    m.mode_column = mode_column or m.mode_column
    m.registered_row = registered_row or m.registered_row
    m.cast_row = cast_row or m.cast_row
    m.empty_as_missing = empty_as_missing or m.empty_as_missing


@app.command()
@handle_errors
def announce(
    file: Annotated[Path, typer.Argument(help="Bulletins as JSON or CSV (see `voteaudit.ingest.bulletins`).")],
    contest: Annotated[str | None, typer.Option(
        "--contest", help="The contest these totals are for (default: the store's only one).")] = None,
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
        added = store.write_bulletins(bulletins, universe, contest=contest)
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
    kind: Annotated[KindName, typer.Option("--kind", help="Who collected the sheets.")] = "observer",
    workers: Annotated[int, typer.Option("--workers", help="Decoding processes (use 2 on a 2-core machine).")] = 1,
    strict: Annotated[bool, typer.Option("--strict", help="Reject the batch if any sheet is implausible.")] = False,
    contest: ContestOpt = None,
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
                              progress=lambda done, total: bar.update(task, completed=done, total=total),
                              contest=contest)
    if as_json:
        emit(doc)
        return
    out.print(f"{doc['images']:,} images, {doc['sheets']:,} sheets decoded -> {doc['records_added']:,} new records "
              f"for {source}; {len(doc['unreadable'])} unreadable, {len(doc['rejected'])} rejected payloads "
              f"(review queue: {len(doc['review_queue'])}).")
    for item in doc["review_queue"][:20]:
        out.print(f"  {item['path']}: {item['reason']}")


