"""Agreement between two sources on the tables they share.

For the common unit ids of ``matrix`` and ``other``: the share of tables whose candidate votes agree
exactly, per-candidate differences (matrix - other), and the tables that differ. Transcription errors
go both ways; a per-candidate sign test (two-sided binomial test of #{d_ij > 0} vs #{d_ij < 0} among
tables where candidate j differs) says whether the differences systematically favour someone.
The overall result (target "all candidates") is descriptive: flagged when any common table differs.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from voteaudit.forensics.inputs import MAX_LISTED_UNITS
from voteaudit.forensics.materiality import effect
from voteaudit.model import SourceMatrix
from voteaudit.result import TestResult

REF_AGREE = ("Table-by-table comparison of sources (parallel vote tabulation practice: NDI, "
             "The Quick Count and Election Observation, 2002)")


def source_agreement(matrix: SourceMatrix, other: SourceMatrix, *, alpha: float = 0.05,
                     level: str = "national") -> list[TestResult]:
    """Compare two sources on common unit ids and common candidates."""
    if matrix.unit_ids.shape == other.unit_ids.shape and np.array_equal(matrix.unit_ids, other.unit_ids):
        common = np.asarray(matrix.unit_ids).astype(str)
        ia = ib = np.arange(common.size)
    else:
        common, ia, ib = np.intersect1d(matrix.unit_ids.astype(str), other.unit_ids.astype(str),
                                        assume_unique=False, return_indices=True)
    cands = [c for c in matrix.candidates if c in other.candidates]
    ja = [matrix.candidates.index(c) for c in cands]
    jb = [other.candidates.index(c) for c in cands]
    va = matrix.votes[ia][:, ja]
    vb = other.votes[ib][:, jb]
    ok = (va >= 0).all(axis=1) & (vb >= 0).all(axis=1)
    d = (va - vb)[ok]
    ids = common[ok]
    n = int(ok.sum())
    differ = (d != 0).any(axis=1)
    share_agree = float(1 - differ.mean()) if n else float("nan")
    overall = TestResult("source_agreement", "all candidates", level, share_agree, None,
                         bool(differ.any()), n=n, alpha=alpha, reference=REF_AGREE, p_value_method="none")
    order = np.argsort(-np.abs(d).sum(axis=1), kind="stable")
    listed_idx = order[differ[order]][:MAX_LISTED_UNITS]
    overall.units_flagged = ids[listed_idx].tolist()
    overall.units_flagged_total = int(differ.sum())
    total_votes = max(int(np.abs(vb[ok]).sum()), 1)
    overall.set_effect("votes that differ between the sources", float(np.abs(d).sum() / total_votes), None,
                       "share of votes", threshold=0.0, sided="upper")
    overall.effect["material"] = bool(differ.any())
    overall.details = {
        "common_units": int(common.size), "compared_units": n, "units_differ": int(differ.sum()),
        "only_in_matrix": int(matrix.n_units - common.size),
        "only_in_other": int(other.n_units - common.size),
        "other_source": other.source, "candidates_compared": cands,
        "net_difference": {c: int(d[:, j].sum()) for j, c in enumerate(cands)},
        "abs_difference": {c: int(np.abs(d[:, j]).sum()) for j, c in enumerate(cands)},
    }
    overall.interpretation = (
        f"{matrix.source} and {other.source} agree exactly on {100 * share_agree:.2f} % of the {n} tables "
        f"both report; {int(differ.sum())} differ (listed, largest differences first)."
    )
    overall.caveats = ("Tables only one source reports are not compared; a difference says the "
                       "sources disagree, not which is right - check the paper sheet.")
    out = [overall]
    for j, c in enumerate(cands):
        up, down = int((d[:, j] > 0).sum()), int((d[:, j] < 0).sum())
        p = float(stats.binomtest(up, up + down, 0.5).pvalue) if up + down else 1.0
        r = TestResult("source_agreement", c, level, float(d[:, j].sum()), p, False, n=n,
                       alpha=alpha, reference=REF_AGREE, p_value_method="binomial_two_sided")
        r.details = {"tables_higher_in_matrix": up, "tables_lower_in_matrix": down, "up": up,
                     "trials": up + down, "null": "sign test: a table is as likely higher as lower"}
        tot = max(int(vb[ok][:, j].sum()), 1)
        net, half = float(d[:, j].sum()), 1.96 * float(np.sqrt((d[:, j].astype(float) ** 2).sum()))
        effect(r, net / tot, ((net - half) / tot, (net + half) / tot), count=net)
        r.describe = lambda r, c=c, j=j, up=up, down=down, p=p, d=d: (
            f"{c}: {matrix.source} gives {int(d[:, j].sum()):+d} votes vs {other.source} over the common "
            f"tables ({up} tables higher, {down} lower; sign test p = {p:.3g})."
            + (" The differences lean one way, which random transcription errors would not do."
               if r.flagged else "")
        )
        r.interpretation = r.describe(r)
        r.caveats = overall.caveats
        out.append(r)
    return out
