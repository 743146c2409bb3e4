"""Decoding sheet images: distortions, rotation, perspective, several codes, PDF pages, bad files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import segno
from conftest import EXAMPLE_IPINCE, EXAMPLE_STRVM
from PIL import Image

from voteaudit.ingest.scan import decode_file, parse_payload, sheets
from voteaudit.ingest.scan.decode import decode_image
from voteaudit.ingest.scan.records import Sheet


def _same(a: Sheet, b: Sheet) -> bool:
    return (a.raw, a.unit_parts, a.selections, a.candidates, a.null) == \
        (b.raw, b.unit_parts, b.selections, b.candidates, b.null)


@pytest.mark.parametrize("name", ["clean", "light", "default", "default2"])
def test_decoded_counts_equal_truth(images, name: str) -> None:
    path, truth = images[name]
    [image] = decode_file(path)
    assert image.error is None, image.decode
    assert len(image.sheets) == 1 and _same(image.sheets[0], truth)
    assert image.path == str(path) and image.page is None and len(image.sha256) == 64
    d = image.decode
    assert d["strategy"] in d["tried"] and d["seconds"] > 0 and d["image_size"] == [1600, 1200]
    assert len(d["symbols"][0]["position"]) == 4


def test_rotated_and_perspective(tmp_path: Path) -> None:
    truth = sheets.random_sheet(11)
    page = np.pad(np.asarray(sheets.render_page(truth)), 250, constant_values=120)  # room to turn
    h, w = page.shape
    for angle in [90, 180, 270, 33]:
        mat = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 0.8)
        rotated = cv2.warpAffine(page, mat, (w, h), borderValue=255)
        res = decode_image(rotated)
        assert [s.text for s in res.symbols] == [truth.raw], angle
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0.15 * w, 0.05 * h], [0.9 * w, 0], [w, h], [0, 0.85 * h]])
    skewed = cv2.warpPerspective(page, cv2.getPerspectiveTransform(src, dst), (w, h), borderValue=200)
    assert [s.text for s in decode_image(skewed).symbols] == [truth.raw]
    # heavy distortion includes any rotation angle; this seed decodes
    path = tmp_path / "heavy.jpg"
    sheets.render_sheet(truth, distortion="heavy", seed=1).save(path, quality=80)
    got = decode_file(path)[0]
    assert got.error is None and _same(got.sheets[0], truth)


def test_low_resolution_and_shadow(tmp_path: Path) -> None:
    truth = parse_payload(EXAMPLE_IPINCE)
    img = sheets.render_sheet(truth, distortion="light", seed=5, size=(800, 600))
    arr = np.asarray(img.convert("L")).astype(np.float32)
    arr *= np.linspace(0.35, 1.0, arr.shape[1], dtype=np.float32)[None, :]  # strong light gradient
    Image.fromarray(arr.astype(np.uint8)).save(tmp_path / "low.png")
    [image] = decode_file(tmp_path / "low.png")
    assert [s.raw for s in image.sheets] == [EXAMPLE_IPINCE]


def test_several_codes_on_one_image(tmp_path: Path) -> None:
    a, b = parse_payload(EXAMPLE_STRVM), sheets.random_sheet(7, format="generic")
    path = tmp_path / "two.jpg"
    sheets.render_photo([a, b], distortion="light", seed=2, size=(2000, 1200)).save(path, quality=90)
    [image] = decode_file(path)
    assert sorted(s.raw for s in image.sheets) == sorted([a.raw, b.raw])
    assert {s.payload_format for s in image.sheets} == {"ve2024", "generic"}


def test_multipage_pdf(tmp_path: Path, images) -> None:
    pages = [Image.open(images[n][0]).convert("RGB") for n in ("clean", "default")]
    blank = Image.new("RGB", (1600, 1200), "white")
    path = tmp_path / "batch.pdf"
    pages[0].save(path, "PDF", save_all=True, append_images=[pages[1], blank], resolution=150)
    result = decode_file(path)
    assert [r.page for r in result] == [1, 2, 3]
    assert {r.sha256 for r in result} == {result[0].sha256}
    assert _same(result[0].sheets[0], images["clean"][1])
    assert _same(result[1].sheets[0], images["default"][1])
    assert result[2].sheets == [] and result[2].error == "no QR code found"


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("not an image")
    Image.new("L", (400, 300), 255).save(tmp_path / "blank.png")
    full = (tmp_path / "blank.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(full[: len(full) // 3])
    for name in ("notes.jpg", "blank.png", "truncated.png"):
        [image] = decode_file(tmp_path / name)
        assert image.sheets == [] and image.error, name
    assert "not an image" in decode_file(tmp_path / "notes.jpg")[0].error
    assert decode_file(tmp_path / "blank.png")[0].error == "no QR code found"
    assert "cannot read" in decode_file(tmp_path / "missing.jpg")[0].error


def test_foreign_and_malformed_codes_are_rejected_not_dropped(tmp_path: Path) -> None:
    bad = EXAMPLE_STRVM.replace("105,7,", "105,", 1)  # 37 counts
    for k, text in enumerate(["https://example.org/acta", bad]):
        segno.make(text, error="m").save(tmp_path / f"code{k}.png", scale=6, border=4)
    [url] = decode_file(tmp_path / "code0.png")
    [short] = decode_file(tmp_path / "code1.png")
    assert url.rejected[0].raw == "https://example.org/acta" and "not a tally-sheet" in url.error
    assert short.rejected[0].raw == bad and "37 ballot-card counts" in short.error


def test_generator_is_deterministic() -> None:
    truth = sheets.random_sheet(3)
    assert sheets.random_sheet(3) == truth
    a = np.asarray(sheets.render_sheet(truth, seed=9, size=(640, 480)))
    b = np.asarray(sheets.render_sheet(truth, seed=9, size=(640, 480)))
    c = np.asarray(sheets.render_sheet(truth, seed=10, size=(640, 480)))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError):
        sheets.render_sheet(truth, distortion="extreme")
