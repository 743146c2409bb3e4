"""The report's Election Forensics Toolkit section: the national rows and every flagged per-area row.

Built from :func:`voteaudit.forensics.eftoolkit.indicator_table` at the outermost level of the hierarchy,
for turnout and the leading candidates (the full table is ``voteaudit indicators``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from jinja2 import Environment
from markupsafe import Markup

from voteaudit.forensics.eftoolkit import INDICATORS, IndicatorTable, indicator_table
from voteaudit.model import SourceMatrix
from voteaudit.store.base import Store

#: Candidates shown in the report (by votes); the CLI computes every candidate.
REPORT_CANDIDATES = 3


def report_table(store: Store, m: SourceMatrix, *, replicates: int = 1000, seed: int = 0) -> IndicatorTable:
    """The table the report shows: nationally and by the outermost level, turnout and the top candidates."""
    level = m.levels[0] if len(m.levels) > 1 else None
    names = {}
    if level is not None:
        ids = sorted(set(map(str, np.unique(m.path[0]))))
        names = store.labels(ids)
    top = np.argsort(-m.votes.sum(axis=0), kind="stable")[:REPORT_CANDIDATES] if m.votes.size else []
    return indicator_table(m, level=level, names=names, candidates=[m.candidates[j] for j in top],
                           replicates=replicates, seed=seed)


def indicators_section(store: Store, m: SourceMatrix, env: Environment, t: Callable[..., str], *,
                       replicates: int = 1000) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(report section, the table's JSON rows for summary.json)."""
    table = report_table(store, m, replicates=replicates)
    rows = table.to_dicts()
    shown = [r for r in rows if r["area"]["id"] is None or any(c["flagged"] for c in r["indicators"].values())]
    n_areas = len({r["area"]["id"] for r in rows if r["area"]["id"] is not None})
    flagged_areas = len({r["area"]["id"] for r in shown if r["area"]["id"] is not None})
    html = env.get_template("_indicators.html").render(
        rows=shown, names=INDICATORS, t=t, level=table.level, n_areas=n_areas, flagged_areas=flagged_areas,
        replicates=table.replicates, notes=table.notes, source=m.source)
    return {"id": "indicators", "title": t("ind_title"), "html": Markup(html)}, rows
