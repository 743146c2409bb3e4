"""Ingest: results files of any supported shape -> canonical records in the store.

``ingest_file`` reads (``readers``), validates and normalises (``tables``), then hands one
:class:`~voteaudit.ingest.tables.Batch` to the store, which writes it in one transaction.
A malformed file raises :class:`~voteaudit.model.InputError` before anything is written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from voteaudit.ingest import readers
from voteaudit.ingest.mapping import Mapping, load_mapping
from voteaudit.ingest.tables import FLAGS, stage
from voteaudit.model import InputError, Kind
from voteaudit.store.base import ImportResult, Store
from voteaudit.store.batch import Batch

__all__ = ["FLAGS", "Batch", "Mapping", "ingest_file", "load_mapping", "read_batch", "sha256_file"]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_batch(path: Path, mapping: Mapping | None, *, store_levels: list[str] | None = None,
               fmt: str | None = None, contest: str | None = None) -> Batch:
    """Read and validate one file into a Batch (no store involved)."""
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
    con = duckdb.connect()
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
        return stage(con, raw, mapping, origin=origin, sha256=digest, store_levels=store_levels)
    finally:
        con.close()


def strict_check(batch: Batch) -> None:
    """``--strict``: implausible records become a rejection of the whole file."""
    for row, flags in zip(batch.records.column("row").to_pylist(), batch.records.column("flags").to_pylist(),
                          strict=True):
        if flags:
            raise InputError(f"implausible record rejected by --strict: {FLAGS[flags[0]]} ({flags[0]})",
                             file=batch.file, row=row)


def ingest_file(store: Store, path: Path, mapping: Mapping | None, *, source: str, kind: str | Kind,
                strict: bool = False, fmt: str | None = None, contest: str | None = None,
                as_of: str | None = None, feed: bool = False) -> ImportResult:
    """Validate ``path`` whole, then store it as one transaction for ``source``.

    ``contest``: the store contest the file's results belong to (default: the store's only contest,
    ``main`` in a new store); for a NIST CDF file, also the contest (Name or @id) to read from it.
    ``feed``/``as_of``: the file is the source's publication at ``as_of`` (see :mod:`voteaudit.store.versions`).
    """
    kind = Kind(kind).value
    batch = read_batch(Path(path), mapping, store_levels=store.levels(), fmt=fmt, contest=contest)
    if strict:
        strict_check(batch)
    return store.write_import(batch, source, kind, strict=strict, contest=contest, as_of=as_of, feed=feed)
