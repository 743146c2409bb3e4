"""An audit in progress, kept in a store: plan and commit, draw rounds from the public seed, record hand
counts, measure the risk.

The rest of :mod:`voteaudit.audit` is pure math over arrays; this module is the glue that reads the
reported results, CVR files and hand counts and keeps the audit's state in the store (``audit:SOURCE``
through :meth:`~voteaudit.store.Store.save_state`): method, risk limit, the commitment made at
``plan`` (sha256 of the ballot manifest and of the reported results, and the time), the seed and when
it was recorded, the rounds drawn (start, size, seed, manifest sha256, time), each round's tally
(Minerva), a CVR file's path and sha256 and the manual vote records of drawn ballots. ``status``
re-derives the sample from the public seed. The CLI and the report both use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import voteaudit.audit as rla
from voteaudit.model import InputError, SourceMatrix, VoteauditError

if TYPE_CHECKING:
    from voteaudit.store import Store


def _arrays(m: SourceMatrix, votes_allowed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Table ids, reported votes, and the ballot manifest: ballots per table, at least what the votes imply."""
    from voteaudit.audit.contest import min_ballots

    if votes_allowed < 1:
        raise InputError(f"votes allowed must be at least 1, not {votes_allowed}", field="--votes-allowed")
    return m.unit_ids, m.votes, min_ballots(m.votes, m.ballots(), votes_allowed)


def _read_cvrs(path: Path, candidates: list[str], *, need_table: bool = True, votes_allowed: int = 1) -> Any:
    import csv

    from voteaudit.audit import cvr as cvr_m

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise InputError("empty file", file=str(path))
            return cvr_m.parse(header, reader, candidates, file=str(path), need_table=need_table,
                               votes_allowed=votes_allowed)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None


def _sha256_file(path: Path) -> str:
    from voteaudit.ingest import sha256_file

    return sha256_file(path)


def _units(m: SourceMatrix, state: dict[str, Any], votes_allowed: int = 1
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, set[str], Any]:
    """What the audit samples: the source's tables, or (CVR audit) its ballots, with the phantom ids and the
    ballot manifest. A CVR file is re-read and must still have the sha256 recorded at `audit plan`."""
    info = state.get("cvr")
    if not info:
        ids, votes, ballots = _arrays(m, votes_allowed)
        return ids, votes, ballots, set(), None
    from voteaudit.audit import cvr as cvr_m

    path = Path(info["path"])
    try:
        digest = _sha256_file(path)
    except OSError as exc:
        raise VoteauditError(f"the CVR file of this audit cannot be read ({exc}); it was {path}") from None
    if digest != info["sha256"]:
        raise VoteauditError(f"{path} changed since `audit plan` (sha256 {digest[:16]}..., committed "
                             f"{info['sha256'][:16]}...): the audit's CVRs are fixed once committed")
    t_ids, _, t_ballots = _arrays(m, votes_allowed)
    man = cvr_m.ballot_manifest(_read_cvrs(path, m.candidates, votes_allowed=votes_allowed), t_ids, t_ballots,
                                file=str(path))
    return man.ballot_ids, man.marks, np.ones(len(man.ballot_ids), dtype=np.int64), \
        set(man.ballot_ids[man.phantom].tolist()), man


def _cvr_plan(m: SourceMatrix, path: Path, method: str, winners: int, votes_allowed: int) -> dict[str, Any]:
    """Check a CVR file against the source (same outcome) and describe it for the audit's state."""
    from voteaudit.audit import build_contest
    from voteaudit.audit import cvr as cvr_m

    cvrs = _read_cvrs(path, m.candidates, votes_allowed=votes_allowed)
    t_ids, t_votes, t_ballots = _arrays(m, votes_allowed)
    man = cvr_m.ballot_manifest(cvrs, t_ids, t_ballots, file=str(path))
    by_table = man.tally_by_table(t_ids)
    rep = build_contest(t_votes, m.candidates, t_ballots, winners=winners, votes_allowed=votes_allowed)
    mine = build_contest(by_table, m.candidates, t_ballots, winners=winners, votes_allowed=votes_allowed)
    if sorted(rep.winners) != sorted(mine.winners):
        raise VoteauditError(f"the CVRs in {path} give winners {[m.candidates[i] for i in sorted(mine.winners)]}, "
                             f"the source reports {[m.candidates[i] for i in sorted(rep.winners)]}: a comparison "
                             "audit checks the outcome the CVRs imply, which must be the reported one")
    differ = np.flatnonzero(np.any(by_table != t_votes, axis=1))
    return {"path": str(path.resolve()), "sha256": _sha256_file(path), "ballots": int(len(man.ballot_ids)),
            "cvrs": int((~man.phantom).sum()), "phantoms": int(man.phantom.sum()), "overvotes": cvrs.overvotes,
            "tables_differing_from_source": int(differ.size),
            "tables_differing_sample": [str(t_ids[i]) for i in differ[:10]], "method": method}


def _draw(method: str, ids: np.ndarray, votes: np.ndarray, candidates: list[str], ballots: np.ndarray, *,
          seed: str, size: int, start: int = 0, winners: int = 1, threshold: float | None = None,
          votes_allowed: int = 1, replacement: bool = True) -> list[str]:
    """Drawn units in draw order: tables (or CVR ballots); for ALPHA ballot polling, ballots named
    ``TABLE#POSITION`` (the position of the ballot in its table, from 1)."""
    if method == "polling":
        pairs = _guard(rla.sample_ballots, ids, ballots, seed=seed, size=size, start=start, replacement=replacement)
        return [f"{t}#{p}" for t, p in pairs]
    return _guard(rla.sample, method, ids, votes, candidates, ballots, seed=seed, size=size, start=start,
                  winners=winners, threshold=_threshold(threshold), votes_allowed=votes_allowed,
                  replacement=replacement)


def _ballot_records(state: dict[str, Any]) -> bool:
    """Whether hand counts are per ballot (CVR comparison, ALPHA polling) rather than per table."""
    return bool(state.get("cvr")) or state.get("method") == "polling"


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


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="microseconds")


def _when(text: str) -> Any:
    from datetime import UTC, datetime

    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"not an ISO 8601 time: {text!r}", field="--seed-time") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _iso(text: str) -> str:
    return _when(text).isoformat(timespec="microseconds")


def _commitment(m: SourceMatrix, ids: np.ndarray, votes: np.ndarray, ballots: np.ndarray) -> dict[str, Any]:
    from voteaudit.audit.commitment import manifest_sha256, results_sha256

    return {"manifest_sha256": manifest_sha256(ids, ballots),
            "results_sha256": results_sha256(ids, m.candidates, votes),
            "tables": int(len(ids)), "ballots": int(np.asarray(ballots).sum()),
            "reported": dict(zip(m.candidates, np.asarray(votes).sum(axis=0).astype(int).tolist(), strict=True))}


def _same_data(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("manifest_sha256") == b.get("manifest_sha256") and a.get("results_sha256") == b.get("results_sha256")


def plan_audit(store: Store, source: str, method: str, risk_limit: float, winners: int,
             threshold: float | None, force: bool = False, votes_allowed: int = 1,
             replacement: bool = True, cvr: Path | None = None, *, contest: str | None = None) -> dict[str, Any]:
    """Plan the first round and commit to the manifest and reported results (stored, with the time).
    With ``cvr``: a ballot-level comparison audit of the CVRs (method comparison = ALPHA, or supersimple)."""
    m = store.matrix(source, contest)
    cvr_info = None
    if method == "comparison" and cvr is None:
        raise InputError("--method comparison compares ballots with their cast-vote records: give --cvr FILE",
                         field="--cvr")
    if cvr is not None:
        if method not in ("comparison", "alpha", "supersimple"):
            raise InputError(f"--cvr goes with --method comparison (ALPHA) or supersimple, not {method}",
                             field="--method")
        if threshold is not None:
            raise InputError("a CVR audit here covers plurality contests", field="--threshold")
        method = "alpha" if method == "comparison" else method
        cvr_info = _cvr_plan(m, cvr, method, winners, votes_allowed)
    ids, votes, ballots, _, _ = _units(m, {"cvr": cvr_info} if cvr_info else {}, votes_allowed)
    result = _guard(rla.plan, method, ids, votes, m.candidates, ballots, risk_limit=_risk(risk_limit),
                    winners=winners, threshold=_threshold(threshold), votes_allowed=votes_allowed,
                    replacement=replacement)
    key = f"audit:{source}"
    state = store.state(key, contest=contest) or {}
    if state.get("rounds") and (state.get("method") not in (None, method)
                                or state.get("votes_allowed", 1) != votes_allowed
                                or state.get("replacement", True) != replacement
                                or (state.get("cvr") or {}).get("sha256") != (cvr_info or {}).get("sha256")):
        if not force:
            raise VoteauditError(f"an audit of {source!r} by {state['method']} (votes allowed "
                                 f"{state.get('votes_allowed', 1)}) has drawn {len(state['rounds'])} round(s); "
                                 f"planning {method}, votes allowed {votes_allowed}, starts a new audit: pass --force")
        state = {}
    elif state.get("method") not in (None, method):
        state = {}
    commit = {**_commitment(m, ids, votes, ballots), "committed_at": _now()}
    old = state.get("commitment")
    if old and _same_data(old, commit):
        commit = old                     # same data: the first commitment (and its time) stands
    store.save_state(key, {**state, "method": method, "risk_limit": risk_limit, "winners": winners,
                           "threshold": threshold, "commitment": commit, "planned_size": result.sample_size,
                           "votes_allowed": votes_allowed, "replacement": replacement, "cvr": cvr_info},
                     contest=contest)
    if cvr_info:
        commit = {**commit, "cvr_sha256": cvr_info["sha256"]}
        state = store.state(key, contest=contest) or {}
        store.save_state(key, {**state, "commitment": commit}, contest=contest)
    return {**result.to_dict(), "source": source, "method": method, "risk_limit_percent": risk_limit,
            "commitment": commit, "votes_allowed": votes_allowed, "replacement": replacement, "cvr": cvr_info}


def _rounds(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Rounds drawn so far (older stores kept only start and size)."""
    return [{"round": i + 1, **r} for i, r in enumerate(state.get("rounds", []))]


def _check_seed(state: dict[str, Any], seed: str, seed_time: str | None, force: bool) -> str:
    """When the seed was recorded; refuses one recorded before the commitment (unless ``force``)."""
    commit = state.get("commitment")
    if not commit:
        if force:
            return _now()
        raise VoteauditError("no commitment yet: run `voteaudit audit plan` first, so that the manifest and the "
                             "reported results are fixed (and their sha256 published) before the seed is known; "
                             "--force draws anyway")
    recorded = state.get("seed_recorded_at") if state.get("seed") == seed else None
    recorded = _iso(seed_time) if seed_time else (recorded or _now())
    if _when(recorded) < _when(commit["committed_at"]) and not force:
        raise VoteauditError(f"the seed was recorded at {recorded}, before the commitment of {commit['committed_at']} "
                             "(manifest sha256 " + commit["manifest_sha256"][:16] + "...): whoever fixed the data "
                             "could have known the draw; commit anew and generate a new seed, or pass --force")
    return recorded


def draw_round(store: Store, source: str, method: str | None, seed: str, size: int | None, winners: int | None,
               threshold: float | None, risk_limit: float | None, *, round_no: int | None = None,
               force: bool = False, seed_time: str | None = None, votes_allowed: int | None = None,
               contest: str | None = None) -> dict[str, Any]:
    """Draw round ``round_no`` (default: the next); a round drawn before is re-derived, identical."""
    m = store.matrix(source, contest)
    key = f"audit:{source}"
    state = store.state(key, contest=contest) or {}
    if votes_allowed is not None and state.get("rounds") and votes_allowed != state.get("votes_allowed", 1):
        raise VoteauditError(f"the audit of {source!r} was drawn with --votes-allowed {state.get('votes_allowed', 1)}")
    votes_allowed = votes_allowed or state.get("votes_allowed", 1)
    ids, votes, ballots, _, man = _units(m, state, votes_allowed)
    method = method or state.get("method") or "macro"
    winners = winners if winners is not None else state.get("winners", 1)
    threshold = threshold if threshold is not None else state.get("threshold")
    rounds = _rounds(state)
    if rounds and (state.get("method") != method or state.get("seed") != seed):
        if not force:
            raise VoteauditError(f"the audit of {source!r} drew {len(rounds)} round(s) by {state.get('method')} from "
                                 f"seed {state.get('seed')!r}; later rounds continue that sequence. --force starts "
                                 "a new audit")
        state, rounds = {k: v for k, v in state.items() if k == "commitment"}, []
    elif state.get("method") not in (None, method):
        if state.get("cvr"):
            raise VoteauditError(f"the audit of {source!r} is a CVR comparison by {state['method']}: plan anew")
        state = {k: v for k, v in state.items() if k == "commitment"}
    commit = state.get("commitment")
    current = _commitment(m, ids, votes, ballots)
    if commit and not _same_data(commit, current) and not force:
        raise VoteauditError(f"the reported results of {source!r} changed since the commitment of "
                             f"{commit['committed_at']} (manifest sha256 {current['manifest_sha256'][:16]}..., "
                             f"committed {commit['manifest_sha256'][:16]}...): plan again, with a new seed")
    recorded = _check_seed(state, seed, seed_time, force)
    k = round_no if round_no is not None else len(rounds) + 1
    if k < 1 or k > len(rounds) + 1:
        raise VoteauditError(f"round {k} cannot be drawn: {len(rounds)} round(s) drawn so far, the next is "
                             f"{len(rounds) + 1}", )
    repeat = k <= len(rounds)
    if repeat:
        r = rounds[k - 1]
        if size is not None and size != r["size"]:
            raise VoteauditError(f"round {k} was drawn with {r['size']} draws, not {size}; the next round is "
                                 f"{len(rounds) + 1}")
        start, size = int(r["start"]), int(r["size"])
    else:
        if size is None:
            if k != 1 or not state.get("planned_size"):
                raise VoteauditError(f"--size is needed for round {k} (see `voteaudit audit status` for the "
                                     "suggested next round size)")
            size = int(state["planned_size"])
        start = sum(int(r["size"]) for r in rounds)
    replacement = bool(state.get("replacement", True))
    drawn = _draw(method, ids, votes, m.candidates, ballots, seed=seed, size=size, start=start, winners=winners,
                  threshold=threshold, votes_allowed=votes_allowed, replacement=replacement)
    if not repeat:
        entry = {"start": start, "size": size, "seed": seed, "manifest_sha256": current["manifest_sha256"],
                 "drawn_at": _now()}
        rounds = [*rounds, {"round": k, **entry}]
        state = {**state, "method": method, "seed": seed, "seed_recorded_at": recorded, "draws": start + size,
                 "winners": winners, "threshold": threshold, "votes_allowed": votes_allowed,
                 "risk_limit": risk_limit if risk_limit is not None else state.get("risk_limit", 5.0),
                 "rounds": [{k2: v for k2, v in r.items() if k2 != "round"} for r in rounds]}
        store.save_state(key, state, contest=contest)
    if man is not None:   # where the audit team finds each drawn ballot
        where = dict(zip(man.ballot_ids.tolist(), man.tables.tolist(), strict=True))
        extra_doc: dict[str, Any] = {"ballots": [{"ballot_id": b, "table": where[b]} for b in drawn]}
    else:
        extra_doc = {}
    return {**extra_doc, "source": source, "method": method, "seed": seed, "round": k, "repeat": repeat,
            "start": start, "size": size, "sample": drawn, "distinct_tables": len(set(drawn)),
            "replacement": replacement, "manifest_sha256": current["manifest_sha256"], "forced": bool(force)}


def _sampled_tally(candidates: list[str], doc: dict[str, Any]) -> dict[str, int]:
    """Votes on the sampled ballots so far (ballot polling: each drawn table's recorded votes, once)."""
    tally = dict.fromkeys(candidates, 0)
    for d in doc.get("discrepancies", []):
        for c, v in (d.get("audited") or {}).items():
            tally[c] = tally.get(c, 0) + int(v)
    return tally


def audit_status(store: Store, source: str, audit_source: str | None, *,
                 contest: str | None = None) -> dict[str, Any]:
    state = store.state(f"audit:{source}", contest=contest)
    if not state or not state.get("draws"):
        raise VoteauditError(f"no audit in progress for {source!r}: run `voteaudit audit sample` first")
    m = store.matrix(source, contest)
    va = int(state.get("votes_allowed", 1))
    ids, votes, ballots, phantoms, _ = _units(m, state, va)
    drawn = _draw(state["method"], ids, votes, m.candidates, ballots, seed=state["seed"], size=state["draws"],
                  winners=state["winners"], threshold=state["threshold"], votes_allowed=va,
                  replacement=bool(state.get("replacement", True)))
    audited: dict[str, np.ndarray] = {}
    name = audit_source or state.get("audit_source")
    if _ballot_records(state):
        audited = {b: np.array([v[c] for c in m.candidates], dtype=np.int64) for b, v in state.get("mvr", {}).items()}
        name = None
    elif name:
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
    rounds = _rounds(state)
    extra: dict[str, Any] = {}
    if state["method"] == "minerva":
        snaps = state.get("tallies", {})
        missing = [r["round"] for r in rounds[:-1] if str(r["round"]) not in snaps]
        if missing:
            raise VoteauditError(f"Minerva needs each round's tally before the next round is drawn; none was recorded "
                                 f"for round(s) {missing}: the risk cannot be measured")
        extra = {"round_sizes": [int(r["size"]) for r in rounds],
                 "round_tallies": [np.array([snaps[str(r["round"])][c] for c in m.candidates]) for r in rounds[:-1]]}
    status = _guard(rla.measure, state["method"], ids, votes, m.candidates, ballots,
                    risk_limit=state["risk_limit"] / 100, sampled_ids=drawn, audited_votes=audited,
                    winners=state["winners"], threshold=_threshold(state["threshold"]), votes_allowed=va,
                    replacement=bool(state.get("replacement", True)), worst=phantoms & set(drawn), **extra)
    return {"source": source, "audit_source": name, "method": state["method"], "seed": state["seed"],
            "risk_limit": state["risk_limit"], "draws": state["draws"], "rounds": rounds,
            "commitment": state.get("commitment"), "replacement": bool(state.get("replacement", True)),
            "cvr": state.get("cvr"), "phantoms_drawn": sorted(phantoms & set(drawn)), **status.to_dict()}


def _record_mvrs(store: Store, source: str, state: dict[str, Any], file: Path, *,
                 contest: str | None = None) -> dict[str, Any]:
    """Manual vote records of drawn ballots (CVR format, ``table`` optional), kept in the audit's state."""
    m = store.matrix(source, contest)
    va = int(state.get("votes_allowed", 1))
    mvr = _read_cvrs(file, m.candidates, need_table=False, votes_allowed=va)
    ids, votes, ballots, phantoms, _ = _units(m, state, va)
    drawn = set(_draw(state["method"], ids, votes, m.candidates, ballots, seed=state["seed"], size=state["draws"],
                      replacement=bool(state.get("replacement", True)), winners=state.get("winners", 1),
                      threshold=state.get("threshold"), votes_allowed=va))
    stray = [b for b in mvr.ballot_ids if b not in drawn]
    if stray:
        raise InputError(f"ballots not drawn by this audit: {', '.join(stray[:10])}", file=str(file),
                         field="ballot_id")
    records = {**state.get("mvr", {}), **{b: dict(zip(m.candidates, r.tolist(), strict=True))
                                          for b, r in zip(mvr.ballot_ids, mvr.marks, strict=True)}}
    store.save_state(f"audit:{source}", {**state, "mvr": records}, contest=contest)
    return {"file": str(file), "ballots": len(mvr.ballot_ids), "overvotes": mvr.overvotes, "recorded": len(records)}


def record_hand_counts(store: Store, source: str, file: Any, mapping: Any, audit_source: str, *,
                       contest: str | None = None) -> dict[str, Any]:
    """Record ``file`` and measure the risk: for a CVR audit, the drawn ballots' marks (CVR format); else the
    hand counts of the drawn tables, ingested as source ``audit_source`` of kind audit. Keeps the round's
    tally once no drawn unit is pending (Minerva measures later rounds with it)."""
    from voteaudit.ingest import ingest_file

    state = store.state(f"audit:{source}", contest=contest)
    if not state:
        raise VoteauditError(f"no audit in progress for {source!r}: run `voteaudit audit sample` first")
    if _ballot_records(state):
        result = _record_mvrs(store, source, state, Path(file), contest=contest)
        doc = audit_status(store, source, None, contest=contest)
        state = store.state(f"audit:{source}", contest=contest) or state
    else:
        result = ingest_file(store, file, mapping, source=audit_source, kind="audit", contest=contest).to_dict()
        state = {**state, "audit_source": audit_source}
        store.save_state(f"audit:{source}", state, contest=contest)
        doc = audit_status(store, source, audit_source, contest=contest)
    if not doc.get("pending") and state.get("rounds"):
        tally = _sampled_tally(store.matrix(source, contest).candidates, doc)
        store.save_state(f"audit:{source}", {**state, "tallies": {**state.get("tallies", {}),
                                                                   str(len(state["rounds"])): tally}}, contest=contest)
    return {**doc, "ingest": result}
