"""Submissions: kept whole (who, when, hash, decision), idempotent per user, double-entered.

Double entry: a table's first submission is ``pending``; a second one from another user with the
same numbers makes the first ``accepted`` and itself ``confirmed``; differing numbers make both
``disputed`` until a reviewer accepts one (the others become ``rejected``: kept, never deleted).
Later submissions for an accepted table are ``confirmed`` or ``disputed``. A user's own newer
submission for a pending table replaces their older one (``superseded``). Images are ``decoding``
until the worker reads them (then as above, or ``unreadable``). Accepted submissions are stored as
records of the observers' source by :func:`store_accepted`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
from psycopg.types.json import Jsonb

from voteaudit.model import InputError
from voteaudit.server.users import User, audit

MAX_CANDIDATES = 100
MAX_VOTES = 10_000_000
COUNTS = ("registered", "cast", "null", "blank")
UNIT_LOCK = 0x756E6974  # advisory lock space for one table's decisions


class QuotaExceeded(Exception):
    pass


@dataclass
class Outcome:
    submission_id: int
    status: str
    created: bool


def canonical(unit: str, results: dict[str, int], counts: dict[str, int | None]) -> dict[str, Any]:
    """The numbers that two entries of a table must agree on, in one canonical form."""
    return {"unit": unit, "results": dict(sorted(results.items())),
            **{k: counts.get(k) for k in COUNTS if counts.get(k) is not None}}


def digest(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                          .encode()).hexdigest()


def check_results(unit: Any, results: Any, counts: dict[str, Any]) -> dict[str, Any]:
    """Validate a JSON submission's numbers; return its canonical form (InputError names the field)."""
    if not isinstance(unit, str) or not unit.strip() or len(unit) > 200 or "\x00" in unit:
        raise InputError("unit must be a table id (1 to 200 characters, no NUL)", field="unit")
    if not isinstance(results, dict) or not results or len(results) > MAX_CANDIDATES:
        raise InputError(f"results must map 1 to {MAX_CANDIDATES} candidates to votes", field="results")
    clean: dict[str, int] = {}
    for name, votes in results.items():
        if not isinstance(name, str) or not name.strip() or len(name) > 200 or "\x00" in name:
            raise InputError("candidate names are 1 to 200 characters, without NUL", field="results")
        if isinstance(votes, bool) or not isinstance(votes, int) or not 0 <= votes <= MAX_VOTES:
            raise InputError(f"votes for {name!r} must be a whole number from 0 to {MAX_VOTES}", field="results")
        if name.strip() in clean:
            raise InputError(f"candidate {name!r} given twice", field="results")
        clean[name.strip()] = votes
    out: dict[str, int | None] = {}
    for key in COUNTS:
        value = counts.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value <= MAX_VOTES):
            raise InputError(f"{key} must be a whole number from 0 to {MAX_VOTES}", field=key)
        out[key] = value
    return canonical(unit.strip(), clean, out)


def unit_exists(conn: psycopg.Connection, unit: str, depth: int) -> bool:
    return conn.execute("SELECT 1 FROM nodes WHERE id = %s AND depth = %s", [unit, depth]).fetchone() is not None


def _lock_user(conn: psycopg.Connection, user: User, quota: int) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", [UNIT_LOCK + 1, user.user_id])
    used = conn.execute("SELECT count(*) FROM submissions WHERE user_id = %s", [user.user_id]).fetchone()[0]
    if used >= quota:
        raise QuotaExceeded(f"quota of {quota} submissions reached")


def _existing(conn: psycopg.Connection, user: User, content: str) -> Outcome | None:
    row = conn.execute("SELECT submission_id, status FROM submissions WHERE user_id = %s AND content_sha256 = %s",
                       [user.user_id, content]).fetchone()
    return Outcome(row[0], row[1], False) if row else None


def _claim(conn: psycopg.Connection, user: User, content: str, quota: int) -> Outcome | None:
    """The user's earlier submission of the same content, if any; else take the user's lock (and quota).

    Checked again under the lock, so two concurrent identical submissions store one row.
    """
    found = _existing(conn, user, content)
    if found:
        return found
    _lock_user(conn, user, quota)
    return _existing(conn, user, content)


def submit_results(conn: psycopg.Connection, user: User, doc: dict[str, Any], *, quota: int) -> Outcome:
    """Store a JSON submission (one transaction) and decide it; identical content again = same id."""
    content = digest(doc)
    with conn.transaction():
        if found := _claim(conn, user, content, quota):
            return found
        sid = conn.execute("INSERT INTO submissions (user_id, kind, content_sha256, unit, results, results_sha256, "
                           "status) VALUES (%s, 'json', %s, %s, %s, %s, 'new') RETURNING submission_id",
                           [user.user_id, content, doc["unit"], Jsonb(doc), content]).fetchone()[0]
        audit(conn, "submission.create", user_id=user.user_id, submission_id=sid,
              detail={"kind": "json", "sha256": content, "unit": doc["unit"]})
        status = decide(conn, sid)
    return Outcome(sid, status, True)


def submit_image(conn: psycopg.Connection, user: User, data: bytes, content_type: str, filename: str | None, *,
                 quota: int) -> Outcome:
    """Store an uploaded image for the worker to decode; identical bytes again = same id."""
    content = hashlib.sha256(data).hexdigest()
    with conn.transaction():
        if found := _claim(conn, user, content, quota):
            return found
        upload = conn.execute("INSERT INTO uploads (sha256, content_type, filename, size, data) "
                              "VALUES (%s, %s, %s, %s, %s) RETURNING upload_id",
                              [content, content_type, (filename or "")[:200], len(data), data]).fetchone()[0]
        sid = conn.execute("INSERT INTO submissions (user_id, kind, content_sha256, status, upload_id) "
                           "VALUES (%s, 'image', %s, 'decoding', %s) RETURNING submission_id",
                           [user.user_id, content, upload]).fetchone()[0]
        audit(conn, "submission.create", user_id=user.user_id, submission_id=sid,
              detail={"kind": "image", "sha256": content, "bytes": len(data), "type": content_type})
    return Outcome(sid, "decoding", True)


def decide(conn: psycopg.Connection, sid: int) -> str:
    """Apply the double-entry rule to submission ``sid`` (inside the caller's transaction)."""
    unit, user_id, rsha = conn.execute("SELECT unit, user_id, results_sha256 FROM submissions "
                                       "WHERE submission_id = %s", [sid]).fetchone()
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [UNIT_LOCK, unit])
    others = conn.execute("SELECT submission_id, user_id, results_sha256, status FROM submissions "
                          "WHERE unit = %s AND submission_id <> %s AND status IN "
                          "('pending', 'accepted', 'disputed') ORDER BY submission_id", [unit, sid]).fetchall()
    changes: list[tuple[int, str]] = []
    accepted = [o for o in others if o[3] == "accepted"]
    if accepted:
        status = "confirmed" if any(o[2] == rsha for o in accepted) else "disputed"
    elif any(o[3] == "disputed" for o in others):
        status = "disputed"
    else:
        pending = [o for o in others if o[3] == "pending"]
        changes += [(o[0], "superseded") for o in pending if o[1] == user_id]
        theirs = [o for o in pending if o[1] != user_id]
        if not theirs:
            status = "pending"
        elif theirs[0][2] == rsha:
            changes.append((theirs[0][0], "accepted"))
            status = "confirmed"
        else:
            changes += [(o[0], "disputed") for o in theirs]
            status = "disputed"
    changes.append((sid, status))
    for target, new in changes:
        conn.execute("UPDATE submissions SET status = %s, decided_at = now() WHERE submission_id = %s",
                     [new, target])
        audit(conn, f"submission.{new}", submission_id=target, detail={"rule": "double entry", "by": sid})
    return status


def resolve(conn: psycopg.Connection, reviewer: User, sid: int, decision: str, note: str | None) -> str:
    """A reviewer accepts or rejects a disputed/pending submission; every other copy is kept."""
    with conn.transaction():
        row = conn.execute("SELECT unit, results_sha256, status FROM submissions WHERE submission_id = %s "
                           "FOR UPDATE", [sid]).fetchone()
        if row is None:
            raise LookupError(f"no submission {sid}")
        unit, rsha, status = row
        if status not in ("pending", "disputed"):
            raise InputError(f"submission {sid} is {status}; only pending or disputed ones are resolved",
                             field="decision")
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [UNIT_LOCK, unit])
        changes = [(sid, "accepted" if decision == "accept" else "rejected")]
        if decision == "accept":
            for oid, osha in conn.execute("SELECT submission_id, results_sha256 FROM submissions WHERE unit = %s "
                                          "AND submission_id <> %s AND status IN ('pending', 'disputed')",
                                          [unit, sid]).fetchall():
                changes.append((oid, "confirmed" if osha == rsha else "rejected"))
        for target, new in changes:
            conn.execute("UPDATE submissions SET status = %s, decided_by = %s, decided_at = now(), note = %s "
                         "WHERE submission_id = %s", [new, reviewer.user_id, note, target])
            audit(conn, f"submission.{new}", user_id=reviewer.user_id, submission_id=target,
                  detail={"rule": "review", "by": sid, "note": note})
    return changes[0][1]


def record_of(doc: dict[str, Any]) -> tuple[list[str], list[int], dict[str, int | None], list[str]]:
    """(selections, votes, per-unit counts, flags) of an accepted submission, as ingest would store them."""
    names = sorted(doc["results"])
    votes = [int(doc["results"][n]) for n in names]
    counts = {k: doc.get(k) for k in ("registered", "cast", "valid", "null", "blank")}
    reg, total = counts["registered"], sum(votes)
    flags = []
    if reg is not None and total > reg:
        flags.append("votes_above_registered")
    if reg == 0:
        flags.append("zero_registered")
    return names, votes, counts, flags


def build_batch(rows: list[tuple[int, dict[str, Any]]], levels: list[str]):  # -> Batch
    """One Batch of accepted submissions that share their candidates (row = submission id)."""
    from voteaudit.store.batch import Batch

    recs = [record_of(doc) for _, doc in rows]
    names = recs[0][0]
    ids = [sid for sid, _ in rows]
    units = [doc["unit"] for _, doc in rows]
    n = len(rows)
    records = pa.table({
        "row": pa.array(ids, pa.int64()), "unit_id": pa.array(units, pa.string()),
        **{k: pa.array([r[2][k] for r in recs], pa.int64()) for k in ("registered", "cast", "valid", "null", "blank")},
        "votes": pa.array([r[1] for r in recs], pa.list_(pa.int64())),
        "flags": pa.array([r[3] for r in recs], pa.list_(pa.string())),
        "seq": pa.array(np.arange(n), pa.int64()),
    })
    node_rows: dict[str, tuple[int, str | None]] = {}
    for u in units:
        parts = u.split(".")
        for k in range(len(parts)):
            node_rows.setdefault(".".join(parts[:k + 1]), (k + 1, ".".join(parts[:k]) or None))
    order = sorted(node_rows, key=lambda i: (node_rows[i][0], i))
    nodes = pa.table({"id": order, "depth": pa.array([node_rows[i][0] for i in order], pa.int32()),
                      "parent": pa.array([node_rows[i][1] for i in order], pa.string()),
                      "label": order, "seq": pa.array(np.arange(len(order)), pa.int64())})
    sha = hashlib.sha256(json.dumps([(sid, digest(doc)) for sid, doc in rows]).encode()).hexdigest()
    return Batch(file=f"submissions {min(ids)}..{max(ids)} ({n})", sha256=sha, format="submission", rows=n,
                 levels=levels, selections=[(c, c) for c in names], records=records, nodes=nodes)


def store_accepted(store: Any, source: str, *, limit: int = 2000) -> int:
    """Write accepted, not yet stored submissions as records of ``source``; return how many.

    The submissions are locked (``SKIP LOCKED``: workers share the work) and marked stored in the
    same transaction as the records, so a killed worker leaves them to the next one, never twice.
    """
    with store.transaction() as conn:
        rows = conn.execute("SELECT submission_id, results FROM submissions WHERE status = 'accepted' "
                            "AND NOT stored ORDER BY submission_id LIMIT %s FOR UPDATE SKIP LOCKED",
                            [limit]).fetchall()
        if not rows:
            return 0
        levels = store.levels() or []
        groups: dict[tuple[str, ...], list[tuple[int, dict]]] = {}
        for sid, doc in rows:
            groups.setdefault(tuple(sorted(doc["results"])), []).append((sid, doc))
        for group in groups.values():
            ids = [sid for sid, _ in group]

            def mark(c: psycopg.Connection, ids: list[int] = ids) -> None:
                c.execute("UPDATE submissions SET stored = true, stored_at = now() WHERE submission_id = ANY(%s)",
                          [ids])
                audit(c, "submission.stored", detail={"source": source, "submissions": ids})

            store.write_import(build_batch(group, levels), source, "observer", also=mark)
    return len(rows)
