"""Digit tests: second-digit Benford (2BL) and last digit.

Second digit (Mebane 2006, "Election Forensics: Vote Counts and Benford's Law"; Mebane 2008):
counts >= 10 only; expected second-digit probabilities

    r_j = sum_{k=1..9} log10(1 + 1/(10k + j)),  j = 0..9
        = .11968 .11389 .10882 .10433 .10031 .09668 .09337 .09035 .08757 .08500 (mean 4.18739)

    X^2 = sum_j (n_j - N r_j)^2 / (N r_j)  ~  chi^2(9).

Calibrated p-value (departure from the textbook test, documented). Mebane (2006) compares with
Benford's r_j, but honest counts of tables of a few hundred voters are not Benford-distributed
(Deckert, Myagkov & Ordeshook 2011, "Benford's Law and the Detection of Election Fraud", Political
Analysis 19(3): 245-268): on clean simulations the chi^2(9) test fires 90+ % of the time. X^2 against
r_j stays the reported ``statistic`` (and ``details["p_benford"]``), but ``p_value``/``flagged`` answer
"is the digit pattern unusual for honest counting noise?": every table's count is redrawn R times from
the honest-noise model of :mod:`voteaudit.forensics.honest` (its area's mean share, a logit-normal
table spread, binomial counting out of the table's valid votes), and the observed second-digit
frequencies are compared with the pooled redrawn ones by the 2 x 10 homogeneity chi-square (df 9):
with R replicates the null expectation's own noise is accounted for exactly (variance factor 1 + 1/R),
so a few replicates suffice on large inputs (R = 20 for small inputs, down to 4 at 500,000+ tables;
:func:`null_replicates`). Measured false-positive rate on clean simulations: see
``bench/calibrate_forensics.py``.

Also the mean second digit with a bootstrap 95 % basic interval (Election Forensics Toolkit, Hicken &
Mebane; flags when the interval excludes 4.187). Resampling units with replacement only changes the
digit counts, so the bootstrap draws the counts ~ Multinomial(N, observed frequencies): the same
distribution as the per-unit bootstrap, at no per-unit cost.

Last digit (Beber & Scacco 2012, "What the Numbers Say", Political Analysis 20(2)): counts >= 10 only;
X^2 = sum_d (n_d - N/10)^2 / (N/10) ~ chi^2(9); also the share of last digits 0 or 5 (expected .20),
the share of counts whose last two digits are equal (expected .10) and whose last two digits differ
by one in either order (expected .18; 0 and 9 not adjacent), each with a binomial z-test.
Departure (documented): uniform last digits need counts spread over many tens, so a candidate is tested
only when the median of its counts >= 10 is at least ``LAST_DIGIT_MIN_MEDIAN`` (50); smaller candidates
are reported untested and left out of the pooled "all candidates" target. Without this rule honest
simulated elections fail the test through their small candidates.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from voteaudit.forensics.honest import EXACT_DRAWS_MAX, honest_model
from voteaudit.forensics.inputs import Counts, listed
from voteaudit.result import TestResult

BENFORD_SECOND = np.array(
    [sum(np.log10(1 + 1 / (10 * k + j)) for k in range(1, 10)) for j in range(10)]
)
BENFORD_SECOND_MEAN = float((np.arange(10) * BENFORD_SECOND).sum())  # 4.18739

REF_2BL = ("Mebane, W. R. (2006) Election Forensics: Vote Counts and Benford's Law; Mebane (2008); "
           "Hicken & Mebane, Election Forensics Toolkit (2BL)")
REF_LAST = "Beber, B. & Scacco, A. (2012) What the Numbers Say, Political Analysis 20(2): 211-234"
MIN_COUNTS = 50  # fewer eligible counts than this: no test
LAST_DIGIT_MIN_MEDIAN = 50


def second_digits(x: np.ndarray) -> np.ndarray:
    """Second significant digit of each count (counts must be >= 10)."""
    x = np.asarray(x, dtype=np.int64)
    p = np.power(10, np.floor(np.log10(x)).astype(np.int64))
    p = np.where(p > x, p // 10, p)
    p = np.where(p * 10 <= x, p * 10, p)
    return (x // (p // 10)) % 10


_LUT_MAX = 100_000
_SECOND_LUT = np.concatenate([np.full(10, -1), second_digits(np.arange(10, _LUT_MAX))]).astype(np.int64)


def second_digit_counts(x: np.ndarray) -> np.ndarray:
    """Frequencies of the second digit (0..9) over the counts >= 10 of ``x``.

    Histogram of the values first (one ``bincount``), then digits per distinct value from a look-up
    table: no per-count logarithms, so it costs about one pass over the counts.
    """
    x = np.asarray(x).ravel()
    x = x[x >= 10]
    if x.size == 0:
        return np.zeros(10, dtype=np.int64)
    big = x >= _LUT_MAX
    out = np.zeros(10, dtype=np.int64)
    if big.any():
        out += np.bincount(second_digits(x[big]), minlength=10)
        x = x[~big]
    h = np.bincount(x, minlength=10)
    out += np.bincount(_SECOND_LUT[10:h.size], weights=h[10:], minlength=10).astype(np.int64)
    return out


def honest_noise_digits(x: np.ndarray, n: np.ndarray, groups: np.ndarray | None, *, replicates: int,
                        rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Second-digit frequencies pooled over ``replicates`` honest-noise redraws of the counts
    (:mod:`voteaudit.forensics.honest`: area mean share, logit-normal table spread, binomial counting)."""
    model = honest_model(x, n, groups)
    exact = x.size * replicates <= EXACT_DRAWS_MAX
    freq = np.zeros(10, dtype=np.int64)
    buf = None if exact else np.empty(x.size, dtype=np.float32)
    for _ in range(replicates):
        if exact:
            freq += second_digit_counts(model.draw(rng, exact=True))
        else:
            freq += second_digit_counts(model.draw_normal(rng, out=buf).astype(np.int32))
    return freq, {"tau_logit": model.tau, "draws": "binomial" if exact else "normal approximation"}


def null_replicates(units: int) -> int:
    """Honest-noise replicates: 20 for small inputs, fewer for large ones (>= 4; ~2 million draws)."""
    return int(np.clip(round(2_000_000 / max(units, 1)), 4, 20))


def second_digit_test(x: np.ndarray, *, alpha: float = 0.05, seed: int = 0, boot: int = 1000,
                      target: str = "", level: str = "national", n: np.ndarray | None = None,
                      groups: np.ndarray | None = None, replicates: int | None = None) -> TestResult:
    """Mebane's 2BL on the counts >= 10 of ``x``, calibrated against honest counting noise.

    ``statistic`` is the textbook X^2 against Benford's r_j. With the denominators ``n`` (the unit's
    valid votes; ``groups``: the unit's parent area) ``p_value``/``flagged`` come from the honest-noise
    null (module docstring); without ``n`` they are the Benford chi^2(9) p-value (uncalibrated).
    """
    x = np.asarray(x, dtype=np.int64)
    eligible = x >= 10
    n_elig = int(eligible.sum())
    res = TestResult("second_digit", target, level, float("nan"), None, False, n=n_elig, alpha=alpha,
                     reference=REF_2BL)
    if n_elig < MIN_COUNTS:
        res.interpretation = f"Not tested: only {n_elig} counts of 10 or more."
        return res
    freq = second_digit_counts(x)
    expected = n_elig * BENFORD_SECOND
    chi2 = float(((freq - expected) ** 2 / expected).sum())
    p_benford = float(stats.chi2.sf(chi2, 9))
    mean = float((np.arange(10) * freq).sum() / n_elig)
    rng = np.random.default_rng(seed)
    boots = rng.multinomial(n_elig, freq / n_elig, size=boot) @ np.arange(10) / n_elig
    lo, hi = 2 * mean - np.quantile(boots, 0.975), 2 * mean - np.quantile(boots, 0.025)
    res.statistic = chi2
    res.effect_size = mean - BENFORD_SECOND_MEAN
    cramer = float(np.sqrt(chi2 / n_elig))
    res.details = {
        "observed": freq.tolist(), "expected_share": BENFORD_SECOND.round(5).tolist(),
        "chi2_benford": chi2, "p_benford": p_benford,
        "mean_second_digit": mean, "mean_ci95": [float(lo), float(hi)],
        "mean_expected": BENFORD_SECOND_MEAN, "mean_flag": bool(lo > BENFORD_SECOND_MEAN or
                                                                hi < BENFORD_SECOND_MEAN),
        "cramers_v": cramer, "df": 9,
    }
    calibrated = False
    if n is not None:
        nn = np.asarray(n, dtype=np.int64)
        use = (nn > 0) & (x >= 0) & (x <= nn)
        if use.sum() >= MIN_COUNTS:
            R = null_replicates(int(use.sum())) if replicates is None else int(replicates)
            g = None if groups is None else np.asarray(groups)[use]
            null_freq, info = honest_noise_digits(x[use], nn[use], g, replicates=R, rng=rng)
            m_null = int(null_freq.sum())
            if m_null > 0:
                calibrated = True
                obs_use = second_digit_counts(x[use])
                n_use = int(obs_use.sum())
                # 2 x 10 homogeneity chi-square: observed digits vs the pooled honest-noise replicates
                pooled = (obs_use + null_freq) / (n_use + m_null)
                keep = pooled > 0
                e_obs, e_null = n_use * pooled[keep], m_null * pooled[keep]
                chi2_cal = float((((obs_use[keep] - e_obs) ** 2) / e_obs).sum()
                                 + (((null_freq[keep] - e_null) ** 2) / e_null).sum())
                df = int(keep.sum()) - 1
                p = float(stats.chi2.sf(chi2_cal, df))
                null_share = null_freq / m_null
                res.details.update({
                    "null": "honest counting noise (parametric redraw of every count)",
                    "chi2_vs_honest_noise": chi2_cal, "df_honest_noise": df, "replicates": R,
                    "null_expected_share": null_share.round(5).tolist(),
                    "null_mean_second_digit": float((np.arange(10) * null_share).sum()),
                    "chi2_benford_expected_under_null": float(
                        n_elig * (((null_share - BENFORD_SECOND) ** 2) / BENFORD_SECOND).sum() + 9),
                    **info,
                })
    if not calibrated:
        p = p_benford
        res.details["null"] = "Benford second-digit law (uncalibrated: no denominators given)"
    res.p_value, res.flagged = p, p < alpha
    if calibrated:
        verdict = "more uneven than" if res.flagged else "as expected from"
        res.interpretation = (
            f"The second digits of {target or 'the'} counts (n = {n_elig}) are {verdict} honest counting "
            f"noise in tables like these (p = {p:.3g}). Against Benford's law itself chi2 = {chi2:.1f} "
            f"(p = {p_benford:.3g}), but honest counts are not Benford-distributed; mean second digit "
            f"{mean:.3f} vs {res.details['null_mean_second_digit']:.3f} under honest noise "
            "(4.187 under Benford). A deviation is a reason to look closer, not evidence of fraud by itself."
        )
    else:
        verdict = "differ from" if res.flagged else "are consistent with"
        res.interpretation = (
            f"The second digits of {target or 'the'} counts (n = {n_elig}) {verdict} Benford's "
            f"second-digit distribution (chi2 = {chi2:.1f}, p = {p:.3g}); mean second digit {mean:.3f} "
            "vs 4.187 expected. A deviation is a reason to look closer, not evidence of fraud by itself."
        )
    res.caveats = (
        "Honest counts need not follow Benford's law (Deckert, Myagkov & Ordeshook 2011; Mebane himself "
        "calls some digit-test results implausible), so the p-value compares with honest counting noise "
        "around each area's shares; the Benford p-value is in details. The null model (area mean share, "
        "logit-normal table spread, binomial counting) is an approximation: with very many tables small "
        "model misfit can become significant. Look at the effect size (mean digit, Cramer's V) too."
    )
    return res


def last_digit_test(x: np.ndarray, *, alpha: float = 0.05, target: str = "",
                    level: str = "national") -> TestResult:
    """Beber & Scacco last-digit chi-square (counts >= 10), with 0/5, repeated and adjacent pairs."""
    x = np.asarray(x, dtype=np.int64).ravel()
    x = x[x >= 10]
    n = int(x.size)
    res = TestResult("last_digit", target, level, float("nan"), None, False, n=n, alpha=alpha,
                     reference=REF_LAST)
    if n < MIN_COUNTS:
        res.interpretation = f"Not tested: only {n} counts of 10 or more."
        return res
    last = x % 10
    tens = (x // 10) % 10
    freq = np.bincount(last, minlength=10)
    chi2 = float(((freq - n / 10) ** 2 / (n / 10)).sum())
    p = float(stats.chi2.sf(chi2, 9))

    def share_test(hits: np.ndarray, p0: float) -> dict[str, float]:
        s = float(hits.mean())
        z = (s - p0) / np.sqrt(p0 * (1 - p0) / n)
        return {"share": s, "expected": p0, "z": float(z), "p_value": float(2 * stats.norm.sf(abs(z)))}

    d = np.abs(last - tens)
    res.statistic, res.p_value, res.flagged = chi2, p, p < alpha
    res.effect_size = float(np.abs(freq / n - 0.1).sum() / 2)  # total variation distance from uniform
    res.details = {
        "observed": freq.tolist(), "df": 9,
        "zero_five": share_test((last == 0) | (last == 5), 0.2),
        "repeated_pair": share_test(d == 0, 0.1),
        "adjacent_pair": share_test(d == 1, 0.18),
    }
    verdict = "are not" if res.flagged else "are"
    res.interpretation = (
        f"The last digits of {target or 'the'} counts (n = {n}) {verdict} consistent with equally likely "
        f"digits (chi2 = {chi2:.1f}, p = {p:.3g}); {100 * res.effect_size:.1f} % of digits would have to "
        "change to make them uniform. People inventing numbers tend to favour some digits."
    )
    res.caveats = (
        "Assumes counts spread over many tens so last digits are uniform: small counts (a few tens) "
        "or rounding rules can make honest last digits uneven. Not proof of fabrication."
    )
    return res


def run_second_digit(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    ok = c.votes_ok() & (c.valid > 0)
    v, valid = c.votes[ok], c.valid[ok]
    groups = None if c.parent is None else c.parent[ok]
    return [second_digit_test(v[:, j], alpha=alpha, seed=seed + j, target=name, level=level, n=valid,
                              groups=groups)
            for j, name in enumerate(c.candidates)]


def run_last_digit(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    ok = c.votes_ok()
    out, usable = [], []
    for j, name in enumerate(c.candidates):
        x = c.votes[ok, j]
        big = x[x >= 10]
        if big.size and np.median(big) >= LAST_DIGIT_MIN_MEDIAN:
            usable.append(j)
            out.append(last_digit_test(x, alpha=alpha, target=name, level=level))
        else:
            r = TestResult("last_digit", name, level, float("nan"), None, False, n=int(big.size),
                           alpha=alpha, reference=REF_LAST)
            r.interpretation = (f"Not tested: {name}'s counts are too small (median below "
                                f"{LAST_DIGIT_MIN_MEDIAN}) for last digits to be uniform.")
            out.append(r)
    pooled = last_digit_test(c.votes[ok][:, usable], alpha=alpha, target="all candidates", level=level)
    # tables whose every count >= 10 ends in 0 or 5: the pattern invented sheets show
    v = c.votes[ok][:, usable]
    big = v >= 10
    round_all = (big.sum(axis=1) >= 2) & ((~big) | (v % 5 == 0)).all(axis=1)
    pooled.units_flagged = listed(c.unit_ids[ok], round_all) if pooled.flagged else []
    pooled.details["tables_all_counts_end_0_or_5"] = int(round_all.sum())
    out.append(pooled)
    return out
