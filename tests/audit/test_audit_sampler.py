"""SHA-256 sampling: Rivest's published test vectors and the reproduction recipe in the docstring.

Reference: cjerdonek/rivest-sampler-tests, tests.json (Rivest's sampler.py, "allowing duplicates":
seed "0", total 1000 -> 905, 573, 160; total 2 -> 1, 1, 2; seed "1" -> 97, 89, 163;
"0000000000" -> 978, 359, 132; "999999999999999999999999" -> 544, 800, 654; "abcde" -> 247, 427, 157).
"""

import re

import numpy as np
import pytest

from voteaudit import audit
from voteaudit.audit import sampler

RIVEST = [("0", 1000, [905, 573, 160]), ("0", 2, [1, 1, 2]), ("1", 1000, [97, 89, 163]),
          ("0000000000", 1000, [978, 359, 132]), ("999999999999999999999999", 1000, [544, 800, 654]),
          ("abcde", 1000, [247, 427, 157])]


@pytest.mark.parametrize("seed,total,expected", RIVEST)
def test_rivest_vectors(seed, total, expected):
    idx, pos = sampler.draw_ballots(seed, np.ones(total, dtype=np.int64), 3)
    assert (idx + 1).tolist() == expected and pos.tolist() == [1, 1, 1]
    # the same ballots through a manifest of tables of 10 ballots
    idx, pos = sampler.draw_ballots(seed, np.full(total // 10 or 1, 10 if total >= 10 else total), 3)
    assert ((idx * (10 if total >= 10 else total)) + pos).tolist() == expected


def _recipe():
    doc = sampler.__doc__
    code = doc[doc.index("import hashlib, bisect"):doc.index("Only the drawn")]
    ns: dict = {}
    exec(re.sub(r"^    ", "", code, flags=re.M), ns)  # noqa: S102 - the documented recipe itself
    return ns["draw"]


def test_docstring_recipe_reproduces_both_kinds():
    draw = _recipe()
    rng = np.random.default_rng(5)
    ballots = rng.integers(0, 500, 2000)
    w = rng.random(2000) * (rng.random(2000) > 0.1)
    seed = "31415926535897932384"
    assert draw(seed, ballots.tolist(), 50, start=7) == sampler.draw("ballots", seed, ballots, 50, 7).tolist()
    assert draw(seed, w.tolist(), 50, ppeb=True) == sampler.draw("ppeb", seed, w, 50).tolist()


def test_rounds_continue_and_repeats_kept():
    ids = np.array([f"t{i}" for i in range(5)])
    votes = np.array([[60, 40]] * 5)
    b = np.full(5, 100)
    one = audit.sample("macro", ids, votes, ["A", "B"], b, seed="777", size=30)
    a = audit.sample("macro", ids, votes, ["A", "B"], b, seed="777", size=12)
    c = audit.sample("macro", ids, votes, ["A", "B"], b, seed="777", size=18, start=12)
    assert one == a + c and len(set(one)) < len(one)
    pairs = audit.sample_ballots(ids, b, seed="777", size=10)
    assert all(1 <= p <= 100 for _, p in pairs)


def test_ppeb_frequencies():
    w = np.array([1.0, 0.0, 3.0, 6.0])
    idx = sampler.draw_ppeb("freq", w, 4000)
    freq = np.bincount(idx, minlength=4) / 4000
    assert freq[1] == 0
    assert np.allclose(freq, w / w.sum(), atol=0.03)


def test_tie_refuses_to_sample():
    ids = np.array(["a", "b"])
    with pytest.raises(ValueError, match="tie"):
        audit.sample("macro", ids, np.array([[5, 5], [5, 5]]), ["A", "B"], np.array([10, 10]), seed="1",
                     size=3)
