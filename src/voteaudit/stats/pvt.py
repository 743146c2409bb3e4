"""Quick count / parallel vote tabulation (PVT): sample size, allocation, public-seed selection,
estimation and the check of an announced result against the PVT interval.

Sample size (NDI, *The Quick Count and Election Observation*, 2002, ch. 5, p. 73):

    n = P(1 − P) / (E²/Z² + P(1 − P)/N)      voters,

with P = 0.5 (most conservative), E the margin of error (a fraction), Z the normal quantile
(NDI recommends 2.58, 99 %) and N the number of eligible voters (finite-population correction).
Stations = ⌈n / (voters per station × expected turnout × expected reporting rate)⌉.
NDI's worked example (Peru 2001: N = 14,570,774, E = 0.32 %, Z = 2.58) prints 163,185 voters
(its hand arithmetic rounds E² to 0.000010; the formula gives about 160,700) and 1,020 / 816
stations at 160 / 200 voters per station.

Allocation: proportional to the number of stations per stratum, with a minimum per stratum
(capped at the stratum's size), rounded by largest remainders so that the total is exact.

Selection from a public seed (Rivest, "Consistent sampling with replacement", 2011; Arlo's
``sampler.py``): each station gets the ticket SHA-256(seed + "," + station id) read as a 256-bit
integer; within each stratum the stations with the smallest tickets are taken. Anyone holding the
seed and the list can re-draw the sample, and the draw does not depend on the list's order.

Estimation: stratified ratio estimator on the sampled stations (:func:`estimate_shares`; the
INE Mexico quick counts use a stratified simple random sample with a ratio estimator).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

from voteaudit.result import TestResult
from voteaudit.stats.estimate import EstimateResult, estimate_shares
from voteaudit.stats.universe import Universe

NDI = "NDI (2002), The Quick Count and Election Observation, ch. 5 (sample size, p. 73)"


def ndi_sample_size(
    margin: float,
    population: int | None = None,
    *,
    confidence: float | None = None,
    z: float = 2.58,
    p: float = 0.5,
) -> float:
    """Voters to sample: n = P(1−P) / (E²/Z² + P(1−P)/N). ``population`` None = infinite.

    ``confidence`` (e.g. 0.95), when given, replaces ``z`` by the two-sided normal quantile.
    """
    if not 0 < margin < 1:
        raise ValueError("margin must be a fraction in (0, 1)")
    if confidence is not None:
        z = float(_st.norm.ppf(0.5 + confidence / 2))
    pq = p * (1 - p)
    fpc = pq / population if population else 0.0
    return pq / (margin**2 / z**2 + fpc)


def stations_needed(voters: float, voters_per_station: float, *, turnout: float = 1.0,
                    reporting_rate: float = 1.0) -> int:
    """⌈voters / (voters per station × turnout × reporting rate)⌉ (NDI ch. 5 correction factors)."""
    return int(math.ceil(voters / (voters_per_station * turnout * reporting_rate) - 1e-9))


def allocate(stratum_sizes: Mapping[str, int], n: int, *, minimum: int = 2) -> dict[str, int]:
    """Proportional allocation of n stations over strata, with ``minimum`` per stratum.

    Each stratum gets at least min(minimum, size); the rest is spread in proportion to size
    (largest-remainder rounding, never above a stratum's size). If n is smaller than the sum of
    minimums, the minimums are returned (the sample is then larger than n; noted by the caller).
    """
    keys = sorted(stratum_sizes)
    size = np.array([int(stratum_sizes[k]) for k in keys], dtype=np.int64)
    n = int(min(n, size.sum()))
    alloc = np.minimum(size, minimum)
    while alloc.sum() < n:
        rest = n - alloc.sum()
        room = size - alloc
        w = np.where(room > 0, size, 0).astype(float)
        if w.sum() == 0:
            break
        share = rest * w / w.sum()
        add = np.minimum(np.floor(share).astype(np.int64), room)
        if add.sum() == 0:  # largest remainders
            order = np.argsort(-(share - np.floor(share)) - (room > 0) * 1e-12, kind="stable")
            for i in order[: rest]:
                if room[i] > 0:
                    add[i] = 1
        alloc = alloc + add
    return {k: int(a) for k, a in zip(keys, alloc, strict=True)}


def ticket(seed: str, unit_id: str) -> int:
    """SHA-256 ticket of a station for a public seed (smaller = drawn first)."""
    return int.from_bytes(hashlib.sha256(f"{seed},{unit_id}".encode()).digest(), "big")


def select_sample(
    unit_ids: Sequence[str] | np.ndarray,
    strata: Sequence[str] | np.ndarray,
    allocation: Mapping[str, int],
    seed: str,
) -> np.ndarray:
    """Boolean mask of the stations drawn: in each stratum the ``allocation[h]`` smallest tickets."""
    ids = np.asarray(unit_ids).astype(str)
    st = np.asarray(strata).astype(str)
    if np.unique(ids).size != ids.size:
        raise ValueError("station ids must be unique")
    t = np.array([ticket(seed, u) for u in ids], dtype=object)
    # order by (stratum, ticket) using the ticket's 64 most significant bits plus full ties fallback
    hi = np.array([int(x >> 192) for x in t], dtype=np.uint64)
    order = np.lexsort((ids, hi, st))
    mask = np.zeros(ids.size, bool)
    st_sorted = st[order]
    start = 0
    for i in range(1, ids.size + 1):
        if i == ids.size or st_sorted[i] != st_sorted[start]:
            h = st_sorted[start]
            take = int(allocation.get(h, 0))
            mask[order[start : start + take]] = True
            start = i
    return mask


@dataclass
class PVTDesign:
    """A quick-count design: voters, stations and their allocation to strata."""

    margin: float
    z: float
    voters: float
    stations: int
    allocation: dict[str, int]

    @property
    def statement(self) -> str:
        return (
            f"To estimate shares within ±{100 * self.margin:.2f} points (z = {self.z:.2f}), the quick count "
            f"needs about {self.voters:,.0f} voters, i.e. {self.stations:,} stations, "
            f"allocated over {len(self.allocation)} strata."
        )

    def to_dict(self) -> dict[str, Any]:
        return {"margin": self.margin, "z": self.z, "voters": self.voters, "stations": self.stations,
                "allocation": self.allocation, "statement": self.statement, "reference": NDI}


def design(
    margin: float,
    stratum_sizes: Mapping[str, int],
    voters_total: int,
    voters_per_station: float,
    *,
    z: float = 2.58,
    turnout: float = 1.0,
    reporting_rate: float = 1.0,
    minimum: int = 2,
) -> PVTDesign:
    """NDI sample size in voters -> stations -> stratified allocation with a minimum per stratum."""
    n = ndi_sample_size(margin, voters_total, z=z)
    st = stations_needed(n, voters_per_station, turnout=turnout, reporting_rate=reporting_rate)
    alloc = allocate(stratum_sizes, st, minimum=minimum)
    return PVTDesign(margin, z, n, int(sum(alloc.values())), alloc)


def plan_from_frame(unit_ids: np.ndarray, strata: np.ndarray, registered: np.ndarray, *, seed: str,
                    margin: float, confidence: float = 0.99, turnout: float = 1.0, reporting: float = 1.0,
                    minimum: int = 2) -> tuple[PVTDesign, np.ndarray]:
    """Design a quick count over a frame of tables (ids, stratum per table, registered voters) and draw it.

    ``margin`` is a fraction (0.01 = ±1 point); Z is the normal quantile of ``confidence``. Returns the
    design and the drawn table ids. Raises ValueError when the frame has no registered voters.
    """
    reg = np.clip(registered, 0, None)
    if reg.sum() == 0:
        raise ValueError("the frame has no registered voters: it cannot serve as a sampling frame")
    keys, counts = np.unique(strata, return_counts=True)
    z = float(_st.norm.ppf(0.5 + confidence / 2))
    plan = design(margin, dict(zip(keys.tolist(), counts.tolist(), strict=True)), int(reg.sum()),
                  float(reg[reg > 0].mean()), z=z, turnout=turnout, reporting_rate=reporting, minimum=minimum)
    return plan, unit_ids[select_sample(unit_ids, strata, plan.allocation, seed)]


def pvt_estimate(
    votes: np.ndarray,
    registered: np.ndarray,
    strata: np.ndarray,
    universe: Universe,
    *,
    candidates: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> EstimateResult:
    """Estimate shares from the sampled stations' results (stratified ratio estimator, CI)."""
    return estimate_shares(votes, registered, strata, candidates=candidates, universe=universe,
                           confidence=confidence, n_boot=n_boot, seed=seed)


def check_announced(estimate: EstimateResult, announced_shares: Mapping[str, float], *,
                    target: str = "announced") -> TestResult:
    """Is each announced share inside the PVT interval? ``statistic`` = max |announced − p̂| / se.

    ``p_value``: two-sided normal p-value of the largest standardised gap (Bonferroni across
    candidates); flagged when any announced share lies outside its interval.
    """
    outside, zs = [], []
    per: dict[str, Any] = {}
    for e in estimate.estimates:
        if e.candidate not in announced_shares:
            continue
        a = float(announced_shares[e.candidate])
        zval = (a - e.share) / e.se if e.se > 0 else math.inf * (1 if a != e.share else 0)
        zs.append(abs(zval))
        inside = e.ci_low <= a <= e.ci_high
        if not inside:
            outside.append(e.candidate)
        per[e.candidate] = {"announced": a, "share": e.share, "ci_low": e.ci_low, "ci_high": e.ci_high,
                            "z": zval, "inside": inside}
    zmax = max(zs) if zs else 0.0
    p = min(1.0, len(zs) * 2 * float(_st.norm.sf(zmax))) if zs else None
    interp = (
        "Every announced share lies inside the quick-count interval."
        if not outside
        else f"Announced shares outside the quick-count interval: {', '.join(outside)}."
    )
    return TestResult(
        test="pvt_check", target=target, level="national", statistic=float(zmax), p_value=p,
        flagged=bool(outside), n=estimate.n_units, alpha=1 - estimate.confidence, interpretation=interp,
        caveats="Valid if the sampled stations reported their true counts and non-reporting is random "
        "within strata.", reference=NDI, details={"candidates": per},
    )
