"""Domain types and the error hierarchy.

An election has contests; a contest has candidates; a source (the authority, a party, observers,
an audit) reports per reporting unit (a table, or any node of the hierarchy country > region > ... >
table) counts per selection (a ballot position or party card), and selections add up to candidates.
Everything an analysis needs from the store arrives as a :class:`SourceMatrix`: one row per unit,
one column per candidate, aligned arrays — so every analysis is vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

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


@dataclass(frozen=True)
class Candidate:
    name: str
    party: str | None = None


@dataclass(frozen=True)
class Selection:
    """A ballot position / party card; its votes count for ``candidate``."""

    name: str
    candidate: str


@dataclass(frozen=True)
class Source:
    name: str
    kind: Kind


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
    path: list[np.ndarray]          # len(levels) arrays of (n,) str
    candidates: list[str]
    votes: np.ndarray               # (n, k) int64
    registered: np.ndarray          # (n,) int64, -1 = missing
    cast: np.ndarray                # (n,) int64, -1 = missing
    valid: np.ndarray               # (n,) int64, -1 = missing
    null: np.ndarray                # (n,) int64, -1 = missing
    blank: np.ndarray               # (n,) int64, -1 = missing
    flags: list[list[str]] = field(default_factory=list)
    conflicted: list[str] = field(default_factory=list)

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
