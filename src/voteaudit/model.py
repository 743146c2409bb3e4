"""Domain types and the error hierarchy.

A store holds one election with any number of contests (a ballot's races: president, senate,
a referendum question, ...) sharing one unit hierarchy. A source (the authority, a party, observers, an audit: its
:class:`Kind`) reports per reporting unit (a table, or any node of the hierarchy country > region >
... > table) counts per selection (a ballot position or party card), and selections add up to
candidates; every record keeps its provenance (file, sha256, row, import time). The store's schema
(``store/duckdb.py``) holds these; everything an analysis needs arrives as a :class:`SourceMatrix`:
one row per unit, one column per candidate, aligned arrays — so every analysis is vectorised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class Kind(StrEnum):
    """Who produced a source."""

    official = "official"
    independent = "independent"
    observer = "observer"
    audit = "audit"


class VoteauditError(Exception):
    """Base of every error voteaudit reports to a user."""


class InputError(VoteauditError):
    """Malformed input: rejected whole, before anything is written.

    The message names the file, the row (1 = header row of a table file) and the field.
    """

    def __init__(self, problem: str, *, file: str | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        self.problem, self.file, self.row, self.field = problem, file, row, field
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{': '.join([', '.join(where), problem]) if where else problem}")


class StoreError(VoteauditError):
    """The store is unreachable, of an unknown schema version, or asked for something it lacks."""


class LazyPath(Sequence):
    """Ancestor ids per level, converted from Arrow to numpy only when a level is first read.

    Most analyses read one level (or none); converting a million strings per level up front costs
    more than the analysis.
    """

    def __init__(self, arrays: list[Any], last: np.ndarray | None = None) -> None:
        self._arrow = arrays
        self._np: list[np.ndarray | None] = [None] * len(arrays)
        if last is not None and arrays:
            self._np[-1] = last

    def __len__(self) -> int:
        return len(self._arrow)

    def __getitem__(self, k: Any) -> Any:
        if isinstance(k, slice):
            return [self[i] for i in range(len(self))[k]]
        k = range(len(self))[k]
        if self._np[k] is None:
            self._np[k] = self._arrow[k].to_numpy(zero_copy_only=False)
        return self._np[k]


@dataclass
class SourceMatrix:
    """One source's results as aligned arrays: units x candidates.

    ``path[k]`` holds each unit's ancestor id at hierarchy depth k+1 (``levels[k]`` names it);
    the last level is the unit itself. Per-unit counts are int64 with -1 where not reported.
    Where a source holds conflicting copies of a unit, the first copy is used and the unit id is
    listed in ``conflicted``.
    """

    source: str
    kind: str
    levels: list[str]
    unit_ids: np.ndarray            # (n,) str
    path: Sequence[np.ndarray]      # len(levels) arrays of (n,) str
    candidates: list[str]
    votes: np.ndarray               # (n, k) int64
    registered: np.ndarray          # (n,) int64, -1 = missing
    cast: np.ndarray                # (n,) int64, -1 = missing
    valid: np.ndarray               # (n,) int64, -1 = missing
    null: np.ndarray                # (n,) int64, -1 = missing
    blank: np.ndarray               # (n,) int64, -1 = missing
    flags: Sequence[Sequence[str]] = field(default_factory=list)
    conflicted: list[str] = field(default_factory=list)
    arrow_path: list | None = field(default=None, repr=False)  # the path as Arrow strings, when the store has them
    unit_keys: np.ndarray | None = field(default=None, repr=False)  # store-wide integer unit keys (fast joins)
    key_space: str | None = None    # which store the keys belong to: keys compare only within one store
    other_votes: dict[str, np.ndarray] = field(default_factory=dict)  # (n,) per non-candidate row (over/under
                                    # votes, "Not Assigned", ...): counted and shown, never a candidate or a share
    contest: str | None = None      # the contest these results are for

    @property
    def n_units(self) -> int:
        return int(self.unit_ids.shape[0])

    def ballots(self) -> np.ndarray:
        """Ballots in the box per unit: cast where reported, else valid (or candidate sum) + null + blank."""
        valid = np.where(self.valid >= 0, self.valid, self.votes.sum(axis=1))
        counted = valid + np.clip(self.null, 0, None) + np.clip(self.blank, 0, None)
        return np.where(self.cast >= 0, self.cast, counted)

    def turnout(self) -> np.ndarray:
        """ballots / registered; NaN where registered is missing or zero."""
        reg = self.registered.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(reg > 0, self.ballots() / reg, np.nan)
