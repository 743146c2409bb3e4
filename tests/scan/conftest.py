"""Shared fixtures: synthetic sheet images written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from voteaudit.ingest.scan import sheets, ve2024
from voteaudit.ingest.scan.records import Sheet

EXAMPLE_STRVM = ("150702005.02.1.0001!105,7,2,0,4,1,0,1,1,1,0,2,44,2,1,0,0,1,0,1,0,0,0,1,0,0,0,0,1,0,1,0,0,"
                 "7,13,350,0,2!0!0")
EXAMPLE_IPINCE = ("110601011.04.1.0001!122,1,0,0,4,2,0,0,2,1,0,1,2,1,0,0,0,5,0,2,0,0,0,0,0,0,0,0,1,0,0,0,0,"
                  "8,22,406,0,1!0!0")


def altered(sheet: Sheet, card: str = "PSUV", delta: int = 7) -> Sheet:
    """The same table (centre, mesa) with different numbers: a conflicting copy."""
    counts = [sheet.selections[c] + (delta if c == card else 0) for c in ve2024.CARDS]
    return ve2024.make_sheet(sheet.unit_parts[3], sheet.unit_parts[4], counts, sheet.null or 0)


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Sheet]]:
    """A few sheet photos on disk: name -> (path, truth)."""
    root = tmp_path_factory.mktemp("sheets")
    out: dict[str, tuple[Path, Sheet]] = {}
    for name, seed, level in [("clean", 1, "none"), ("light", 2, "light"), ("default", 3, "default"),
                              ("default2", 4, "default")]:
        truth = sheets.random_sheet(seed)
        path = root / f"{name}.jpg"
        sheets.render_sheet(truth, distortion=level, seed=seed).save(path, quality=85)
        out[name] = (path, truth)
    return out
