"""Rebuild the small slices of real third-party files kept under tests/data (see tests/data/SOURCE.md).

    python tests/data/make_slices.py MEDSL_DE_ZIP CAMBRIDGE_ERR_JSON

``MEDSL_DE_ZIP``: ``individual_states/2022-de-local-precinct-general.zip`` of MEDSL/2022-elections-official;
``CAMBRIDGE_ERR_JSON``: ``test_data/real_world/ma/cambridge/2022/general/err_v2/
err-2022-11-08-Massachusetts-Cambridge.json`` of usnistgov/cdf-test-method. Rows and counts are copied
unchanged; only whole precincts are left out (and the CDF's BallotStyle list, which ingest does not read).
"""

from __future__ import annotations

import csv
import io
import json
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEDSL_PRECINCTS = 12     # the first precincts of Kent County, in file order
CDF_PRECINCTS = 14       # the first precincts of the CDF's GpUnit list


def medsl(zip_path: str) -> None:
    z = zipfile.ZipFile(zip_path)
    text = z.read(z.namelist()[0]).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    county, precinct = header.index("county_name"), header.index("precinct")
    keep: list[str] = []
    for r in body:
        if r[county] == "KENT" and r[precinct] not in keep and len(keep) < MEDSL_PRECINCTS:
            keep.append(r[precinct])
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(r for r in body if r[county] == "KENT" and r[precinct] in keep)
    (HERE / "medsl" / "de22_kent_slice.csv").write_text(out.getvalue(), encoding="utf-8")


def cdf(json_path: str) -> None:
    doc = json.loads(Path(json_path).read_text(encoding="utf-8"))
    precincts = [g["@id"] for g in doc["GpUnit"] if g.get("Type") == "precinct"][:CDF_PRECINCTS]
    keep = set(precincts)
    for election in doc["Election"]:
        election.pop("BallotStyle", None)
        election["BallotCounts"] = [b for b in election.get("BallotCounts", []) if b["GpUnitId"] in keep]
        for contest in election["Contest"]:
            contest["OtherCounts"] = [o for o in contest.get("OtherCounts", []) if o["GpUnitId"] in keep]
            for sel in contest["ContestSelection"]:
                sel["VoteCounts"] = [v for v in sel.get("VoteCounts", []) if v["GpUnitId"] in keep]
    doc["GpUnit"] = [g for g in doc["GpUnit"] if g.get("Type") != "precinct" or g["@id"] in keep]
    for g in doc["GpUnit"]:
        if g.get("ComposingGpUnitIds"):
            g["ComposingGpUnitIds"] = [c for c in g["ComposingGpUnitIds"] if c in keep or not c.startswith("prec-")]
    (HERE / "cdf" / "cambridge-2022-general-slice.json").write_text(json.dumps(doc, ensure_ascii=False),
                                                                    encoding="utf-8")


if __name__ == "__main__":
    medsl(sys.argv[1])
    cdf(sys.argv[2])
