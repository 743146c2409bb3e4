"""Report texts in English and Spanish (``voteaudit report --lang es``).

The texts live in one catalogue per language, ``report/locales/<lang>.toml``: keys are short names,
values are templates with ``{name}`` or ``{name:format}`` placeholders. Numbers are formatted per
language with Babel (CLDR data): ``{n:n}`` 7,156,462 / 7.156.462; ``{s:p1}`` 67.1% / 67,1 %;
``{x:d2}`` 0.05 / 0,05. A value without a format is shown as text, a whole number with grouping.

Analysis results that speak to the reader (``statement``, ``interpretation``) carry a ``message``:
``{"key": ..., "params": {...}}``; :meth:`Catalogue.message` renders it in the report's language.
A key the Spanish catalogue lacks is an error in the tests (``tests/report/test_catalogue.py``),
and falls back to English at run time so a new section never breaks the report.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

LANGS = ("en", "es")
_LOCALES = {"en": "en_US", "es": "es_ES"}
_SPEC = re.compile(r"^(n|s|g|[pd]\d)$")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The texts of ``lang`` as read from ``report/locales/<lang>.toml``."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (known: {', '.join(LANGS)})")
    with (resources.files("voteaudit") / "report" / "locales" / f"{lang}.toml").open("rb") as fh:
        return tomllib.load(fh)


def placeholders(template: str) -> set[str]:
    """The names a template substitutes (``{a} {b:n}`` → ``{"a", "b"}``)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class _Formatter(string.Formatter):
    def __init__(self, lang: str) -> None:
        self.numbers = Numbers(lang)

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None:
            return "—"
        if not format_spec:
            if isinstance(value, bool):
                return str(value)
            if isinstance(value, int):
                return self.numbers.num(value)
            if isinstance(value, float):
                return self.numbers.dec(value, 2)
            return str(value)
        if not _SPEC.match(format_spec):
            raise ValueError(f"unknown format {format_spec!r} in a catalogue text (use n, s, g, p0-p9 or d0-d9)")
        kind, digits = format_spec[0], int(format_spec[1:] or 0)
        if kind == "g":
            return self.numbers.sig(value)
        if kind == "n":
            return self.numbers.num(value)
        if kind == "p":
            return self.numbers.pct(value, digits)
        if kind == "d":
            return self.numbers.dec(value, digits)
        return str(value)


class Numbers:
    """Numbers as the language writes them (Babel's CLDR patterns)."""

    def __init__(self, lang: str) -> None:
        from babel import Locale

        self.locale = Locale.parse(_LOCALES[lang])
        self.lang = lang

    def num(self, v: float | int | None) -> str:
        """Whole number with the language's grouping: 7,156,462 / 7.156.462 (CLDR: es groups from 5 digits)."""
        from babel.numbers import format_decimal

        if v is None:
            return "—"
        # Spanish CLDR data leaves 4-digit numbers ungrouped ("2411"); keep tables aligned and group them too
        return format_decimal(round(v), format="#,##0", locale=self.locale, group_separator=True)

    def dec(self, v: float | None, digits: int = 2) -> str:
        from babel.numbers import format_decimal

        if v is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(v, format=pattern, locale=self.locale)

    def pct(self, v: float | None, digits: int = 2) -> str:
        """A fraction as a percentage: 0.6713 → 67.13% / 67,13 %."""
        from babel.numbers import format_percent

        if v is None:
            return "—"
        pattern = self.locale.percent_formats[None].pattern
        if digits:
            pattern = re.sub(r"0(?=[^0]*$)", "0." + "0" * digits, pattern, count=1)
        return format_percent(v, format=pattern, locale=self.locale).replace("\xa0", "\u202f")

    def sig(self, v: float | None, digits: int = 2) -> str:
        """Two significant digits (p-values): 0.0031 / 0,0031, 1.2e-08 / 1,2e-08."""
        from babel.numbers import get_decimal_symbol

        return "—" if v is None else f"{v:.{digits}g}".replace(".", get_decimal_symbol(self.locale))

    def when(self, v: object) -> str:
        """A timestamp (datetime or ISO text) as the language writes it, to the minute; other text unchanged."""
        from datetime import datetime

        from babel.dates import format_date, format_time

        if v is None or v == "":
            return "—"
        try:
            dt = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
        except ValueError:
            return str(v)
        day = format_date(dt, "medium", locale=self.locale)
        has_time = isinstance(v, datetime) or len(str(v)) > 10
        return f"{day} {format_time(dt, 'short', locale=self.locale)}" if has_time else day

    def stated(self, v: float | str | None) -> str:
        """A percentage as a bulletin printed it (51.2 → 51.2% / 51,2 %), with the digits it was printed with."""
        if v is None or v == "":
            return "—"
        text = str(v)
        digits = len(text.split(".")[1]) if "." in text else 0
        try:
            return self.pct(float(text) / 100, digits)
        except ValueError:
            return text

    def signed(self, v: int | None) -> str:
        return "—" if v is None else ("+" if v > 0 else "−" if v < 0 else "") + self.num(abs(v))

    def signedf(self, v: float | None, digits: int = 2) -> str:
        if v is None:
            return "—"
        r = round(v, digits)  # the sign of what is shown: -0.001 at 2 digits is 0.00, not −0.00
        return ("+" if r > 0 else "−" if r < 0 else "") + self.dec(abs(v), digits)


class Catalogue:
    """``t(key, **values)``: a text of ``lang`` with its values formatted, falling back to English.

    ``vocabulary`` (``Store.vocabulary()``: ``{"unit": "precinct", "units": "precincts"}``) names the unit: the
    catalogue's own word for it (``unit_singular``/``unit_plural``: table(s), mesa(s)) is replaced in the texts —
    only in the catalogue's words, never in the values (a candidate called Mesa stays Mesa)."""

    def __init__(self, lang: str, vocabulary: Mapping[str, str] | None = None) -> None:
        self.lang = lang
        self.table, self.fallback = catalogue(lang), catalogue("en")
        self.formatter = _Formatter(lang)
        self.numbers = self.formatter.numbers
        self.words: list[tuple[re.Pattern[str], str]] = []
        if vocabulary and vocabulary.get("unit"):
            unit, units = vocabulary["unit"], vocabulary.get("units") or vocabulary["unit"]
            for mine, theirs in ((self.table["unit_plural"], units), (self.table["unit_singular"], unit)):
                for a, b in ((mine, theirs), (mine[:1].upper() + mine[1:], theirs[:1].upper() + theirs[1:])):
                    # a whole word outside {placeholders}; braces in the user's word are doubled for str.format
                    self.words.append((re.compile(rf"(?<![{{\w]){re.escape(a)}(?![\w}}:])"),
                                       b.replace("{", "{{").replace("}", "}}")))

    def __call__(self, key: str, **values: object) -> str:
        text = self.table.get(key, self.fallback[key])
        for pattern, word in self.words:
            text = pattern.sub(lambda _m, w=word: w, text)
        return self.formatter.vformat(text, (), values) if values or "{" in text else text

    def has(self, key: str) -> bool:
        return key in self.fallback

    def message(self, msg: Mapping[str, Any] | None, default: str = "") -> str:
        """A result's ``message`` (``{"key", "params"}``) in this language; ``default`` (the English text the
        result carries) when it has none or the catalogue does not know its key."""
        if not msg or not self.has(msg.get("key", "")):
            return default
        params = {k: self._param(v) for k, v in (msg.get("params") or {}).items()}
        return self(msg["key"], **params)

    def _param(self, v: Any) -> Any:
        """Nested messages (a parameter that is itself ``{"key", "params"}``) and lists of them, rendered."""
        if isinstance(v, Mapping) and "key" in v:
            return self.message(v, "")
        if isinstance(v, list) and all(isinstance(x, Mapping) and "key" in x for x in v):
            items = [self.message(x, "") for x in v]
            if len(items) < 2:
                return "".join(items)
            return ", ".join(items[:-1]) + self("list_and") + items[-1]
        return v


def translator(lang: str, vocabulary: Mapping[str, str] | None = None) -> Catalogue:
    """``t(key, **values)`` in ``lang``, falling back to English (a :class:`Catalogue`), with the election's own
    name for a unit (``vocabulary``)."""
    return Catalogue(lang, vocabulary)


def formatters(lang: str) -> dict[str, Callable[..., str]]:
    """The report's Jinja filters: ``num``, ``pct``, ``dec``, ``signed``, ``signedf`` in ``lang``."""
    n = Numbers(lang)
    return {"num": n.num, "pct": n.pct, "dec": n.dec, "signed": n.signed, "signedf": n.signedf, "sig": n.sig,
            "stated": n.stated, "when": n.when}
