"""The background worker: decode uploaded sheet photos, then store accepted submissions as records.

Work is claimed with ``FOR UPDATE SKIP LOCKED`` inside a transaction, so any number of workers
(one thread per server process) share it, and a worker killed mid-task (even SIGKILL) leaves its
task to the next: nothing is lost, nothing done twice.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from voteaudit.model import InputError
from voteaudit.names import unit_id
from voteaudit.server import submissions as subs
from voteaudit.server.users import audit
from voteaudit.store.postgres import PostgresStore

log = logging.getLogger("voteaudit.server.worker")


def decode_upload(data: bytes, filename: str | None) -> tuple[dict[str, Any] | None, str | None, dict[str, Any]]:
    """(canonical numbers, error, decode details) of one uploaded file, via the scanner."""
    from voteaudit.ingest.scan import decode_file

    suffix = Path(filename or "").suffix[:8] or ".img"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        images = decode_file(path)
    details = {"images": [{"page": im.page, "error": im.error, "strategy": im.decode.get("strategy"),
                           "sheets": len(im.sheets)} for im in images]}
    sheets = [sh for im in images for sh in im.sheets]
    if not sheets:
        return None, next((im.error for im in images if im.error), "no sheet found"), details
    sheet = sheets[0]
    if len(sheets) > 1:
        details["warning"] = f"{len(sheets)} sheets in one upload; the first was used"
    details["payload_format"] = sheet.payload_format
    details["problems"] = sheet.problems
    counts = {"null": sheet.null, "blank": sheet.blank, "registered": sheet.registered}
    try:
        doc = subs.check_results(unit_id(sheet.unit_parts), dict(sheet.candidates), counts)
    except InputError as exc:
        return None, str(exc), details
    return doc, None, details


def decode_next(store: PostgresStore) -> bool:
    """Decode one waiting upload; False when there was none."""
    with store.transaction() as conn:
        row = conn.execute("SELECT s.submission_id, u.data, u.filename FROM submissions s JOIN uploads u "
                           "USING (upload_id) WHERE s.status = 'decoding' ORDER BY s.submission_id LIMIT 1 "
                           "FOR UPDATE OF s SKIP LOCKED").fetchone()
        if row is None:
            return False
        sid, data, filename = row
        doc, error, details = decode_upload(bytes(data), filename)
        levels = store.levels() or []
        if doc is not None and not subs.unit_exists(conn, doc["unit"], len(levels)):
            doc, error = None, f"decoded table {doc['unit']!r} is not a table of this election"
        if doc is None:
            conn.execute("UPDATE submissions SET status = 'unreadable', error = %s, decode = %s, decided_at = now() "
                         "WHERE submission_id = %s", [error, Jsonb(details), sid])
            audit(conn, "submission.unreadable", submission_id=sid, detail={"error": error})
            return True
        conn.execute("UPDATE submissions SET unit = %s, results = %s, results_sha256 = %s, decode = %s "
                     "WHERE submission_id = %s", [doc["unit"], Jsonb(doc), subs.digest(doc), Jsonb(details), sid])
        audit(conn, "submission.decoded", submission_id=sid, detail={"unit": doc["unit"]})
        subs.decide(conn, sid)
    return True


def run_once(store: PostgresStore, source: str) -> int:
    """Do all waiting work; return how many tasks were done."""
    done = 0
    while decode_next(store):
        done += 1
    while n := subs.store_accepted(store, source):
        done += n
    return done


class Worker(threading.Thread):
    """A daemon thread running :func:`run_once` whenever woken (and every ``interval`` seconds)."""

    def __init__(self, url: str, source: str, interval: float = 1.0, settle: float = 0.5) -> None:
        super().__init__(name="voteaudit-worker", daemon=True)
        self.url, self.source, self.interval, self.settle = url, source, interval, settle
        self.event = threading.Event()
        self.stopping = False

    def wake(self) -> None:
        self.event.set()

    def stop(self) -> None:
        self.stopping = True
        self.event.set()

    def run(self) -> None:
        store: PostgresStore | None = None
        while not self.stopping:
            try:
                if store is None:
                    store = PostgresStore(self.url)
                run_once(store, self.source)
            except Exception:  # noqa: BLE001 - keep working; the task stays for a retry
                log.exception("worker task failed")
                if store is not None:
                    store.close()
                store = None
            if self.event.wait(self.interval) and not self.stopping:
                # woken by a submission: let more arrive, so that one import stores many tables
                time.sleep(self.settle)
            self.event.clear()
        if store is not None:
            store.close()
