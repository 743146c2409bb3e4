"""Build the compact Venezuela 2024 demo dataset bundled in ``src/voteaudit/demo_data``.

Origin (see ../shared/data/venezuela-2024/SOURCE.md for hashes and commits):
* ``RESULTADOS_2024_CSV_V1.csv`` — the opposition's (Comando Con Venezuela) tally-sheet results,
  published at resultadosconvzla.com, via GitHub ``ipince/vzlapi`` ``data/cvzla/``;
* ``vzlapi_qr_actas_21952.csv`` — an independent reading of the sheets' QR codes,
  ``ipince/vzlapi`` ``api/cmd/store_results/actas.csv``;
* ``cne_bulletins.json`` — the CNE's two announced bulletins, compiled from press pages;
* ``geo/`` — Venezuela's state boundaries and the CNE-code crosswalk.

What changes: only the shape. The CNE centre code is zero-padded to 9 digits (the CSV stored it
as an integer) and split into its parts (state, municipality, parish = digits 1-2, 3-4, 5-6);
the opposition CSV's ``COD_PAR`` (a site-internal id, not the CNE parish code) is dropped; the QR
file's acta id ``CCCCCCCCC.MM.1.0001`` becomes the same key columns. Every count is copied as is.

Run: ``python scripts/build_demo_data.py [SHARED_DATA_DIR]``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
OUT = HERE / "src" / "voteaudit" / "demo_data"
SHA = {
    "RESULTADOS_2024_CSV_V1.csv": "fd2712796bf8ec77dfe02e07cd864882c93f4079238c2d21b822b7b9a999f8ea",
    "vzlapi_qr_actas_21952.csv": "d68803c36eeda06a3f5b5fe5f4a8a6a5e8d7f45972539dd1e98b80caf8774f9c",
}
CANDS = ["NM", "EG", "LM", "JABE", "JOBR", "AE", "CF", "DC", "EM", "BERA"]
QR_CANDS = ["Maduro", "Gonzalez", "Martinez", "Bertucci", "Brito", "Ecarri", "Fermin", "Ceballos", "Marquez",
            "Rausseo"]


def check(path: Path) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if path.name in SHA and digest != SHA[path.name]:
        raise SystemExit(f"{path}: sha256 {digest} is not the documented {SHA[path.name]}")


def write_gz(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    # mtime=0: the same input always gives byte-identical output
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write(buf.getvalue().encode("utf-8"))


def main(src: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    actas = src / "RESULTADOS_2024_CSV_V1.csv"
    qr = src / "vzlapi_qr_actas_21952.csv"
    check(actas)
    check(qr)
    rows = []
    with open(actas, encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            centre = r["CENTRO"].zfill(9)
            rows.append([centre[:2], r["EDO"], centre[2:4], r["MUN"], centre[4:6], r["PAR"], centre,
                         r["MESA"].zfill(2), r["RE"], r["VOTOS_VALIDOS"], r["VOTOS_NULOS"],
                         *[r[c] for c in CANDS], r["URL"]])
    write_gz(OUT / "actas.csv.gz",
             ["state", "state_name", "municipality", "municipality_name", "parish", "parish_name", "centre",
              "table", "registered", "valid", "null", *CANDS, "sheet_url"], rows)
    rows = []
    with open(qr, encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            centre, table = r["Acta"].split(".")[:2]
            rows.append([centre[:2], centre[2:4], centre[4:6], centre, table, *[r[c] for c in QR_CANDS]])
    write_gz(OUT / "qr.csv.gz", ["state", "municipality", "parish", "centre", "table", *QR_CANDS], rows)
    shutil.copyfile(src / "cne_bulletins.json", OUT / "bulletins.json")
    shutil.copyfile(src / "geo" / "venezuela_states.geojson", OUT / "venezuela_states.geojson")
    shutil.copyfile(src / "geo" / "states_crosswalk.csv", OUT / "states_crosswalk.csv")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "shared" / "data" / "venezuela-2024")
