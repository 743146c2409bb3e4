"""The CLI contract: --json prints exactly one document, errors go to stderr, --help teaches."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.spine.conftest import WIDE, WIDE_FLAGS, write


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voteaudit.cli", *args], capture_output=True, text=True, check=False)


def test_json_stdout_is_one_document_and_errors_on_stderr(tmp_path):
    db = str(tmp_path / "s.duckdb")
    data = write(tmp_path / "r.csv", WIDE + "R1,D1,1,500,300,5,200,100\n")
    ok = run("ingest", str(data), *WIDE_FLAGS, "--db", db, "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["records_added"] == 1
    cmp = run("compare", "--db", db, "--json")
    assert json.loads(cmp.stdout)["sources"][0]["totals"] == {"Alice": 200, "Bob": 100}
    bad = run("ingest", str(tmp_path / "missing.csv"), *WIDE_FLAGS, "--db", db, "--json")
    assert bad.returncode != 0 and bad.stdout == "" and "missing.csv" in bad.stderr


def test_markup_in_names_is_printed_literally(tmp_path):
    db = str(tmp_path / "s.duckdb")
    data = write(tmp_path / "r.csv", "unit,[bold]Evil[/bold] <script>\n1,5\n")
    res = run("ingest", str(data), "--source", "x", "--kind", "observer", "--unit", "unit",
              "--candidate", "[bold]Evil[/bold] <script>", "--db", db)
    assert res.returncode == 0, res.stderr
    res = run("compare", "--db", db)
    assert "[bold]Evil[/bold] <script>" in res.stdout


@pytest.mark.parametrize("command", ["ingest", "announce", "compare", "demo", "report", "conflicts", "unit"])
def test_help_teaches(command):
    res = run(command, "--help")
    assert res.returncode == 0
    assert "--db" in res.stdout and "--json" in res.stdout
    top = run("--help")
    assert command in top.stdout and "demo" in top.stdout
