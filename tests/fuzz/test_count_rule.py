"""The count-cell rule's three expressions agree: the RE2 pattern DuckDB runs, its Python mirror, the SQL
value — and all three agree with the fuzzer's independent reading of the documented rule."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.test_ingest_fuzz import Bad, count_text
from voteaudit.ingest import counts

ALPHABET = "0123456789 .,'-+e\u00a0\u2007\u2009\u202f\u2019\u3000\t\n\u2028\x85x"
CON = duckdb.connect()


def duck(text: str) -> tuple[bool, int | None]:
    return CON.execute(f"SELECT regexp_full_match($1, '{counts.CELL_RE}'), {counts.value_sql('$1')}",
                       [text]).fetchone()


@settings(max_examples=600, deadline=None, derandomize=True, database=None)
@given(st.one_of(st.text(alphabet=ALPHABET, max_size=14), st.integers(0, 2 * 10**9).map(str),
                 st.integers(0, 10**9).map(lambda n: f"{n:,}".replace(",", " "))))
def test_patterns_value_and_oracle_agree(text):
    matched, value = duck(text)
    assert matched == counts.accepted(text), text
    try:
        expected = count_text(text)
    except Bad:
        expected = "refused"
    if matched:
        assert value == expected, (text, value, expected)
    else:
        assert expected in ("refused", None), (text, expected)  # None: empty, allowed only where optional
        assert counts.problem(text)


@pytest.mark.parametrize(("text", "value"), [
    ("0", 0), ("1000000000", 10**9), ("1 000 000 000", 10**9), ("\u3000 42\u00a0", 42), ("042", 42),
    ("12.0", 12), ("1234.000", 1234), ("1.0000", 1), ("999\u202f999\u202f999", 999_999_999),
])
def test_accepted_forms(text, value):
    assert duck(text) == (True, value)


@pytest.mark.parametrize(("text", "words"), [
    ("1000000001", "too large"), ("1 000 000 001", "too large"), ("1,000", "ambiguous"),
    ("1.000", "ambiguous"), ("1.5", "fractional"), ("-1", "negative"), ("\u22121", "negative"),
    ("true", "boolean"), ("1 00", "digit groups"), ("", "empty"), ("9" * 5000, "5000 characters"),
])
def test_refused_forms_say_why(text, words):
    assert duck(text)[0] is False
    assert words in counts.problem(text)
