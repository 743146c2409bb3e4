"""Tally sheets from images: find and decode each sheet's QR code, parse and check its payload.

Public API::

    parse_payload(text, *, format=None) -> Sheet          # InputError when malformed
    decode_file(path) -> list[ScannedImage]                # one per image / PDF page
    scan(paths, *, workers=1, progress=None) -> ScanReport # folders, dedup, conflicts, unreadable
    render_sheet(sheet, *, distortion="default", seed=0, size=(1600, 1200)) -> PIL.Image

Payload formats are plug-ins (:mod:`.payloads`): ``ve2024`` (:mod:`.ve2024`) and ``generic``
(:mod:`.generic`) ship; :func:`register_format` adds more.
"""

from __future__ import annotations

from . import generic, ve2024  # noqa: F401  (registers the shipped formats)
from .payloads import PayloadFormat, formats, get_format, parse_payload, register_format
from .records import Conflict, Rejected, ScannedImage, ScanReport, Sheet, SheetCopy

__all__ = [
    "Conflict", "PayloadFormat", "Rejected", "ScanReport", "ScannedImage", "Sheet", "SheetCopy",
    "decode_file", "formats", "get_format", "parse_payload", "register_format", "render_sheet", "scan",
]


def __getattr__(name: str):  # lazy: imaging libraries load only when images are touched
    if name == "decode_file":
        from .decode import decode_file
        return decode_file
    if name == "scan":
        from .scanner import scan
        return scan
    if name == "render_sheet":
        from .sheets import render_sheet
        return render_sheet
    raise AttributeError(name)
