"""Synthetic elections with configurable fraud, for tests, power studies and benchmarks.

Generative model (all draws from ``np.random.default_rng(seed)``; everything vectorised)
-----------------------------------------------------------------------------------------
Hierarchy: ``regions`` regions (sizes ~ Dirichlet(4) shares of the tables), each split into districts
of ~100 tables on average; tables are numbered in region/district order.

Per table i in district d of region r:

* registered voters ``R_i = clip(round(LogNormal(log 450, 0.35)), 150, 1000)`` (table sizes like real
  ones: median ~450, most within 200-900);
* turnout ``t_i = logistic(0.6 + a_r + a_d + e_i)``, ``a_r ~ N(0, 0.30)``, ``a_d ~ N(0, 0.15)``,
  ``e_i ~ N(0, 0.25)``; ballots cast ``C_i ~ Binomial(R_i, t_i)``;
* null (spoiled) ballots ``N_i ~ Binomial(C_i, nu_i)``, ``nu_i = logistic(logit(0.02) + b_r + u_i)``,
  ``b_r, u_i ~ N(0, 0.3)``; valid ``V_i = C_i - N_i``;
* candidate shares ``p_i = softmax(beta + g_r + g_d + h_i)`` with base logits ``beta = (0, -0.2, -1.5,
  -1.8, -2.1, ...)`` (Candidate A leads narrowly over B), ``g_r ~ N(0, 0.35)``, ``g_d ~ N(0, 0.15)``,
  ``h_i ~ N(0, 0.15)`` per candidate; votes ``~ Multinomial(V_i, p_i)`` drawn as a chain of binomials.

Turnout and preference are drawn independently, so a clean simulation has no turnout/share
correlation beyond sampling noise.

Fraud models (``fraud={model: size}``; several may be combined; each picks its own tables)
------------------------------------------------------------------------------------------
``size`` is the fraction of tables the model touches (``round(size * units)`` tables chosen uniformly
without replacement). The beneficiary is always Candidate A (index 0). Fraud never makes ballots
exceed registered voters.

* ``stuffing``: ballot stuffing. Per touched table x ~ U(0.1, 0.5); ``Binomial(R - C, x)`` extra ballots,
  all for A.
* ``switching``: vote switching. Per touched table x ~ U(0.1, 0.4); each opponent loses
  ``Binomial(votes_j, x)`` votes to A (turnout unchanged).
* ``klimek_incremental``: Klimek et al. (PNAS 2012) incremental fraud: x ~ |N(0, theta=0.15)| (capped
  at 1); a fraction x of non-voters is added to A and a fraction x**alpha (alpha = 2) of each
  opponent's votes moves to A.
* ``klimek_extreme``: Klimek et al. extreme fraud: the same transformation with
  x = 1 - |N(0, 0.075)|, which pushes turnout and A's share towards 100 %.
* ``round_percent``: fabricated round percentages. Target turnout ``ceil(100 t + U(0, 8)) / 100`` and
  A's share of ballots ``ceil(100 L + U(0, 8)) / 100`` (each capped at 0.99); counts are set to the
  nearest integers (``cast = round(T' R)``, ``A = round(L' cast)``), null ballots keep their rate and the
  remaining valid votes are split among opponents in proportion to their true votes.
* ``invented``: invented tally sheets. Each candidate's count is rescaled (A by U(1.1, 1.5), others by
  U(0.7, 1.1)) and its last digit replaced by a human-like digit (0 and 5 over-used:
  P = .20 .10 .10 .08 .08 .16 .07 .07 .07 .07); counts are scaled down if ballots would exceed
  registered voters.

The published ``matrix`` carries the fraud; ``truth`` holds the same tables without it.
"""

from __future__ import annotations

import gzip
import itertools
import string
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voteaudit.model import SourceMatrix

FRAUD_MODELS: tuple[str, ...] = (
    "stuffing",
    "switching",
    "klimek_incremental",
    "klimek_extreme",
    "round_percent",
    "invented",
)

#: Parameters of the Klimek fraud models used by :func:`simulate` (theta, alpha, extreme sigma).
KLIMEK_THETA = 0.15
KLIMEK_ALPHA = 2.0
KLIMEK_EXTREME_SIGMA = 0.075

_HUMAN_LAST_DIGIT = np.array([0.20, 0.10, 0.10, 0.08, 0.08, 0.16, 0.07, 0.07, 0.07, 0.07])


@dataclass
class SimulatedElection:
    """A synthetic election: published results (with fraud) and the truth (without)."""

    matrix: SourceMatrix
    truth: SourceMatrix
    fraud: dict[str, float]
    seed: int
    fraudulent: np.ndarray = field(repr=False)  # bool per unit: fraud touched it


def candidate_names(k: int) -> list[str]:
    """"Candidate A", "Candidate B", ... ("Candidate AA" after Z)."""
    letters = string.ascii_uppercase
    names = []
    for j in range(k):
        s, q = "", j
        while True:
            s = letters[q % 26] + s
            q = q // 26 - 1
            if q < 0:
                break
        names.append(f"Candidate {s}")
    return names


def _code_bytes(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded codes like ``T000123`` as an (n, len) uint8 matrix (digit arithmetic, no loops)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((numbers[:, None] // powers) % 10 + 48).astype(np.uint8)
    pre = np.frombuffer(prefix.encode(), dtype=np.uint8)
    return np.concatenate([np.broadcast_to(pre, (len(numbers), len(pre))), digits], axis=1)


def _as_str(buf: np.ndarray) -> np.ndarray:
    buf = np.ascontiguousarray(buf)
    return buf.view(f"S{buf.shape[1]}").ravel().astype(str)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _multinomial(rng: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Row-wise multinomial draws as a chain of conditional binomials (vectorised over rows)."""
    units, k = p.shape
    out = np.empty((units, k), dtype=np.int64)
    remaining = n.astype(np.int64).copy()
    rest = np.ones(units)
    pt = np.ascontiguousarray(p.T)
    for j in range(k - 1):
        q = np.clip(np.divide(pt[j], rest, out=np.zeros(units), where=rest > 0), 0.0, 1.0)
        draw = rng.binomial(remaining, q)
        out[:, j] = draw
        remaining -= draw
        rest -= pt[j]
    out[:, k - 1] = remaining
    return out


def _pick(rng: np.random.Generator, units: int, size: float) -> np.ndarray:
    m = int(round(min(max(size, 0.0), 1.0) * units))
    return np.sort(rng.choice(units, size=m, replace=False)) if m else np.zeros(0, dtype=np.int64)


def _klimek(rng, votes, cast, registered, x, alpha):
    """Add a fraction x of non-voters to candidate 0 and move a fraction x**alpha of opponents' votes."""
    extra = rng.binomial(np.maximum(registered - cast, 0), x)
    moved = rng.binomial(votes[:, 1:], (x**alpha)[:, None])
    votes = votes.copy()
    votes[:, 1:] -= moved
    votes[:, 0] += moved.sum(axis=1) + extra
    return votes, cast + extra


def _apply_fraud(rng, model, size, votes, null, registered):
    """Return (idx, new votes rows, new null rows) for one fraud model."""
    units = votes.shape[0]
    idx = _pick(rng, units, size)
    v = votes[idx].copy()
    nl = null[idx].copy()
    reg = registered[idx]
    cast = v.sum(axis=1) + nl
    m = len(idx)
    if m == 0:
        return idx, v, nl
    if model == "stuffing":
        x = rng.uniform(0.1, 0.5, m)
        v[:, 0] += rng.binomial(np.maximum(reg - cast, 0), x)
    elif model == "switching":
        x = rng.uniform(0.1, 0.4, m)
        moved = rng.binomial(v[:, 1:], x[:, None])
        v[:, 1:] -= moved
        v[:, 0] += moved.sum(axis=1)
    elif model == "klimek_incremental":
        x = np.minimum(np.abs(rng.normal(0.0, KLIMEK_THETA, m)), 1.0)
        v, _ = _klimek(rng, v, cast, reg, x, KLIMEK_ALPHA)
    elif model == "klimek_extreme":
        x = np.clip(1.0 - np.abs(rng.normal(0.0, KLIMEK_EXTREME_SIGMA, m)), 0.0, 1.0)
        v, _ = _klimek(rng, v, cast, reg, x, KLIMEK_ALPHA)
    elif model == "round_percent":
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(reg > 0, cast / reg, 0.0)
            lead = np.where(cast > 0, v[:, 0] / np.maximum(cast, 1), 0.0)
            null_rate = np.where(cast > 0, nl / np.maximum(cast, 1), 0.0)
        t2 = np.minimum(np.ceil(100 * t + rng.uniform(0, 8, m)), 99) / 100
        l2 = np.minimum(np.ceil(100 * lead + rng.uniform(0, 8, m)), 99) / 100
        cast2 = np.minimum(np.rint(t2 * reg).astype(np.int64), reg)
        a = np.rint(l2 * cast2).astype(np.int64)
        nl = np.minimum(np.rint(null_rate * cast2).astype(np.int64), cast2 - a)
        rest = cast2 - a - nl
        others = v[:, 1:].astype(float)
        tot = others.sum(axis=1)
        share = np.where(tot[:, None] > 0, others / np.maximum(tot, 1)[:, None], 1.0 / others.shape[1])
        alloc = np.floor(share * rest[:, None]).astype(np.int64)
        alloc[np.arange(m), np.argmax(share, axis=1)] += rest - alloc.sum(axis=1)
        v[:, 0] = a
        v[:, 1:] = alloc
    elif model == "invented":
        k = v.shape[1]
        scale = np.concatenate([rng.uniform(1.1, 1.5, (m, 1)), rng.uniform(0.7, 1.1, (m, k - 1))], axis=1)
        w = v * scale
        room = np.maximum(reg - nl, 0).astype(float)
        tot = w.sum(axis=1)
        w *= np.where(tot > room, room / np.maximum(tot, 1e-9), 1.0)[:, None]
        base = np.floor(w / 10).astype(np.int64) * 10
        digit = rng.choice(10, size=(m, k), p=_HUMAN_LAST_DIGIT)
        v = base + digit
        # keep ballots within registered: drop tens from the largest count while over
        over = v.sum(axis=1) + nl - reg
        while np.any(over > 0):
            j = np.argmax(v, axis=1)
            rows = np.nonzero(over > 0)[0]
            cut = 10 * np.ceil(over[rows] / 10).astype(np.int64)
            v[rows, j[rows]] = np.maximum(v[rows, j[rows]] - cut, 0)
            over = v.sum(axis=1) + nl - reg
    else:
        raise ValueError(f"unknown fraud model {model!r}; choose from {', '.join(FRAUD_MODELS)}")
    return idx, v, nl


def _matrix(name, kind, unit_ids, path, cands, votes, registered, null) -> SourceMatrix:
    valid = votes.sum(axis=1)
    n = len(unit_ids)
    return SourceMatrix(
        source=name,
        kind=kind,
        levels=["region", "district", "table"],
        unit_ids=unit_ids,
        path=path,
        candidates=list(cands),
        votes=votes,
        registered=registered.copy(),
        cast=valid + null,
        valid=valid,
        null=null.copy(),
        blank=np.full(n, -1, dtype=np.int64),
        flags=list(map(list, itertools.repeat((), n))),
        conflicted=[],
    )


def simulate(
    units: int,
    *,
    candidates: int = 4,
    regions: int = 10,
    fraud: dict[str, float] | None = None,
    seed: int = 0,
) -> SimulatedElection:
    """Simulate an election of ``units`` tables (see the module docstring for the model).

    ``fraud`` maps model names (:data:`FRAUD_MODELS`) to the fraction of tables each touches.
    """
    if units < 1:
        raise ValueError("units must be >= 1")
    if candidates < 2:
        raise ValueError("candidates must be >= 2")
    regions = max(1, min(int(regions), units))
    fraud = dict(fraud or {})
    for model in fraud:
        if model not in FRAUD_MODELS:
            raise ValueError(f"unknown fraud model {model!r}; choose from {', '.join(FRAUD_MODELS)}")
    rng = np.random.default_rng(seed)

    # hierarchy: region sizes ~ Dirichlet(4); districts of ~100 tables
    weights = rng.dirichlet(np.full(regions, 4.0))
    sizes = rng.multinomial(units - regions, weights) + 1
    region = np.repeat(np.arange(regions), sizes)
    n_dist = np.maximum(1, np.rint(sizes / 100).astype(np.int64))
    dist_local = np.sort(
        (rng.random(units) * n_dist[region]).astype(np.int64) + region * (1 << 32)
    ) - region * (1 << 32)
    dist_offset = np.concatenate([[0], np.cumsum(n_dist)[:-1]])
    district = dist_offset[region] + dist_local  # global district index
    total_dist = int(n_dist.sum())

    # table sizes, turnout, null, preferences
    registered = np.clip(np.rint(rng.lognormal(np.log(450), 0.35, units)), 150, 1000).astype(np.int64)
    turnout = _logistic(
        0.6 + rng.normal(0, 0.30, regions)[region] + rng.normal(0, 0.15, total_dist)[district]
        + rng.normal(0, 0.25, units)
    )
    cast = rng.binomial(registered, turnout)
    null_rate = _logistic(
        np.log(0.02 / 0.98) + rng.normal(0, 0.3, regions)[region] + rng.normal(0, 0.3, units)
    )
    null = rng.binomial(cast, null_rate)
    base = np.array([0.0, -0.2] + [-1.5 - 0.3 * j for j in range(candidates - 2)])
    logits = (
        base
        + rng.normal(0, 0.35, (regions, candidates))[region]
        + rng.normal(0, 0.15, (total_dist, candidates))[district]
        + rng.normal(0, 0.15, (units, candidates))
    )
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    votes = _multinomial(rng, cast - null, p)

    # fraud
    pub_votes, pub_null = votes.copy(), null.copy()
    fraudulent = np.zeros(units, dtype=bool)
    for model in FRAUD_MODELS:  # fixed order: deterministic whatever the dict order
        if model in fraud and fraud[model] > 0:
            idx, v, nl = _apply_fraud(rng, model, float(fraud[model]), pub_votes, pub_null, registered)
            pub_votes[idx], pub_null[idx] = v, nl
            fraudulent[idx] = True

    # codes, built as fixed-width bytes: R01 / R01.D0103 / R01.D0103.T000123
    rw = max(2, len(str(regions)))
    dw = max(2, len(str(int(n_dist.max()))))
    tw = max(6, len(str(units)))
    dot = np.full((units, 1), ord("."), dtype=np.uint8)
    r_b = _code_bytes("R", np.arange(1, regions + 1), rw)[region]
    d_b = np.concatenate(
        [_code_bytes("D", region + 1, rw), _code_bytes("", district - dist_offset[region] + 1, dw)], axis=1
    )
    t_b = _code_bytes("T", np.arange(1, units + 1), tw)
    rid = _as_str(r_b)
    did = _as_str(np.concatenate([r_b, dot, d_b], axis=1))
    uid = _as_str(np.concatenate([r_b, dot, d_b, dot, t_b], axis=1))
    path = [rid, did, uid]
    cands = candidate_names(candidates)
    matrix = _matrix("simulated", "official", uid, path, cands, pub_votes, registered, pub_null)
    truth = _matrix("truth", "audit", uid, list(path), cands, votes, registered, null)
    return SimulatedElection(matrix=matrix, truth=truth, fraud=fraud, seed=seed, fraudulent=fraudulent)


def to_table(election: SimulatedElection, *, truth: bool = False):
    """The election as a ``pyarrow.Table`` with the columns :func:`write` produces."""
    import pyarrow as pa

    m = election.truth if truth else election.matrix
    parts = [np.strings.partition(m.unit_ids, ".")]
    region = parts[0][0]
    rest = np.strings.partition(parts[0][2], ".")
    cols = {
        "region": pa.array(region),
        "district": pa.array(rest[0]),
        "table": pa.array(rest[2]),
        "registered": pa.array(m.registered),
        "cast": pa.array(m.cast),
        "valid": pa.array(m.valid),
        "null": pa.array(m.null),
    }
    for j, name in enumerate(m.candidates):
        cols[name] = pa.array(np.ascontiguousarray(m.votes[:, j]))
    return pa.table(cols)


def write(election: SimulatedElection, path: Path, *, truth: bool = False) -> None:
    """Write the published results (or ``truth``) as ``.csv``, ``.csv.gz`` or ``.parquet``.

    Columns: ``region, district, table, registered, cast, valid, null, Candidate A, ...``.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(path)
    name = path.name.lower()
    table = to_table(election, truth=truth)
    opts = pacsv.WriteOptions(quoting_style="none", include_header=False)
    header = (",".join(table.column_names) + "\n").encode()
    if name.endswith(".parquet"):
        pq.write_table(table, path)
    elif name.endswith(".csv.gz"):
        sink = pa.BufferOutputStream()
        sink.write(header)
        pacsv.write_csv(table, sink, opts)
        with gzip.open(path, "wb", compresslevel=1) as out:  # level 1: ~8x faster than 6, ~15 % larger
            out.write(sink.getvalue().to_pybytes())
    elif name.endswith(".csv"):
        with pa.OSFile(str(path), "wb") as out:
            out.write(header)
            pacsv.write_csv(table, out, opts)
    else:
        raise ValueError(f"{path}: unknown output format; use .csv, .csv.gz or .parquet")
