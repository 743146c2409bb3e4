"""The count-cell rule: which texts are vote counts, their value, and why a text is not one.

Every tabular format (CSV/TSV, XLSX, Parquet, JSON lines) reaches validation as text cells, and every
count cell — votes, registered, cast, valid, null, blank — follows this one rule:

* whitespace around the number is ignored: any Unicode ``White_Space`` character (tab, NBSP U+00A0,
  figure space U+2007, narrow NBSP U+202F, ideographic space U+3000, ...);
* the number is written with ASCII digits only, optionally
  - with a fraction of zeros, as spreadsheets and float columns write whole numbers (``12.0``,
    ``12.00``) — except exactly three zeros after one to three digits (``1.000``), which in much of the
    world is a thousands grouping: that form is refused as ambiguous;
  - grouped in exact threes by a space (any of ASCII space, NBSP, U+2007, U+2009, U+202F) or an
    apostrophe (``'`` or U+2019): ``1 234 567``, ``1'234`` — never ambiguous;
* commas and dots are never thousands separators (``1,234`` and ``1.234`` read as 1234 in one locale
  and as 1.234 in another): refused with a message saying so;
* the value is at most :data:`MAX_COUNT` (10^9) per cell: a polling table, or even a whole country,
  has fewer voters. Bounded cells keep every aggregate exact in int64: a sum of n cells is at most
  n × 10^9, below 2^63 for n ≤ 9.2 × 10^9 cells (10^7 tables × 900 selections);
* signs, exponents, booleans, formulas and anything else are refused.

An empty cell is a missing value, allowed only in the optional per-unit columns (registered, cast,
valid, null, blank); vote cells are required.

The rule is expressed twice, in the same terms: as RE2 regular expressions for DuckDB (validation
runs vectorised over millions of cells) and by :func:`problem`, which explains a refused cell.
"""

from __future__ import annotations

import re

MAX_COUNT = 1_000_000_000
# an announced (national) total: larger than any electorate, small enough that sums stay exact in int64
MAX_TOTAL = 1_000_000_000_000

# Unicode White_Space (PropList.txt), as code point ranges: stripped around every count cell.
_WS_RANGES = [(0x09, 0x0D), (0x20, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
              (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)]
WHITESPACE = "".join(chr(c) for a, b in _WS_RANGES for c in range(a, b + 1))
# digit-group separators that cannot be a decimal mark
GROUP_SEPARATORS = " \u00a0\u2007\u2009\u202f'\u2019"


def _class(chars: str, re2: bool) -> str:
    return "[" + "".join((f"\\x{{{ord(c):x}}}" if re2 else f"\\u{ord(c):04x}") for c in chars) + "]"


def _cell_pattern(re2: bool) -> str:
    ws, g = _class(WHITESPACE, re2), _class(GROUP_SEPARATORS, re2)
    plain = "0*([0-9]{1,9}|1000000000)"
    zero_fraction = r"([0-9]{1,3}\.(0{1,2}|0{4,})|0*([0-9]{4,9}|1000000000)\.0+)"
    grouped = f"([1-9][0-9]{{0,2}}({g}[0-9]{{3}}){{1,2}}|1{g}000{g}000{g}000)"
    return f"{ws}*({plain}|{zero_fraction}|{grouped}){ws}*"


# one accepted count cell, whitespace around allowed (RE2 syntax for DuckDB; no comma can match it)
CELL_RE = _cell_pattern(re2=True)
_PY_CELL = re.compile(_cell_pattern(re2=False))
# a cell that is empty once whitespace is stripped
BLANK_RE = _class(WHITESPACE, re2=True) + "*"
# columns checked by one regex over a row's cells joined with ',' (the pattern is written out CHUNK
# times: RE2 refuses a counted repetition of it, whose nested counts multiply beyond 1,000)
CHUNK = 16


def row_bad_sql(required: list[str], optional: list[str]) -> list[str]:
    """SQL conditions, true on a row with a malformed count cell.

    Required cells are joined with ',' (which no accepted cell contains) and matched by one regex per
    chunk of columns: a cell holding a comma, or a NULL (written as the empty string, which is not a
    count), breaks the match. Optional cells are checked one by one (empty is allowed)."""
    checks = []
    for i in range(0, len(required), CHUNK):
        part = required[i:i + CHUNK]
        joined = "concat(" + ", ',', ".join(f"coalesce({c}, '')" for c in part) + ")" if len(part) > 1 \
            else f"coalesce({part[0]}, '')"
        pattern = ",".join([CELL_RE] * len(part))
        checks.append(f"NOT regexp_full_match({joined}, '{pattern}')")
    checks += [f"NOT {cell_ok_sql(c, optional=True)}" for c in optional]
    return checks


def cell_ok_sql(c: str, *, optional: bool) -> str:
    """SQL: true when the cell ``c`` is an accepted count (or, when ``optional``, empty/NULL)."""
    ok = f"coalesce(regexp_full_match({c}, '{CELL_RE}'), false)"
    if optional:
        ok = f"({c} IS NULL OR regexp_full_match({c}, '{BLANK_RE}') OR {ok})"
    return ok


def value_sql(c: str) -> str:
    """SQL: the BIGINT value of an accepted count cell (NULL for an empty one).

    Exact for every form :data:`CELL_RE` accepts: ``translate`` deletes whitespace and group separators,
    leaving digits and perhaps a zero fraction, which the cast reads exactly. A refused cell may give
    anything (TRY_: its row is rejected in the same pass)."""
    drop = (WHITESPACE + GROUP_SEPARATORS).replace("'", "''")
    return f"TRY_CAST(translate({c}, '{drop}', '') AS BIGINT)"


def _shown(v: str) -> str:
    return repr(v) if len(v) <= 40 else repr(v[:20]) + f"... ({len(v)} characters)"



def accepted(value: str | None) -> bool:
    """Python mirror of :data:`CELL_RE` (the tests hold the two to the same answers)."""
    return value is not None and _PY_CELL.fullmatch(value) is not None


def problem(value: str | None) -> str:
    """Why ``value`` is not an accepted count cell, in words (for the InputError)."""
    v = (value or "").strip(WHITESPACE)
    digits = re.sub(f"[{re.escape(GROUP_SEPARATORS)}]", "", v)
    if v == "":
        return "empty count (a vote cell must hold a number)"
    if v.lower() in ("true", "false"):
        return f"boolean {v!r} where a count is expected"
    if re.fullmatch(r"[-\u2212]\s*[0-9][0-9.,' ]*", v):
        return f"negative count {_shown(v)}"
    if re.fullmatch(r"[0-9]{1,3}([.,][0-9]{3})+", v):
        return (f"ambiguous count {_shown(v)}: commas and dots are not read as thousands separators "
                "(write plain digits, or group them with spaces: 1 234)")
    if re.fullmatch(r"[0-9]*[.,][0-9]+", v):
        return f"fractional count {_shown(v)}"
    if re.fullmatch(r"[0-9]+", digits) and (len(digits.lstrip("0")) > 10 or int(digits) > MAX_COUNT):
        return f"count {_shown(v)} too large: above the plausible maximum of {MAX_COUNT:,} per cell"
    if re.fullmatch(r"[0-9]+([ \u00a0\u2007\u2009\u202f'\u2019][0-9]+)+", v):
        return f"digit groups must be of three {_shown(v)}"
    return f"not a whole number {_shown(v)}"
