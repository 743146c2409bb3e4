import itertools

import numpy as np
import pytest

from voteaudit.stats import what_it_would_take


def _options(r, k):
    return [v for v in itertools.product(range(r + 1), repeat=k) if sum(v) <= r]


def _reachable(caps, k):
    """Every total vector the given tables can hold (each within its registered voters)."""
    reach = {(0,) * k}
    for r in caps:
        reach = {tuple(a + b for a, b in zip(x, o, strict=True)) for x in reach for o in _options(r, k)}
    return reach


def brute_force(y, reg, announced, unc_caps, max_tab=None, max_reg=None):
    n, k = y.shape
    allow_e = bool(max_tab) or bool(max_reg)
    best = None
    for assign in itertools.product(range(3 if allow_e else 2), repeat=n):  # 0 true, 1 false, 2 uncounted
        a = np.array(assign)
        nf = int((a == 1).sum())
        if best is not None and nf >= best:
            continue
        e = a == 2
        if max_tab is not None and e.sum() > max_tab:
            continue
        if max_reg is not None and reg[e].sum() > max_reg:
            continue
        if (max_tab is None and max_reg is None) and e.any():
            continue
        true_sum = y[a == 0].sum(axis=0)
        need = tuple(int(v) for v in np.asarray(announced) - true_sum)
        if min(need) < 0:
            continue
        if need in _reachable(list(reg[a == 1]) + list(unc_caps), k):
            best = nf
    return best


@pytest.mark.parametrize("seed", range(120))
def test_min_false_sheets_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(2, 6)), int(rng.integers(1, 3))
    reg = rng.integers(1, 4, size=n)
    y = np.array([rng.multinomial(rng.integers(0, r + 1), np.ones(k) / k) for r in reg])
    unc = list(rng.integers(1, 3, size=int(rng.integers(0, 3))))
    announced = rng.integers(0, int(reg.sum() + sum(unc)) // k + 2, size=k)
    mode = seed % 3
    max_tab = int(rng.integers(1, 3)) if mode == 1 else None
    max_reg = int(rng.integers(1, 5)) if mode == 2 else None
    expected = brute_force(y, reg, announced, unc, max_tab, max_reg)
    got = what_it_would_take(y, reg, announced, int(sum(unc)), max_uncounted_tables=max_tab,
                             max_uncounted_registered=max_reg)
    assert got.exact
    assert got.min_false_sheets == expected
    if expected:  # the sheets named are a valid witness
        assert len(got.false_sheets) == expected


def test_needed_and_sort_case():
    y = np.array([[100, 300], [80, 400], [120, 200]])
    reg = np.array([500, 600, 400])
    cert = what_it_would_take(y, reg, [600, 500], 1000, labels=["M", "G"], unit_ids=["a", "b", "c"],
                              bulletin="2")
    m = cert.needed[0]
    assert m.votes == 600 - 300 and m.share_of_uncovered_registered == pytest.approx(0.3)
    assert cert.needed[1].votes == 500 - 900
    assert cert.method == "sort" and cert.min_false_sheets == 1 and cert.false_sheets == ["b"]
    d = cert.to_dict()
    assert d["bulletin"] == "2" and d["needed"]["M"]["votes"] == 300
    assert "false" in cert.statement


def test_impossible_even_with_all_false():
    cert = what_it_would_take(np.array([[1, 1]]), np.array([2]), [10, 10], 3)
    assert cert.min_false_sheets is None and cert.exact
