"""A result's text as a catalogue key and its parameters, so the report can say it in any language.

``msg("st_bounds_open", leader="A", low=0.41)`` → ``{"key": "st_bounds_open", "params": {...}}``. Numbers stay
numbers (fractions for shares): the report formats them per language (``report/i18n.py``). A parameter may
itself be a message, or a list of messages (joined with "and"). The English ``statement`` of each result is
kept unchanged for JSON consumers; ``message`` is an addition.
"""

from __future__ import annotations

from typing import Any


def msg(key: str, **params: Any) -> dict[str, Any]:
    """One message: its catalogue ``key`` and the ``params`` its template substitutes."""
    return {"key": key, "params": params}
