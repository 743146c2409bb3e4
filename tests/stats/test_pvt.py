import numpy as np
import pytest

from voteaudit.stats import allocate, check_announced, design, estimate_shares, select_sample, stations_needed
from voteaudit.stats.pvt import ndi_sample_size
from voteaudit.stats.universe import Universe


def test_ndi_peru_2001():
    n = ndi_sample_size(0.0032, 14_570_774, z=2.58)
    assert n == pytest.approx(160_717, abs=2)  # "about 160,700" (exact arithmetic)
    assert 0.25 / 0.000001532 == pytest.approx(163_185, abs=1)  # NDI's printed, hand-rounded figure
    assert stations_needed(163_185, 160) == 1020
    assert stations_needed(163_185, 200) == 816
    assert stations_needed(n, 200) == 804
    assert ndi_sample_size(0.0032, None, confidence=0.99) < ndi_sample_size(0.0032, None, z=2.58) + 1


def test_allocation_minimum_and_total():
    sizes = {"a": 1000, "b": 10, "c": 3, "d": 5000}
    al = allocate(sizes, 300, minimum=5)
    assert sum(al.values()) == 300
    assert al["c"] == 3 and al["b"] >= 5
    assert al["d"] > al["a"] > al["b"]


def test_selection_reproducible_and_order_free():
    ids = np.array([f"t{i}" for i in range(500)])
    st = np.array(["x" if i % 3 else "y" for i in range(500)])
    al = {"x": 20, "y": 10}
    m1 = select_sample(ids, st, al, "public seed 2024")
    perm = np.random.default_rng(0).permutation(500)
    m2 = select_sample(ids[perm], st[perm], al, "public seed 2024")
    assert set(ids[m1]) == set(ids[perm][m2])
    assert m1[st == "x"].sum() == 20 and m1[st == "y"].sum() == 10
    assert set(ids[select_sample(ids, st, al, "other")]) != set(ids[m1])


def test_pvt_estimate_and_check():
    from synth import election

    e = election(4000, seed=11)
    u = Universe.from_frame(e.regions, e.registered)
    ids = np.array([f"t{i}" for i in range(4000)])
    sizes = dict(zip(*np.unique(e.regions, return_counts=True), strict=True))
    d = design(0.01, sizes, int(e.registered.sum()), 300, z=1.96)
    m = select_sample(ids, e.regions, d.allocation, "seed")
    est = estimate_shares(e.votes[m], e.registered[m], e.regions[m], universe=u, n_boot=200)
    ok = check_announced(est, {f"c{j}": float(e.truth[j]) for j in range(4)})
    assert not ok.flagged
    bad = check_announced(est, {"c0": float(e.truth[0]) + 0.05})
    assert bad.flagged and bad.p_value < 1e-6
