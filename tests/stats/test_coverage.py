import numpy as np
import pytest

from voteaudit.stats import Universe, coverage


def test_coverage_with_frame_and_with_totals():
    regions = np.array(["a"] * 6 + ["b"] * 4)
    reg = np.array([100, 200, 300, 400, 500, 600, 100, 100, 100, 100])
    covered = np.array([1, 1, 1, 0, 0, 1, 1, 1, 1, 1], bool)
    c = coverage(regions, reg, covered=covered)
    a = next(r for r in c.regions if r.region == "a")
    assert (a.tables_covered, a.tables_total, a.registered_covered, a.registered_total) == (4, 6, 1200, 2100)
    assert c.comparison["mean_registered_uncovered"] == pytest.approx(450)
    assert "region_dissimilarity" in c.comparison
    c2 = coverage(regions[covered], reg[covered], universe=Universe(tables=10, registered=2500))
    assert c2.national.tables_share == pytest.approx(0.8)
    assert c2.uncovered_registered == 900
    assert "cover 8 of 10 tables" in c2.statement
    assert c2.to_dict()["coverage"]["registered_total"] == 2500
