"""What every file export shares: file names made from untrusted names, and spreadsheet-safe CSV cells.

File names: :func:`safe_name` turns a source or candidate name into one path segment that is injective
(a plain short name is kept as it is; any other gets a slug and 8 hex digits of the exact name's
SHA-256, so "x/y" and "x?y" never share a file), bounded in length (a 300-character name gives a
49-character segment, well under every file system's 255) and never climbs out of its directory.
Writers still check that no two names they write share a segment (:func:`distinct_names`): a hash
prefix makes a collision unlikely, the check makes it impossible to go unnoticed.

CSV (OWASP "CSV Injection"): a spreadsheet treats a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return as a formula (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``, ``@SUM(...)``). Every
text cell and header voteaudit writes to a CSV file goes through :func:`csv_cell` (or :func:`csv_table`
for Arrow tables), which prefixes such a cell with a single quote ``'``: the spreadsheet shows the text
instead of running it; strip one leading ``'`` to get the original. Numbers are written as numbers.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_RE = "^[=+@\\t\\r-]"


_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_HASHED = re.compile(r".*-[0-9a-f]{8}")


def safe_name(text: str, *, limit: int = 40, hashed: bool = False) -> str:
    """A file-name segment for a user-supplied name: the name itself when it is plain (ASCII letters,
    digits, ``-``, ``_``, at most 40, not ending like a hashed name), else at most ``limit`` such
    characters then ``-`` and 8 hex digits of the name's SHA-256. Plain and hashed segments never
    coincide, and nothing can climb out of the directory (``../``, ``%2e``, ``/``). ``hashed``: always
    the hashed form."""
    if not hashed and _PLAIN.fullmatch(text) and not _HASHED.fullmatch(text):
        return text
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")[:limit].strip("_-") or "x"
    return f"{base}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


def distinct_names(names: list[str]) -> dict[str, str]:
    """``{name: segment}`` from :func:`safe_name`, distinct even on a case-insensitive file system (plain
    names equal but for case get the hashed form); refuses, rather than overwrite a file, if two names
    still share a segment (a hash-prefix collision)."""
    from voteaudit.model import VoteauditError

    unique = list(dict.fromkeys(names))
    folded: dict[str, int] = {}
    for name in unique:
        folded[safe_name(name).lower()] = folded.get(safe_name(name).lower(), 0) + 1
    out = {n: safe_name(n, hashed=folded[safe_name(n).lower()] > 1) for n in unique}
    seen: dict[str, str] = {}
    for name, seg in out.items():
        if seg.lower() in seen:
            raise VoteauditError(f"sources {seen[seg.lower()]!r} and {name!r} would share the file name {seg!r}: "
                                 "rename one of them")
        seen[seg.lower()] = name
    return out


def csv_cell(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would read as a formula; then ``'`` + text."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _neutralise(col: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return col
    hit = pc.match_substring_regex(col, _FORMULA_RE)
    return pc.if_else(hit, pc.binary_join_element_wise(pa.scalar("'", col.type), col, pa.scalar("", col.type)), col)


def csv_table(table: pa.Table) -> pa.Table:
    """``table`` with every text column and every column name passed through the :func:`csv_cell` rule
    (column-wise, for ``pyarrow.csv.write_csv``)."""
    return pa.Table.from_arrays([_neutralise(c) for c in table.columns],
                                names=[csv_cell(name) for name in table.column_names])
