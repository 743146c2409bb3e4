"""Calibration and power of the battery on simulated elections (pure: simulate + test, no I/O).

A test *fires* on an election when one of its targets (candidates, turnout, ...) has a Holm-adjusted
p-value (over the test's targets) below ``alpha`` AND a material effect (``materiality.DEFAULTS``;
``material=False`` ignores materiality): one decision per test, so the false-positive rate is per test, not
per target. False-positive rate = share of clean simulations (:func:`voteaudit.simulate.simulate`
with no fraud) on which the test fires; power = the same share on simulations with fraud model M at
size s. :func:`power_for` answers "what is the smallest fraud each test detects with 80 % power in an
election shaped like mine" by scanning sizes in increasing order.
"""

from __future__ import annotations

from collections.abc import Sequence

from voteaudit.forensics.adjust import holm
from voteaudit.forensics.registry import TESTS, run_battery
from voteaudit.result import TestResult
from voteaudit.simulate import FRAUD_MODELS, simulate

DEFAULT_SIZES: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def fires(results: list[TestResult], test: str, alpha: float, *, material: bool = True) -> bool:
    """Whether ``test`` fires: a target with Holm-adjusted p (over the test's targets) < alpha and, unless
    ``material=False``, a material effect."""
    rs = [r for r in results if r.test == test and r.p_value is not None and r.tested]
    adj = holm([r.p_value for r in rs])
    return any(p is not None and p < alpha and (not material or (r.effect is not None and r.effect["material"]))
               for r, p in zip(rs, adj, strict=True))


def detection_rates(units: int, *, fraud: dict[str, float] | None = None, sims: int = 20,
                    candidates: int = 4, regions: int = 10, alpha: float = 0.05, seed: int = 0,
                    tests: Sequence[str] | None = None) -> dict[str, float]:
    """Share of ``sims`` simulated elections on which each test fires (FPR when ``fraud`` is None)."""
    tests = list(TESTS if tests is None else tests)
    hits = dict.fromkeys(tests, 0)
    for s in range(sims):
        e = simulate(units, candidates=candidates, regions=regions, fraud=fraud, seed=seed + s)
        res = run_battery(e.matrix, alpha=alpha, seed=seed + s, tests=tests)
        for t in tests:
            hits[t] += fires(res, t, alpha)
    return {t: hits[t] / sims for t in tests}


def false_positive_rates(units: int, **kw) -> dict[str, float]:
    """Per-test false-positive rate on clean simulations (see :func:`detection_rates`)."""
    return detection_rates(units, fraud=None, **kw)


def power_curve(units: int, model: str, sizes: Sequence[float] = DEFAULT_SIZES, **kw
                ) -> dict[float, dict[str, float]]:
    """Power of each test against fraud ``model`` at each size: {size: {test: power}}."""
    if model not in FRAUD_MODELS:
        raise ValueError(f"unknown fraud model {model!r}; choose from {', '.join(FRAUD_MODELS)}")
    return {s: detection_rates(units, fraud={model: s}, **kw) for s in sizes}


def power_for(units: int, *, candidates: int = 4, regions: int = 10,
              models: Sequence[str] = FRAUD_MODELS, sizes: Sequence[float] = DEFAULT_SIZES,
              power: float = 0.8, sims: int = 20, alpha: float = 0.05, seed: int = 0,
              tests: Sequence[str] | None = None) -> dict[str, dict[str, float | None]]:
    """Smallest fraud size each test detects with at least ``power``: {model: {test: size or None}}.

    ``units``, ``candidates`` and ``regions`` describe the election's structure; sizes are scanned in
    increasing order (a test drops out of the scan once found) and ``None`` means not reached within
    ``sizes``.

    ``sims`` trades precision for time. The cost is up to ``sims x len(models) x len(sizes)`` battery
    runs on ``units`` tables (at 2,000 tables a battery takes ~0.3 s of CPU, so the default 20 x 6 x 6
    is ~3 min; scale linearly with ``units``). With 20 simulations an estimated power of 0.8 (16/20)
    has a 95 % interval of about 0.58-0.92, enough to say which sizes are clearly detected and which
    clearly not; 6 (the old default) gave 0.36-0.97, i.e. no information. Pass ``sims=50`` or more for
    a publication figure, or fewer ``models``/``sizes`` for a quick look.
    """
    tests = list(TESTS if tests is None else tests)
    out: dict[str, dict[str, float | None]] = {}
    for model in models:
        found: dict[str, float | None] = dict.fromkeys(tests)
        for size in sorted(sizes):
            pending = [t for t in tests if found[t] is None]
            if not pending:
                break
            rates = detection_rates(units, fraud={model: size}, sims=sims, candidates=candidates,
                                    regions=regions, alpha=alpha, seed=seed, tests=pending)
            for t in pending:
                if rates[t] >= power:
                    found[t] = size
        out[model] = found
    return out
