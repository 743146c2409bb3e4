"""The storage interface every backend implements (DuckDB embedded, PostgreSQL server).

One store holds one election: its unit hierarchy and its sources, shared by any number of
contests (schema v2, :mod:`voteaudit.store.schema`); every record (with its provenance), bulletin
and saved state belongs to one contest. Methods that read or write a contest's data take
``contest=``: ``None`` means the store's only contest, and is refused (:class:`StoreError` listing
them) when there are several. Analyses never see SQL: they get a
:class:`~voteaudit.model.SourceMatrix` per source and contest and plain dataclasses for the rest.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from voteaudit.model import InputError, SourceMatrix, StoreError
from voteaudit.store.batch import Batch
from voteaudit.store.schema import DEFAULT_CONTEST, SCHEMA_VERSION
from voteaudit.store.versions import VersionRow, in_version, now, parse_as_of, pick, placement, version_dict

__all__ = ["DEFAULT_CONTEST", "SCHEMA_VERSION", "Batch", "Bulletin", "BulletinResult", "ContestInfo",
           "ImportResult", "SourceInfo", "Store", "check_bulletins", "record_dict"]


@dataclass
class ImportResult:
    source: str
    file: str
    sha256: str
    status: str               # "imported" | "already imported" | "new version" (a feed republished bytes
                              # it had published before, e.g. A, B, A: a version of the stored import)
    rows: int = 0
    records_added: int = 0
    identical_copies: int = 0  # records identical to one already stored for this source
    conflicts: int = 0         # units of this source now holding differing copies
    flags: dict[str, int] = field(default_factory=dict)
    contest: str | None = None
    version: dict[str, Any] | None = None  # feed sources: the version this file is (number, as_of, sha256)
    contests: list[dict[str, Any]] | None = None  # a file with several contests: one result per contest

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        if out["contests"] is None:
            del out["contests"]
        return out


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
class ContestInfo:
    """One contest of the store: how many tables have results in it, from which sources."""

    name: str
    units: int
    sources: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "units": self.units, "sources": list(self.sources)}


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


def check_bulletins(existing: dict[str, Bulletin], bulletins: list[Bulletin]) -> None:
    """Refuse a bulletin whose name is already stored (in the contest) with other figures."""
    for b in bulletins:
        old = existing.get(b.name)
        if old is not None and (old.totals != b.totals or old.unit != b.unit):
            raise InputError(f"bulletin {b.name!r} is already stored with different figures; "
                             "give this one another name", file=b.file, field="name")


def record_dict(source: str, kind: str, unit: str, record_id: int, counts: tuple, votes: list[int],
                flags: list[str], selections: list[tuple[str, str]], provenance: dict[str, Any],
                origin: str | None = None, contest: str | None = None, modes: str | None = None) -> dict[str, Any]:
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
    out = {"source": source, "kind": kind, "contest": contest, "unit": unit, "record_id": record_id,
           "registered": registered, "cast": cast, "valid": valid, "null": null, "blank": blank, "votes": by_cand,
           "selections": {sel: int(v) for (sel, _), v in zip(selections, votes, strict=True)},
           "flags": list(flags or []), "provenance": provenance}
    if modes:  # votes per vote mode (absentee, election day, ...) where the file gave them
        out["modes"] = json.loads(modes)
    return out


class Store(ABC):
    """A results store. Every write is one transaction: it lands whole or not at all."""

    url: str

    # -- contests ------------------------------------------------------------------------
    @abstractmethod
    def _contest_rows(self) -> list[tuple[int, str]]:
        """(contest_id, name) of every contest, in creation order."""

    @abstractmethod
    def _add_contest(self, name: str) -> int:
        """Create a contest (inside the caller's write transaction); return its id."""

    def contest_names(self) -> list[str]:
        return [name for _, name in self._contest_rows()]

    def _contest(self, contest: str | None, *, create: bool = False) -> int:
        """The id of ``contest`` (None: the only contest). 0 = an empty store read before any write."""
        rows = self._contest_rows()
        names = ", ".join(repr(n) for _, n in rows) or "none"
        if contest is None:
            if len(rows) == 1:
                return rows[0][0]
            if not rows:
                return self._add_contest(DEFAULT_CONTEST) if create else 0
            raise StoreError(f"{self._where()} holds several contests ({names}): name one with --contest")
        contest = contest.strip()
        for cid, name in rows:
            if name == contest:
                return cid
        if create:
            if not contest:
                raise StoreError("a contest name cannot be empty")
            return self._add_contest(contest)
        raise StoreError(f"no contest named {contest!r} in {self._where()} (contests: {names})")

    def resolve_contest(self, contest: str | None) -> str:
        """The name of the contest ``contest`` designates (None: the only one; ``main`` in an empty store)."""
        cid = self._contest(contest)
        return dict(self._contest_rows()).get(cid, DEFAULT_CONTEST)

    def _where(self) -> str:
        return self.url

    @abstractmethod
    def contests(self) -> list[ContestInfo]:
        """Every contest: its name, the tables with results in it, the sources reporting it."""

    # -- election-wide -------------------------------------------------------------------
    @abstractmethod
    def levels(self) -> list[str] | None:
        """Names of the hierarchy levels, outermost first (None before the first ingest)."""

    @abstractmethod
    def labels(self, ids: list[str]) -> dict[str, str]:
        """Display names of the given unit / ancestor ids."""

    @abstractmethod
    def changes_since(self, import_id: int) -> tuple[set[str], list[str]]:
        """Sources with imports after ``import_id`` and the units those imports touched (for caches)."""

    # -- writes --------------------------------------------------------------------------
    def write_import(self, batch: Batch, source: str, kind: str, *, strict: bool = False,
                     contest: str | None = None, as_of: datetime | str | None = None,
                     feed: bool = False) -> ImportResult:
        """Store one file's records for ``source``; identical re-imports are no-ops.

        The contest is ``batch.contest``, else ``contest``, else the store's only one (a new store's
        first import creates ``main``). ``strict``: a record that gives a table of the source a second,
        different copy (a conflict) rejects the whole batch instead of being kept and reported.
        ``feed`` declares the source a feed (at its first import) and ``as_of`` is the publication time of
        this file as one of its versions (default: now; see :mod:`voteaudit.store.versions`).
        """
        return self.write_imports([batch], source, kind, strict=strict, contest=contest, as_of=as_of,
                                  feed=feed)[0]

    @abstractmethod
    def write_imports(self, batches: list[Batch], source: str, kind: str, *, strict: bool = False,
                      contest: str | None = None, as_of: datetime | str | None = None,
                      feed: bool = False) -> list[ImportResult]:
        """Store several batches (e.g. every contest of one file) in one transaction: all or nothing."""

    def _write_batches(self, batches: list[Batch], source: str, kind: str, strict: bool, contest: str | None,
                       as_of: datetime | str | None, feed: bool) -> list[ImportResult]:
        """The body of :meth:`write_imports`, inside the backend's transaction: check the source's kind, then
        write each batch not already imported in its contest (recording a feed's version)."""
        file = batches[0].file if batches else None
        stored = self._source_kind(source)
        if stored is not None and stored != kind:
            raise InputError(f"source {source!r} is already stored with kind {stored!r}, not {kind!r}",
                             file=file, field="--kind")
        published = self._feed_as_of(source, feed, as_of, file)
        results = []
        for batch in batches:
            cid = self._contest(batch.contest or contest, create=True)
            name = dict(self._contest_rows())[cid]
            if self._has_import(source, batch.sha256, cid):
                results.append(ImportResult(source, batch.file, batch.sha256, "already imported",
                                            rows=batch.rows, contest=name))
            else:
                results.append(self._write_import(batch, source, kind, strict, cid, name,
                                                  feed=published is not None))
            if published is not None:
                self._record_version(results[-1], source, cid, published, declare=feed)
        return results

    @abstractmethod
    def _source_kind(self, source: str) -> str | None:
        """The kind the source is stored with (None: a new source)."""

    @abstractmethod
    def _has_import(self, source: str, sha256: str, contest_id: int) -> bool:
        """Whether this file (by sha256) is already imported for the source in the contest."""

    @abstractmethod
    def _write_import(self, batch: Batch, source: str, kind: str, strict: bool, cid: int, contest: str, *,
                      feed: bool = False) -> ImportResult:
        """Write one batch (inside the caller's transaction)."""

    @abstractmethod
    def write_bulletins(self, bulletins: list[Bulletin], universe: dict[str, int], *,
                        contest: str | None = None) -> list[str]:
        """Store announced bulletins (and the announced size of the election); return names added."""

    @abstractmethod
    def save_state(self, key: str, value: dict[str, Any], *, contest: str | None = None) -> None:
        """Save a piece of workflow state of one contest (e.g. an audit in progress)."""

    # -- reads ---------------------------------------------------------------------------
    @abstractmethod
    def sources(self, contest: str | None = None) -> list[SourceInfo]:
        """The sources with results in the contest, each with its counts, imports and flags."""

    @abstractmethod
    def matrix(self, source: str, contest: str | None = None, *, as_of: datetime | str | None = None) -> SourceMatrix:
        """The source's results in the contest as aligned arrays (first copy of each unit; conflicts listed).

        A feed source: its latest version, or the one current at ``as_of``."""

    @abstractmethod
    def bulletins(self, contest: str | None = None) -> list[Bulletin]: ...

    @abstractmethod
    def unreported(self, source: str, contest: str | None = None) -> list[dict[str, Any]]:
        """Tables the source listed as not reporting in the contest (``unit``, ``row``, ``reason``, ``file``)."""

    def universe(self, contest: str | None = None) -> dict[str, int]:
        """Announced size of the contest (``units``, ``registered``) where known."""
        return self.state("universe", contest=contest) or {}

    def vocabulary(self) -> dict[str, str]:
        """What the user calls a unit (``{"unit": "precinct", "units": "precincts"}``), empty when not named.

        Kept in every contest's state (``ingest --unit-label``), so it is the election's, whatever the contest."""
        names = self.contest_names()
        return (self.state("vocabulary", contest=names[0]) or {}) if names else {}

    def set_vocabulary(self, unit: str, units: str | None = None) -> dict[str, str]:
        """Name the unit (singular, and plural: default English-style ``unit + "s"``) in every contest; return
        what was stored (see :func:`unit_vocabulary`)."""
        value = unit_vocabulary(unit, units)
        for name in self.contest_names():
            self.save_state("vocabulary", value, contest=name)
        return value

    def state(self, key: str, *, contest: str | None = None) -> dict[str, Any] | None:
        """A saved piece of workflow state of one contest (e.g. an audit in progress), or None."""
        value = self._state(self._contest(contest), key)
        return json.loads(value) if value else None

    @abstractmethod
    def _state(self, contest_id: int, key: str) -> str | None: ...

    def conflicts(self, source: str, contest: str | None = None) -> list[dict[str, Any]]:
        """Units with differing copies in ``source``: every copy with its provenance."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for rec in self._conflicting_records(source, self._contest(contest)):
            grouped.setdefault(rec["unit"], []).append(rec)
        return [{"unit": u, "copies": copies} for u, copies in sorted(grouped.items())]

    @abstractmethod
    def _conflicting_records(self, source: str, contest_id: int) -> list[dict[str, Any]]:
        """Every record (``record_dict``) of the units that hold more than one copy in ``source``."""

    @abstractmethod
    def unit_records(self, unit_id: str, contest: str | None = None) -> list[dict[str, Any]]:
        """Every record of one unit, from every source, with provenance (``contest`` None: every contest)."""

    # -- versions of a feed source (issue 16: voteaudit.store.versions) --------------------
    @abstractmethod
    def _source_id(self, name: str) -> int: ...

    @abstractmethod
    def _feed_state(self, source: str) -> tuple[int | None, bool, bool]:
        """(source id or None, declared a feed, has imports)."""

    @abstractmethod
    def _version_rows(self, source_id: int, contest_id: int) -> list[VersionRow]:
        """The source's versions in the contest, oldest publication first."""

    @abstractmethod
    def _add_version(self, source_id: int, contest_id: int, sha256: str, as_of: datetime, declare: bool) -> None:
        """Record the import of ``sha256`` as a version at ``as_of`` (and declare the feed), in the caller's
        write transaction."""

    def _feed_as_of(self, source: str, feed: bool, as_of: datetime | str | None,
                    file: str | None) -> datetime | None:
        """The publication time a write records (None: the source is not a feed); checked before writing."""
        sid, declared, has_imports = self._feed_state(source)
        if feed and not declared and has_imports:
            raise InputError(f"source {source!r} already has imports that are not versions of a feed; "
                             "declare a feed at its first import (or use another source name)", file=file,
                             field="--feed")
        if as_of is not None and not (feed or declared):
            raise InputError(f"--as-of records a version of a feed, and source {source!r} is not one: add --feed",
                             file=file, field="--as-of")
        if not (feed or declared):
            return None
        return parse_as_of(as_of) if as_of is not None else now()

    def _record_version(self, result: ImportResult, source: str, contest_id: int, as_of: datetime,
                        declare: bool) -> None:
        """After a feed file is written (or found already stored): record it as a version, unless nothing is new."""
        sid = self._source_id(source)
        rows = self._version_rows(sid, contest_id)
        import_id = self._import_of(sid, contest_id, result.sha256)
        if placement(rows, import_id, as_of, result.file):
            self._add_version(sid, contest_id, result.sha256, as_of, declare)
            rows = self._version_rows(sid, contest_id)
            if result.status == "already imported":
                result.status = "new version"
        row = next((r for r in rows if r.as_of == as_of), None) or [r for r in rows if r.as_of < as_of][-1]
        result.version = version_dict(rows, row)

    @abstractmethod
    def _import_of(self, source_id: int, contest_id: int, sha256: str) -> int: ...

    def is_feed(self, source: str) -> bool:
        return self._feed_state(source)[1]

    def versions(self, source: str, contest: str | None = None) -> list[dict[str, Any]]:
        """Every version of a feed source in the contest (number, ``as_of``, sha256, file), oldest first."""
        rows = self._version_rows(self._source_id(source), self._contest(contest))
        return [version_dict(rows, r) for r in rows]

    def _scope(self, source_id: int, contest_id: int, source: str, as_of: datetime | str | None) -> str | None:
        """SQL condition for the records a read of the source uses: None = every record (not a feed)."""
        rows = self._version_rows(source_id, contest_id)
        if not rows and not self._feed_state(source)[1]:
            if as_of is not None:
                raise StoreError(f"source {source!r} is not a feed: it has no versions to choose with --as-of")
            return None
        return in_version(pick(rows, None if as_of is None else parse_as_of(as_of), source).import_id)

    @abstractmethod
    def _meta(self, key: str) -> str | None:
        """A value of the store's key-value table (schema version, levels)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unit_vocabulary(unit: str, units: str | None = None) -> dict[str, str]:
    """The checked names of a unit: 1-40 printable characters each (shown in reports, never parsed), the plural
    by default English-style (precinct → precincts, county → counties). Raises ``InputError`` naming the option."""
    from voteaudit.model import InputError

    for what, text in (("--unit-label", unit), ("--unit-plural", units)):
        if text is not None and not (0 < len(text.strip()) <= 40 and text.isprintable()):
            raise InputError(f"{what} must be 1 to 40 printable characters, got {text!r}", field=what)
    return {"unit": unit.strip(), "units": (units or _plural(unit.strip())).strip()}


def _plural(word: str) -> str:
    """English plural of a unit's name: precinct → precincts, box → boxes, county → counties."""
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"
