""""What would it take": what the tables without a collected sheet would have to contain for an
announced result to be true, and how many collected sheets would have to be false.

Model (stated precisely). Tables are either *covered* (a collected sheet i with per-column counts
y_i — candidates, optionally null/blank — and registered voters r_i) or *uncovered* (together R_U
registered voters). The announced totals A (one per column) are the true counts summed over the
counted tables. A **false sheet** is a covered sheet whose true content may have been anything:
any non-negative integers with total ≤ r_i. Uncovered tables may also have held anything within
their registered voters. When the bulletin reports a partial count (progress < 100 %), a covered
table may also be **uncounted** (contributes nothing, costs nothing), within a budget of tables
(``max_uncounted_tables``) and/or registered voters (``max_uncounted_registered``) implied by the
stated progress; uncovered tables never need to be uncounted since contributing 0 is allowed.

The announced totals are possible with false set F and uncounted set E (disjoint subsets of the
covered sheets) iff there are true counts for F and the uncovered tables, each within its registered
voters, summing with the true sheets C∖(F∪E) to A. Because per-table capacities pool (fill tables one
after another), this holds iff, with D = A − Σ_{C∖(F∪E)} y_i (votes still needed),

    (1)  D_k ≥ 0 for every column k, i.e.  Σ_{i∈F∪E} y_ik ≥ Σ_C y_ik − A_k;
    (2)  Σ_k D_k ≤ R_U + Σ_{i∈F} r_i,  i.e.  Σ_{i∈F} (r_i − Y_i) − Σ_{i∈E} Y_i ≥ Σ_k A_k − Σ_C Y_i − R_U,

with Y_i = Σ_k y_ik. The minimum number of false sheets is min |F| subject to (1), (2) and the
budget on E. When one covering constraint binds and no sheet may be uncounted, the minimum is
exact by a sort (take the sheets with the largest coefficients until the constraint is met);
otherwise it is solved as an integer program (``scipy.optimize.milp``, HiGHS), reporting whether
optimality was proven. The sheets listed are *one* minimum set, not an accusation against them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from voteaudit.stats.bulletin import Bulletin, align_columns, group_votes
from voteaudit.stats.message import msg
from voteaudit.stats.universe import Universe


@dataclass
class Needed:
    """Votes the uncovered tables would have to hold for one announced column."""

    label: str
    announced: int
    covered: int
    votes: int
    share_of_uncovered_registered: float | None
    share_at_observed_turnout: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "announced": self.announced,
            "covered": self.covered,
            "votes": self.votes,
            "share_of_uncovered_registered": self.share_of_uncovered_registered,
            "share_at_observed_turnout": self.share_at_observed_turnout,
        }


@dataclass
class Certificate:
    """What it would take for one bulletin; ``to_dict()`` gives the ``what_it_would_take`` entry."""

    bulletin: str
    needed: list[Needed]
    uncovered_registered: int
    uncovered_tables: int | None
    covered_tables: int
    observed_turnout: float | None
    implied_turnout: float | None
    possible_without_false_sheets: bool
    min_false_sheets: int | None  # None: impossible even if every collected sheet were false
    exact: bool
    method: str
    lower_bound: int | None
    false_sheets: list[str] = field(default_factory=list)
    uncounted_sheets: list[str] = field(default_factory=list)
    binding: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def statement(self) -> str:
        ru = self.uncovered_registered
        where = (
            f"the {self.uncovered_tables:,} tables without a collected sheet"
            if self.uncovered_tables
            else "the tables without a collected sheet"
        )
        need = sorted(self.needed, key=lambda n: -n.announced)
        first = need[0]
        s = f"For “{self.bulletin}” to be true, {where} ({ru:,} registered voters) would have to give "
        s += f"{first.label} {first.votes:,} votes"
        if first.share_of_uncovered_registered is not None and first.votes > 0:
            s += f" ({100 * first.share_of_uncovered_registered:.1f} % of their registered voters)"
        neg = [n for n in need if n.votes < 0]
        if neg:
            s += (f", while the collected sheets alone already give {neg[0].label} {-neg[0].votes:,} more votes "
                  "than announced, which is impossible")
        elif self.implied_turnout is not None and self.implied_turnout > 1:
            s += f", a turnout of {100 * self.implied_turnout:.0f} %, which is impossible"
        if self.possible_without_false_sheets:
            return s + "; that is possible without any collected sheet being false."
        if self.min_false_sheets is None and self.exact:
            return s + "; even if every collected sheet were false the announced totals could not add up."
        if self.min_false_sheets is None:
            return s + f"; at least {self.lower_bound or 0:,} collected sheets would have to be false."
        if self.min_false_sheets == 0:
            return s + "; that is possible without any collected sheet being false if the tables not yet " \
                "counted were the right ones."
        if self.exact:
            return s + f": at least {self.min_false_sheets:,} of the {self.covered_tables:,} collected sheets " \
                "would have to be false."
        return s + f": at least {self.lower_bound or 0:,} of the {self.covered_tables:,} collected sheets would " \
            f"have to be false (proven lower bound; a solution with {self.min_false_sheets:,} exists)."

    @property
    def message(self) -> dict[str, Any]:
        """:attr:`statement` as a catalogue key and its parameters (``report/locales``)."""
        need = sorted(self.needed, key=lambda n: -n.announced)
        first = need[0]
        where = msg("st_wiwt_where_n", n=self.uncovered_tables) if self.uncovered_tables else msg("st_wiwt_where")
        share = (msg("st_wiwt_share", share=first.share_of_uncovered_registered)
                 if first.share_of_uncovered_registered is not None and first.votes > 0 else "")
        neg = [n for n in need if n.votes < 0]
        if neg:
            impossible: dict[str, Any] | str = msg("st_wiwt_negative", label=neg[0].label, votes=-neg[0].votes)
        elif self.implied_turnout is not None and self.implied_turnout > 1:
            impossible = msg("st_wiwt_turnout", turnout=self.implied_turnout)
        else:
            impossible = ""
        if self.possible_without_false_sheets:
            ending = msg("st_wiwt_possible")
        elif self.min_false_sheets is None and self.exact:
            ending = msg("st_wiwt_never")
        elif self.min_false_sheets is None:
            ending = msg("st_wiwt_at_least", n=self.lower_bound or 0)
        elif self.min_false_sheets == 0:
            ending = msg("st_wiwt_uncounted")
        elif self.exact:
            ending = msg("st_wiwt_exact", n=self.min_false_sheets, covered=self.covered_tables)
        else:
            ending = msg("st_wiwt_bound", n=self.lower_bound or 0, covered=self.covered_tables,
                         found=self.min_false_sheets)
        return msg("st_wiwt", bulletin=self.bulletin, where=where, registered=self.uncovered_registered,
                   label=first.label, votes=first.votes, share=share, impossible=impossible, ending=ending)

    def to_dict(self) -> dict[str, Any]:
        from voteaudit.result import _clean

        return _clean(
            {
                "bulletin": self.bulletin,
                "min_false_sheets": self.min_false_sheets,
                "needed": {n.label: n.to_dict() for n in self.needed},
                "possible_without_false_sheets": self.possible_without_false_sheets,
                "uncovered_registered": self.uncovered_registered,
                "uncovered_tables": self.uncovered_tables,
                "covered_tables": self.covered_tables,
                "observed_turnout": self.observed_turnout,
                "implied_turnout": self.implied_turnout,
                "exact": self.exact,
                "method": self.method,
                "lower_bound": self.lower_bound,
                "binding": self.binding,
                "false_sheets": self.false_sheets,
                "uncounted_sheets": self.uncounted_sheets,
                "notes": self.notes,
                "statement": self.statement,
                "message": self.message,
            }
        )


def what_it_would_take(
    votes: np.ndarray,
    registered: np.ndarray,
    announced: Sequence[int],
    uncovered_registered: int,
    *,
    labels: Sequence[str] | None = None,
    unit_ids: Sequence[str] | np.ndarray | None = None,
    bulletin: str = "",
    uncovered_tables: int | None = None,
    observed_turnout: float | None = None,
    max_uncounted_tables: int | None = None,
    max_uncounted_registered: int | None = None,
    time_limit: float = 20.0,
) -> Certificate:
    """Votes needed from the uncovered tables and the minimum number of false collected sheets.

    ``votes`` (n, k): covered sheets, columns aligned with ``announced`` (k,) (candidates, and
    optionally null/blank as extra columns: then turnout means ballots). ``registered`` (n,): r_i
    (< 0 = unknown: the sheet's own total is used, the least room a false sheet could have).
    ``observed_turnout``: turnout seen in the covered tables (default Σ y / Σ r over them).
    Uncounted covered tables are allowed only when a budget is given (see module docstring).
    """
    y = np.asarray(votes, dtype=np.int64)
    n, k = y.shape
    A = np.asarray(announced, dtype=np.int64)
    if A.shape != (k,):
        raise ValueError("announced must have one total per column of votes")
    labs = list(labels) if labels is not None else [f"c{j}" for j in range(k)]
    ids = np.asarray(unit_ids).astype(str) if unit_ids is not None else np.arange(n).astype(str)
    notes: list[str] = []
    Yi = y.sum(axis=1)
    r = np.asarray(registered, dtype=np.int64)
    if (r < 0).any():
        notes.append(f"{int((r < 0).sum())} sheets without registered voters: their own total used as capacity")
    r = np.where(r < 0, Yi, r)
    ru = int(uncovered_registered)
    if ru < 0:
        notes.append(f"covered registered voters exceed the universe by {-ru:,}: uncovered registered set to 0")
        ru = 0
    cov = y.sum(axis=0)
    D = A - cov
    if observed_turnout is None and r.sum() > 0:
        observed_turnout = float(Yi.sum() / r.sum())
    needed = []
    for j in range(k):
        share = float(D[j] / ru) if ru > 0 else None
        at_obs = float(D[j] / (observed_turnout * ru)) if ru > 0 and observed_turnout else None
        needed.append(Needed(labs[j], int(A[j]), int(cov[j]), int(D[j]), share, at_obs))
    implied = float(np.clip(D, 0, None).sum() / ru) if ru > 0 else None  # least turnout the needs imply

    allow_e = bool(max_uncounted_tables) or bool(max_uncounted_registered)
    b = cov - A  # (1): Σ_{F∪E} y_ik ≥ b_k
    b0 = int(A.sum() - Yi.sum() - ru)  # (2): Σ_F (r_i − Y_i) − Σ_E Y_i ≥ b0
    binding = [labs[j] for j in range(k) if b[j] > 0] + (["registered voters"] if b0 > 0 else [])
    possible0 = bool((b <= 0).all() and b0 <= 0)
    base = dict(
        bulletin=str(bulletin), needed=needed, uncovered_registered=ru, uncovered_tables=uncovered_tables,
        covered_tables=n, observed_turnout=observed_turnout, implied_turnout=implied,
        possible_without_false_sheets=possible0, binding=binding, notes=notes,
    )
    if possible0:
        return Certificate(min_false_sheets=0, exact=True, method="none needed", lower_bound=0, **base)

    rows = [(y[:, j].astype(float), y[:, j].astype(float), float(b[j]), labs[j]) for j in range(k) if b[j] > 0]
    rows.append(((r - Yi).astype(float), -Yi.astype(float), float(b0), "registered voters"))

    if not allow_e and len(binding) == 1:
        coef, _, need, _ = rows[0] if b0 <= 0 else rows[-1]
        sel = _sort_cover(coef, need)
        if sel is None:
            return Certificate(min_false_sheets=None, exact=True, method="sort", lower_bound=None, **base)
        f = np.zeros(n, bool)
        f[sel] = True
        if all(cf[f].sum() >= bb for cf, _, bb, _ in rows):
            return Certificate(
                min_false_sheets=int(sel.size), exact=True, method="sort", lower_bound=int(sel.size),
                false_sheets=ids[np.sort(sel)].tolist(), **base,
            )
    return _solve_milp(rows, r, n, ids, allow_e, max_uncounted_tables, max_uncounted_registered, time_limit,
                       base)


def _sort_cover(coef: np.ndarray, need: float) -> np.ndarray | None:
    """Fewest indices whose coefficients sum to ≥ need (exact for one covering constraint)."""
    order = np.argsort(-coef, kind="stable")
    c = np.cumsum(np.clip(coef[order], 0, None))
    if c.size == 0 or c[-1] < need:
        return None
    m = int(np.searchsorted(c, need, side="left")) + 1
    return order[:m]


def _matrices(rows, r, n, allow_e, max_tab, max_reg):
    nv = 2 * n if allow_e else n
    blocks, lbs = [], []
    for cf, ce, bb, _ in rows:
        blocks.append(np.concatenate([cf, ce]) if allow_e else cf)
        lbs.append(bb)
    cons = [LinearConstraint(sparse.csr_matrix(np.vstack(blocks)), np.array(lbs), np.full(len(lbs), np.inf))]
    if allow_e:
        eye = sparse.identity(n, format="csr")
        cons.append(LinearConstraint(sparse.hstack([eye, eye], format="csr"), -np.inf, 1))
        if max_tab is not None:
            cons.append(LinearConstraint(np.concatenate([np.zeros(n), np.ones(n)])[None, :], -np.inf, max_tab))
        if max_reg is not None:
            cons.append(LinearConstraint(np.concatenate([np.zeros(n), r.astype(float)])[None, :], -np.inf,
                                         max_reg))
    c = np.concatenate([np.ones(n), np.zeros(n)]) if allow_e else np.ones(n)
    return c, cons, nv


def _feasible(rows, f: np.ndarray, e: np.ndarray) -> bool:
    return all(cf[f].sum() + ce[e].sum() >= bb - 1e-9 for cf, ce, bb, _ in rows)


def _greedy(rows, r, n, allow_e, max_tab, max_reg) -> tuple[np.ndarray, np.ndarray] | None:
    """A feasible (F, E) by static greedy scores (an upper bound on the minimum)."""
    need = np.array([bb for _, _, bb, _ in rows[:-1]], dtype=float)
    cov = np.column_stack([cf for cf, _, _, _ in rows[:-1]]) if need.size else np.zeros((n, 0))
    e = np.zeros(n, bool)
    if allow_e and need.size:
        score = (np.minimum(cov, need) / need).sum(axis=1)
        cost = np.ones(n) / max(max_tab, 1) if max_tab is not None else np.zeros(n)
        if max_reg is not None:
            cost = np.maximum(cost, r / max(max_reg, 1))
        order = np.argsort(-score / np.maximum(cost, 1e-12), kind="stable")
        tabs = regs = 0
        rem = need.copy()
        for i in order:
            if (rem <= 0).all() or score[i] <= 0:
                break
            if (max_tab is not None and tabs + 1 > max_tab) or (max_reg is not None and regs + r[i] > max_reg):
                continue
            e[i] = True
            tabs, regs = tabs + 1, regs + int(r[i])
            rem -= cov[i]
            if not _feasible(rows[-1:], np.zeros(n, bool), e):
                e[i] = False
                rem += cov[i]
    f = np.zeros(n, bool)
    rem_all = np.array([bb - cf[f].sum() - ce[e].sum() for cf, ce, bb, _ in rows])
    if (rem_all <= 0).all():
        return f, e
    allc = np.column_stack([cf for cf, _, _, _ in rows])
    pos = np.clip(rem_all, 1e-9, None)
    score = (np.clip(np.minimum(allc, pos), 0, None) / pos * (rem_all > 0)).sum(axis=1)
    score[e] = -np.inf
    order = np.argsort(-score, kind="stable")
    csum = np.cumsum(allc[order], axis=0)
    ok = (csum >= rem_all - 1e-9).all(axis=1)
    if not ok.any():
        return None
    m = int(np.argmax(ok)) + 1
    f[order[:m]] = True
    return (f, e) if _feasible(rows, f, e) else None


def _solve_milp(rows, r, n, ids, allow_e, max_tab, max_reg, time_limit, base) -> Certificate:
    """Exact minimum: LP bound, then greedy and LP rounding for an incumbent; when they differ, an
    integer program (HiGHS) within ``time_limit`` (otherwise the result is a proven range)."""
    c, cons, nv = _matrices(rows, r, n, allow_e, max_tab, max_reg)
    lp = milp(c, constraints=cons, integrality=np.zeros(nv), bounds=Bounds(0, 1))
    if lp.status == 2:
        return Certificate(min_false_sheets=None, exact=True, method="linear relaxation infeasible",
                           lower_bound=None, **base)
    lower = int(math.ceil(lp.fun - 1e-6)) if lp.x is not None else 0
    best = _greedy(rows, r, n, allow_e, max_tab, max_reg)
    if lp.x is not None:  # round the (basic, nearly integral) LP solution up
        xf = lp.x[:n]
        xe = lp.x[n:] if allow_e else np.zeros(n)
        e_int = xe >= 1 - 1e-9
        f_r = ((xf > 1e-9) | ((xe > 1e-9) & ~e_int)) & ~e_int
        if _feasible(rows, f_r, e_int) and (best is None or f_r.sum() < best[0].sum()):
            best = (f_r, e_int)
    method = "LP bound met by a rounded solution"
    exact = best is not None and int(best[0].sum()) == lower
    if not exact:
        method = "integer program (HiGHS)"
        res = milp(c, constraints=cons, integrality=np.ones(nv), bounds=Bounds(0, 1),
                   options={"time_limit": time_limit, "mip_rel_gap": 0.0, "disp": False})
        if res.x is not None and (best is None or np.rint(res.x[:n]).sum() < best[0].sum()):
            x = np.rint(res.x).astype(bool)
            best = (x[:n], x[n:] if allow_e else np.zeros(n, bool))
        if res.status == 0 and best is not None:
            exact, lower = True, int(best[0].sum())
        elif res.status == 2:
            return Certificate(min_false_sheets=None, exact=True, method=method, lower_bound=None, **base)
        else:
            dual = getattr(res, "mip_dual_bound", None)
            if dual is not None and np.isfinite(dual):
                lower = max(lower, int(math.ceil(dual - 1e-6)))
            exact = best is not None and int(best[0].sum()) == lower
            base["notes"].append(f"integer program not proven optimal within {time_limit:g} s: {res.message}")
    if best is None:
        return Certificate(min_false_sheets=None, exact=False, method=method, lower_bound=lower, **base)
    f, e = best
    return Certificate(
        min_false_sheets=int(f.sum()), exact=exact, method=method, lower_bound=lower,
        false_sheets=ids[np.flatnonzero(f)].tolist(), uncounted_sheets=ids[np.flatnonzero(e)].tolist(), **base,
    )


def bulletin_certificate(
    matrix: Any,
    bulletin: Bulletin,
    universe: Universe,
    *,
    mapping: Mapping[str, str | Sequence[str]] | None = None,
    include_null: bool = True,
    allow_uncounted: bool = True,
    time_limit: float = 20.0,
) -> Certificate:
    """:func:`what_it_would_take` for a :class:`~voteaudit.model.SourceMatrix` and a :class:`Bulletin`.

    Columns are the bulletin's labels (``align_columns``), plus null votes when both the bulletin
    and every covered sheet report them. Uncovered registered voters = ``universe.total_registered``
    − covered registered. With ``allow_uncounted`` and a stated progress below 100 %, the uncounted
    budget is registered − registered_counted (when the bulletin states both) or
    ⌊(1 − progress) · universe tables⌋ (progress on tables).
    """
    if universe.total_registered is None:
        raise ValueError("what it would take needs the universe's total registered voters")
    groups = align_columns(matrix.candidates, bulletin.labels, mapping)
    v = group_votes(matrix.votes, groups)
    labels = list(bulletin.labels)
    A = [bulletin.totals[lab] for lab in labels]
    notes = []
    if include_null and bulletin.null is not None:
        if (matrix.null >= 0).all():
            v = np.column_stack([v, matrix.null])
            labels.append("(null)")
            A.append(int(bulletin.null))
        else:
            notes.append("null votes not on every collected sheet: left out")
    reg = np.asarray(matrix.registered, dtype=np.int64)
    ru = int(universe.total_registered - np.clip(reg, 0, None).sum())
    max_tab = max_reg = None
    prog = bulletin.progress_pct
    if allow_uncounted and prog is not None and prog < 100:
        if bulletin.registered is not None and bulletin.registered_counted is not None:
            max_reg = int(bulletin.registered - bulletin.registered_counted)
            notes.append(f"partial count: collected tables holding up to {max_reg:,} registered voters may be "
                         "uncounted (bulletin's registered minus registered in counted tables)")
        elif universe.total_tables is not None:
            max_tab = int(math.floor((1 - prog / 100) * universe.total_tables))
            notes.append(f"partial count ({prog:g} %): up to {max_tab:,} collected tables may be uncounted")
    ballots = matrix.ballots()
    ok = reg > 0
    obs = float(ballots[ok].sum() / reg[ok].sum()) if ok.any() else None
    unc_tables = None if universe.total_tables is None else universe.total_tables - matrix.n_units
    cert = what_it_would_take(
        v, reg, A, ru, labels=labels, unit_ids=matrix.unit_ids, bulletin=bulletin.name,
        uncovered_tables=unc_tables, observed_turnout=obs, max_uncounted_tables=max_tab,
        max_uncounted_registered=max_reg, time_limit=time_limit,
    )
    cert.notes = notes + cert.notes
    return cert
