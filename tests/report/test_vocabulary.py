"""``ingest --unit-label``: the election's own name for a unit, kept in the store (both backends) and used by the
report; a bad label is refused before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.store.conftest import pg_schema_url
from voteaudit.cli import app
from voteaudit.model import InputError
from voteaudit.report.build import write_report
from voteaudit.store import open_store
from voteaudit.store.base import unit_vocabulary

CSV = "county,precinct,registered,A,B\nAllegheny,1,100,40,30\nAllegheny,2,120,50,40\nErie,1,90,20,50\n"


@pytest.fixture(params=["duckdb", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "duckdb":
        yield str(tmp_path / "store.duckdb")
    else:
        yield from pg_schema_url()


@pytest.fixture
def cli():
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _ingest(cli, db: str, tmp_path: Path, *extra: str):
    f = tmp_path / "results.csv"
    f.write_text(CSV, encoding="utf-8")
    return cli("ingest", str(f), "--source", "county-results", "--kind", "official", "--unit", "county",
               "--unit", "precinct", "--registered", "registered", "--candidate", "A", "--candidate", "B",
               "--db", db, *extra)


def test_unit_label_reaches_the_report(cli, db_url, tmp_path):
    r = _ingest(cli, db_url, tmp_path, "--unit-label", "precinct")
    assert r.exit_code == 0, r.output
    with open_store(db_url) as store:
        assert store.vocabulary() == {"unit": "precinct", "units": "precincts"}
        doc = write_report(store, tmp_path / "out", analyse=False)
    assert doc["election"]["vocabulary"]["units"] == "precincts"
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "3 precincts in source “county-results”" in page
    assert ">Precincts<" in page and ">Tables<" not in page
    assert "official results" in page and "tally sheets" not in page  # the source named by its kind
    r = cli("compare", "--db", db_url)
    assert r.exit_code == 0 and "precincts" in r.output and "official results" in r.output
    assert "tables" not in r.output


def test_a_bad_label_is_refused_before_anything_is_written(cli, db_url, tmp_path):
    r = _ingest(cli, db_url, tmp_path, "--unit-label", "a\x1b[31mred")
    assert r.exit_code == 2 and "--unit-label" in r.output
    with open_store(db_url) as store:
        assert store.sources() == [] and store.vocabulary() == {}


@pytest.mark.parametrize(("word", "plural"), [("precinct", "precincts"), ("county", "counties"), ("box", "boxes"),
                                              ("polling day", "polling days")])
def test_default_plural(word, plural):
    assert unit_vocabulary(word)["units"] == plural
    assert unit_vocabulary(word, "Xs")["units"] == "Xs"
    with pytest.raises(InputError):
        unit_vocabulary("x" * 41)
