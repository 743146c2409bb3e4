"""``voteaudit report`` and ``voteaudit demo``: the HTML report and summary.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voteaudit.cli.app import app
from voteaudit.cli.common import (
    DEFAULT_DB,
    ContestOpt,
    DbOpt,
    JsonOpt,
    emit,
    handle_errors,
    out,
    progress,
    refuse,
    store_at,
)


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
    contest: ContestOpt = None,
) -> None:
    """Write a self-contained HTML report (opens offline, no CDN) and summary.json, with data downloads.

    A store with several contests and no --contest: a report per contest under DIR/contests/, and
    DIR/report.html with a section per contest and the tables whose contests' ballots differ.
    """
    from voteaudit.report.build import write_contests_report, write_report
    from voteaudit.report.charts import read_crosswalk

    if lang not in ("en", "es"):
        refuse(f"--lang must be en or es, not {lang!r}")
    names = read_crosswalk(geo_crosswalk) if geo_crosswalk else None
    with progress(as_json) as step, store_at(db, read_only=True) as store:
        if contest is None and len(store.contest_names()) > 1:
            multi = write_contests_report(store, out_dir, title=title, step=step, lang=lang, geojson=geojson,
                                          geo_key=geo_key, geo_names=names)
            doc = {"sources": sorted({s["name"] for d in multi["contests"] for s in d["sources"]})}
            doc["sources"] = [{"name": n} for n in doc["sources"]]
        else:
            doc = write_report(store, out_dir, title=title, step=step, lang=lang, geojson=geojson,
                               geo_key=geo_key, geo_names=names, contest=contest)
    if as_json:
        emit({"report": str(out_dir / "report.html"), "summary": str(out_dir / "summary.json"),
              "sources": [s["name"] for s in doc["sources"]]})
    else:
        out.print(f"Wrote {out_dir / 'report.html'} and {out_dir / 'summary.json'}.")


