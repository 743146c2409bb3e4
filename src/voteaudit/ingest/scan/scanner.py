"""Scan a batch of files and folders: dedup by content, decode in parallel, find conflicts.

:func:`scan` walks folders (recursively, image and PDF suffixes only; a file named explicitly is
always tried), hashes every file (sha256), decodes each distinct content once (all its file names
kept), in a process pool when ``workers > 1``, and runs the batch checks: duplicate files, the
same table read with different numbers from different images (a conflict: every copy kept),
corroborating copies, unreadable images and rejected payloads.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .decode import IMAGE_SUFFIXES, decode_bytes
from .payloads import set_registered
from .records import Conflict, ScannedImage, ScanReport, SheetCopy

Progress = Callable[[int, int], None]


def iter_files(paths: Iterable[Path | str]) -> list[tuple[str, str | None]]:
    """``(path, problem)`` for every file to scan, in the order given, folders walked sorted.

    ``problem`` is set (and the file is not decoded) when a path does not exist.
    """
    out: list[tuple[str, str | None]] = []
    for p in map(Path, paths):
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                        out.append((str(Path(root) / name), None))
        elif p.exists():
            out.append((str(p), None))
        else:
            out.append((str(p), "no such file or folder"))
    return out


def _decode_path(path: str, sha256: str) -> list[ScannedImage]:
    """Worker: read and decode one file (hash already known)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return [ScannedImage(path=path, sha256=sha256, page=None, error=f"cannot read file: {exc.strerror}")]
    return decode_bytes(data, path, sha256=sha256)


def _hash(path: str) -> tuple[str | None, str | None]:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest(), None
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror}"


def _pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers start from a server process that has the decoder imported.

    ``forkserver`` rather than ``fork``: the caller may hold threads (DuckDB, a web server), and
    forking a threaded process is unsafe; rather than ``spawn``: workers start in milliseconds.
    """
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["voteaudit.ingest.scan.decode"])
    else:
        ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


def scan(paths: list[Path] | list[str], *, workers: int = 1, progress: Progress | None = None,
         registered: Mapping[str, int] | None = None) -> ScanReport:
    """Scan files and folders for tally sheets.

    ``workers > 1`` decodes in that many processes. ``progress(done, total)`` is called after each
    distinct file. ``registered`` maps a sheet's ``unit_id`` to its registered voters (e.g. from a
    registry), so counts above it are flagged.
    """
    start = time.perf_counter()
    report = ScanReport()
    groups: dict[str, list[str]] = {}
    pending: list[tuple[str, str]] = []
    for path, problem in iter_files(paths):
        digest = None
        if problem is None:
            digest, problem = _hash(path)
        if digest is None:
            report.images.append(ScannedImage(path=path, sha256="", page=None, error=problem))
            continue
        if digest in groups:
            groups[digest].append(path)
            continue
        groups[digest] = [path]
        pending.append((path, digest))
    report.duplicates = [names for names in groups.values() if len(names) > 1]

    total = len(pending)
    results: list[list[ScannedImage]] = []
    if workers > 1 and total > 1:
        chunk = max(1, min(8, total // (workers * 8)))  # fewer round trips, still balanced
        with _pool(min(workers, total)) as pool:
            paths, digests = zip(*pending, strict=True)
            for done, pages in enumerate(pool.map(_decode_path, paths, digests, chunksize=chunk), 1):
                results.append(pages)
                if progress:
                    progress(done, total)
    else:
        for done, (path, digest) in enumerate(pending, 1):
            results.append(_decode_path(path, digest))
            if progress:
                progress(done, total)

    for pages in results:
        for image in pages:
            image.also = groups[image.sha256][1:]
            if registered is not None:
                for sheet in image.sheets:
                    set_registered(sheet, registered.get(sheet.unit_id))
            report.images.append(image)
    _batch_checks(report)
    report.seconds = time.perf_counter() - start
    return report


def _batch_checks(report: ScanReport) -> None:
    """Fill ``unreadable``, ``rejected``, ``conflicts`` and ``repeats`` from ``report.images``."""
    by_unit: dict[tuple[str, tuple[str, ...]], list[SheetCopy]] = {}
    for image in report.images:
        if image.error:
            report.unreadable.append((image.path, image.error))
        for rej in image.rejected:
            report.rejected.append((image.path, rej.raw, rej.reason))
        for sheet in image.sheets:
            key = (sheet.payload_format, tuple(sheet.unit_parts))
            by_unit.setdefault(key, []).append(SheetCopy(image.path, image.sha256, image.page, sheet))
    for (_, parts), copies in by_unit.items():
        if len(copies) < 2:
            continue
        entry = Conflict(list(parts), copies)
        if len({c.sheet.numbers() for c in copies}) > 1:
            report.conflicts.append(entry)
        else:
            report.repeats.append(entry)
