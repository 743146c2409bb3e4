"""Versions of a feed source: how a publication is recorded and which one a read uses (issue 16).

A source declared a *feed* (``ingest --feed``) keeps every publication as a version: the import that
holds its bytes, their sha256 and the publication time ``as_of``. Records are stored once per distinct
content, so a version's tables are the records its import added plus the earlier records it sighted
again (:func:`in_version`); a table whose numbers change between versions is therefore not a conflict —
only two differing copies inside one version are. Reads use the latest version (by ``as_of``) unless
asked for the one current at another time. Bytes seen again later (A, B, A) are a new version of the
import already stored; the same bytes as the version just before are nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from voteaudit.model import InputError, StoreError


@dataclass(frozen=True)
class VersionRow:
    """One stored version (``versions`` joined with its import), as a backend returns it."""

    import_id: int
    sha256: str
    as_of: datetime
    recorded_at: datetime | None
    file: str | None
    records_added: int


def parse_as_of(text: str | datetime) -> datetime:
    """An ISO 8601 publication time as naive UTC (the store's convention). Without an offset it is taken
    as UTC; anything unparsable is refused naming ``--as-of``."""
    if isinstance(text, datetime):
        value = text
    else:
        raw = str(text).strip()
        try:
            value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
        except ValueError:
            raise InputError(f"--as-of {raw!r} is not an ISO 8601 time (e.g. 2024-07-29T00:10:00-04:00)",
                             field="--as-of") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def in_version(import_id: int) -> str:
    """SQL condition on ``record_id`` (both backends): the record belongs to the version held by ``import_id``."""
    i = int(import_id)
    return (f"record_id IN (SELECT record_id FROM records WHERE import_id = {i} "
            f"UNION SELECT record_id FROM sightings WHERE import_id = {i})")


def pick(rows: list[VersionRow], as_of: datetime | None, source: str) -> VersionRow:
    """The version current at ``as_of`` (None: the latest); ``rows`` sorted by ``as_of``."""
    if not rows:
        raise StoreError(f"source {source!r} is a feed with no version in this contest")
    if as_of is None:
        return rows[-1]
    current = [r for r in rows if r.as_of <= as_of]
    if not current:
        raise StoreError(f"source {source!r} had published nothing by {as_of.isoformat()} "
                         f"(first version: {rows[0].as_of.isoformat()})")
    return current[-1]


def placement(rows: list[VersionRow], import_id: int, as_of: datetime, file: str | None) -> bool:
    """Whether a publication (``import_id`` at ``as_of``) is a new version of a feed; refuses two different
    publications at the same time. False = nothing new (already recorded, or the same bytes as the version
    just before)."""
    for r in rows:
        if r.as_of == as_of:
            if r.import_id == import_id:
                return False
            raise InputError(f"the source already has a different version published at {as_of.isoformat()} "
                             f"(sha256 {r.sha256[:12]}…); give this one its own --as-of", file=file, field="--as-of")
    before = [r for r in rows if r.as_of < as_of]
    return not (before and before[-1].import_id == import_id)


def version_dict(rows: list[VersionRow], row: VersionRow) -> dict[str, Any]:
    """A version for people and JSON: its number (1 = first publication, by time), time, bytes and file."""
    return {"version": rows.index(row) + 1, "as_of": row.as_of.isoformat(), "sha256": row.sha256,
            "file": row.file, "records_added": row.records_added,
            "recorded_at": row.recorded_at.isoformat() if row.recorded_at else None}
