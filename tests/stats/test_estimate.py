import numpy as np
import pytest
from synth import election, missing_mask

from voteaudit.stats import Universe, estimate_shares, worst_case_bounds


def _run(kind, seed, n_boot=200, n=2000):
    e = election(n, seed=seed)
    m = missing_mask(e, kind, seed=seed)
    u = Universe.from_frame(e.regions, e.registered)
    r = estimate_shares(e.votes[m], e.registered[m], e.regions[m], universe=u, n_boot=n_boot, seed=seed)
    return e, r


def test_full_coverage_is_exact():
    e = election(500, seed=3)
    u = Universe.from_frame(e.regions, e.registered)
    r = estimate_shares(e.votes, e.registered, e.regions, universe=u, n_boot=100)
    for j, c in enumerate(r.estimates):
        assert c.share == pytest.approx(e.truth[j], abs=1e-12)
        assert c.ci_high - c.ci_low < 1e-9  # f = 1: no sampling error left
    assert r.estimator == "separate_ratio"


def test_analytic_and_bootstrap_agree_and_to_dict():
    e, r = _run("region", 5, n_boot=1000)
    for c in r.estimates:
        wa = c.analytic[1] - c.analytic[0]
        wb = c.bootstrap[1] - c.bootstrap[0]
        assert wb == pytest.approx(wa, rel=0.15)
    d = r.to_dict()
    assert set(d["estimates"]["c0"]) >= {"share", "ci_low", "ci_high", "method"}
    assert "assuming" in r.statement


def test_fallback_states_assumption_and_is_biased_under_region_skew():
    e = election(3000, seed=1)
    m = missing_mask(e, "region", seed=1)
    r = estimate_shares(e.votes[m], e.registered[m], e.regions[m], universe=Universe(tables=3000, registered=1))
    assert r.estimator == "combined_ratio"
    assert "random sample" in r.assumption
    # region-skewed missingness: the national fallback misses the truth, the stratified one does not
    good = estimate_shares(e.votes[m], e.registered[m], e.regions[m],
                           universe=Universe.from_frame(e.regions, e.registered), n_boot=0)
    assert abs(good.estimates[0].share - e.truth[0]) < abs(r.estimates[0].share - e.truth[0])


def test_grouped_bootstrap_matches_unit_bootstrap():
    e = election(30000, seed=7)
    m = missing_mask(e, "random", seed=7)
    u = Universe.from_frame(e.regions, e.registered)
    a = estimate_shares(e.votes[m], e.registered[m], e.regions[m], universe=u, n_boot=400, max_boot_units=10**6)
    b = estimate_shares(e.votes[m], e.registered[m], e.regions[m], universe=u, n_boot=400, max_boot_units=3000)
    assert any("random groups" in s for s in b.notes)
    for ca, cb in zip(a.estimates, b.estimates, strict=True):
        assert (cb.ci_high - cb.ci_low) == pytest.approx(ca.ci_high - ca.ci_low, rel=0.2)


def test_empty_region_borrows_national_ratio():
    e = election(1500, seed=2)
    m = e.regions != e.regions[0]
    u = Universe.from_frame(e.regions, e.registered)
    r = estimate_shares(e.votes[m], e.registered[m], e.regions[m], universe=u, n_boot=50)
    assert any("national ratio" in s for s in r.notes)
    assert abs(sum(c.share for c in r.estimates) - 1) < 1e-12


def test_bounds_formula():
    b = worst_case_bounds(np.array([60, 30, 10]), 50, ["a", "b", "c"])
    assert b["a"].low == pytest.approx(60 / 150) and b["a"].high == pytest.approx(110 / 150)
    assert b["c"].votes_high == 60
    assert b.margin_low == 60 - 30 - 50 and not b.decisive
    assert "low" in b.to_dict()["bounds"]["a"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["random", "region"])
def test_interval_coverage(kind):
    """95 % intervals cover the true share 93-97 % of the time (fewer reps than the bench)."""
    reps, hits_a, hits_b, tot = 150, 0, 0, 0
    for s in range(reps):
        e, r = _run(kind, 1000 + s, n_boot=300)
        for j, c in enumerate(r.estimates):
            hits_a += c.analytic[0] <= e.truth[j] <= c.analytic[1]
            hits_b += c.bootstrap[0] <= e.truth[j] <= c.bootstrap[1]
            tot += 1
    assert 0.92 <= hits_a / tot <= 0.975
    assert 0.915 <= hits_b / tot <= 0.975


def test_statement_says_complete_count_and_names_the_source_kind():
    from voteaudit.simulate import simulate
    from voteaudit.stats.estimate import estimate_matrix

    m = simulate(400, seed=3).matrix  # kind "official"
    unknown = estimate_matrix(m, None, n_boot=0)
    assert unknown.complete is None
    assert unknown.statement.startswith("Complete count: no projection.") and "official results" in unknown.statement
    assert "Projected" not in unknown.statement and "random sample" not in unknown.statement
    full = estimate_matrix(m, Universe(tables=400), n_boot=0)
    assert full.complete and full.statement.startswith("Complete count: no projection.")
    assert "tally sheets" not in full.statement and full.to_dict()["complete_count"] is True
    m.kind = "independent"
    part = estimate_matrix(m, Universe(tables=800), n_boot=0)
    assert not part.complete and part.statement.startswith("Projected from 400 of 800 tables (the independently")
    assert "assuming" in part.statement
