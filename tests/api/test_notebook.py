"""A notebook session: ingest a DataFrame and a file, read results, compare and forensics as DataFrames, and
check them against the command line's JSON for the same store."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import voteaudit
from voteaudit.cli import app
from voteaudit.model import InputError
from voteaudit.simulate import simulate, write


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    election = simulate(600, candidates=3, regions=4, seed=7)
    path = tmp_path / "official.csv"
    write(election, path)
    frame = pd.read_csv(path)
    observers = frame.sample(frac=0.6, random_state=1).reset_index(drop=True)
    observers.loc[0, "Candidate A"] += 25  # one altered sheet
    return path, observers


def cli_json(db: Path, *args: str) -> object:
    res = CliRunner().invoke(app, [*args, "--db", str(db), "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_notebook_session_matches_the_cli(tmp_path: Path, files: tuple[Path, pd.DataFrame]) -> None:
    path, observers = files
    db = tmp_path / "e.duckdb"
    cands = ["Candidate A", "Candidate B", "Candidate C"]
    keys = dict(units=["region", "district", "table"], registered="registered", cast="cast", valid="valid",
                null="null", candidates=cands)
    with voteaudit.open(db) as e:
        first = e.ingest(path, source="authority", kind="official", **keys)
        second = e.ingest(observers, source="observers", kind="observer", **keys)
        assert first.records_added == 600 and second.records_added == len(observers)
        assert e.contests == ["main"]
        assert sorted(e.sources["name"]) == ["authority", "observers"]

        res = e.results("authority")
        with path.open(newline="", encoding="utf-8") as fh:  # independent recount of the file
            rows = list(csv.DictReader(fh))
        assert len(res) == len(rows)
        for c in cands:
            assert int(res[c].sum()) == sum(int(r[c]) for r in rows)
        assert int(res["registered"].sum()) == sum(int(r["registered"]) for r in rows)
        assert list(res.columns[:4]) == ["unit", "region", "region_name", "district"]
        one = rows[17]
        got = res[res["unit"] == f"{one['region']}.{one['district']}.{one['table']}".lower()]
        assert len(got) == 1 and int(got["Candidate B"].iloc[0]) == int(one["Candidate B"])
        assert (got["region"].iloc[0], got["district"].iloc[0], got["table"].iloc[0]) == \
            (one["region"].lower(), one["district"].lower(), one["table"].lower())  # each level's own key

        cmp = e.compare()
        fx = e.forensics("authority", tests=["second_digit", "last_digit"])
        est = e.estimate("observers", n_boot=200)
    cli_est = cli_json(db, "estimate", "--source", "observers", "--boot", "200")["estimate"]["estimates"]
    assert sorted(est["candidate"]) == sorted(cli_est) == sorted(cands)
    for _, row in est.iterrows():
        assert row["share"] == pytest.approx(cli_est[row["candidate"]]["share"])
        assert row["ci_low"] == pytest.approx(cli_est[row["candidate"]]["ci_low"])
    doc = cli_json(db, "compare")
    for s in doc["sources"]:
        mine = cmp[cmp["source"] == s["name"]].set_index("candidate")
        assert {c: int(v) for c, v in mine["votes"].items()} == s["totals"]
        assert np.allclose([mine.loc[c, "share"] for c in s["shares"]], list(s["shares"].values()))
    assert cmp.attrs["summary"]["comparison"]["pairs"][0]["differ"] == doc["comparison"]["pairs"][0]["differ"] == 1

    cli_fx = cli_json(db, "forensics", "--source", "authority", "--test", "second_digit", "--test", "last_digit")
    assert len(fx) == len(cli_fx)
    for (_, row), ref in zip(fx.iterrows(), cli_fx, strict=True):
        assert (row["test"], row["target"]) == (ref["test"], ref["target"])
        for key in ("statistic", "p_value"):
            assert pd.isna(row[key]) if ref[key] is None else row[key] == pytest.approx(ref[key]), key
        assert bool(row["flagged"]) == ref["flagged"]


def test_a_malformed_dataframe_is_rejected_whole(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    frame = pd.DataFrame({"table": ["1", "2", "3"], "A": ["10", "x", "30"], "B": [1, 2, 3]})
    with voteaudit.open(db) as e:
        with pytest.raises(InputError, match="row"):
            e.ingest(frame, source="s", kind="official", units=["table"], candidates=["A", "B"])
        assert e.sources.empty

