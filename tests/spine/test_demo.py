"""The Venezuela 2024 demo, right to the vote.

Expected figures are recomputed here independently of voteaudit (plain ``csv`` module on the raw
files when ../shared is present, else on the bundled copy), and pinned to the published ones:
resultadosconvzla's 24,532 actas with González 7,156,462 and Maduro 3,241,461 (adn40, SOURCE.md),
the CNE's second bulletin (Maduro 6,408,844, González 5,326,104).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from voteaudit.demo import demo_file

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "venezuela-2024"
MADURO, GONZALEZ = "Nicolás Maduro", "Edmundo González Urrutia"


def independent_counts() -> dict:
    """Tables and totals computed with nothing but the csv module."""
    if SHARED.exists():
        with open(SHARED / "RESULTADOS_2024_CSV_V1.csv", encoding="utf-8-sig", newline="") as fh:
            actas = {(r["CENTRO"].zfill(9), int(r["MESA"])): r for r in csv.DictReader(fh)}
        a = {k: (int(r["NM"]), int(r["EG"]), int(r["LM"]), int(r["JABE"]), int(r["JOBR"]), int(r["AE"]),
                 int(r["CF"]), int(r["DC"]), int(r["EM"]), int(r["BERA"])) for k, r in actas.items()}
        with open(SHARED / "vzlapi_qr_actas_21952.csv", encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        q = {(r["Acta"][:9], int(r["Acta"].split(".")[1])):
             tuple(int(r[c]) for c in ("Maduro", "Gonzalez", "Martinez", "Bertucci", "Brito", "Ecarri", "Fermin",
                                       "Ceballos", "Marquez", "Rausseo")) for r in rows}
    else:
        def load(name: str, cols: list[str]) -> dict:
            text = gzip.decompress(demo_file(name).read_bytes()).decode()
            return {(r["centre"], int(r["table"])): tuple(int(r[c]) for c in cols)
                    for r in csv.DictReader(io.StringIO(text))}
        a = load("actas.csv.gz", ["NM", "EG", "LM", "JABE", "JOBR", "AE", "CF", "DC", "EM", "BERA"])
        q = load("qr.csv.gz", ["Maduro", "Gonzalez", "Martinez", "Bertucci", "Brito", "Ecarri", "Fermin", "Ceballos",
                               "Marquez", "Rausseo"])
    common = a.keys() & q.keys()
    return {"actas_units": len(a), "maduro": sum(v[0] for v in a.values()), "gonzalez": sum(v[1] for v in a.values()),
            "common": len(common), "differ": sum(a[k] != q[k] for k in common),
            "only_actas": len(a.keys() - q.keys()), "only_qr": len(q.keys() - a.keys())}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo")
    proc = subprocess.run([sys.executable, "-m", "voteaudit.cli", "demo", "--out", str(out), "--json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["sources"]  # --json: exactly one JSON document on stdout
    return out, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_demo_right_to_the_vote(demo):
    _, doc = demo
    truth = independent_counts()
    # published figures (SOURCE.md, issue): the independent recount must agree with them too
    assert truth == {"actas_units": 24532, "maduro": 3241461, "gonzalez": 7156462, "common": 21924, "differ": 7,
                     "only_actas": 2608, "only_qr": 28}
    src = {s["name"]: s for s in doc["sources"]}
    assert src["actas"]["units"] == truth["actas_units"]
    assert src["actas"]["totals"][GONZALEZ] == truth["gonzalez"]
    assert src["actas"]["totals"][MADURO] == truth["maduro"]
    assert src["qr"]["units"] == 21952
    pair = doc["comparison"]["pairs"][0]
    assert (pair["a"], pair["b"]) == ("actas", "qr")
    assert pair["common_units"] == truth["common"] and pair["differ"] == truth["differ"]
    assert pair["only_a"] == truth["only_actas"] and pair["only_b"] == truth["only_qr"]
    b2 = [b for b in doc["announced"] if b["name"] == "bulletin 2"][0]
    assert b2["totals"][MADURO] == 6408844 and b2["totals"][GONZALEZ] == 5326104
    # coverage against the 30,026 tables the CNE announced
    assert abs(src["actas"]["coverage"] - 24532 / 30026) < 1e-12


def test_demo_contract_fields(demo):
    _, doc = demo
    for s in doc["sources"]:
        assert {"name", "kind", "units", "coverage", "totals", "shares"} <= set(s)
        assert abs(sum(s["shares"].values()) - 1) < 1e-9
    for a in doc["announced"]:
        assert {"name", "totals", "shares"} <= set(a)
    assert "comparison" in doc
    regions = doc["sources"][0]["by_region"]
    assert len(regions) == 24 and sum(r["units"] for r in regions) == 24532
    assert any(r["name"] == "DTTO. CAPITAL" for r in regions)


def test_demo_report_is_self_contained(demo):
    out, _ = demo
    html = (out / "report.html").read_text(encoding="utf-8")
    for needle in ("<svg", "7,156,462", "bulletin 2", "DTTO. CAPITAL", "Where sources disagree"):
        assert needle in html
    # nothing is loaded from elsewhere: every src/href stays on the page or in its folder
    import re

    refs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert refs and all(not re.match(r"(https?:)?//", r) for r in refs), refs
    assert "<script src" not in html
    assert (out / "data" / "actas.parquet").exists() and (out / "data" / "actas.csv").exists()
    # the static release sits beside the report, with the sheet links of the actas
    assert (out / "site" / "manifest.json").exists() and (out / "site" / "table.html").exists()
    assert "resultadosconvzla.com" in "".join(p.read_text(encoding="utf-8") for p in (out / "site" / "tables").glob(
        "000000.json"))


def test_demo_states_what_it_would_take(demo):
    """Bulletin 2 needs González down by 1,830,358 votes: with one binding constraint, the fewest false sheets
    are the fewest tables whose González votes add up to that (a sort), recomputed here from the raw data."""
    out, doc = demo
    ev = doc["estimate"]
    est = ev["estimates"]["Edmundo González Urrutia"]
    assert est["ci_low"] < 7156462 / 10659128 < est["ci_high"]
    b2 = [c for c in ev["what_it_would_take"] if c["bulletin"] == "bulletin 2"][0]
    if SHARED.exists():
        with open(SHARED / "RESULTADOS_2024_CSV_V1.csv", encoding="utf-8-sig", newline="") as fh:
            eg = sorted((int(r["EG"]) for r in csv.DictReader(fh)), reverse=True)
    else:
        text = gzip.decompress(demo_file("actas.csv.gz").read_bytes()).decode()
        eg = sorted((int(r["EG"]) for r in csv.DictReader(io.StringIO(text))), reverse=True)
    excess, k, removed = 7156462 - 5326104, 0, 0
    while removed < excess:
        removed += eg[k]
        k += 1
    assert b2["min_false_sheets"] == k
    maduro = b2["needed"]["Nicolás Maduro"]
    assert maduro["votes"] == 6408844 - 3241461
    assert abs(maduro["share_of_uncovered_registered"] - (6408844 - 3241461) / (21620705 - 17745239)) < 1e-12
    b1 = [r for r in ev["announced_tests"]["bulletin 1"] if r["test"] == "round_percentage"][0]
    assert b1["flagged"] and 1e-9 < b1["p_value"] < 1e-7
    html = (out / "report.html").read_text(encoding="utf-8")
    for sentence in (ev["estimate"]["statement"], ev["bounds_detail"]["statement"], b2["statement"]):
        assert sentence.split(",")[0] in html
    assert f"{k:,}" in html and "81.7" in html
    assert [r for r in doc["forensics"] if r["test"] == "source_agreement"]


def test_demo_every_level(demo):
    """Areas per level match SOURCE.md's measured counts: 326 municipalities, 12,817 centres in the actas."""
    out, _ = demo
    for level, expected in (("municipality", 326), ("4", 12817)):
        proc = subprocess.run([sys.executable, "-m", "voteaudit.cli", "compare", "--db", str(out / "demo.duckdb"),
                               "--level", level, "--json"], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        nodes = json.loads(proc.stdout)["by_level"]["nodes"]
        actas = [n["sources"]["actas"] for n in nodes if "actas" in n["sources"]]
        assert len(actas) == expected and sum(a["units"] for a in actas) == 24532
