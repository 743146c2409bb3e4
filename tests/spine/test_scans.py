"""Scanned tally sheets into the store: duplicates, conflicts, unreadable images, unknown tables, --strict."""

from __future__ import annotations

import shutil

import pytest

from tests.spine.conftest import store_fingerprint, write

pytest.importorskip("zxingcpp")
from voteaudit.ingest.scan import parse_payload, render_sheet  # noqa: E402

# real payloads quoted in public code (SOURCE.md): González = cards 34-36
P1 = "150702005.02.1.0001!105,7,2,0,4,1,0,1,1,1,0,2,44,2,1,0,0,1,0,1,0,0,0,1,0,0,0,0,1,0,1,0,0,7,13,350,0,2!0!0"
P2 = "110601011.04.1.0001!122,1,0,0,4,2,0,0,2,1,0,1,2,1,0,0,0,5,0,2,0,0,0,0,0,0,0,0,1,0,0,0,0,8,22,406,0,1!0!0"
P2_ALTERED = P2.replace("!122,", "!123,")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("sheets")
    for name, payload in (("a.jpg", P1), ("b.jpg", P2), ("b_altered.jpg", P2_ALTERED)):
        render_sheet(parse_payload(payload), seed=len(name)).save(d / name, quality=90)
    return d


def test_scan_duplicates_conflicts_unreadable(cli, db, images, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg", "b_altered.jpg"):
        shutil.copy(images / name, folder / name)
    shutil.copy(images / "a.jpg", folder / "a_again.jpg")          # the same image twice
    write(folder / "torn.jpg", b"\xff\xd8\xff not really a jpeg")   # unreadable
    res = cli("scan", folder, "--source", "sheets", json_out=True)
    assert res.exit_code == 0, res.stderr
    doc = res.doc
    assert doc["images"] == 4 and doc["records_added"] == 3
    assert sorted(doc["duplicate_files"][0]) == [str(folder / "a.jpg"), str(folder / "a_again.jpg")]
    assert [c["unit"] for c in doc["conflicts"]] == ["11.6.1.110601011.4"]
    assert [q["path"] for q in doc["review_queue"]] == [str(folder / "torn.jpg")]
    summary = cli("compare", json_out=True).doc
    src = summary["sources"][0]
    assert src["units"] == 2 and src["conflicts"] == 1
    # counts equal the payloads: González = 7 + 13 + 350 on the first sheet, 8 + 22 + 406 on the second
    assert src["totals"]["Edmundo González Urrutia"] == 370 + 436
    unit = cli("unit", "15.7.2.150702005.2", json_out=True).doc["records"][0]
    image = unit["provenance"]["image"]
    assert image["file"] == str(folder / "a.jpg") and image["also"] == [str(folder / "a_again.jpg")]
    assert len(image["sha256"]) == 64 and unit["selections"]["MUD"] == 350
    # the unreadable image is retried on the next scan; identical images change nothing
    before = cli("compare", json_out=True).doc["sources"]
    again = cli("scan", folder, "--source", "sheets", json_out=True).doc
    assert again["status"] == "already imported" and again["review_queue"][0]["attempts"] == 2
    assert cli("compare", json_out=True).doc["sources"] == before


def test_unknown_table_flagged_and_strict_rejects(cli, db, images, tmp_path):
    registry = write(tmp_path / "registry.csv", "state,municipality,parish,centre,table,registered,A\n"
                                                 "15,07,02,150702005,02,600,1\n")
    assert cli("ingest", registry, "--source", "cne", "--kind", "official", "--unit", "state", "--unit",
               "municipality", "--unit", "parish", "--unit", "centre", "--unit", "table", "--registered",
               "registered", "--candidate", "A").exit_code == 0
    before = store_fingerprint(db)
    res = cli("scan", images / "b.jpg", "--source", "sheets", "--strict")
    assert res.exit_code != 0 and "unknown_unit" in res.stderr
    assert store_fingerprint(db) == before
    res = cli("scan", images / "a.jpg", images / "b.jpg", "--source", "sheets", json_out=True)
    assert res.exit_code == 0
    flags = cli("compare", json_out=True).doc["sources"][1]["flags"]
    assert flags["unknown_unit"]["count"] == 1


def test_generated_sheets_of_real_tables_read_back_exactly(cli, db, tmp_path):
    """demo --scan: photos of real Venezuelan tables decode to the published counts, table for table."""
    from voteaudit.demo import demo_file, generate_sheets
    from voteaudit.ingest import ingest_file, load_mapping
    from voteaudit.store import open_store

    with open_store(db) as store:
        ingest_file(store, demo_file("actas.csv.gz"), load_mapping(demo_file("actas.toml")), source="actas",
                    kind="independent")
    paths = generate_sheets(4, tmp_path / "sheets", seed=7)
    res = cli("scan", *paths, "--source", "scans", json_out=True)
    assert res.exit_code == 0, res.stderr
    assert res.doc["records_added"] == 4
    pair = cli("compare", json_out=True).doc["comparison"]["pairs"][0]
    assert pair["common_units"] == 4 and pair["differ"] == 0 and pair["only_b"] == 0
