"""What every command shares: VOTEAUDIT_DB, no store created by reading commands, missing extras named in
one line, user text never reaching the terminal as escape sequences, readable help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voteaudit.cli import app

WIDE = "region,table,registered,A,B\n1,1,100,40,30\n1,2,120,50,40\n2,3,90,20,60\n"
INGEST = ["--source", "s", "--kind", "official", "--unit", "region", "--unit", "table", "--registered", "registered",
          "--candidate", "A", "--candidate", "B"]

# Every command that takes --db, with the arguments it needs to get as far as opening the store.
READERS = [["compare"], ["estimate", "--source", "s"], ["forensics", "--source", "s"], ["conflicts", "--source", "s"],
           ["unit", "1.1"], ["power", "--source", "s", "--sims", "1"], ["report", "--out", "rep"],
           ["publish", "--out", "site"], ["pvt", "plan", "--source", "s", "--seed", "1"],
           ["pvt", "estimate", "--source", "s"], ["audit", "status", "--source", "s"]]
WRITERS = [["audit", "plan", "--source", "s"], ["audit", "sample", "--source", "s", "--seed", "1", "--size", "2"],
           ["announce", "bulletins.json"]]


def run(args: list[str], cwd: Path, env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voteaudit.cli", *args], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True, check=False, **kw)


@pytest.fixture
def elsewhere(tmp_path: Path) -> tuple[Path, Path]:
    """An empty working directory and, elsewhere, a store named only by VOTEAUDIT_DB."""
    work, data = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    data.mkdir()
    return work, data / "store.duckdb"


def test_reading_commands_never_create_a_store(elsewhere: tuple[Path, Path]) -> None:
    work, db = elsewhere
    runner = CliRunner()
    for args in READERS:
        res = runner.invoke(app, args, env={"VOTEAUDIT_DB": str(db)}, catch_exceptions=False)
        assert res.exit_code == 2, (args, res.output)
        assert "no such store" in res.stderr and str(db) in res.stderr, (args, res.stderr)
        assert "VOTEAUDIT_DB" in res.stderr
        assert not db.exists() and not (work / "voteaudit.duckdb").exists() and not Path("voteaudit.duckdb").exists()


def test_every_command_honours_voteaudit_db(elsewhere: tuple[Path, Path], tmp_path: Path) -> None:
    work, db = elsewhere
    (work / "r.csv").write_text(WIDE, encoding="utf-8")
    (work / "bulletins.json").write_text('{"bulletins": [{"name": "b1", "results": [{"candidate": "A", "votes": 110}, '
                                         '{"candidate": "B", "votes": 130}]}]}', encoding="utf-8")
    env = {"VOTEAUDIT_DB": str(db)}
    assert run(["ingest", "r.csv", *INGEST], work, env).returncode == 0
    for args in READERS + WRITERS:
        res = run(args, work, env, timeout=300)
        assert "no such store" not in res.stderr, (args, res.stderr)
        assert "Traceback" not in res.stderr, (args, res.stderr)
    assert db.exists()
    assert not (work / "voteaudit.duckdb").exists(), "a command ignored VOTEAUDIT_DB and made ./voteaudit.duckdb"


BLOCK = ("import sys\n"
         "for name in {mods!r}: sys.modules[name] = None  # as on a core install without the extra\n"
         "from voteaudit.cli import main\n"
         "main({args!r}, prog_name='voteaudit')\n")


@pytest.mark.parametrize(("mods", "args", "extra"), [
    (["cv2", "zxingcpp", "PIL", "segno", "pypdfium2"], ["scan", "sheet.png", "--source", "obs"], "scan"),
    (["psycopg"], ["compare", "--db", "postgresql://127.0.0.1:5432/test"], "server"),
    (["uvicorn", "fastapi"], ["serve", "--db", "postgresql://127.0.0.1:5432/test"], "server"),
])
def test_missing_extra_is_one_line_naming_it(tmp_path: Path, mods: list[str], args: list[str], extra: str) -> None:
    (tmp_path / "sheet.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    res = subprocess.run([sys.executable, "-c", BLOCK.format(mods=mods, args=args)], cwd=tmp_path,
                         capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert f"pip install 'voteaudit[{extra}]'" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_names_never_put_escape_sequences_on_the_terminal(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    evil = "Ev\x1b]0;pwned\x07il\x1b[2J"
    (tmp_path / "r.csv").write_text(WIDE.replace(",A,B", f",A,\"{evil}\""), encoding="utf-8")
    runner = CliRunner()
    args = [a if a != "B" else evil for a in INGEST]
    assert runner.invoke(app, ["ingest", str(tmp_path / "r.csv"), *args, "--db", str(db)]).exit_code == 0
    for cmd in (["compare"], ["unit", "1.1"], ["conflicts", "--source", "s"]):
        res = runner.invoke(app, [*cmd, "--db", str(db)], color=True)
        assert res.exit_code == 0, res.output
        assert "\x1b]" not in res.stdout and "\x1b[2J" not in res.stdout and "\x07" not in res.stdout
    assert "\\x1b" in runner.invoke(app, ["compare", "--db", str(db)]).stdout  # shown, escaped


def test_unit_is_a_table_for_people(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    (tmp_path / "r.csv").write_text(WIDE, encoding="utf-8")
    runner = CliRunner()
    runner.invoke(app, ["ingest", str(tmp_path / "r.csv"), *INGEST, "--db", str(db)], catch_exceptions=False)
    res = runner.invoke(app, ["unit", "1.2", "--db", str(db)], catch_exceptions=False)
    assert res.exit_code == 0
    assert "{" not in res.stdout and "'" not in res.stdout  # no Python repr
    lines = {line.split("│")[1].strip(): line for line in res.stdout.splitlines() if line.count("│") >= 3}
    assert "120" in lines["registered"] and "50" in lines["A"] and "40" in lines["B"]
    assert "r.csv row" in res.stdout and str(tmp_path) not in res.stdout  # file name, never a local path


def test_help_shows_placeholders_not_python_types() -> None:
    res = CliRunner().invoke(app, ["ingest", "--help"], terminal_width=200)
    assert res.exit_code == 0
    for bad in ("<list[str]>", "<bool>", "<str>", "<int>", "<float>"):
        assert bad not in res.stdout
    res = subprocess.run([sys.executable, "-m", "voteaudit.cli", "ingest", "--help"], capture_output=True, text=True,
                         check=True)
    assert "--source SOURCE" in res.stdout and "--kind official|independent|observer|audit" in res.stdout
    assert "<list[str]>" not in res.stdout and "<bool>" not in res.stdout


def test_help_does_not_load_the_analysis_stack() -> None:
    code = ("import sys; from voteaudit.cli import main\n"
            "try:\n    main(['compare', '--help'], prog_name='voteaudit')\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'scipy', 'pyarrow', 'jinja2', 'fastapi', 'voteaudit.store') "
            "if m in sys.modules]\nprint('HEAVY=' + ','.join(heavy))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip().splitlines()[-1] == "HEAVY="


def test_the_command_line_needs_no_click() -> None:
    """Typer >= 0.2x no longer installs Click: the CLI must not import it (core install, README's demo)."""
    block = "import sys; sys.modules['click'] = None\n"
    if subprocess.run([sys.executable, "-c", block + "import typer"], capture_output=True, check=False).returncode:
        pytest.skip("this Typer is built on Click")
    code = (block + "from voteaudit.cli import main\n"
            "main(['ingest', '--help'], prog_name='voteaudit')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert "--source SOURCE" in res.stdout
