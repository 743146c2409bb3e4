"""Property: every single-byte change, deletion or insertion in any file of a site, and every file removed
or added, makes ``verify`` fail and name the file."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voteaudit.publish import verify


def _files(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_byte_edit_is_detected(evil_site, tmp_path_factory, data):
    site = evil_site[0]
    names = _files(site)
    # weight the manifest files and shards: the interesting targets
    rel = data.draw(st.one_of(st.sampled_from(names), st.sampled_from(
        ["manifest.json", "manifest.sha256", "tables/000000.json", "root.json"])))
    op = data.draw(st.sampled_from(["flip", "delete", "insert", "remove_file", "add_file"]))
    work = tmp_path_factory.mktemp("t") / "site"
    shutil.copytree(site, work)
    path = work / rel
    raw = bytearray(path.read_bytes())
    if op == "remove_file":
        path.unlink()
    elif op == "add_file":
        extra = data.draw(st.sampled_from(["new.html", "tables/999999.json", "assets/x.js", ".hidden"]))
        (work / extra).write_bytes(b"x")
    elif op == "insert" or not raw:
        i = data.draw(st.integers(0, len(raw)))
        raw.insert(i, data.draw(st.integers(0, 255)))
        path.write_bytes(bytes(raw))
    else:
        i = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[i] ^= data.draw(st.integers(1, 255))
        else:
            del raw[i]
        path.write_bytes(bytes(raw))
    res = verify(work)
    assert not res.ok, (rel, op)
    named = res.changed + res.added + res.removed
    if op == "add_file":
        assert extra in res.added
    elif rel not in ("manifest.json", "manifest.sha256"):
        assert rel in named, (rel, op, res.to_dict())
    shutil.rmtree(work.parent)
