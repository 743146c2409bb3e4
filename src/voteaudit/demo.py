"""The bundled Venezuela 2024 demo: ingest both sources and the bulletins, write the report."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from voteaudit.ingest import ingest_file, load_mapping
from voteaudit.model import VoteauditError
from voteaudit.report.charts import read_crosswalk
from voteaudit.store import open_store

DEMO_SOURCES = (("actas", "independent", "actas.csv.gz", "actas.toml"),
                ("qr", "independent", "qr.csv.gz", "qr.toml"))


def demo_file(name: str) -> Path:
    return Path(str(resources.files("voteaudit") / "demo_data" / name))


def generate_sheets(n: int, folder: Path, *, seed: int = 2024) -> list[Path]:
    """Photographed-looking tally sheets (JPEG, with the ve2024 QR code) of ``n`` real tables from the actas.

    The opposition's CSV gives votes per candidate, not per ballot card: each candidate's votes are put
    on their first card, so the candidate totals on every sheet equal the published ones.
    """
    import csv
    import gzip
    import io

    import numpy as np

    from voteaudit.ingest.scan import parse_payload, render_sheet
    from voteaudit.ingest.scan.ve2024 import _BALLOT

    columns = {"Nicolás Maduro": "NM", "Luis Eduardo Martínez": "LM", "Javier Bertucci": "JABE", "José Brito": "JOBR",
               "Antonio Ecarri": "AE", "Claudio Fermín": "CF", "Daniel Ceballos": "DC",
               "Edmundo González Urrutia": "EG", "Enrique Márquez": "EM", "Benjamín Rausseo": "BERA"}
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(demo_file("actas.csv.gz").read_bytes()).decode())))
    picks = np.random.default_rng(seed).choice(len(rows), size=min(n, len(rows)), replace=False)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, k in enumerate(sorted(picks.tolist())):
        r = rows[k]
        cards = []
        for candidate, names in _BALLOT:
            cards += [int(r[columns[candidate]])] + [0] * (len(names) - 1)
        payload = f"{r['centre']}.{r['table']}.1.0001!{','.join(map(str, cards))}!{r['null']}!0"
        path = folder / f"acta_{r['centre']}_{r['table']}.jpg"
        render_sheet(parse_payload(payload), seed=seed + i).convert("RGB").save(path, quality=85)
        paths.append(path)
    return paths


def run_demo(out_dir: Path, *, db: str | None = None, step: Callable[[str], None] = lambda s: None,
             lang: str = "en", scan: int = 0, site: bool = True) -> dict[str, Any]:
    """Build a fresh store from the demo data and write report.html + summary.json into ``out_dir``,
    and (``site``) the static release into ``out_dir/site``: a page per table with its sheet's link."""
    from voteaudit.ingest.bulletins import read_bulletins
    from voteaudit.report.build import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    target = db or str(out_dir / "demo.duckdb")
    if "://" not in target:  # a DuckDB file: rebuilt from scratch each run
        for p in (Path(target), Path(target + ".wal")):
            p.unlink(missing_ok=True)
    with open_store(target) as store:
        if store.sources():
            raise VoteauditError(f"{target} already holds data: give the demo an empty store")
        for name, kind, data, mapping in DEMO_SOURCES:
            step(f"ingesting {name}")
            ingest_file(store, demo_file(data), load_mapping(demo_file(mapping)), source=name, kind=kind)
        if scan:
            from voteaudit.ingest.scans import scan_into_store

            step(f"generating {scan} tally-sheet photos of real tables")
            sheets = generate_sheets(scan, out_dir / "sheets")
            step(f"scanning {len(sheets)} sheets")
            scan_into_store(store, sheets, source="scans", kind="observer", workers=2)
        step("recording the CNE bulletins")
        bulletins, universe = read_bulletins(demo_file("bulletins.json"))
        store.write_bulletins(bulletins, universe)
        from voteaudit.report.i18n import translator

        title = translator(lang)("demo_title")
        options = {"geojson": demo_file("venezuela_states.geojson"), "lang": lang,
                   "geo_names": read_crosswalk(demo_file("states_crosswalk.csv"))}
        doc = write_report(store, out_dir, title=title, step=step, **options)
        if site:
            from voteaudit.publish.site import publish, sheets_from_csv

            links = sheets_from_csv(demo_file("actas.csv.gz"), units=["state", "municipality", "parish", "centre",
                                                                       "table"], url="sheet_url", source="actas")
            site_dir = out_dir / "site"
            if site_dir.exists() and not (site_dir / "manifest.json").exists():
                raise VoteauditError(f"{site_dir} exists and is not a voteaudit site: move it away")
            doc["site"] = publish(store, site_dir, step=step, title=title, sheets=links, report_options=options,
                                  election_date="2024-07-28")
        return doc
