"""Ingest: results files of any supported shape -> canonical records in the store.

``ingest_file`` reads (``readers``), reshapes (``shape``: filters, contests, summed columns, tables
that did not report), validates and normalises (``tables``), then hands one
:class:`~voteaudit.store.batch.Batch` per contest to the store, which writes them in one transaction.
A malformed file raises :class:`~voteaudit.model.InputError` before anything is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from pathlib import Path

import duckdb

from voteaudit.ingest import readers
from voteaudit.ingest.mapping import Mapping, load_mapping
from voteaudit.ingest.tables import FLAGS, stage
from voteaudit.model import InputError, Kind
from voteaudit.store.base import ImportResult, Store
from voteaudit.store.batch import Batch

__all__ = ["FLAGS", "Batch", "Mapping", "ingest_file", "ingest_files", "load_mapping", "read_batch", "read_batches",
           "sha256_file"]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_SCRATCH: list[duckdb.DuckDBPyConnection] = []
_SCRATCH_LOCK = threading.Lock()


def _scratch() -> duckdb.DuckDBPyConnection:
    """A fresh connection to one in-memory scratch database: its temp tables are its own (dropped when it
    closes), and it costs ~2 ms where a new database costs ~40 ms (many small files: feeds, the fuzzer)."""
    with _SCRATCH_LOCK:
        if not _SCRATCH:
            _SCRATCH.append(duckdb.connect())
        return _SCRATCH[0].cursor()


def read_batches(path: Path, mapping: Mapping | None, *, store_levels: list[str] | None = None,
                 fmt: str | None = None, contest: str | None = None) -> list[Batch]:
    """Read and validate one file into one Batch per contest (no store involved).

    ``contest``: for a single-contest file, the store contest it belongs to; for a file with several
    (``--contest-column``, a NIST CDF), the one to keep.
    """
    path = Path(path)
    origin = str(path)
    if not path.exists():
        raise InputError("file not found", file=origin)
    if path.is_dir():
        raise InputError("is a directory, not a results file", file=origin)
    fmt = readers.detect_format(path, fmt or (mapping.format if mapping else None))
    digest = sha256_file(path)
    if fmt == "nist":
        from voteaudit.ingest.nist import read_nist

        return read_nist(path, sha256=digest, store_levels=store_levels, contest=contest)
    if mapping is None:
        raise InputError("no column mapping: give --mapping MAP.toml or --unit/--candidate flags", file=origin)
    if contest is not None:
        mapping = dataclasses.replace(mapping, contest=contest)
    con = _scratch()
    try:
        if fmt in ("csv", "tsv"):
            raw = readers.read_csv(con, path, tsv=fmt == "tsv", delimiter=mapping.delimiter,
                                   encoding=mapping.encoding)
        elif fmt == "xlsx":
            raw = readers.read_xlsx(con, path, sheet=mapping.sheet)
        elif fmt == "parquet":
            raw = readers.read_parquet(con, path)
        else:
            raw = readers.read_jsonl(con, path, encoding=mapping.encoding)
        if mapping.reshapes():
            from voteaudit.ingest.shape import split

            return split(con, raw, mapping, origin=origin, sha256=digest, store_levels=store_levels)
        batch = stage(con, raw, mapping, origin=origin, sha256=digest, store_levels=store_levels)
        batch.contest = mapping.contest
        return [batch]
    finally:
        con.close()


def read_batch(path: Path, mapping: Mapping | None, *, store_levels: list[str] | None = None,
               fmt: str | None = None, contest: str | None = None) -> Batch:
    """Read and validate a single-contest file into a Batch (a file with several contests needs ``contest``)."""
    batches = read_batches(path, mapping, store_levels=store_levels, fmt=fmt, contest=contest)
    if len(batches) > 1:
        names = ", ".join(repr(b.contest) for b in batches[:12])
        raise InputError(f"the file holds several contests ({names}): choose one with --contest", file=str(path),
                         field="--contest")
    return batches[0]


def strict_check(batch: Batch) -> None:
    """``--strict``: implausible records become a rejection of the whole file."""
    for row, flags in zip(batch.records.column("row").to_pylist(), batch.records.column("flags").to_pylist(),
                          strict=True):
        if flags:
            raise InputError(f"implausible record rejected by --strict: {FLAGS[flags[0]]} ({flags[0]})",
                             file=batch.file, row=row)


def ingest_files(store: Store, path: Path, mapping: Mapping | None, *, source: str, kind: str | Kind,
                 strict: bool = False, fmt: str | None = None, contest: str | None = None,
                 as_of: str | None = None, feed: bool = False) -> list[ImportResult]:
    """Validate ``path`` whole, then store every contest of it as one transaction for ``source``.

    ``feed``/``as_of``: the file is the source's publication at ``as_of`` (see :mod:`voteaudit.store.versions`).
    """
    kind = Kind(kind).value
    batches = read_batches(Path(path), mapping, store_levels=store.levels(), fmt=fmt, contest=contest)
    if strict:
        for batch in batches:
            strict_check(batch)
    return store.write_imports(batches, source, kind, strict=strict, as_of=as_of, feed=feed)


def ingest_file(store: Store, path: Path, mapping: Mapping | None, *, source: str, kind: str | Kind,
                strict: bool = False, fmt: str | None = None, contest: str | None = None,
                as_of: str | None = None, feed: bool = False) -> ImportResult:
    """Validate ``path`` whole, then store it as one transaction for ``source``.

    ``contest``: the store contest the file's results belong to (default: the store's only contest,
    ``main`` in a new store); for a file with several contests (``--contest-column``, NIST CDF), the one
    to keep. A file that yields several contests gives one result per contest: use :func:`ingest_files`.
    """
    results = ingest_files(store, path, mapping, source=source, kind=kind, strict=strict, fmt=fmt, contest=contest,
                           as_of=as_of, feed=feed)
    if len(results) == 1:
        return results[0]
    first = results[0]
    total = ImportResult(first.source, first.file, first.sha256,
                         "imported" if any(r.status == "imported" for r in results) else "already imported",
                         rows=sum(r.rows for r in results), records_added=sum(r.records_added for r in results),
                         identical_copies=sum(r.identical_copies for r in results),
                         conflicts=sum(r.conflicts for r in results), contest=None)
    for r in results:
        for f, n in r.flags.items():
            total.flags[f] = total.flags.get(f, 0) + n
    total.contests = [r.to_dict() for r in results]
    return total
