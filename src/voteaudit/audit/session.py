"""An audit in progress, kept in a store: plan, draw rounds from the public seed, measure the risk.

The rest of :mod:`voteaudit.audit` is pure math over arrays; this module is the glue that reads the
reported results and hand counts through the :class:`~voteaudit.store.Store` interface and keeps the
audit's parameters (method, risk limit, seed, draws so far) as store state under ``audit:SOURCE``, so
that ``status`` re-derives the sample from the public seed. The CLI and the report both use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import voteaudit.audit as audit
from voteaudit.model import InputError, SourceMatrix, VoteauditError

if TYPE_CHECKING:
    from voteaudit.store import Store


def _arrays(m: SourceMatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ballots = m.ballots()
    return m.unit_ids, m.votes, np.maximum(ballots, m.votes.sum(axis=1))


def _risk(percent: float) -> float:
    if not 0 < percent < 100:
        raise InputError(f"risk limit must be a percentage between 0 and 100, not {percent}", field="--risk-limit")
    return percent / 100


def _threshold(percent: float | None) -> float | None:
    return None if percent is None else percent / 100


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:  # the math package reports impossible audits (ties, bad sizes) as ValueError
        raise VoteauditError(str(exc)) from None


def plan_audit(store: Store, source: str, method: str, risk_limit: float, winners: int,
             threshold: float | None, *, contest: str | None = None) -> dict[str, Any]:
    m = store.matrix(source, contest)
    ids, votes, ballots = _arrays(m)
    result = _guard(audit.plan, method, ids, votes, m.candidates, ballots, risk_limit=_risk(risk_limit),
                    winners=winners, threshold=_threshold(threshold))
    key = f"audit:{source}"
    state = store.state(key, contest=contest) or {}
    if state.get("method") not in (None, method):
        state = {}
    store.save_state(key, {**state, "method": method, "risk_limit": risk_limit, "winners": winners,
                           "threshold": threshold}, contest=contest)
    return {**result.to_dict(), "source": source, "method": method, "risk_limit_percent": risk_limit}


def draw_round(store: Store, source: str, method: str, seed: str, size: int, winners: int,
               threshold: float | None, risk_limit: float | None, *, contest: str | None = None) -> dict[str, Any]:
    m = store.matrix(source, contest)
    ids, votes, ballots = _arrays(m)
    key = f"audit:{source}"
    state = store.state(key, contest=contest) or {}
    if state.get("method") not in (None, method) or state.get("seed") not in (None, seed):
        state = {}  # a new audit (other method or seed) starts a new sequence
    start = int(state.get("draws", 0))
    drawn = _guard(audit.sample, method, ids, votes, m.candidates, ballots, seed=seed, size=size, start=start,
                   winners=winners, threshold=_threshold(threshold))
    state = {"method": method, "seed": seed, "draws": start + size, "winners": winners, "threshold": threshold,
             "risk_limit": risk_limit if risk_limit is not None else state.get("risk_limit", 5.0),
             "rounds": [*state.get("rounds", []), {"start": start, "size": size}]}
    store.save_state(key, state, contest=contest)
    return {"source": source, "method": method, "seed": seed, "start": start, "size": size, "sample": drawn,
            "distinct_tables": len(set(drawn))}


def audit_status(store: Store, source: str, audit_source: str | None, *,
                 contest: str | None = None) -> dict[str, Any]:
    state = store.state(f"audit:{source}", contest=contest)
    if not state:
        raise VoteauditError(f"no audit in progress for {source!r}: run `voteaudit audit sample` first")
    m = store.matrix(source, contest)
    ids, votes, ballots = _arrays(m)
    drawn = _guard(audit.sample, state["method"], ids, votes, m.candidates, ballots, seed=state["seed"],
                   size=state["draws"], winners=state["winners"], threshold=_threshold(state["threshold"]))
    audited: dict[str, np.ndarray] = {}
    name = audit_source or state.get("audit_source")
    if name:
        hand = store.matrix(name, contest)
        if hand.kind != "audit":
            raise VoteauditError(f"source {name!r} is of kind {hand.kind!r}, not 'audit'")
        pos = {c: j for j, c in enumerate(hand.candidates)}
        missing = [c for c in m.candidates if c not in pos]
        if missing:
            raise VoteauditError(f"hand counts in {name!r} lack candidates {missing}")
        rows = {u: i for i, u in enumerate(hand.unit_ids)}
        for uid in set(drawn):
            if uid in rows:
                audited[uid] = hand.votes[rows[uid], [pos[c] for c in m.candidates]]
    status = _guard(audit.measure, state["method"], ids, votes, m.candidates, ballots,
                    risk_limit=state["risk_limit"] / 100, sampled_ids=drawn, audited_votes=audited,
                    winners=state["winners"], threshold=_threshold(state["threshold"]))
    return {"source": source, "audit_source": name, "method": state["method"], "seed": state["seed"],
            "risk_limit": state["risk_limit"], "draws": state["draws"], **status.to_dict()}


def record_hand_counts(store: Store, source: str, file: Any, mapping: Any, audit_source: str, *,
                       contest: str | None = None) -> dict[str, Any]:
    """Ingest the hand counts of ``file`` as source ``audit_source`` (kind audit) and measure the risk."""
    from voteaudit.ingest import ingest_file

    state = store.state(f"audit:{source}", contest=contest)
    if not state:
        raise VoteauditError(f"no audit in progress for {source!r}: run `voteaudit audit sample` first")
    result = ingest_file(store, file, mapping, source=audit_source, kind="audit", contest=contest)
    store.save_state(f"audit:{source}", {**state, "audit_source": audit_source}, contest=contest)
    return {**audit_status(store, source, audit_source, contest=contest), "ingest": result.to_dict()}
