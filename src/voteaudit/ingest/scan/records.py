"""What a scan produces: decoded sheets, per-image provenance and the report over a batch.

A :class:`Sheet` is one tally sheet read from one QR code; a :class:`ScannedImage` is one image
file (or one page of a PDF / multi-frame TIFF) with its sha256, file names and how it was decoded;
a :class:`ScanReport` holds every image of a batch plus what the batch-level checks found
(duplicate files, conflicting copies of a table, unreadable images). Nothing is dropped: an image
that could not be read is kept with its reason, a payload that failed its checks is kept with its
text and reason, and every copy of a conflicting table is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sheet:
    """One decoded tally sheet.

    ``unit_parts`` is the hierarchy key, outermost level first (``levels`` names the levels when
    the format knows them). ``selections`` maps card/selection name to votes in ballot order and
    ``candidates`` maps candidate name to votes summed over that candidate's cards. ``valid`` is
    the sum of the selections. ``problems`` lists implausible-but-well-formed findings (arithmetic
    that does not add up, counts over the registered voters...): the sheet is kept and flagged.
    ``extra`` holds format-specific fields (e.g. a declared total) that have no column of their own.
    """

    payload_format: str
    unit_parts: list[str]
    selections: dict[str, int]
    candidates: dict[str, int]
    null: int | None
    blank: int | None
    registered: int | None
    valid: int
    raw: str
    problems: list[str] = field(default_factory=list)
    levels: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def unit_id(self) -> str:
        """The unit key as one string: ``unit_parts`` joined by ``/``."""
        return "/".join(self.unit_parts)

    @property
    def total(self) -> int:
        """Ballots counted on the sheet: valid + null + blank (missing counts as 0)."""
        return self.valid + (self.null or 0) + (self.blank or 0)

    def numbers(self) -> tuple[Any, ...]:
        """The counts two copies of the same table must agree on (used to detect conflicts)."""
        return (tuple(self.selections.items()), self.null, self.blank)


@dataclass
class Rejected:
    """A QR code that decoded but whose text is not a well-formed payload of a known format."""

    raw: str
    reason: str


@dataclass
class ScannedImage:
    """Provenance of one image file or one page of a multi-page file.

    ``path`` is the first file name seen with this content; ``also`` lists the other file names
    with the same sha256 (exact duplicate files: one record, every name kept). ``error`` is set when
    no sheet could be read from the image (the reason, for a review queue). ``rejected`` lists codes
    that decoded but failed the payload checks. ``decode`` holds the decode details: the strategy
    that succeeded, the strategies tried, symbol positions (in the original image's pixels), and
    the time spent.
    """

    path: str
    sha256: str
    page: int | None
    sheets: list[Sheet] = field(default_factory=list)
    error: str | None = None
    decode: dict[str, Any] = field(default_factory=dict)
    also: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        """Every file name with this content, first seen first."""
        return [self.path, *self.also]


@dataclass
class SheetCopy:
    """One copy of a table's sheet: which image (and page) it came from."""

    path: str
    sha256: str
    page: int | None
    sheet: Sheet


@dataclass
class Conflict:
    """The same table read from different images with different numbers. Every copy is kept."""

    unit_parts: list[str]
    copies: list[SheetCopy]

    @property
    def unit_id(self) -> str:
        return "/".join(self.unit_parts)


@dataclass
class ScanReport:
    """Everything a batch scan found.

    ``images``: one record per distinct file content (and page). ``duplicates``: files with the same
    sha256, as lists of file names (first is the one recorded). ``conflicts``: tables read from
    several images with different numbers. ``repeats``: tables read from several distinct images
    with the same numbers (corroborating copies, not an error). ``unreadable``: ``(path, reason)``
    of images from which no sheet was read. ``rejected``: ``(path, raw, reason)`` of decoded codes
    that failed the payload checks.
    """

    images: list[ScannedImage] = field(default_factory=list)
    duplicates: list[list[str]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    repeats: list[Conflict] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def sheets(self) -> list[SheetCopy]:
        """Every decoded sheet with its image, in scan order."""
        return [SheetCopy(im.path, im.sha256, im.page, sh) for im in self.images for sh in im.sheets]
