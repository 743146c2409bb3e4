"""Scanned tally sheets -> records of a source, with each image as provenance.

``scan_into_store`` decodes images (``voteaudit.ingest.scan``), turns every decoded sheet into a
record (votes per ballot card, cards mapped to candidates), keeps per record the image's file
name(s), sha256, page and decode details, and writes them in one transaction like any ingest.
Same image twice: one record, every file name kept. The same table from two images with different
numbers: both records kept (a conflict, as for any source). Images that could not be read, and
codes that failed the payload checks, go to the source's review queue (kept in the store) and are
retried on the next scan of that source.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from voteaudit.ingest.mapping import Mapping as ColumnMapping
from voteaudit.ingest.readers import RawTable, _register_rows
from voteaudit.ingest.tables import stage
from voteaudit.model import InputError, Kind
from voteaudit.names import unit_id
from voteaudit.store.base import Store
from voteaudit.store.batch import Batch


class _Registry(Mapping[str, int]):
    """Registered voters by a sheet's raw ``unit_id`` (parts joined by ``/``), looked up normalised."""

    def __init__(self, by_unit: dict[str, int]) -> None:
        self.by_unit = by_unit

    def __getitem__(self, key: str) -> int:
        return self.by_unit[unit_id(key.split("/"))]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_unit)

    def __len__(self) -> int:
        return len(self.by_unit)


def _known_units(store: Store, contest: str | None = None) -> dict[str, int]:
    """Registered voters (or -1) of every table any source holds in the contest: the unit registry."""
    known: dict[str, int] = {}
    for info in store.sources(contest):
        m = store.matrix(info.name, contest)
        for uid, reg in zip(m.unit_ids.tolist(), m.registered.tolist(), strict=True):
            if reg >= 0 or uid not in known:
                known[uid] = reg
    return known


def _selection_candidates(sheet: Any) -> dict[str, str]:
    if sheet.payload_format == "ve2024":
        from voteaudit.ingest.scan.ve2024 import CARD_CANDIDATE

        return dict(CARD_CANDIDATE)
    mapping = sheet.extra.get("candidate_of") if isinstance(sheet.extra, dict) else None
    return dict(mapping) if isinstance(mapping, dict) else {}


def scan_into_store(store: Store, paths: list[Path], *, source: str, kind: str = "observer", workers: int = 1,
                    strict: bool = False, progress: Callable[[int, int], None] | None = None,
                    contest: str | None = None) -> dict[str, Any]:
    """Scan images/folders into ``source`` (in ``contest``: None = the store's only one); return a summary."""
    from voteaudit.ingest.scan import scan

    kind = Kind(kind).value
    queue_key = f"scan-queue:{source}"
    queue = (store.state(queue_key, contest=contest) or {}).get("items", [])
    retry = [Path(item["path"]) for item in queue if Path(item["path"]).exists()]
    wanted = list(dict.fromkeys([*map(Path, paths), *retry]))
    known = _known_units(store, contest)
    registered = {u: r for u, r in known.items() if r >= 0}
    report = scan(wanted, workers=workers, progress=progress, registered=_Registry(registered))

    # one row per distinct (table, numbers): later identical copies become extra provenance of the first
    copies: dict[tuple[str, Any], dict[str, Any]] = {}
    for im in report.images:
        for sheet in im.sheets:
            key = (unit_id(sheet.unit_parts), sheet.numbers())
            origin = {"file": im.path, "also": [p for p in getattr(im, "paths", [im.path]) if p != im.path],
                      "sha256": im.sha256, "page": im.page, "format": sheet.payload_format, "raw": sheet.raw,
                      "decode": {k: v for k, v in im.decode.items() if k in ("strategy", "seconds", "image_size")}}
            if key in copies:
                copies[key]["origin"]["copies"].append(origin)
                continue
            flags = list(sheet.problems)
            if known and key[0] not in known:
                flags.append("unknown_unit")
            copies[key] = {"sheet": sheet, "origin": {**origin, "copies": []}, "flags": flags}
    rows = list(copies.values())
    result: dict[str, Any] = {
        "source": source, "images": len(report.images), "sheets": sum(len(im.sheets) for im in report.images),
        "duplicate_files": report.duplicates,
        "conflicts": [{"unit": unit_id(c.unit_parts),
                       "copies": [{"file": cp.path, "sha256": cp.sha256, "page": cp.page, "votes": cp.sheet.candidates,
                                   "null": cp.sheet.null} for cp in c.copies]} for c in report.conflicts],
        "unreadable": [{"path": p, "reason": r} for p, r in report.unreadable],
        "rejected": [{"path": p, "payload": raw, "reason": r} for p, raw, r in report.rejected],
        "seconds": round(report.seconds, 3),
    }
    if strict:
        bad = [r for r in rows if r["flags"]]
        if bad:
            r = bad[0]
            raise InputError(f"implausible sheet rejected by --strict: {', '.join(r['flags'])}",
                             file=r["origin"]["file"])
    if rows:
        batch = _batch(rows, store.levels())
        imported = store.write_import(batch, source, kind, strict=strict, contest=contest)
        result.update({"records_added": imported.records_added, "identical_copies": imported.identical_copies,
                       "units_with_conflicts": imported.conflicts, "status": imported.status})
    else:
        result.update({"records_added": 0, "identical_copies": 0, "status": "nothing decoded"})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    decoded = {im.path for im in report.images if im.sheets}
    old = {item["path"]: item for item in queue}
    items = []
    for path, reason in [(p, r) for p, r in report.unreadable] + [(p, r) for p, _, r in report.rejected]:
        prev = old.get(path, {})
        items.append({"path": path, "reason": reason, "first_seen": prev.get("first_seen", now), "last_tried": now,
                      "attempts": prev.get("attempts", 0) + 1})
    items += [item for p, item in old.items() if p not in decoded and p not in {i["path"] for i in items}
              and not Path(p).exists()]
    store.save_state(queue_key, {"items": items}, contest=contest)
    result["review_queue"] = items
    return result


def _batch(rows: list[dict[str, Any]], store_levels: list[str] | None) -> Batch:
    """Sheets -> the long-format table ``stage`` validates, then per-record provenance and flags."""
    depth = len(rows[0]["sheet"].unit_parts)
    for r in rows:
        if len(r["sheet"].unit_parts) != depth:
            raise InputError("sheets identify tables at different depths; scan them as separate sources",
                             file=r["origin"]["file"])
    levels = rows[0]["sheet"].levels or [f"level {k + 1}" for k in range(depth)]
    selections: dict[str, str] = {}
    for r in rows:
        for sel in r["sheet"].selections:
            selections.setdefault(sel, _selection_candidates(r["sheet"]).get(sel, sel))
    keys = [f"__key{k}" for k in range(depth)]
    header = keys + ["__registered", "__valid", "__null", "__blank", *selections]
    table_rows = [[*r["sheet"].unit_parts, r["sheet"].registered, r["sheet"].valid, r["sheet"].null,
                   r["sheet"].blank, *[r["sheet"].selections.get(sel, 0) for sel in selections]] for r in rows]
    digest = hashlib.sha256("\n".join(sorted(r["origin"]["sha256"] for r in rows)).encode()).hexdigest()
    names = sorted({r["origin"]["file"] for r in rows})
    origin = f"scan of {len(names)} image(s): {names[0]}" + (" ..." if len(names) > 1 else "")
    con = duckdb.connect()
    try:
        # one wide row per sheet, so two differing copies of a table stay two records
        _register_rows(con, header, table_rows, list(range(2, len(table_rows) + 2)))
        mapping = ColumnMapping(units=keys, levels=levels, registered="__registered", valid="__valid",
                                null="__null", blank="__blank", candidates=list(selections), selections=selections)
        batch = stage(con, RawTable(header, len(table_rows), "scan"), mapping, origin=origin, sha256=digest,
                      store_levels=store_levels)
    finally:
        con.close()
    recs = batch.records
    by_row = [rows[r - 2] for r in recs.column("row").to_pylist()]
    flags = [sorted(set(f) | set(r["flags"])) for f, r in zip(recs.column("flags").to_pylist(), by_row, strict=True)]
    recs = recs.set_column(recs.column_names.index("flags"), "flags", pa.array(flags, pa.list_(pa.string())))
    batch.records = recs.append_column(
        "origin", pa.array([json.dumps(r["origin"], ensure_ascii=False) for r in by_row], pa.string()))
    batch.extra = {"images": names}
    return batch
