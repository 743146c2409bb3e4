"""Glue from a store to :mod:`voteaudit.checks.changes` and :mod:`voteaudit.checks.cases` (CLI, report, server).

Reads what the pure functions need — every source's matrix, conflicting copies, a feed's versions,
tables listed as not reporting, the announced size, disputed server submissions — and keeps the
analyst's decisions (closed cases, with notes and times) in the store's state (``cases``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from voteaudit.checks.cases import CaseList, build_cases
from voteaudit.checks.changes import FeedChanges, Version, feed_changes
from voteaudit.model import SourceMatrix, StoreError, VoteauditError
from voteaudit.store import Store

STATE_KEY = "cases"


def feed_changes_of(store: Store, source: str, contest: str | None = None, level: int = 0) -> FeedChanges:
    """Every version of a feed source, read from the store, through :func:`feed_changes`."""
    if not store.is_feed(source):
        store.matrix(source, contest)  # names an unknown source or contest
        raise VoteauditError(f"source {source!r} is not a feed: ingest its publications with --feed (and --as-of)")
    versions = [Version(v["version"], v["as_of"], store.matrix(source, contest, as_of=v["as_of"]), v["sha256"])
                for v in store.versions(source, contest)]
    return feed_changes(versions, level=level)


def disputed_submissions(store: Store) -> list[dict[str, Any]]:
    """Disputed observer submissions of a server store (PostgreSQL with the server's tables), else none."""
    conn = getattr(store, "conn", None)
    if conn is None or conn.execute("SELECT to_regclass('submissions')").fetchone()[0] is None:
        return []
    # the server stores each submission's canonical document: {"unit": ..., "results": {candidate: votes}, ...}
    return [{"submission_id": int(i), "unit": u, "results": {k: int(v) for k, v in r["results"].items()},
             "status": st} for i, u, r, st in conn.execute(
                "SELECT submission_id, unit, results, status FROM submissions WHERE unit IN (SELECT unit FROM "
                "submissions WHERE status = 'disputed') AND status IN ('disputed', 'accepted', 'pending') "
                "AND results IS NOT NULL ORDER BY submission_id").fetchall()]


def feeds_of(store: Store, contest: str | None = None, names: list[str] | None = None) -> dict[str, FeedChanges]:
    """What changed in each feed source of the contest (``names``: its sources) with more than one version."""
    names = [s.name for s in store.sources(contest)] if names is None else names
    return {name: feed_changes_of(store, name, contest) for name in names
            if store.is_feed(name) and len(store.versions(name, contest)) > 1}


def cases_of(store: Store, contest: str | None = None, *, loaded: dict[str, SourceMatrix] | None = None,
             changes: dict[str, FeedChanges] | None = None) -> CaseList:
    """The contest's cases from everything the store holds (``loaded``/``changes``: already read)."""
    contest = store.resolve_contest(contest)
    names = next((c.sources for c in store.contests() if c.name == contest), [])  # lighter than sources()
    matrices = [(loaded or {}).get(name) or store.matrix(name, contest) for name in names]
    conflicting = {m.source: store.conflicts(m.source, contest) for m in matrices if m.conflicted}
    changes = feeds_of(store, contest, names) if changes is None else changes
    unreported = sorted({u["unit"] for name in names for u in store.unreported(name, contest)})
    announced = store.universe(contest)
    universe = {"tables": announced.get("units"), "registered": announced.get("registered")}
    closed = (store.state(STATE_KEY, contest=contest) or {}).get("closed", {})
    return build_cases(matrices, universe=universe, conflicting=conflicting, changes=changes, unreported=unreported,
                       submissions=disputed_submissions(store), closed=closed)


def close_case(store: Store, case: str, note: str, contest: str | None = None) -> dict[str, Any]:
    """Close an open case with a note (kept with its time in the store; in the server's audit log on PostgreSQL)."""
    note = note.strip()
    if not note:
        raise VoteauditError("closing a case needs a --note saying why")
    contest = store.resolve_contest(contest)
    listed = cases_of(store, contest)
    found = next((c for c in listed.cases if c.id == case), None)
    if found is None:
        raise StoreError(f"no case {case!r} in contest {contest!r} (run `voteaudit cases` for the list)")
    if found.status == "closed":
        raise VoteauditError(f"case {case} is already closed")
    at = datetime.now(UTC).isoformat(timespec="seconds")
    state = store.state(STATE_KEY, contest=contest) or {}
    closed = dict(state.get("closed", {}))
    entry = {"kind": found.kind, "unit": found.unit, "margin_effect": found.margin_effect, "closed_at": at,
             "notes": [*closed.get(case, {}).get("notes", []), {"note": note, "at": at}]}
    closed[case] = entry
    store.save_state(STATE_KEY, {**state, "closed": closed}, contest=contest)
    conn = getattr(store, "conn", None)
    if conn is not None and conn.execute("SELECT to_regclass('audit_log')").fetchone()[0] is not None:
        from voteaudit.server.users import audit

        audit(conn, "case_closed", detail={"case": case, "contest": contest, **entry})
    return {"id": case, "status": "closed", **entry}
