"""Cross-contest consistency: a table's contests were voted on the same ballots, so their ballots should agree.

Where one source reports several contests of the same ballot for a table, each contest's ballots
(``cast`` where the source gives it, else the ballots it counted: valid + null + blank, which
roll-off — voters skipping a contest — legitimately lowers) should be the same across contests. A
table where ballots cast differ between contests is either a transcription error, a split ballot
style the file does not say, or ballots added to one contest only. :func:`cross_contest` lists them,
largest difference first. No voting tool reports this; it needs no assumption beyond "one ballot".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from voteaudit.model import SourceMatrix


@dataclass
class CrossContestTable:
    """One table whose contests' ballots disagree in one source."""

    source: str
    unit: str
    ballots: dict[str, int]     # contest -> ballots
    difference: int             # largest minus smallest
    basis: str                  # "cast" (every contest gave ballots cast) or "counted" (valid + null + blank)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "unit": self.unit, "ballots": self.ballots, "difference": self.difference,
                "basis": self.basis}


def _ballots(m: SourceMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Per unit: ballots cast (-1 where not given) and ballots counted (valid or candidate sum, + null + blank)."""
    others = sum(m.other_votes.values()) if m.other_votes else 0  # write-ins, over/under votes: ballots too
    valid = np.where(m.valid >= 0, m.valid, m.votes.sum(axis=1) + others)
    counted = valid + np.clip(m.null, 0, None) + np.clip(m.blank, 0, None)
    return m.cast, counted


def cross_contest(by_contest: dict[str, SourceMatrix], *, top: int = 50) -> dict[str, Any]:
    """Tables of one source whose ballots differ between contests, ranked by the largest difference.

    ``by_contest``: the source's matrix in each contest (same source, same store). A table is
    compared on ``cast`` when every contest reporting it gives ballots cast, else on ballots counted
    (roll-off makes those differ by design: read them as a lower bound of the contest's ballots).
    """
    contests = sorted(by_contest)
    if len(contests) < 2:
        return {"tables_compared": 0, "differ": 0, "tables": []}
    source = by_contest[contests[0]].source
    units = sorted(set().union(*(set(map(str, by_contest[c].unit_ids)) for c in contests)))
    index = {u: i for i, u in enumerate(units)}
    cast = np.full((len(units), len(contests)), -1, dtype=np.int64)
    counted = np.full((len(units), len(contests)), -1, dtype=np.int64)
    for j, c in enumerate(contests):
        m = by_contest[c]
        rows = np.array([index[str(u)] for u in m.unit_ids], dtype=np.int64)
        if rows.size:
            cast[rows, j], counted[rows, j] = _ballots(m)
    present = counted >= 0
    shared = present.sum(axis=1) >= 2
    all_cast = np.all((cast >= 0) | ~present, axis=1)
    value = np.where(all_cast[:, None], cast, counted)
    hi = np.where(present, value, np.iinfo(np.int64).min).max(axis=1)
    lo = np.where(present, value, np.iinfo(np.int64).max).min(axis=1)
    diff = np.where(shared, hi - lo, 0)
    bad = np.flatnonzero(diff > 0)
    order = bad[np.lexsort((bad, -diff[bad]))]
    tables = [CrossContestTable(source, units[i], {contests[j]: int(value[i, j]) for j in range(len(contests))
                                                   if present[i, j]}, int(diff[i]),
                                "cast" if all_cast[i] else "counted") for i in order[:top]]
    return {"source": source, "tables_compared": int(shared.sum()), "differ": int(bad.size),
            "differ_on_cast": int((diff[bad] > 0)[all_cast[bad]].sum()),
            "tables": [t.to_dict() for t in tables]}
