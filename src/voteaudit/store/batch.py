"""What ingest hands the store: one file's canonical content for one contest (written in one transaction).

It lives below the store so that ``store/`` never imports ``ingest/``; every producer (file ingest,
NIST CDF, scanned sheets, server submissions) builds one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa


@dataclass
class Batch:
    """Canonical content of one file (for one contest), ready for the store to write in one transaction."""

    file: str
    sha256: str
    format: str
    rows: int
    levels: list[str]
    selections: list[tuple[str, str]]   # (selection, candidate) sorted by selection: the order of ``votes``
    records: pa.Table                   # row, unit_id, registered, cast, valid, null, blank, votes, flags, seq
                                        # (+ origin: JSON provenance of a scanned image; + modes: JSON votes
                                        # per vote mode, when the file gave several)
    nodes: pa.Table                     # id, depth, parent, label, seq
    duplicates: int = 0                 # rows identical to an earlier row of the same file
    extra: dict = field(default_factory=dict)
    contest: str | None = None          # None: the store's only contest (``main`` in a new store)
    unreported: pa.Table | None = None  # unit_id, row, reason: known tables that did not report
    roles: dict[str, str] = field(default_factory=dict)  # selection -> role of a non-candidate row
                                                         # ("not_candidate"): counted, shown, never in shares
