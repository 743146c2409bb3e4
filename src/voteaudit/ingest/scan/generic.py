"""The generic tally-sheet payload (format name ``generic``), for elections without their own.

Five ``|``-separated fields, ASCII only::

    VA1|<unit>|<selections>|<totals>|<checksum>

``VA1``
    Magic and version.
``<unit>``
    The unit's hierarchy key, outermost level first, parts joined by ``.``:
    ``ES.13.0401.07``.
``<selections>``
    ``;``-separated ``<selection>=<votes>`` in ballot order; a selection (party card) that counts for
    a candidate of another name is written ``<selection>@<candidate>=<votes>`` (several selections
    may name the same candidate; their votes add up). Votes are non-negative integers.
``<totals>``
    ``;``-separated ``key=value`` for the per-sheet figures the sheet reports, any subset of
    ``null``, ``blank``, ``registered``, ``valid`` (declared valid votes), ``cast`` (ballots cast);
    may be empty.
``<checksum>``
    ``crc32:<8 hex digits>`` (``zlib.crc32``) or ``sha256:<8 to 64 hex digits>`` (a prefix of the
    SHA-256 digest), computed over the UTF-8 bytes of everything before it, including the ``|``.

Names and unit parts are percent-encoded: ``%``, ``|``, ``;``, ``=``, ``@``, ``.``, control
characters and every non-ASCII character are written as ``%XX`` of their UTF-8 bytes, so the payload
is plain ASCII (QR byte mode without ECI ambiguity). Example (encoded by :func:`encode_generic`)::

    VA1|ES.13.0401.07|Ana P%C3%A9rez=120;PX@Ana P%C3%A9rez=8;Bo Li=95|null=3;registered=400|crc32:...

Checks: a wrong magic, field count, checksum, duplicate selection, or a non-integer count is
malformed (InputError). Well-formed but implausible figures (declared valid differs from the sum,
counts above the registered voters, cast below the counted ballots) are flagged in
``Sheet.problems``. The checksum means a mutated digit is rejected rather than read as a count.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from urllib.parse import unquote

from voteaudit.model import InputError

from .payloads import check_bounds, register_format
from .records import Sheet

NAME = "generic"
MAGIC = "VA1"
TOTAL_KEYS = ("null", "blank", "registered", "valid", "cast")
_RESERVED = set("%|;=@.")
_INT = re.compile(r"\d{1,12}")
_CHECK = re.compile(r"(crc32):([0-9a-f]{8})|(sha256):([0-9a-f]{8,64})")


def escape(text: str) -> str:
    """Percent-encode reserved, control and non-ASCII characters (see the module docstring)."""
    out = []
    for ch in text:
        if ch in _RESERVED or not (" " <= ch <= "~"):
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return "".join(out)


def _unescape(text: str, what: str) -> str:
    if not text:
        raise InputError(f"empty {what}", field="payload")
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise InputError(f"{what} {text!r} has invalid percent-encoding", field="payload") from None


def checksum(body: str, kind: str = "crc32") -> str:
    """The checksum field for ``body`` (everything before the checksum, ending with ``|``)."""
    data = body.encode("utf-8")
    if kind == "crc32":
        return f"crc32:{zlib.crc32(data):08x}"
    if kind == "sha256":
        return f"sha256:{hashlib.sha256(data).hexdigest()[:16]}"
    raise ValueError(f"unknown checksum kind {kind!r}")


def _int(token: str, what: str) -> int:
    if not _INT.fullmatch(token):
        raise InputError(f"{what} is {token!r}, not a non-negative integer", field=what)
    return int(token)


class GenericFormat:
    """The ``generic`` (``VA1``) payload plug-in."""

    name = NAME

    def detect(self, text: str) -> bool:
        return text.lstrip().startswith(MAGIC + "|")

    def parse(self, text: str) -> Sheet:
        body = text.strip()
        if not body.isascii():
            raise InputError("generic payload contains non-ASCII characters (names must be "
                             "percent-encoded)", field="payload")
        fields = body.split("|")
        if len(fields) != 5:
            raise InputError(f"generic payload has {len(fields)} '|'-separated fields, expected 5 "
                             "(VA1, unit, selections, totals, checksum)", field="payload")
        magic, unit, sels, totals, check = fields
        if magic != MAGIC:
            raise InputError(f"generic payload starts with {magic!r}, expected {MAGIC!r}", field="payload")
        m = _CHECK.fullmatch(check)
        if not m:
            raise InputError(f"checksum field {check!r} is not crc32:<8 hex> or sha256:<8-64 hex>",
                             field="checksum")
        signed = body[: len(body) - len(check)]
        data = signed.encode("utf-8")
        if m.group(1):
            ok = f"{zlib.crc32(data):08x}" == m.group(2)
        else:
            ok = hashlib.sha256(data).hexdigest().startswith(m.group(4))
        if not ok:
            raise InputError("checksum mismatch: the payload was altered or misread", field="checksum")

        unit_parts = [_unescape(p, "unit part") for p in unit.split(".")]
        selections: dict[str, int] = {}
        candidates: dict[str, int] = {}
        candidate_of: dict[str, str] = {}
        if not sels:
            raise InputError("no selections", field="selections")
        for item in sels.split(";"):
            key, eq, votes = item.partition("=")
            if not eq:
                raise InputError(f"selection {item!r} is not <name>=<votes>", field="selections")
            sel, _, cand = key.partition("@")
            name = _unescape(sel, "selection name")
            candidate = _unescape(cand, "candidate name") if cand else name
            if name in selections:
                raise InputError(f"selection {name!r} appears twice", field="selections")
            selections[name] = _int(votes, f"votes of {name!r}")
            candidates[candidate] = candidates.get(candidate, 0) + selections[name]
            if candidate != name:
                candidate_of[name] = candidate
        figures: dict[str, int] = {}
        for item in filter(None, totals.split(";")):
            key, eq, value = item.partition("=")
            if not eq or key not in TOTAL_KEYS:
                raise InputError(f"total {item!r} is not one of {', '.join(TOTAL_KEYS)} = <integer>",
                                 field="totals")
            if key in figures:
                raise InputError(f"total {key!r} appears twice", field="totals")
            figures[key] = _int(value, key)
        extra: dict[str, object] = {"checksum": check}
        if candidate_of:
            extra["candidate_of"] = candidate_of
        if "valid" in figures:
            extra["valid_declared"] = figures["valid"]
        if "cast" in figures:
            extra["cast"] = figures["cast"]
        sheet = Sheet(payload_format=NAME, unit_parts=unit_parts, selections=selections,
                      candidates=candidates, null=figures.get("null"), blank=figures.get("blank"),
                      registered=figures.get("registered"), valid=sum(selections.values()), raw=text,
                      extra=extra)
        check_bounds(sheet)
        return sheet

    def encode(self, sheet: Sheet, *, kind: str = "crc32") -> str:
        return encode_generic(sheet.unit_parts, sheet.selections, null=sheet.null, blank=sheet.blank,
                              registered=sheet.registered, valid=sheet.extra.get("valid_declared"),
                              cast=sheet.extra.get("cast"),
                              candidate_of=_candidate_of(sheet), kind=kind)


def _candidate_of(sheet: Sheet) -> dict[str, str]:
    """Recover selection -> candidate from a sheet (exact when built by this module)."""
    mapping = sheet.extra.get("candidate_of")
    if isinstance(mapping, dict):
        return mapping
    return {}


def encode_generic(unit_parts: list[str], selections: dict[str, int], *, null: int | None = None,
                   blank: int | None = None, registered: int | None = None, valid: int | None = None,
                   cast: int | None = None, candidate_of: dict[str, str] | None = None,
                   kind: str = "crc32") -> str:
    """Build a ``VA1`` payload. ``candidate_of`` maps selections to candidates of another name."""
    candidate_of = candidate_of or {}
    sels = []
    for name, votes in selections.items():
        cand = candidate_of.get(name)
        key = escape(name) if cand is None or cand == name else f"{escape(name)}@{escape(cand)}"
        sels.append(f"{key}={int(votes)}")
    figures = {"null": null, "blank": blank, "registered": registered, "valid": valid, "cast": cast}
    totals = ";".join(f"{k}={int(v)}" for k, v in figures.items() if v is not None)
    body = f"{MAGIC}|{'.'.join(escape(p) for p in unit_parts)}|{';'.join(sels)}|{totals}|"
    return body + checksum(body, kind)


FORMAT = register_format(GenericFormat())
