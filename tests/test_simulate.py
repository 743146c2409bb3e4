"""Synthetic elections: determinism, shapes, invariants, fraud share, file round-trip."""

from __future__ import annotations

import csv
import gzip

import numpy as np
import pyarrow.parquet as pq
import pytest

from voteaudit.simulate import FRAUD_MODELS, candidate_names, simulate, write


def test_deterministic_by_seed():
    a = simulate(2000, fraud={"stuffing": 0.1}, seed=7)
    b = simulate(2000, fraud={"stuffing": 0.1}, seed=7)
    c = simulate(2000, fraud={"stuffing": 0.1}, seed=8)
    assert np.array_equal(a.matrix.votes, b.matrix.votes)
    assert np.array_equal(a.fraudulent, b.fraudulent)
    assert np.array_equal(a.matrix.unit_ids, b.matrix.unit_ids)
    assert not np.array_equal(a.matrix.votes, c.matrix.votes)


def test_shapes_ids_and_levels():
    e = simulate(3000, candidates=5, regions=7, seed=1)
    m = e.matrix
    assert m.votes.shape == (3000, 5)
    assert m.levels == ["region", "district", "table"]
    assert m.candidates == candidate_names(5) == [f"Candidate {c}" for c in "ABCDE"]
    assert len(np.unique(m.unit_ids)) == 3000
    assert set(np.unique(m.path[0])) == {f"R{i:02d}" for i in range(1, 8)}
    assert np.array_equal(m.path[2], m.unit_ids)
    # path[1] is the prefix of the unit id, path[0] the prefix of path[1]
    assert all(u.startswith(d + ".") for u, d in zip(m.unit_ids[:50], m.path[1][:50], strict=True))
    assert all(d.startswith(r + ".D") for d, r in zip(m.path[1][:50], m.path[0][:50], strict=True))
    assert np.all(m.blank == -1) and m.conflicted == [] and len(m.flags) == 3000 and m.flags[0] == []
    assert not e.fraudulent.any()


def test_clean_invariants_and_realistic_sizes():
    m = simulate(20000, seed=3).matrix
    assert np.array_equal(m.valid, m.votes.sum(axis=1))
    assert np.array_equal(m.cast, m.valid + m.null)
    assert np.all(m.cast <= m.registered) and np.all(m.votes >= 0)
    q05, q95 = np.percentile(m.registered, [5, 95])
    assert 180 <= q05 and q95 <= 950
    t = m.turnout()
    assert 0.5 < np.mean(t) < 0.8
    assert 0.005 < m.null.sum() / m.cast.sum() < 0.05


@pytest.mark.parametrize("model", FRAUD_MODELS)
def test_fraud_touches_requested_share_and_helps_candidate_a(model):
    e = simulate(10000, fraud={model: 0.2}, seed=11)
    m, t = e.matrix, e.truth
    assert e.fraudulent.sum() == 2000
    assert np.array_equal(m.votes[~e.fraudulent], t.votes[~e.fraudulent])  # untouched tables unchanged
    changed = (m.votes != t.votes).any(axis=1)
    assert not changed[~e.fraudulent].any()
    assert changed[e.fraudulent].mean() > 0.9
    assert np.all(m.cast <= m.registered) and np.all(m.votes >= 0)
    assert np.array_equal(m.valid, m.votes.sum(axis=1)) and np.array_equal(m.cast, m.valid + m.null)
    share = m.votes[:, 0].sum() / m.votes.sum()
    assert share > t.votes[:, 0].sum() / t.votes.sum()


def test_unknown_fraud_model_rejected():
    with pytest.raises(ValueError, match="unknown fraud model"):
        simulate(10, fraud={"magic": 0.1})


def test_klimek_extreme_pushes_to_full_turnout():
    e = simulate(5000, fraud={"klimek_extreme": 0.1}, seed=2)
    t = e.matrix.turnout()[e.fraudulent]
    share = e.matrix.votes[e.fraudulent, 0] / e.matrix.valid[e.fraudulent]
    assert np.median(t) > 0.9 and np.median(share) > 0.9


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_write_round_trip(tmp_path, suffix):
    e = simulate(500, candidates=3, fraud={"switching": 0.1}, seed=5)
    path = tmp_path / f"out{suffix}"
    write(e, path)
    cols = ["region", "district", "table", "registered", "cast", "valid", "null"] + e.matrix.candidates
    if suffix == ".parquet":
        table = pq.read_table(path).to_pydict()
        assert list(table) == cols
        rows = [dict(zip(cols, vals, strict=True)) for vals in zip(*table.values(), strict=True)]
    else:
        opener = gzip.open if suffix.endswith(".gz") else open
        with opener(path, "rt", newline="") as f:
            reader = csv.DictReader(f)
            assert reader.fieldnames == cols
            rows = list(reader)
    assert len(rows) == 500
    m = e.matrix
    for i in (0, 123, 499):
        r = rows[i]
        assert f"{r['region']}.{r['district']}.{r['table']}" == m.unit_ids[i]
        assert int(r["registered"]) == m.registered[i] and int(r["null"]) == m.null[i]
        assert [int(r[c]) for c in m.candidates] == list(m.votes[i])
    write(e, tmp_path / "truth.csv", truth=True)
    with open(tmp_path / "truth.csv") as f:
        truth_rows = list(csv.DictReader(f))
    assert [int(truth_rows[i]["Candidate A"]) for i in range(500)] == list(e.truth.votes[:, 0])
