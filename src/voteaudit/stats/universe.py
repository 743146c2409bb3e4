"""What is known about *all* tables of an election, covered by a source or not.

Estimation, bounds and "what would it take" all need the universe a source is a part of: how many
tables there are and how many registered voters they hold, nationally and, when known, per region
(the outermost level of the hierarchy, which the estimators use as strata).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Universe:
    """Totals over every table of the election (covered or not).

    Any field may be unknown (``None``). Per-region mappings are keyed by the region id used in
    ``SourceMatrix.path[0]``. When both national and per-region figures are given, per-region
    figures are used for stratification and national ones for the national totals.
    ``note`` records where the figures come from (shown in reports).
    """

    tables: int | None = None
    registered: int | None = None
    region_tables: Mapping[str, int] | None = None
    region_registered: Mapping[str, int] | None = None
    note: str = ""

    @classmethod
    def from_frame(cls, regions: np.ndarray, registered: np.ndarray, note: str = "") -> Universe:
        """Universe from a full table list (e.g. the authority's list of tables with registered voters).

        ``registered`` < 0 (missing) counts as 0 in the totals.
        """
        regions = np.asarray(regions).astype(str)
        reg = np.clip(np.asarray(registered, dtype=np.int64), 0, None)
        keys, inv = np.unique(regions, return_inverse=True)
        tables = np.bincount(inv, minlength=keys.size)
        regsum = np.bincount(inv, weights=reg, minlength=keys.size)
        return cls(
            tables=int(regions.size),
            registered=int(reg.sum()),
            region_tables={str(k): int(v) for k, v in zip(keys, tables, strict=True)},
            region_registered={str(k): int(round(v)) for k, v in zip(keys, regsum, strict=True)},
            note=note,
        )

    @property
    def total_tables(self) -> int | None:
        if self.tables is not None:
            return int(self.tables)
        if self.region_tables:
            return int(sum(self.region_tables.values()))
        return None

    @property
    def total_registered(self) -> int | None:
        if self.registered is not None:
            return int(self.registered)
        if self.region_registered:
            return int(sum(self.region_registered.values()))
        return None

    def to_dict(self) -> dict:
        return {
            "tables": self.total_tables,
            "registered": self.total_registered,
            "region_tables": None if self.region_tables is None else dict(self.region_tables),
            "region_registered": None if self.region_registered is None else dict(self.region_registered),
            "note": self.note,
        }
