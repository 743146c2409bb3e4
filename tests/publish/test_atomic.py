"""Publishing never follows a link, never deletes outside ``--out``, and swaps the new site in atomically
(issue 13, defects 3 and 13)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from voteaudit.model import VoteauditError
from voteaudit.publish import publish, verify
from voteaudit.store import open_store

FORMAT = "voteaudit-publication/1"


def _publish(db: Path, out: Path, **kw) -> dict:
    with open_store(db, read_only=True) as store:
        return publish(store, out, report=False, **kw)


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def test_a_manifest_naming_a_symlinked_directory_deletes_nothing_outside(evil_db, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("precious")
    out = tmp_path / "site"
    out.mkdir()
    (out / "link").symlink_to(outside, target_is_directory=True)
    (out / "manifest.json").write_text(json.dumps({"format": FORMAT, "files": {"link/victim.txt": {}}}))
    with pytest.raises(VoteauditError, match="symbolic link"):
        _publish(evil_db, out)
    assert (outside / "victim.txt").read_text() == "precious"
    assert (out / "link").is_symlink() and (out / "manifest.json").exists()
    assert _siblings(out) == ["outside"]   # no staging directory left behind


def test_out_itself_a_symlink_is_refused(evil_db, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "site").symlink_to(real, target_is_directory=True)
    with pytest.raises(VoteauditError, match="symbolic link"):
        _publish(evil_db, tmp_path / "site")
    assert list(real.iterdir()) == []


def test_a_failed_run_leaves_the_old_site_intact(evil_db, tmp_path):
    out = tmp_path / "site"
    old = _publish(evil_db, out, title="old")

    def boom(step: str) -> None:
        if step.startswith("writing bulk"):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        _publish(evil_db, out, title="new", step=boom)
    res = verify(out, root=old["root"])
    assert res.ok, res.to_dict()
    assert _siblings(out) == []
    new = _publish(evil_db, out, title="new")
    assert verify(out, root=new["root"]).ok and new["root"] != old["root"]
    assert _siblings(out) == []


KILL = """
import os, signal, sys
from voteaudit.publish import publish
from voteaudit.store import open_store

def step(s):
    if s.startswith(sys.argv[3]):
        os.kill(os.getpid(), signal.SIGKILL)

with open_store(sys.argv[1], read_only=True) as store:
    publish(store, sys.argv[2], report=False, title="killed", step=step)
"""


@pytest.mark.parametrize("at", ["writing table shards", "writing manifest.json", "swapping"])
def test_a_killed_run_leaves_the_old_site_and_nothing_publish_refuses(evil_db, tmp_path, at):
    out = tmp_path / "site"
    old = _publish(evil_db, out, title="old")
    proc = subprocess.run([sys.executable, "-c", KILL, str(evil_db), str(out), at], capture_output=True,
                          timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert verify(out, root=old["root"]).ok       # readers still see the old release, whole
    assert _siblings(out)                         # the killed run's staging directory and stamp
    new = _publish(evil_db, out, title="again")   # ... which the next run accepts and cleans up
    assert verify(out, root=new["root"]).ok
    assert _siblings(out) == []


def test_stale_cleanup_leaves_live_and_foreign_directories(tmp_path):
    from voteaudit.publish.staging import clean_stale

    out = tmp_path / "site"
    live = tmp_path / ".site.voteaudit-aaaa"
    live.mkdir()
    (tmp_path / ".site.voteaudit-aaaa.pid").write_text(json.dumps({"pid": os.getpid(),
                                                                   "host": socket.gethostname()}))
    foreign = tmp_path / ".site.voteaudit-bbbb"   # no stamp: not ours
    foreign.mkdir()
    (foreign / "keep").write_text("x")
    assert clean_stale(out) == []
    assert live.is_dir() and (foreign / "keep").exists()


def test_a_relative_out_is_staged_beside_it(evil_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "db").mkdir()
    first = _publish(evil_db, Path("site"))
    second = _publish(evil_db, Path("site/../site"), title="again")
    assert verify(tmp_path / "site", root=second["root"]).ok and first["root"] != second["root"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "site"]
