"""The one unit-key normaliser: SQL ingest and Python (scans, publish links, crosswalks, server) agree."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voteaudit.names import register_udf, unit_id, unit_part, unit_part_sql

# Text as real key columns hold it, plus every kind of character the rule treats specially.
SPECIAL = st.sampled_from(["0", "7", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u00a0", "\u2007", "\u3000",
                           "\uff10", "\uff17", "\ufb01", "\u00e9", "e\u0301", "\u00df", "\u0130", ".", "%", " ",
                           "\u0661", "\u00b2", "\u2460", "A", "z"])
KEYS = st.lists(st.one_of(st.text(max_size=4), SPECIAL), max_size=8).map("".join)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    register_udf(c)
    yield c
    c.close()


def sql_part(con: duckdb.DuckDBPyConnection, values: list[str]) -> list[str]:
    con.execute("CREATE OR REPLACE TEMP TABLE k AS SELECT unnest($1::VARCHAR[]) AS v, generate_subscripts($1, 1) AS i",
                [values])
    return [r[0] for r in con.execute(f"SELECT {unit_part_sql('v')} FROM k ORDER BY i").fetchall()]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(KEYS, min_size=1, max_size=30))
def test_sql_and_python_agree_on_any_string(con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
    """A batch mixes ASCII rows (SQL branch) and others (UDF branch), as a real column does."""
    values = [v.replace("\x00", "") for v in values]   # DuckDB text cannot hold NUL; files cannot give one
    assert sql_part(con, values) == [unit_part(v) for v in values]


@pytest.mark.parametrize(("raw", "key"), [
    ("007\t", "7"), ("\u00a0007 ", "7"), ("\uff10\uff10\uff17", "7"), ("000", "0"), ("0 07", "0 07"),
    ("\ufb01n", "fin"), ("Bol\u00edvar", "bolivar"), ("Boli\u0301var", "bolivar"), ("STRASSE", "strasse"),
    ("Stra\u00dfe", "strasse"), ("San  Juan\t\n", "san juan"), ("1.2", "1%2E2"), ("50%", "50%25"),
    ("\u0661\u0662", "\u0661\u0662"),  # Arabic-Indic digits are not folded to 0-9 by NFKC: kept as text
])
def test_known_cases(con: duckdb.DuckDBPyConnection, raw: str, key: str) -> None:
    assert unit_part(raw) == key
    assert sql_part(con, [raw]) == [key]


def test_unit_id_joins_parts() -> None:
    assert unit_id(["01", "Ｓｕｒ", " 003"]) == "1.sur.3"
