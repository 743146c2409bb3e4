"""Recording: measured risk after a round, the verdict, and the per-table discrepancy report.

Verdicts: ``confirmed`` (risk <= risk limit: the reported outcome stands), ``escalate`` (draw
``next_round_size`` more, continuing the draw numbering), ``full_hand_count`` (the next round would
reach every table, so count them all), ``pending`` (some drawn tables have no hand count yet: they
are counted as the worst case meanwhile), and, once every table has been hand-counted,
``confirmed`` or ``overturned`` by the hand count itself (risk 0, as in Arlo).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..result import _clean
from . import alpha as alpha_m
from . import bravo as bravo_m
from . import macro as macro_m
from . import minerva as minerva_m
from . import polling as polling_m
from . import supersimple as ss_m
from .contest import build_contest, outcome_of
from .plan import check_method, check_replacement, check_risk_limit, manifest

VERDICTS = ("confirmed", "escalate", "full_hand_count", "pending", "overturned")


@dataclass
class AuditStatus:
    """Measured risk (the largest assertion P-value) and what to do next."""

    method: str
    risk_limit: float
    risk: float
    verdict: str
    draws: int
    tables_audited: int
    next_round_size: int
    risks: dict[str, float]
    pending: list[str] = field(default_factory=list)
    discrepancies: list[dict[str, Any]] = field(default_factory=list)
    hand_count_outcome: list[str] | None = None
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _clean(dict(self.__dict__))


def _positions(unit_ids: np.ndarray, wanted: list[str]) -> np.ndarray:
    """Row of each wanted id; a scan per distinct id (cheap for audit samples) instead of a full index."""
    uniq = list(dict.fromkeys(wanted))
    hits = np.flatnonzero(np.isin(unit_ids, np.array(uniq, dtype=unit_ids.dtype)))
    index = {str(u): int(i) for u, i in zip(unit_ids[hits].tolist(), hits.tolist(), strict=True)}
    missing = [u for u in uniq if u not in index]
    if missing:
        raise ValueError(f"sampled tables not in the source: {', '.join(missing[:10])}")
    return np.array([index[u] for u in wanted], dtype=np.int64)


def measure(method: str, unit_ids: np.ndarray, votes: np.ndarray, candidates: list[str],
            ballots: np.ndarray, *, risk_limit: float, sampled_ids: list[str],
            audited_votes: dict[str, np.ndarray], winners: int = 1,
            threshold: float | None = None, round_sizes: list[int] | None = None,
            round_tallies: list[np.ndarray] | None = None, votes_allowed: int = 1,
            replacement: bool = True, worst: set[str] | None = None) -> AuditStatus:
    """Risk after the draws ``sampled_ids`` (draw order, repeats included) given hand counts.

    ``audited_votes[table]``: comparison methods, the hand count of the table's sheet/ballots per
    candidate; BRAVO and Minerva, the votes per candidate on the ballots drawn from that table (all
    draws of it). Minerva also needs ``round_sizes`` (draws per round, the last being the current
    round) and ``round_tallies``: the sampled votes per candidate (k,) at the end of each earlier round.
    ``replacement=False`` (ALPHA): the ballots were drawn without replacement (finite-population test).
    ``worst``: drawn units that need no hand count because they count as the worst case (phantom
    ballots of a CVR audit: :mod:`.cvr`), for the comparison methods.
    """
    check_method(method)
    check_replacement(method, replacement)
    alpha = check_risk_limit(risk_limit)
    votes = np.asarray(votes, dtype=np.int64)
    ballots = np.asarray(ballots, dtype=np.int64)
    unit_ids = np.asarray(unit_ids)
    if unit_ids.dtype.kind != "U":
        unit_ids = unit_ids.astype(str)
    if method == "polling":
        return _measure_polling(build_contest(votes, candidates, manifest(method, votes, ballots), winners=winners,
                                              threshold=threshold), alpha, [str(x) for x in sampled_ids],
                                {str(u): np.asarray(a, dtype=np.int64).reshape(-1) for u, a in audited_votes.items()},
                                replacement)
    n, k = votes.shape
    ballots = manifest(method, votes, ballots, votes_allowed)
    contest = build_contest(votes, candidates, ballots, winners=winners, threshold=threshold,
                            votes_allowed=votes_allowed)
    labels = contest.pair_labels()
    sampled = [str(s) for s in sampled_ids]
    pos = _positions(unit_ids, sampled)
    audited = {str(u): np.asarray(a, dtype=np.int64).reshape(-1) for u, a in audited_votes.items()}
    bad = [u for u, a in audited.items() if a.shape[0] != k or np.any(a < 0)]
    if bad:
        raise ValueError(f"audited votes must be {k} non-negative counts: tables {', '.join(bad[:10])}")
    worst = worst or set()
    if worst & audited.keys():
        raise ValueError(f"hand counts given for worst-case units: {', '.join(sorted(worst & audited.keys())[:10])}")
    pending = [u for u in dict.fromkeys(sampled) if u not in audited and u not in worst]
    name = contest.candidates

    if method == "bravo":
        return _measure_bravo(contest, alpha, sampled, audited, pending, labels)
    if method == "minerva":
        return _measure_minerva(contest, alpha, sampled, audited, pending, labels, round_sizes or [len(sampled)],
                                list(round_tallies or []))

    # full hand count: every table counted
    if len(audited) >= n and all(u in audited for u in unit_ids.tolist()):
        tally = np.sum([audited[u] for u in unit_ids.tolist()], axis=0)
        same = outcome_of(tally, contest) == sorted(contest.winners)
        report = _report(contest, unit_ids, votes, pos, audited, None)
        return AuditStatus(method, alpha, 0.0, "confirmed" if same else "overturned", len(sampled), n, 0,
                           dict.fromkeys(labels, 0.0), [], report,
                           [name[i] for i in outcome_of(tally, contest)], "every table hand-counted")

    rep = votes[pos]
    aud = np.array([audited.get(u, np.full(k, -1)) for u in sampled], dtype=np.int64).reshape(-1, k)
    missing = aud[:, 0] < 0 if k else np.zeros(len(sampled), bool)
    if method == "alpha":
        B = alpha_m.comparison_values(contest, rep, np.where(missing[:, None], 0, aud), ballots[pos])
        B[missing] = 0.0                                        # missing count: the worst value
        per = alpha_m.risks(contest, B, None if replacement else contest.ballots) if len(sampled) \
            else np.ones(len(labels))
        risk = float(per.max()) if per.size else 1.0
        nxt = alpha_m.next_round_size(contest, alpha, per, n)
        u_for_report = None
    else:
        if method == "macro":
            u_all = macro_m.max_errors(contest, votes, ballots)
            U = float(u_all.sum())
        else:
            u_all, U = ss_m.bounds(ballots, contest.diluted_margin)
        e = macro_m.overstatements(contest, rep, np.where(missing[:, None], 0, aud))
        e = np.where(missing, u_all[pos], e)                    # missing count: taint 1
        risk = macro_m.risk(u_all[pos], e, U)
        per = np.full(len(labels), risk)
        if method == "macro":
            nxt = macro_m.next_round_size(alpha, risk, U, n)
        else:
            nxt = _supersimple_next(alpha, contest.diluted_margin, u_all[pos], e, U, risk, contest.ballots)
        u_for_report = u_all
    risks = {lab: float(p) for lab, p in zip(labels, per, strict=True)}
    if pending:
        verdict = "confirmed" if risk <= alpha else "pending"
    elif risk <= alpha:
        verdict, nxt = "confirmed", 0
    else:
        distinct = len(set(sampled))
        verdict = "full_hand_count" if (nxt >= n or distinct + nxt >= n) else "escalate"
    return AuditStatus(method, alpha, risk, verdict, len(sampled), len(set(sampled) & audited.keys()),
                       int(nxt) if verdict != "confirmed" else 0, risks, pending,
                       _report(contest, unit_ids, votes, pos, audited, u_for_report))


def _measure_polling(contest, alpha: float, sampled: list[str], audited: dict[str, np.ndarray],
                     replacement: bool) -> AuditStatus:
    """ALPHA ballot polling: ``sampled`` are drawn ballot ids in draw order, ``audited[ballot]`` its 0/1 marks."""
    k = len(contest.candidates)
    if len(set(sampled)) != len(sampled) and not replacement:
        raise ValueError("a ballot drawn twice in a sample without replacement")
    bad = [b for b, a in audited.items() if a.shape[0] != k or np.any((a != 0) & (a != 1)) or a.sum() > 1]
    if bad:
        raise ValueError(f"a polled ballot has at most one mark (0/1 per candidate): {', '.join(bad[:10])}")
    pending = [b for b in dict.fromkeys(sampled) if b not in audited]
    marks = np.array([audited.get(b, np.zeros(k, dtype=np.int64)) for b in sampled], dtype=np.int64).reshape(-1, k)
    vals = polling_m.values(contest, marks)
    miss = np.array([b not in audited for b in sampled], dtype=bool)
    vals[miss] = 0.0                                            # not yet read: the worst value
    per = polling_m.risks(contest, vals, None if replacement else contest.ballots)
    labels = contest.pair_labels()
    risk = float(per.max()) if per.size else 1.0
    if risk <= alpha and not pending:
        verdict, nxt = "confirmed", 0
    else:
        nxt = max(0, polling_m.simulated_sizes(contest, alpha, replacement=replacement, reps=100,
                                               quantiles=(0.9,))["0.9"] - len(sampled))
        verdict = "pending" if pending else (
            "full_hand_count" if len(sampled) + nxt >= contest.ballots else "escalate")
    report = [{"unit": b, "times_drawn": sampled.count(b) if len(sampled) < 5000 else None,
               "audited": dict(zip(contest.candidates, audited[b].tolist(), strict=True)) if b in audited else None}
              for b in dict.fromkeys(sampled)]
    return AuditStatus("polling", alpha, risk, verdict, len(sampled), len(set(sampled) & audited.keys()), int(nxt),
                       {lab: float(p) for lab, p in zip(labels, per, strict=True)}, pending, report,
                       notes="next_round_size: more ballots for a 90 % chance, as if the sample so far were clean")


def _supersimple_next(alpha: float, mu: float, u: np.ndarray, e: np.ndarray, U: float, risk: float,
                      ballots: int) -> int:
    """Further draws at the observed discrepancy rate (generalises Arlo's get_sample_sizes to tables):
    expected log-factor per draw d = ln(1 - 1/U) - mean ln(1 - taint); need ln(alpha/P) / d more."""
    if risk <= alpha:
        return 0
    if not np.isfinite(U) or mu <= 0:
        return ballots
    with np.errstate(divide="ignore", invalid="ignore"):
        taint = np.clip(np.where(u > 0, e / u, 0.0), 0.0, 1 - 1e-12)
    d = np.log1p(-1 / U) - (float(np.mean(np.log1p(-taint))) if taint.size else 0.0)
    if d >= 0:
        return ballots
    return int(min(np.ceil(np.log(alpha / risk) / d), ballots))


def _polled(contest, sampled: list[str], audited: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, int]]:
    """Votes on the sampled ballots tallied over the drawn tables, and the draws per table."""
    counts = np.zeros(len(contest.candidates), dtype=np.int64)
    for u in dict.fromkeys(sampled):
        if u in audited:
            counts += audited[u]
    drawn = dict(Counter(sampled))
    over = [u for u, c in drawn.items() if u in audited and audited[u].sum() > c]
    if over:
        raise ValueError(f"more votes recorded than ballots drawn from tables {', '.join(over[:10])}")
    return counts, drawn


def _polling_report(contest, drawn: dict[str, int], audited: dict[str, np.ndarray],
                    counts: np.ndarray) -> tuple[list[dict[str, Any]], str]:
    names = contest.candidates
    report = [{"unit": u, "times_drawn": c,
               "audited": dict(zip(names, audited[u].tolist(), strict=True)) if u in audited else None}
              for u, c in drawn.items()]
    return report, "sampled ballots tallied: " + ", ".join(f"{c}={int(v)}" for c, v in zip(names, counts, strict=True))


def _dead_note(dead: list[str], method: str) -> str:
    return (f"the sample holds votes against a winner for a side reported with none ({', '.join(dead)}): "
            f"{method} can never confirm this outcome; count every ballot. ")


def _measure_bravo(contest, alpha: float, sampled: list[str], audited: dict[str, np.ndarray],
                   pending: list[str], labels: list[str]) -> AuditStatus:
    counts, drawn = _polled(contest, sampled, audited)
    per = bravo_m.risks(contest, counts)
    risk = float(per.max()) if per.size else 1.0
    risks = {lab: float(p) for lab, p in zip(labels, per, strict=True)}
    note = ""
    dead = bravo_m.impossible(contest, counts)
    if risk <= alpha and not pending:
        verdict, nxt = "confirmed", 0
    elif dead:   # Arlo compute_risk: risk 1.0, not finished; no later sample can change that
        nxt = contest.ballots
        verdict = "pending" if pending else "full_hand_count"
        note = _dead_note(dead, "BRAVO")
    else:
        nxt = max(bravo_m.asn(alpha, contest, counts), 0)
        verdict = "pending" if pending else (
            "full_hand_count" if len(sampled) + nxt >= contest.ballots else "escalate")
    report, tallied = _polling_report(contest, drawn, audited, counts)
    return AuditStatus("bravo", alpha, risk, verdict, len(sampled), len(set(sampled) & audited.keys()),
                       int(nxt), risks, pending, report, notes=note + tallied)


def _measure_minerva(contest, alpha: float, sampled: list[str], audited: dict[str, np.ndarray],
                     pending: list[str], labels: list[str], round_sizes: list[int],
                     round_tallies: list[np.ndarray]) -> AuditStatus:
    counts, drawn = _polled(contest, sampled, audited)
    if sum(round_sizes) != len(sampled) or len(round_tallies) != len(round_sizes) - 1:
        raise ValueError(f"minerva needs the draws of each round ({len(round_sizes)} rounds, {sum(round_sizes)} draws "
                         f"for {len(sampled)} drawn) and the tally of every earlier round ({len(round_tallies)} given)")
    tallies = [*(np.asarray(t, dtype=np.int64) for t in round_tallies), counts]
    per = minerva_m.risks(alpha, contest, tallies)
    risk = float(per.max()) if per.size else 1.0
    risks = {lab: float(p) for lab, p in zip(labels, per, strict=True)}
    dead = bravo_m.impossible(contest, counts)
    note = ""
    if risk <= alpha and not pending:
        verdict, nxt = "confirmed", 0
    else:
        nxt = contest.ballots if dead else minerva_m.next_round_size(round_sizes[0], len(round_sizes), contest.ballots)
        verdict = "pending" if pending else (
            "full_hand_count" if dead or len(sampled) + nxt >= contest.ballots else "escalate")
        note = _dead_note(dead, "Minerva") if dead else ""
    report, tallied = _polling_report(contest, drawn, audited, counts)
    return AuditStatus("minerva", alpha, risk, verdict, len(sampled), len(set(sampled) & audited.keys()),
                       int(nxt), risks, pending, report, notes=note + tallied)


def _report(contest, unit_ids: np.ndarray, votes: np.ndarray, pos: np.ndarray, audited: dict[str, np.ndarray],
            u_all: np.ndarray | None) -> list[dict[str, Any]]:
    """One entry per distinct drawn table, in first-draw order: reported first, then audited."""
    out = []
    seen: dict[int, int] = {}
    for p in pos.tolist():
        seen[p] = seen.get(p, 0) + 1
    for p, times in seen.items():
        uid = str(unit_ids[p])
        rep = votes[p]
        entry: dict[str, Any] = {"unit": uid, "times_drawn": times,
                                 "reported": dict(zip(contest.candidates, rep.tolist(), strict=True))}
        a = audited.get(uid)
        if a is None:
            entry.update(audited=None, difference=None, discrepant=None, overstatement=None, taint=None)
        else:
            diff = a - rep
            e = float(macro_m.overstatements(contest, rep[None, :], a[None, :])[0])
            entry.update(audited=dict(zip(contest.candidates, a.tolist(), strict=True)),
                         difference=dict(zip(contest.candidates, diff.tolist(), strict=True)),
                         discrepant=bool(np.any(diff != 0)), overstatement=e,
                         taint=(e / float(u_all[p]) if u_all is not None and u_all[p] > 0 else None))
        out.append(entry)
    return out
