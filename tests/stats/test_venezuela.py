"""The flagship case, on the real data (skipped when /work/shared is not mounted)."""

import json
from pathlib import Path

import numpy as np
import pytest

from voteaudit.model import SourceMatrix
from voteaudit.stats import (
    Bulletin,
    Universe,
    announced_tests,
    bulletin_certificate,
    coverage,
    estimate_matrix,
    worst_case_bounds,
)

DATA = Path("/work/shared/data/venezuela-2024")
pytestmark = pytest.mark.skipif(not (DATA / "RESULTADOS_2024_CSV_V1.csv").exists(), reason="no shared data")

COLS = ["NM", "EG", "LM", "JABE", "JOBR", "AE", "CF", "DC", "EM", "BERA"]
NAMES = ["Nicolás Maduro", "Edmundo González Urrutia", "Luis Eduardo Martínez", "Javier Bertucci", "José Brito",
         "Antonio Ecarri", "Claudio Fermín", "Daniel Ceballos", "Enrique Márquez", "Benjamín Rausseo"]
# Universe: the registry published before the election (30,026 tables, 21,620,705 registered, incl. abroad).
# It is the largest registered figure announced, hence the most room for the announced result.
UNIVERSE = Universe(tables=30026, registered=21_620_705, note="CNE registry, Gaceta Electoral 2024")


@pytest.fixture(scope="module")
def matrix():
    import pyarrow.csv as pc

    t = pc.read_csv(DATA / "RESULTADOS_2024_CSV_V1.csv")
    v = np.column_stack([np.asarray(t[c]) for c in COLS]).astype(np.int64)
    ids = np.array([f"{c:09d}.{m:02d}" for c, m in zip(t["CENTRO"].to_pylist(), t["MESA"].to_pylist(), strict=True)])
    neg = np.full(t.num_rows, -1, np.int64)
    return SourceMatrix("resultadosconvzla", "independent", ["state", "table"], ids,
                        [np.asarray(t["COD_EDO"]).astype(str), ids], NAMES, v,
                        np.asarray(t["RE"]).astype(np.int64), neg, np.asarray(t["VOTOS_VALIDOS"]).astype(np.int64),
                        np.asarray(t["VOTOS_NULOS"]).astype(np.int64), neg.copy())


@pytest.fixture(scope="module")
def bulletins():
    return [Bulletin.from_dict(b) for b in json.loads((DATA / "cne_bulletins.json").read_text())["bulletins"]]


def test_coverage(matrix):
    c = coverage(matrix.path[0], matrix.registered, universe=UNIVERSE)
    assert c.national.tables_covered == 24532 and c.national.registered_covered == 17_745_239
    assert c.national.tables_share == pytest.approx(0.817, abs=5e-4)


def test_estimate_and_bounds(matrix):
    est = estimate_matrix(matrix, UNIVERSE, n_boot=300)
    assert est.estimator == "combined_ratio"
    g, m = est["Edmundo González Urrutia"], est["Nicolás Maduro"]
    assert g.share == pytest.approx(7_156_462 / 10_659_128)
    assert g.ci_low > 0.66 and m.ci_high < 0.31
    b = worst_case_bounds(matrix.votes, UNIVERSE.registered - matrix.registered.sum(), NAMES)
    assert b.leader == "Edmundo González Urrutia" and b.decisive and b.margin_low == 39_535


def test_what_it_would_take_bulletin_2(matrix, bulletins):
    c = bulletin_certificate(matrix, bulletins[1], UNIVERSE, allow_uncounted=False)
    need = {n.label: n for n in c.needed}
    assert need["Nicolás Maduro"].votes == 6_408_844 - 3_241_461
    assert need["Nicolás Maduro"].share_of_uncovered_registered == pytest.approx(3_167_383 / 3_875_466)
    assert need["Edmundo González Urrutia"].votes < 0
    assert c.exact and c.min_false_sheets == 4217 and len(c.false_sheets) == 4217


def test_announced(bulletins):
    res = announced_tests(bulletins, tables_total=30026, registered_total=21_320_805)
    rp = res["1"][0]
    assert rp.test == "round_percentage" and rp.flagged and rp.p_value < 1e-8
    assert not res["2"][1].flagged  # bulletin 2 adds up
