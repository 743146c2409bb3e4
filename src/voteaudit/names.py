"""Name matching and the one unit-key normaliser.

The same candidate written differently by two sources is one candidate (:func:`candidate_key`),
and the same table keyed differently is one table (:func:`unit_part`). Unit keys are normalised
by one rule, written here in Python and mirrored in SQL by :func:`unit_part_sql` (what ingest runs
over a whole file); ``tests/checks/test_names.py`` proves the two agree on any string:

1. Unicode NFKC compatibility normalisation: full-width digits and letters become ASCII
   (``００７`` = ``007``), ligatures are spelled out (``ﬁ`` = ``fi``), non-breaking and other
   Unicode spaces become spaces;
2. every run of whitespace (as Python's ``\\s``) becomes one space, and the ends are trimmed;
3. an all-digit part (ASCII ``0-9``) loses its leading zeros (``007`` = ``7``, ``000`` = ``0``);
   any other part loses its accents (NFKD, combining marks dropped) and is case-folded;
4. ``%`` and ``.`` are written ``%25`` and ``%2E`` (a unit id joins parts with ``.``).

SQL evaluates the rule itself for ASCII text (nearly every key); text with other characters is
handed to the Python function through a vectorised DuckDB UDF, once per distinct value.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

#: ASCII characters Python's ``\s`` matches (RE2's ``\s`` lacks \v and \x1c-\x1f: spelled out for SQL).
_ASCII_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "
_SPACE_RE = re.compile(r"\s+")
_DIGITS_RE = re.compile(r"[0-9]+")
UDF = "voteaudit_unit_part"


def candidate_key(name: str) -> str:
    """Accent-, case- and whitespace-insensitive key: "Nicolás  MADURO" -> "nicolas maduro"."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip().casefold()


@lru_cache(maxsize=1 << 16)
def unit_part(text: str) -> str:
    """Normalised unit-key part (the rule in the module docstring): ``" 007\\t"`` -> ``"7"``."""
    t = _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", str(text))).strip(" ")
    if _DIGITS_RE.fullmatch(t):
        t = t.lstrip("0") or "0"
    else:
        t = "".join(ch for ch in unicodedata.normalize("NFKD", t) if not unicodedata.combining(ch)).casefold()
    return t.replace("%", "%25").replace(".", "%2E")


def unit_id(parts: list[str]) -> str:
    """Unit id from raw key parts, outermost first."""
    return ".".join(unit_part(p) for p in parts)


def _unit_part_arrow(values: pa.Array) -> pa.Array:
    """The DuckDB UDF: :func:`unit_part` over an Arrow string array, once per distinct value."""
    uniq = pc.unique(values)
    mapped = pa.array([None if v is None else unit_part(v) for v in uniq.to_pylist()], pa.string())
    return mapped.take(pc.index_in(values, value_set=uniq))


def register_udf(con: duckdb.DuckDBPyConnection) -> None:
    """Make :func:`unit_part_sql` usable on ``con`` (the non-ASCII branch calls Python)."""
    if con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [UDF]).fetchall()[0][0]:
        return
    con.create_function(UDF, _unit_part_arrow, ["VARCHAR"], "VARCHAR", type="arrow", side_effects=False)


def unit_part_sql(expr: str) -> str:
    """SQL (DuckDB) computing :func:`unit_part` of the text ``expr``; needs :func:`register_udf` on the connection.

    ASCII text is normalised in SQL (NFKC and NFKD leave ASCII unchanged, case-folding is ``lower``);
    other text calls the Python rule. The regular expressions run only where needed: they are slow.
    """
    cls = "[" + "".join(f"\\x{ord(c):02x}" for c in _ASCII_SPACE) + "]"
    odd = "[" + "".join(f"\\x{ord(c):02x}" for c in _ASCII_SPACE if c != " ") + "]|  "
    t = (f"CASE WHEN regexp_matches({expr}, '{odd}') THEN trim(regexp_replace({expr}, '{cls}+', ' ', 'g')) "
         f"ELSE trim({expr}) END")
    part = f"CASE WHEN regexp_full_match({t}, '[0-9]+') THEN coalesce(nullif(ltrim({t}, '0'), ''), '0') " \
           f"ELSE lower({t}) END"
    escaped = (f"CASE WHEN contains({expr}, '.') OR contains({expr}, '%') THEN replace(replace({part}, '%', '%25'), "
               f"'.', '%2E') ELSE {part} END")
    return f"CASE WHEN strlen({expr}) = length({expr}) THEN {escaped} ELSE {UDF}({expr}) END"
