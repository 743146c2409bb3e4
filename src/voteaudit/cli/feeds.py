"""``voteaudit changes`` and ``watch``: versions of a source published progressively (a feed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

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
    is_server_url,
    refuse,
    safe,
    say,
    store_at,
    table,
)


@app.command()
@handle_errors
def changes(
    source: Annotated[str, typer.Option("--source", help="The feed source (ingested with --feed).")],
    contest: ContestOpt = None,
    level: Annotated[str | None, typer.Option("--level", help="Level to summarise by (name or depth; "
                                                              "default: the outermost).")] = None,
    top: Annotated[int, typer.Option("--top", help="How many changed tables to list (JSON: all).")] = 20,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Every table whose numbers changed after it was first published, largest change first.

    For each: every changed count (candidate votes, registered, cast, ...) with its value and time in
    each version where it changed, and `decreased` when a count went down; then the tables that
    disappeared from a later version or appeared late, and a summary per region.
    """
    from voteaudit.casework import feed_changes_of

    with store_at(db, read_only=True) as store:
        levels = store.levels() or []
        depth = 0
        if level is not None:
            depth = int(level) - 1 if level.isdigit() else (levels.index(level) if level in levels else -1)
            if not 0 <= depth < len(levels):
                refuse(f"unknown level {level!r} (levels: {', '.join(levels) or 'none'})")
        result = feed_changes_of(store, source, contest, depth)
        doc = result.to_dict()
        labels = store.labels(sorted({r["region"] for r in doc["by_region"]}))
    for r in doc["by_region"]:
        r["name"] = labels.get(r["region"])
    if as_json:
        emit(doc)
        return
    say(f"{source}: {len(doc['versions'])} versions, {doc['tables']:,} tables published; "
        f"{doc['tables_changed']:,} changed after first publication ({doc['tables_decreased']:,} with a count "
        f"that went down), {len(doc['disappeared']):,} disappeared, {len(doc['appeared_late']):,} appeared late.")
    rows = []
    for t in doc["changed"][:top]:
        for c in t["changes"]:
            series = " → ".join(f"{'—' if p['value'] is None else p['value']} ({p['as_of']})" for p in c["values"])
            rows.append([t["unit"], c["candidate"] or c["field"], series, "yes" if c["decreased"] else ""])
    if rows:
        table("Changed after first publication", ["table", "count", "values (time)", "went down"], rows)
    if doc["by_region"]:
        table(f"By {doc['level'] or 'region'}", ["area", "changed", "went down", "votes moved", "disappeared",
                                                 "appeared late"],
              [[r["region"] if r["name"] in (None, r["region"]) else f"{r['region']} {r['name']}",
                r["tables_changed"], r["tables_decreased"], r["votes_moved"], r["disappeared"], r["appeared_late"]]
               for r in doc["by_region"]],
              right={1, 2, 3, 4, 5})


def _keep_dir(db: str, keep: Path | None) -> Path:
    if keep is not None:
        return keep
    if is_server_url(db):
        refuse("with a postgresql:// store, name the directory that keeps fetched files with --keep DIR")
    return Path(db).with_name(Path(db).name + ".fetched")


@app.command()
@handle_errors
def watch(
    url_or_path: Annotated[str, typer.Argument(help="The feed: an http(s) URL or a local file.")],
    source: Annotated[str, typer.Option("--source", help="Source the versions are stored under (a feed).")],
    every: Annotated[float, typer.Option("--every", metavar="SECONDS", help="Seconds between fetches.")],
    kind: Annotated[KindName, typer.Option("--kind", help="Who publishes the feed.")] = "official",
    times: Annotated[int | None, typer.Option("--times", help="Stop after this many fetches "
                                                              "(default: until Ctrl-C).")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="TOML file mapping columns.")] = None,
    unit: Annotated[list[str] | None, typer.Option("--unit", help="Column identifying a table; repeat, "
                                                                  "outermost level first.")] = None,
    registered: Annotated[str | None, typer.Option("--registered", help="Column of registered voters.")] = None,
    candidate: Annotated[list[str] | None, typer.Option("--candidate", help="Wide files: a column of votes; "
                                                                            "repeat per column.")] = None,
    long: Annotated[tuple[str, str] | None, typer.Option("--long", help="Long files: CANDIDATE_COL VOTES_COL.")]
    = None,
    cast: Annotated[str | None, typer.Option("--cast", help="Column of ballots cast.")] = None,
    valid: Annotated[str | None, typer.Option("--valid", help="Column of valid votes.")] = None,
    null: Annotated[str | None, typer.Option("--null", help="Column of null votes.")] = None,
    blank: Annotated[str | None, typer.Option("--blank", help="Column of blank votes.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Format of the feed (default: its extension).")]
    = None,
    contest: ContestOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Reject a publication with implausible records.")]
    = False,
    keep: Annotated[Path | None, typer.Option("--keep", metavar="DIR", help="Where fetched files are kept, "
                                                                            "named by sha256 (default: "
                                                                            "STORE.fetched/ next to the store).")]
    = None,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Fetch a feed every SECONDS and store a new version of the source whenever its bytes change.

    One line per fetch (unchanged / new version and what changed / error). Failed fetches are
    reported and retried with backoff, never stored. Every distinct publication is kept, named by its
    sha256, with a note of where and when it was fetched. Stops after --times fetches or on Ctrl-C.
    """
    from voteaudit.ingest.mapping import Mapping, load_mapping
    from voteaudit.ingest.watch import Watch, run

    if every <= 0:
        refuse("--every must be a positive number of seconds")
    if mapping is not None:
        m: Mapping | None = load_mapping(mapping)
    elif unit:
        m = Mapping(units=list(unit), registered=registered, cast=cast, valid=valid, null=null, blank=blank,
                    candidates=list(candidate or []), long=tuple(long) if long and long[0] else None, format=fmt)
    else:
        m = None
    if m is None and (fmt or "").lower() != "nist":
        refuse("say how to read the feed: --mapping MAP.toml or --unit/--candidate flags (or --format nist)")
    lines: list[dict[str, Any]] = []

    def report(line: dict[str, Any]) -> None:
        text = _line(line)
        if as_json:
            err.print(safe(text), soft_wrap=True)
        else:
            say(text)

    with store_at(db) as store:
        w = Watch(store, url_or_path, _keep_dir(db, keep), source, kind, m, fmt=fmt, contest=contest, strict=strict)
        lines = run(w, every=every, times=times, report=report)
    if as_json:
        emit({"target": url_or_path, "source": source, "fetches": lines})


def _line(f: dict[str, Any]) -> str:
    head = f"{f['at']} fetch {f['fetch']}:"
    if f["status"] == "error":
        return f"{head} error: {f['error']} (retry in {f['retry_in']:g} s)"
    if f["status"] == "unchanged":
        return f"{head} unchanged ({f['sha256'][:12]})"
    if f["status"] == "rejected":
        return f"{head} new bytes {f['sha256'][:12]} kept at {f['kept']}, not a version: {f['error']}"
    v = f["version"] or {}
    same = " (same bytes as an earlier version)" if f["import"] == "new version" else ""
    return (f"{head} version {v.get('version')} ({f['sha256'][:12]}): {f['records_added']:,} tables new or "
            f"changed{same}")
