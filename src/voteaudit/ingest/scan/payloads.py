"""Payload formats: a small registry of plug-ins that turn QR text into a :class:`Sheet`.

A format is an object with a ``name``, a cheap ``detect(text)`` that says whether the text looks
like its payload, ``parse(text)`` (raises :class:`~voteaudit.model.InputError` when the text is
malformed, returns a :class:`Sheet` whose ``problems`` list the implausible-but-well-formed
findings) and ``encode(sheet)`` (the inverse, used by the sheet generator and the tests).

Shipped formats: ``ve2024`` (Venezuela 2024 actas, :mod:`.ve2024`) and ``generic``
(the documented ``VA1|...`` format with a checksum, :mod:`.generic`). Register another with
:func:`register_format`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from voteaudit.model import InputError

from .records import Sheet


@runtime_checkable
class PayloadFormat(Protocol):
    """What a payload plug-in provides."""

    name: str

    def detect(self, text: str) -> bool:
        """True when ``text`` looks like this format's payload (a cheap sniff, not a validation)."""
        ...

    def parse(self, text: str) -> Sheet:
        """Parse and check ``text``; raise InputError when malformed."""
        ...

    def encode(self, sheet: Sheet) -> str:
        """The payload text of ``sheet`` (inverse of :meth:`parse`)."""
        ...


_REGISTRY: dict[str, PayloadFormat] = {}


def register_format(fmt: PayloadFormat) -> PayloadFormat:
    """Add (or replace) a payload format; detection tries formats in registration order."""
    _REGISTRY[fmt.name] = fmt
    return fmt


def get_format(name: str) -> PayloadFormat:
    """The registered format called ``name``; InputError naming the known ones otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown payload format {name!r}; known: {', '.join(_REGISTRY)}",
                         field="format") from None


def formats() -> list[str]:
    """Names of the registered formats, in detection order."""
    return list(_REGISTRY)


def detect_format(text: str) -> PayloadFormat | None:
    """The first registered format whose ``detect`` claims ``text``, or None."""
    for fmt in _REGISTRY.values():
        if fmt.detect(text):
            return fmt
    return None


def parse_payload(text: str, *, format: str | None = None) -> Sheet:  # noqa: A002 - public name
    """Parse QR text into a checked :class:`Sheet`.

    With ``format`` the named plug-in is used; otherwise the first format that detects the text.
    Raises InputError when no format claims the text or the payload is malformed.
    """
    fmt = get_format(format) if format is not None else detect_format(text)
    if fmt is None:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise InputError(f"not a tally-sheet payload of any known format ({', '.join(_REGISTRY)}): "
                         f"{shown!r}", field="payload")
    return fmt.parse(text)


def check_registered(sheet: Sheet) -> None:
    """Flag counts over the registered voters (when known) in ``sheet.problems``."""
    reg = sheet.registered
    if reg is None:
        return
    if sheet.total > reg:
        sheet.problems.append(f"ballots counted ({sheet.total}) exceed registered voters ({reg})")
    for name, votes in sheet.selections.items():
        if votes > reg:
            sheet.problems.append(f"{name!r} has {votes} votes, more than the {reg} registered voters")


def check_bounds(sheet: Sheet) -> None:
    """Append the format-independent plausibility findings to ``sheet.problems``.

    Counts over the registered voters (when known), a declared valid total that differs from the
    sum of selections, and a declared ballots-cast figure below the counted ballots.
    """
    check_registered(sheet)
    declared = sheet.extra.get("valid_declared")
    if declared is not None and declared != sheet.valid:
        sheet.problems.append(f"declared valid votes ({declared}) differ from the sum of the "
                              f"selections ({sheet.valid})")
    cast = sheet.extra.get("cast")
    if cast is not None:
        if cast < sheet.total:
            sheet.problems.append(f"ballots cast ({cast}) fewer than ballots counted ({sheet.total})")
        if sheet.registered is not None and cast > sheet.registered:
            sheet.problems.append(f"ballots cast ({cast}) exceed registered voters ({sheet.registered})")


def set_registered(sheet: Sheet, registered: int | None) -> Sheet:
    """Attach a registered-voters figure from outside the payload (e.g. a registry) and re-check.

    A figure already in the payload wins; a differing outside figure is flagged, not applied.
    """
    if registered is None:
        return sheet
    if sheet.registered is not None:
        if sheet.registered != int(registered):
            sheet.problems.append(f"registered voters on the sheet ({sheet.registered}) differ from "
                                  f"the registry ({int(registered)})")
        return sheet
    sheet.registered = int(registered)
    check_registered(sheet)
    return sheet
