"""What the forensics tests read from a :class:`~voteaudit.model.SourceMatrix`.

Quantities (per unit; units with missing counts are left out of the tests that need them):

* ballots ``B`` = cast (issued) where reported, else valid + null + blank (:meth:`SourceMatrix.ballots`);
* ballots in the boxes ``B_box`` = valid + null + blank (valid + invalid), whatever ``cast`` says;
* turnout ``T = B / registered``;
* the leader is the candidate with the most votes in the matrix as a whole;
* leader share of the ballots in the boxes ``L = leader / B_box`` (Kobak et al. 2016; METHODS.md: not
  ballots issued, even where those are known);
* winner share of valid votes ``v = leader / valid`` (Klimek et al. 2012, Rozenas 2017).

Grouping (the "area" of the honest-noise nulls and outlier expectations): the finest level above the
table whose areas hold on average at least ``GROUP_MIN_TABLES`` (50) tables (:func:`_group_codes`;
the outermost level when none does), so that adding finer key levels (polling centres, parishes of a
few tables) under the same areas does not change any result.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from voteaudit.model import SourceMatrix

#: At most this many unit ids are listed in ``TestResult.units_flagged`` (the count is in ``details``).
MAX_LISTED_UNITS = 10_000


@dataclass(frozen=True)
class Counts:
    """Aligned per-unit arrays for one matrix (int64 counts, -1 = missing)."""

    unit_ids: np.ndarray
    candidates: list[str]
    votes: np.ndarray      # (n, k)
    registered: np.ndarray
    ballots: np.ndarray
    valid: np.ndarray
    null: np.ndarray
    leader: int            # column of the overall leader
    boxes: np.ndarray | None = None  # valid + null + blank: the ballots found in the boxes (-1 = unknown)
    parent: np.ndarray | None = None  # int code of each unit's parent area (next level up), if any
    cluster: np.ndarray | None = None  # int code of the outermost level with >= 5 areas (for SEs)

    @property
    def n(self) -> int:
        return int(self.unit_ids.shape[0])

    @property
    def leader_name(self) -> str:
        return self.candidates[self.leader]

    # Masks are computed once per Counts and shared by every test of the battery (cached_property
    # stores in the instance __dict__, which a frozen dataclass allows). Callers must not modify them.
    @cached_property
    def _votes_ok(self) -> np.ndarray:
        return (self.votes >= 0).all(axis=1) if self.votes.size else np.zeros(self.n, bool)

    def votes_ok(self) -> np.ndarray:
        """Units whose candidate counts are all reported (a fresh copy)."""
        return self._votes_ok.copy()

    @cached_property
    def _turnout_ok(self) -> np.ndarray:
        return (self.registered > 0) & (self.ballots >= 0) & (self.ballots <= self.registered)

    def turnout_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(k = ballots, n = registered, mask of usable units)."""
        return self.ballots, self.registered, self._turnout_ok.copy()

    @cached_property
    def _leader_ok(self) -> dict[str, np.ndarray]:
        return {}

    def leader_counts(self, denominator: str = "ballots") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(k = leader votes, n = ballots issued ("ballots"), in the boxes ("boxes") or valid votes
        ("valid"), mask of usable units)."""
        k = self.votes[:, self.leader] if self.votes.size else np.zeros(self.n, np.int64)
        if denominator not in ("ballots", "boxes", "valid"):
            raise ValueError(f"unknown denominator {denominator!r}")
        n = {"ballots": self.ballots, "valid": self.valid,
             "boxes": self.boxes if self.boxes is not None else self.ballots}[denominator]
        if denominator not in self._leader_ok:
            self._leader_ok[denominator] = self._votes_ok & (n > 0) & (k <= n)
        return k, n, self._leader_ok[denominator].copy()


def counts(matrix: SourceMatrix, *, leader: int | None = None) -> Counts:
    """Extract the arrays the tests use (no copies where avoidable); ``leader`` fixes the leader's column
    (per area: the national leader, so every area tests the same candidate)."""
    votes = np.asarray(matrix.votes, dtype=np.int64)
    if votes.ndim != 2:
        votes = votes.reshape(matrix.n_units, -1)
    ok = (votes >= 0).all(axis=1)
    vsum = np.where(ok, votes.sum(axis=1), -1)
    valid = np.where(np.asarray(matrix.valid) >= 0, matrix.valid, vsum)
    ballots = np.asarray(matrix.ballots(), dtype=np.int64)
    ballots = np.where((valid < 0) & (np.asarray(matrix.cast) < 0), -1, ballots)
    boxes = np.where(valid >= 0, valid + np.clip(matrix.null, 0, None) + np.clip(matrix.blank, 0, None), -1)
    totals = np.where(votes >= 0, votes, 0).sum(axis=0) if votes.size else np.zeros(0)
    if leader is None:
        leader = int(np.argmax(totals)) if totals.size else 0
    cluster = _cluster_codes(matrix)
    return Counts(
        unit_ids=np.asarray(matrix.unit_ids),
        candidates=list(matrix.candidates),
        votes=votes,
        registered=np.asarray(matrix.registered, dtype=np.int64),
        ballots=ballots,
        valid=np.asarray(valid, dtype=np.int64),
        null=np.asarray(matrix.null, dtype=np.int64),
        leader=leader,
        boxes=np.asarray(boxes, dtype=np.int64),
        parent=_group_codes(matrix),
        cluster=cluster,
    )


def group_codes(labels: np.ndarray) -> np.ndarray:
    """Integer codes 0..g-1 for the distinct labels (fast path when labels are already sorted)."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return np.zeros(0, dtype=np.int64)
    if labels.size > 1 and bool(np.all(labels[1:] >= labels[:-1])):
        return np.concatenate([[0], np.cumsum(labels[1:] != labels[:-1])]).astype(np.int64)
    return np.unique(labels, return_inverse=True)[1].astype(np.int64).ravel()


#: The grouping level's areas hold at least this many tables on average.
GROUP_MIN_TABLES = 50


def _group_codes(matrix: SourceMatrix) -> np.ndarray | None:
    """Codes of the finest level above the table with >= GROUP_MIN_TABLES tables per area on average."""
    levels = list(matrix.path[:-1])
    if not levels:
        return None
    for labels in reversed(levels):
        codes = group_codes(labels)
        if codes.size and codes.size >= GROUP_MIN_TABLES * (int(codes.max()) + 1):
            return codes
    return group_codes(levels[0])


def _cluster_codes(matrix: SourceMatrix) -> np.ndarray | None:
    for labels in matrix.path[:-1]:
        codes = group_codes(labels)
        if codes.size and codes.max() + 1 >= 5:
            return codes
    return None


def listed(unit_ids: np.ndarray, mask: np.ndarray) -> list[str]:
    """Ids of the units in ``mask`` (at most :data:`MAX_LISTED_UNITS`)."""
    idx = np.flatnonzero(mask)[:MAX_LISTED_UNITS]
    return unit_ids[idx].astype(str).tolist()


def subset(matrix: SourceMatrix, rows: np.ndarray) -> SourceMatrix:
    """The units ``rows`` (index array or bool mask) of a matrix, as a new SourceMatrix."""
    rows = np.flatnonzero(rows) if rows.dtype == bool else rows
    flags = [matrix.flags[i] for i in rows] if len(matrix.flags) == matrix.n_units else []
    keep = set(matrix.unit_ids[rows].tolist()) if matrix.conflicted else set()
    return SourceMatrix(
        source=matrix.source,
        kind=matrix.kind,
        levels=list(matrix.levels),
        unit_ids=matrix.unit_ids[rows],
        path=[p[rows] for p in matrix.path],
        candidates=list(matrix.candidates),
        votes=matrix.votes[rows],
        registered=matrix.registered[rows],
        cast=matrix.cast[rows],
        valid=matrix.valid[rows],
        null=matrix.null[rows],
        blank=matrix.blank[rows],
        flags=flags,
        conflicted=[u for u in matrix.conflicted if u in keep],
    )
