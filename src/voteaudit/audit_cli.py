"""``voteaudit audit plan|sample|record|status``: a risk-limiting audit of one source's table results.

The audit's parameters (method, risk limit, seed, draws so far) are kept in the store, so that
``status`` re-derives the sample from the public seed and measures the risk from the hand counts
recorded as a source of kind ``audit``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from voteaudit import audit as rla
from voteaudit.model import InputError, SourceMatrix, VoteauditError
from voteaudit.store import DEFAULT_DB, Store

app = typer.Typer(help="Risk-limiting audits: plan a sample, draw it from a public seed, record the hand counts "
                       "of the sampled tally sheets, and measure the risk.", no_args_is_help=True)

Method = Annotated[str, typer.Option("--method", help="macro (batch comparison, PPEB), supersimple, alpha or bravo "
                                                      "(ballot polling).")]
Source = Annotated[str, typer.Option("--source", help="Source whose reported table results are audited.")]
RiskLimit = Annotated[float, typer.Option("--risk-limit", help="Risk limit in percent, e.g. 5.")]
Winners = Annotated[int, typer.Option("--winners", help="Number of winners (seats).")]
Threshold = Annotated[float | None, typer.Option("--threshold", help="Share (percent) a single winner needs to "
                                                                     "avoid a runoff, e.g. 50.")]


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


def plan_cmd(store: Store, source: str, method: str, risk_limit: float, winners: int,
             threshold: float | None) -> dict[str, Any]:
    m = store.matrix(source)
    ids, votes, ballots = _arrays(m)
    result = _guard(rla.plan, method, ids, votes, m.candidates, ballots, risk_limit=_risk(risk_limit),
                    winners=winners, threshold=_threshold(threshold))
    key = f"audit:{source}"
    state = store.state(key) or {}
    if state.get("method") not in (None, method):
        state = {}
    store.save_state(key, {**state, "method": method, "risk_limit": risk_limit, "winners": winners,
                           "threshold": threshold})
    return {**result.to_dict(), "source": source, "method": method, "risk_limit_percent": risk_limit}


def sample_cmd(store: Store, source: str, method: str, seed: str, size: int, winners: int,
               threshold: float | None, risk_limit: float | None) -> dict[str, Any]:
    m = store.matrix(source)
    ids, votes, ballots = _arrays(m)
    key = f"audit:{source}"
    state = store.state(key) or {}
    if state.get("method") not in (None, method) or state.get("seed") not in (None, seed):
        state = {}  # a new audit (other method or seed) starts a new sequence
    start = int(state.get("draws", 0))
    drawn = _guard(rla.sample, method, ids, votes, m.candidates, ballots, seed=seed, size=size, start=start,
                   winners=winners, threshold=_threshold(threshold))
    state = {"method": method, "seed": seed, "draws": start + size, "winners": winners, "threshold": threshold,
             "risk_limit": risk_limit if risk_limit is not None else state.get("risk_limit", 5.0),
             "rounds": [*state.get("rounds", []), {"start": start, "size": size}]}
    store.save_state(key, state)
    return {"source": source, "method": method, "seed": seed, "start": start, "size": size, "sample": drawn,
            "distinct_tables": len(set(drawn))}


def status_cmd(store: Store, source: str, audit_source: str | None) -> dict[str, Any]:
    state = store.state(f"audit:{source}")
    if not state:
        raise VoteauditError(f"no audit in progress for {source!r}: run `voteaudit audit sample` first")
    m = store.matrix(source)
    ids, votes, ballots = _arrays(m)
    drawn = _guard(rla.sample, state["method"], ids, votes, m.candidates, ballots, seed=state["seed"],
                   size=state["draws"], winners=state["winners"], threshold=_threshold(state["threshold"]))
    audited: dict[str, np.ndarray] = {}
    name = audit_source or state.get("audit_source")
    if name:
        hand = store.matrix(name)
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
    status = _guard(rla.measure, state["method"], ids, votes, m.candidates, ballots,
                    risk_limit=state["risk_limit"] / 100, sampled_ids=drawn, audited_votes=audited,
                    winners=state["winners"], threshold=_threshold(state["threshold"]))
    return {"source": source, "audit_source": name, "method": state["method"], "seed": state["seed"],
            "risk_limit": state["risk_limit"], "draws": state["draws"], **status.to_dict()}


def _emit(doc: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    from voteaudit.terminal import emit, out

    if as_json:
        emit(doc)
    else:
        for line in lines:
            out.print(line)


def _open(db: str) -> Store:
    from voteaudit.store import open_store

    return open_store(db)


@app.command("plan")
def plan(source: Source, method: Method = "macro", risk_limit: RiskLimit = 5.0, winners: Winners = 1,
         threshold: Threshold = None, db: Annotated[str, typer.Option("--db")] = DEFAULT_DB,
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """First-round sample size for a risk limit, from the source's reported table results."""
    from voteaudit.terminal import run_guarded

    def body() -> None:
        with _open(db) as store:
            doc = plan_cmd(store, source, method, risk_limit, winners, threshold)
        _emit(doc, as_json, [f"{method}: sample {doc['sample_size']:,} draws for a {risk_limit}% risk limit "
                             f"(diluted margin {doc.get('diluted_margin')})."])
    run_guarded(body)


@app.command("sample")
def sample(source: Source, seed: Annotated[str, typer.Option("--seed", help="Public seed, e.g. 20 dice rolls.")],
           size: Annotated[int, typer.Option("--size", help="Draws in this round.")], method: Method = "macro",
           winners: Winners = 1, threshold: Threshold = None,
           risk_limit: Annotated[float | None, typer.Option("--risk-limit", help="Risk limit in percent.")] = None,
           db: Annotated[str, typer.Option("--db")] = DEFAULT_DB,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Draw tables to hand-count from a public seed (SHA-256; anyone can re-derive it). Repeats are kept."""
    from voteaudit.terminal import run_guarded

    def body() -> None:
        with _open(db) as store:
            doc = sample_cmd(store, source, method, seed, size, winners, threshold, risk_limit)
        _emit(doc, as_json, [f"draws {doc['start'] + 1}..{doc['start'] + size}: " + ", ".join(doc["sample"])])
    run_guarded(body)


@app.command("record")
def record(file: Annotated[Path, typer.Argument(help="Hand counts of the sampled sheets (any ingest format).")],
           source: Source,
           audit_source: Annotated[str | None, typer.Option("--audit-source", help="Name for the hand counts "
                                                                                     "(default SOURCE-audit).")] = None,
           mapping: Annotated[Path | None, typer.Option("--mapping", help="TOML column mapping.")] = None,
           unit: Annotated[list[str] | None, typer.Option("--unit", help="Key column; repeat.")] = None,
           candidate: Annotated[list[str] | None, typer.Option("--candidate", help="Vote column; repeat.")] = None,
           db: Annotated[str, typer.Option("--db")] = DEFAULT_DB,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Record hand counts as a source of kind `audit`, then report the measured risk."""
    from voteaudit.ingest import ingest_file, load_mapping
    from voteaudit.ingest.mapping import Mapping
    from voteaudit.terminal import run_guarded

    def body() -> None:
        name = audit_source or f"{source}-audit"
        m = load_mapping(mapping) if mapping else Mapping(units=list(unit or []), candidates=list(candidate or []))
        with _open(db) as store:
            state = store.state(f"audit:{source}")
            if not state:
                raise VoteauditError(f"no audit in progress for {source!r}: run `voteaudit audit sample` first")
            result = ingest_file(store, file, m, source=name, kind="audit")
            store.save_state(f"audit:{source}", {**state, "audit_source": name})
            doc = status_cmd(store, source, name)
        doc["ingest"] = result.to_dict()
        _emit(doc, as_json, [f"risk {doc['risk']:.4g} after {doc['draws']} draws: {doc['verdict']}"])
    run_guarded(body)


@app.command("status")
def status(source: Source,
           audit_source: Annotated[str | None, typer.Option("--audit-source", help="Hand-count source.")] = None,
           db: Annotated[str, typer.Option("--db")] = DEFAULT_DB,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Measured risk, verdict and per-table discrepancies (reported first, then audited)."""
    from voteaudit.terminal import run_guarded

    def body() -> None:
        with _open(db) as store:
            doc = status_cmd(store, source, audit_source)
        lines = [f"risk {doc['risk']:.4g} after {doc['draws']} draws: {doc['verdict']}"]
        lines += [f"  {d}" for d in doc.get("discrepancies", [])[:20]]
        _emit(doc, as_json, lines)
    run_guarded(body)
