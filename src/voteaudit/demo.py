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


def run_demo(out_dir: Path, *, db: str | None = None, step: Callable[[str], None] = lambda s: None,
             lang: str = "en") -> dict[str, Any]:
    """Build a fresh store from the demo data and write report.html + summary.json into ``out_dir``."""
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
        step("recording the CNE bulletins")
        bulletins, universe = read_bulletins(demo_file("bulletins.json"))
        store.write_bulletins(bulletins, universe)
        return write_report(store, out_dir, title="Venezuela, presidential election of 28 July 2024", step=step,
                            geojson=demo_file("venezuela_states.geojson"), lang=lang,
                            geo_names=read_crosswalk(demo_file("states_crosswalk.csv")))
