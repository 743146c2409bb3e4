"""Batch scans: folders, duplicate files, conflicting copies, unreadable images, process pool."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import altered

from voteaudit.ingest.scan import scan, sheets


@pytest.fixture(scope="module")
def batch(images, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("batch")
    (root / "sub").mkdir()
    (root / ".hidden").mkdir()
    clean_path, clean = images["clean"]
    shutil.copy(clean_path, root / "a.jpg")
    shutil.copy(clean_path, root / "sub" / "a-copy.jpg")              # same bytes, other name
    shutil.copy(images["light"][0], root / "light.jpg")
    shutil.copy(images["default"][0], root / "sub" / "default.jpg")
    other = altered(clean)                                             # same table, other numbers
    sheets.render_sheet(other, distortion="light", seed=8).save(root / "conflict.jpg", quality=85)
    sheets.render_sheet(clean, distortion="light", seed=9).save(root / "sub" / "repeat.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8 nonsense")
    (root / "readme.txt").write_text("skipped: not an image suffix")
    (root / ".hidden" / "x.jpg").write_bytes(b"skipped")
    return root, {"clean": clean, "other": other}


def test_scan_folder(batch) -> None:
    root, truth = batch
    seen: list[tuple[int, int]] = []
    report = scan([root], progress=lambda done, total: seen.append((done, total)))
    names = sorted(Path(im.path).name for im in report.images)
    assert names == ["a.jpg", "broken.jpg", "conflict.jpg", "default.jpg", "light.jpg", "repeat.png"]
    assert seen[-1] == (6, 6) and len(seen) == 6

    # the same image twice: one record, both file names kept
    [dup] = report.duplicates
    assert [Path(p).name for p in dup] == ["a.jpg", "a-copy.jpg"]
    [a] = [im for im in report.images if im.path.endswith("a.jpg")]
    assert [Path(p).name for p in a.paths] == ["a.jpg", "a-copy.jpg"]

    # the same table with different numbers: a conflict, both copies kept
    [conflict] = report.conflicts
    assert conflict.unit_parts == truth["clean"].unit_parts
    assert sorted(Path(c.path).name for c in conflict.copies) == ["a.jpg", "conflict.jpg", "repeat.png"]
    psuv = sorted(c.sheet.selections["PSUV"] for c in conflict.copies)
    assert psuv == sorted([truth["clean"].selections["PSUV"]] * 2 + [truth["other"].selections["PSUV"]])

    # unreadable images come back with a reason
    assert [(Path(p).name, "not an image" in r) for p, r in report.unreadable] == [("broken.jpg", True)]
    assert len(report.sheets) == 5 and report.rejected == []


def test_repeats_without_conflict(batch) -> None:
    root, truth = batch
    report = scan([root / "a.jpg", root / "sub" / "repeat.png", root / "missing.jpg"])
    assert report.conflicts == []
    [rep] = report.repeats
    assert rep.unit_id == truth["clean"].unit_id and len(rep.copies) == 2
    assert report.unreadable == [(str(root / "missing.jpg"), "no such file or folder")]


def test_parallel_matches_serial(batch) -> None:
    root, _ = batch
    one, two = scan([root], workers=1), scan([root], workers=2)

    def key(r):
        return [(im.path, im.page, im.sha256, [s.raw for s in im.sheets], im.error, im.also)
                for im in r.images]

    assert key(one) == key(two)
    assert len(two.conflicts) == 1 and two.duplicates == one.duplicates


def test_registered_lookup_flags(batch) -> None:
    root, truth = batch
    clean = truth["clean"]
    report = scan([root / "a.jpg"], registered={clean.unit_id: clean.total - 1})
    [sheet] = report.images[0].sheets
    assert sheet.registered == clean.total - 1
    assert any("exceed registered" in p for p in sheet.problems)
