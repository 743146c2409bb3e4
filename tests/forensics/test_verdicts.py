"""Verdicts an expert can defend: one statistic with its own p-value, published conventions, regions that
can flag, material effects, seeds and groupings that do not leak between tests (issue 11).

References: Holm (1979) and Benjamini & Hochberg (1995) for the adjustments (hand-computed examples, as R's
``p.adjust``); Kobak, Shpilkin & Pshenichnikov (2016) for the inclusion rules and denominators
(METHODS.md); Hartigan & Hartigan (1985) via the critical-value table shipped with PyPI diptest 0.12.0
(``dip_crit.txt``, R diptest's ``qDiptab``); Besag & Clifford (1991) for sequential Monte-Carlo p-values.
"""

import numpy as np
import pytest

from voteaudit.forensics import CALIBRATED, TEST_IDS, headline, run_battery
from voteaudit.forensics.adjust import bh, default_method, holm
from voteaudit.forensics.correlation import run_turnout_share_calibrated
from voteaudit.forensics.dip import table_p_value
from voteaudit.forensics.inputs import counts
from voteaudit.forensics.integer_percent import run_integer_percent
from voteaudit.forensics.montecarlo import sequential_p
from voteaudit.model import SourceMatrix
from voteaudit.result import recompute_p
from voteaudit.simulate import simulate


def _battery_results():
    e = simulate(4000, regions=6, fraud={"klimek_extreme": 0.02, "round_percent": 0.02}, seed=21)
    return (run_battery(e.matrix, other=e.truth, seed=3)
            + run_battery(e.matrix, level="region", other=e.truth, seed=3))


def test_no_result_pairs_a_statistic_with_another_tests_p_value():
    """Every p-value is recomputed from its own statistic by its named method, nationally and per area."""
    results = _battery_results()
    assert {r.test for r in results} == set(TEST_IDS)
    checked = 0
    for r in results:
        if r.p_value is None:
            assert not r.flagged or r.p_value_method == "none", (r.test, r.target)
            continue
        assert r.p_value_method, (r.test, r.target)
        assert recompute_p(r) == pytest.approx(r.p_value, rel=1e-9, abs=1e-12), (r.test, r.target, r.p_value_method)
        checked += 1
    assert checked > 100


def test_every_tested_result_has_an_effect_with_threshold_and_flag_needs_both():
    for r in _battery_results():
        d = r.to_dict()
        assert {"test", "target", "level", "statistic", "p_value", "flagged", "units_flagged"} <= set(d)
        if r.level != "national":
            assert d["area"]["id"] and d["area"]["name"]
        if not r.tested:
            assert r.p_value is None and not r.flagged
            continue
        e = r.effect
        assert e is not None and e["unit"] and e["measure"] and e["threshold"] >= 0, (r.test, r.target)
        assert e["ci95"] is None or e["ci95"][0] <= e["ci95"][1]
        if r.p_value_method != "none":
            assert r.flagged == (r.significant and e["material"])


def test_results_do_not_depend_on_which_other_tests_run():
    m = simulate(3000, seed=5).matrix
    everything = run_battery(m, seed=7)
    for test in ("spikes", "dip_calibrated", "integer_percent", "fingerprint", "second_digit_calibrated"):
        alone = run_battery(m, seed=7, tests=[test])
        mine = [r for r in everything if r.test == test]
        assert [(r.target, r.statistic, r.p_value) for r in alone] == [(r.target, r.statistic, r.p_value)
                                                                        for r in mine], test
    # but a different seed does change the Monte-Carlo results
    other = run_battery(m, seed=8, tests=["spikes"])
    assert [r.p_value for r in other] != [r.p_value for r in everything if r.test == "spikes"]


def test_results_do_not_depend_on_the_depth_of_the_key_hierarchy():
    """Adding a level of polling centres (4 tables each) under the districts changes nothing."""
    m = simulate(3000, seed=6).matrix
    centre = np.array([f"{d}.C{i // 4:04d}" for i, d in enumerate(m.path[1])])
    deeper = SourceMatrix(source=m.source, kind=m.kind, levels=[m.levels[0], m.levels[1], "centre", m.levels[-1]],
                          unit_ids=m.unit_ids, path=[m.path[0], m.path[1], centre, m.path[-1]],
                          candidates=m.candidates, votes=m.votes, registered=m.registered, cast=m.cast,
                          valid=m.valid, null=m.null, blank=m.blank)
    tests = ["outliers", "turnout_share_correlation_calibrated", "second_digit_calibrated", "dip_calibrated"]
    a = run_battery(m, seed=1, tests=tests)
    b = run_battery(deeper, seed=1, tests=tests)
    assert [(r.test, r.target, r.statistic, r.p_value) for r in a] == [(r.test, r.target, r.statistic, r.p_value)
                                                                       for r in b]


def test_kobak_leader_share_is_over_ballots_in_the_boxes_even_with_cast_given():
    e = simulate(3000, seed=2)
    m = e.matrix
    # ballots issued exceed the ballots found in the boxes by 3 % (taken home, spoiled outside the box)
    boxes = m.valid + m.null
    m.cast = np.minimum(m.registered, np.round(boxes * 1.03).astype(np.int64))
    c = counts(m)
    res = {r.target: r for r in run_integer_percent(c, alpha=0.05, seed=0, level="national")}
    lead = res[f"leader share ({c.leader_name})"]
    w = m.votes[:, c.leader]
    t = m.cast / m.registered
    share = w / boxes
    include = (boxes > 0) & (m.registered >= 100) & (t <= 0.99) & (share <= 0.99)
    on = np.abs(100 * share - np.round(100 * share)) <= 0.05
    assert lead.details["units_included"] == int(include.sum())
    assert lead.statistic == int((on & include).sum())
    issued = w / m.cast
    on_issued = np.abs(100 * issued - np.round(100 * issued)) <= 0.05
    assert int((on_issued & include).sum()) != lead.statistic  # the other convention would count differently
    assert "valid + invalid" in lead.details["denominators"]["leader share"]
    assert "registered >= 100" in lead.details["filter"]


def test_holm_and_benjamini_hochberg_hand_examples():
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted .005 .01 .03 .04 x 4 3 2 1 -> .02 .03 .06 .04 -> running max .02 .03 .06 .06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: sorted x m / rank -> .02 .02 .04 .04 -> running min from the top
    assert bh(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert bh([None, 0.5, 0.01]) == pytest.approx([None, 0.5, 0.02])
    assert default_method(19) == "holm" and default_method(20) == "bh"


def test_dip_table_p_value_is_hartigans_table_also_beyond_it():
    from diptest.diptest import Consts

    for i in (5, 10, len(Consts._SAMPLE_SIZE) - 1):  # at a tabulated n, the 95 % critical value has p = 0.05
        n = int(Consts._SAMPLE_SIZE[i])
        crit95 = float(Consts._CRIT_VALS[i][list(Consts._ALPHA).index(0.95)])
        assert table_p_value(crit95, n) == pytest.approx(0.05, abs=1e-9)
    # beyond n = 72,000: sqrt(n) D against the last row (the asymptotic law), not a resolution floor
    last = int(Consts._SAMPLE_SIZE[-1])
    crit95 = float(Consts._CRIT_VALS[-1][list(Consts._ALPHA).index(0.95)])
    big = 4 * last
    assert table_p_value(crit95 * np.sqrt(last / big), big) == pytest.approx(0.05, abs=1e-9)
    assert table_p_value(0.0005, 200_000) > 0.5


def test_sequential_monte_carlo_stops_early_when_not_extreme_and_reaches_small_p_when_extreme():
    rng = np.random.default_rng(0)
    calm = sequential_p(0.0, lambda k: rng.standard_normal(k), start=39, max_replicates=99_999)
    assert calm["stopped_early"] and calm["replicates"] < 100 and calm["p_value"] > 0.1
    wild = sequential_p(6.0, lambda k: rng.standard_normal(k), start=39, max_replicates=99_999)
    assert not wild["stopped_early"] and wild["p_value"] == pytest.approx(1 / 100_000)


def _planted(regions=80, units=24_000, fraud=None, seed=31, planted=("R03", "R41")):
    e = simulate(units, regions=regions, fraud=fraud, seed=seed)
    m = e.truth
    rows = np.isin(e.matrix.path[0], planted)
    for name in ("votes", "registered", "cast", "valid", "null", "blank"):
        getattr(m, name)[rows] = getattr(e.matrix, name)[rows]
    return m


def test_regions_can_flag_planted_fraud_in_two_of_eighty_regions():
    m = _planted(fraud={"round_percent": 0.4})
    names = {a: f"Region {a[1:]}" for a in np.unique(m.path[0])}
    res = run_battery(m, level="region", tests=["integer_percent"], seed=0, names=names)
    either = [r for r in res if r.target == "turnout or leader share"]
    assert len(either) == 80 and all(r.adjustment == "bh" for r in either)
    flagged = {r.area["id"] for r in either if r.flagged}
    assert flagged == {"R03", "R41"}
    hit = next(r for r in either if r.area["id"] == "R03")
    assert hit.area["name"] == "Region 03" and hit.p_value < 1e-4 and hit.p_adjusted < 0.05
    assert hit.interpretation.startswith("[region Region 03]")
    d = hit.to_dict()
    assert d["area"] == {"id": "R03", "name": "Region 03"} and d["units_flagged_count"] == len(d["units_flagged"])


def test_significant_but_immaterial_effect_is_not_flagged_nor_called_stuffing():
    m = simulate(2000, fraud={"stuffing": 0.05}, seed=4).matrix
    default = run_battery(m, tests=["turnout_share_correlation_calibrated"])
    strict = run_battery(m, tests=["turnout_share_correlation_calibrated"],
                         materiality={"turnout_share_correlation_calibrated": 0.5})
    lead_d, lead_s = default[0], strict[0]
    assert lead_d.flagged and "ballot stuffing" in lead_d.interpretation
    assert lead_s.significant and not lead_s.flagged and lead_s.effect["threshold"] == 0.5
    assert "ballot stuffing" not in lead_s.interpretation and "materiality" in lead_s.interpretation
    with pytest.raises(ValueError, match="materiality"):
        run_battery(m, tests=["spikes"], materiality={"nonsense": 1.0})


def test_zero_variance_null_is_not_tested():
    m = simulate(2000, seed=8).matrix
    m.votes[:, 3] = 0  # a candidate with no votes anywhere: its share cannot vary
    m.valid = m.votes.sum(axis=1)
    res = run_turnout_share_calibrated(counts(m), alpha=0.05, seed=0, level="national")
    d = res[3]
    assert not d.tested and d.p_value is None and not d.flagged and "variance" in d.interpretation


def test_headline_counts_flags_and_expected_by_chance():
    m = simulate(3000, seed=9).matrix
    res = run_battery(m, tests=["last_digit", "spikes"])
    h = headline(res)
    tested = [r for r in res if r.tested and r.p_value is not None]
    assert h["tested"] == len(tested) and h["expected_by_chance"] == pytest.approx(0.05 * len(tested))
    assert h["text"].startswith(f"{h['flagged']} of {len(tested)} tests flagged; at this size about")
    per_area = run_battery(m, level="region", tests=["spikes"])
    families = {(r.test, r.target) for r in per_area if r.tested and r.p_value is not None}
    assert headline(per_area)["expected_by_chance"] == pytest.approx(0.05 * len(families))


def test_calibrated_pairs_exist_for_every_published_test_with_a_calibration():
    for published, calibrated in CALIBRATED.items():
        assert published in TEST_IDS and calibrated in TEST_IDS



def test_outliers_without_usable_vote_counts_are_not_tested_and_do_not_warn():
    from voteaudit.forensics.outliers import run_outliers

    m = simulate(300, seed=2).matrix
    m.votes[:] = -1  # no table reports candidate counts (only turnout is usable)
    res = {r.target: r for r in run_outliers(counts(m), alpha=0.05, seed=0, level="national")}
    assert not res["candidate share >= 95%"].tested and not res["candidate share >= 95%"].flagged
