"""The background worker: decode uploaded sheet photos (in a limited child process, see
:mod:`voteaudit.server.decoder`), then store accepted submissions as records.

Work is claimed with ``FOR UPDATE SKIP LOCKED`` inside a transaction, so any number of workers
(one thread per server process) share it, and a worker killed mid-task (even SIGKILL) leaves its
task to the next: nothing is lost, nothing done twice.
"""

from __future__ import annotations

import logging
import threading
import time

from psycopg.types.json import Jsonb

from voteaudit.server import submissions as subs
from voteaudit.server.decoder import Decoder, Limits
from voteaudit.server.users import audit, in_region
from voteaudit.store.postgres import PostgresStore

log = logging.getLogger("voteaudit.server.worker")


def decode_next(store: PostgresStore, decoder: Decoder) -> bool:
    """Decode one waiting upload (in ``decoder``'s child process); False when there was none."""
    with store.transaction() as conn:
        row = conn.execute("SELECT s.submission_id, u.data, u.filename, w.scope FROM submissions s JOIN uploads u "
                           "USING (upload_id) JOIN users w ON w.user_id = s.user_id WHERE s.status = 'decoding' "
                           "ORDER BY s.submission_id LIMIT 1 FOR UPDATE OF s SKIP LOCKED").fetchone()
        if row is None:
            return False
        sid, data, filename, scope = row
        doc, error, details = decoder.decode(bytes(data), filename)
        levels = store.levels() or []
        status = "unreadable"
        if doc is not None and not subs.unit_exists(conn, doc["unit"], len(levels)):
            doc, error = None, f"decoded table {doc['unit']!r} is not a table of this election"
        elif doc is not None and scope is not None and not in_region(doc["unit"], scope):
            doc, error, status = None, f"decoded table {doc['unit']!r} is outside the submitter's region {scope!r}", \
                "rejected"
        if doc is None:
            conn.execute("UPDATE submissions SET status = %s, error = %s, decode = %s, decided_at = now() "
                         "WHERE submission_id = %s", [status, error, Jsonb(details), sid])
            audit(conn, f"submission.{status}", submission_id=sid, detail={"error": error})
            return True
        conn.execute("UPDATE submissions SET unit = %s, results = %s, results_sha256 = %s, decode = %s "
                     "WHERE submission_id = %s", [doc["unit"], Jsonb(doc), subs.digest(doc), Jsonb(details), sid])
        audit(conn, "submission.decoded", submission_id=sid, detail={"unit": doc["unit"]})
        subs.decide(conn, sid)
    return True


def run_once(store: PostgresStore, source: str, decoder: Decoder | None = None) -> int:
    """Do all waiting work; return how many tasks were done (a decoder is started if none is given)."""
    done = 0
    own = decoder is None
    decoder = decoder or Decoder()
    try:
        while decode_next(store, decoder):
            done += 1
    finally:
        if own:
            decoder.close()
    while n := subs.store_accepted(store, source):
        done += n
    return done


class Worker(threading.Thread):
    """A daemon thread running :func:`run_once` whenever woken (and every ``interval`` seconds)."""

    def __init__(self, url: str, source: str, interval: float = 1.0, settle: float = 0.5,
                 limits: Limits | None = None) -> None:
        super().__init__(name="voteaudit-worker", daemon=True)
        self.url, self.source, self.interval, self.settle = url, source, interval, settle
        self.decoder = Decoder(limits)
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
                run_once(store, self.source, self.decoder)
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
        self.decoder.close()
