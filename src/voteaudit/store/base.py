"""The storage interface every backend implements (DuckDB embedded, PostgreSQL server).

One store holds one election (one contest): its unit hierarchy, its sources with every record
and the provenance of each, and the announced bulletins. Analyses never see SQL: they get a
:class:`~voteaudit.model.SourceMatrix` per source and plain dataclasses for the rest.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voteaudit.model import SourceMatrix

if TYPE_CHECKING:
    from voteaudit.ingest.tables import Batch

SCHEMA_VERSION = 1


@dataclass
class ImportResult:
    source: str
    file: str
    sha256: str
    status: str               # "imported" | "already imported"
    rows: int = 0
    records_added: int = 0
    identical_copies: int = 0  # records identical to one already stored for this source
    conflicts: int = 0         # units of this source now holding differing copies
    flags: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SourceInfo:
    name: str
    kind: str
    units: int
    records: int
    conflicts: int
    imports: list[dict[str, Any]]
    flags: dict[str, int]


@dataclass
class BulletinResult:
    candidate: str
    votes: int
    stated_pct: float | None = None
    party: str | None = None


@dataclass
class Bulletin:
    """Totals an authority announced, at the national level (``unit`` None) or for one unit."""

    name: str
    results: list[BulletinResult]
    announced_at: str | None = None
    unit: str | None = None
    progress_pct: float | None = None
    registered: int | None = None
    cast: int | None = None
    valid: int | None = None
    null: int | None = None
    blank: int | None = None
    turnout_pct: float | None = None
    units_counted: int | None = None
    precision_pct: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    file: str | None = None
    sha256: str | None = None

    @property
    def totals(self) -> dict[str, int]:
        return {r.candidate: r.votes for r in self.results}


def record_dict(source: str, kind: str, unit: str, record_id: int, counts: tuple, votes: list[int],
                flags: list[str], selections: list[tuple[str, str]], provenance: dict[str, Any],
                origin: str | None = None) -> dict[str, Any]:
    """One stored record as every backend returns it: votes per candidate and per selection, provenance.

    ``counts`` = (registered, cast, valid, null, blank); ``selections`` = (selection, candidate) in the
    order of ``votes``; ``origin`` = the JSON provenance of a scanned image, when there is one.
    """
    by_cand: dict[str, int] = {}
    for (_, cand), v in zip(selections, votes, strict=True):
        by_cand[cand] = by_cand.get(cand, 0) + int(v)
    registered, cast, valid, null, blank = counts
    if origin:
        provenance = {**provenance, "image": json.loads(origin)}
    return {"source": source, "kind": kind, "unit": unit, "record_id": record_id, "registered": registered,
            "cast": cast, "valid": valid, "null": null, "blank": blank, "votes": by_cand,
            "selections": {sel: int(v) for (sel, _), v in zip(selections, votes, strict=True)},
            "flags": list(flags or []), "provenance": provenance}


class Store(ABC):
    """A results store. Every write is one transaction: it lands whole or not at all."""

    url: str

    @abstractmethod
    def levels(self) -> list[str] | None:
        """Names of the hierarchy levels, outermost first (None before the first ingest)."""

    @abstractmethod
    def write_import(self, batch: Batch, source: str, kind: str, *, strict: bool = False) -> ImportResult:
        """Store one file's records for ``source``; identical re-imports are no-ops.

        ``strict``: a record that gives a table of the source a second, different copy (a conflict)
        rejects the whole batch instead of being kept and reported.
        """

    @abstractmethod
    def write_bulletins(self, bulletins: list[Bulletin], universe: dict[str, int]) -> list[str]:
        """Store announced bulletins (and the announced size of the election); return names added."""

    @abstractmethod
    def sources(self) -> list[SourceInfo]: ...

    @abstractmethod
    def matrix(self, source: str) -> SourceMatrix:
        """The source's results as aligned arrays (first copy of each unit; conflicts listed)."""

    @abstractmethod
    def bulletins(self) -> list[Bulletin]: ...

    @abstractmethod
    def universe(self) -> dict[str, int]:
        """Announced size of the election (``units``, ``registered``) where known."""

    @abstractmethod
    def labels(self, ids: list[str]) -> dict[str, str]:
        """Display names of the given unit / ancestor ids."""

    def conflicts(self, source: str) -> list[dict[str, Any]]:
        """Units with differing copies in ``source``: every copy with its provenance."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for rec in self._conflicting_records(source):
            grouped.setdefault(rec["unit"], []).append(rec)
        return [{"unit": u, "copies": copies} for u, copies in sorted(grouped.items())]

    @abstractmethod
    def _conflicting_records(self, source: str) -> list[dict[str, Any]]:
        """Every record (``record_dict``) of the units that hold more than one copy in ``source``."""

    @abstractmethod
    def unit_records(self, unit_id: str) -> list[dict[str, Any]]:
        """Every record of one unit, from every source, with provenance."""

    def state(self, key: str) -> dict[str, Any] | None:
        """A saved piece of workflow state (e.g. an audit in progress), or None."""
        value = self._meta(f"state:{key}")
        return json.loads(value) if value else None

    @abstractmethod
    def save_state(self, key: str, value: dict[str, Any]) -> None: ...

    @abstractmethod
    def _meta(self, key: str) -> str | None:
        """A value of the store's key-value table (schema version, levels, universe, state)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
