"""A small store full of hostile names (markup, script, path tricks) and one published site, built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from voteaudit.ingest import ingest_file
from voteaudit.ingest.mapping import Mapping
from voteaudit.store import open_store

EVIL_A = "</script><script>alert(1)</script>"
EVIL_B = '"><img src=x onerror=alert(1)>'
EVIL_PLACE = "<b>Bold</b> & \"quoted\" <img src=x onerror=alert(2)>"
EVIL_SOURCE = "obs<script>alert(3)</script>"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cf"
                    "c0f01f00050001ff89993d1d0000000049454e44ae426082")  # 1x1 red pixel
CANDS = [EVIL_A, EVIL_B, "Ñandú Pérez"]
HEADER = "region,region_name,district,district_name,table,registered,valid,null," + ",".join(
    '"' + c.replace('"', '""') + '"' for c in CANDS) + ",sheet\n"
ROWS = [
    ("1", EVIL_PLACE, "../../etc", "El Recreo", "1", 100, 60, 2, (30, 20, 10), "sheets/t1.png"),
    ("1", EVIL_PLACE, "../../etc", "El Recreo", "../x", 120, 70, 1, (40, 20, 10), "javascript:alert(4)"),
    ("1", EVIL_PLACE, "%2e%2e", "Santa Rosalía", "7", 90, 50, 0, (10, 30, 10), "https://example.org/s.jpg"),
    ("2", "San José", "a/b", "Distrito <i>Uno</i>", "1", 80, 40, 0, (20, 10, 10), ""),
    ("2", "San José", "a/b", "Distrito <i>Uno</i>", "2", 85, 45, 1, (25, 10, 10), ""),
]


def _csv(rows: list[tuple], bump: dict[str, int] | None = None) -> str:
    lines = [HEADER]
    for region, rname, district, dname, table, reg, valid, null, votes, sheet in rows:
        v = list(votes)
        if bump and table in bump:
            v[0] += bump[table]
        names = ",".join('"' + x.replace('"', '""') + '"' for x in (rname, dname))
        lines.append(f"{region},{names.split(',', 1)[0]},{district},{names.split(',', 1)[1]},{table},{reg},"
                     f"{valid},{null},{','.join(map(str, v))},{sheet}\n")
    return "".join(lines)


def mapping() -> Mapping:
    return Mapping(units=["region", "district", "table"], unit_names=["region_name", "district_name", ""],
                   registered="registered", valid="valid", null="null", candidates=list(CANDS))


def build_store(tmp: Path) -> Path:
    db = tmp / "evil.duckdb"
    a = tmp / "a.csv"
    a.write_text(_csv(ROWS), encoding="utf-8")
    b = tmp / "b.csv"
    b.write_text(_csv(ROWS[:4], bump={"7": 5}), encoding="utf-8")
    c = tmp / "c.csv"   # a differing copy of one table in source a -> a conflict
    c.write_text(_csv(ROWS[3:4], bump={"1": 1}), encoding="utf-8")
    with open_store(db) as store:
        ingest_file(store, a, mapping(), source=EVIL_SOURCE, kind="observer")
        ingest_file(store, b, mapping(), source="authority", kind="official")
        ingest_file(store, c, mapping(), source=EVIL_SOURCE, kind="observer")
    return db


def sheets() -> dict:
    from voteaudit.names import unit_id

    return {(EVIL_SOURCE, unit_id([r[0], r[2], r[4]])): r[9] for r in ROWS if r[9]}


@pytest.fixture(scope="session")
def evil_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("evil"))


@pytest.fixture(scope="session")
def evil_site(evil_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from voteaudit.publish import publish

    tmp = tmp_path_factory.mktemp("site")
    (tmp / "t1.png").write_bytes(PNG)
    links = {k: str(tmp / "t1.png") if v.endswith(".png") else v for k, v in sheets().items()}
    out = tmp / "site"
    with open_store(evil_db, read_only=True) as store:
        doc = publish(store, out, title=f"Test <election> {EVIL_A}", shard_size=4, sheets=links,
                      election_date="2024-07-28")
    return out, doc


@pytest.fixture
def site_copy(evil_site: tuple[Path, dict], tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(evil_site[0], dst)
    return dst
