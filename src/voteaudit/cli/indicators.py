"""``voteaudit indicators``: the Election Forensics Toolkit table for one source (a thin shell)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer

from voteaudit.cli.app import app
from voteaudit.cli.common import (
    DEFAULT_DB,
    ContestOpt,
    DbOpt,
    JsonOpt,
    emit,
    err,
    handle_errors,
    out,
    progress,
    refuse,
    safe,
    store_at,
)


def csv_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """The table as CSV rows (header first): one line per area and target, four columns per indicator."""
    from voteaudit.exports import csv_cell
    from voteaudit.forensics.eftoolkit import INDICATORS

    head = ["area_id", "area_name", "level", "target", "obs"]
    for name in INDICATORS:
        head += [name, f"{name}_ci_low", f"{name}_ci_high", f"{name}_flagged"]
    lines: list[list[Any]] = [head]
    for r in rows:
        line = [r["area"]["id"], r["area"]["name"], r["level"], r["target"], r["obs"]]
        for name in INDICATORS:
            c = r["indicators"][name]
            line += [c["value"], c["ci_low"], c["ci_high"], c["flagged"]]
        lines.append(["" if v is None else csv_cell(v) for v in line])
    return lines


def _fmt(c: dict[str, Any], intervals: bool) -> str:
    if c["value"] is None:
        return "—"
    text = f"{c['value']:.3f}" + ("*" if c["flagged"] else "")
    if intervals and c["ci_low"] is not None:
        text += f"\n({c['ci_low']:.3f}, {c['ci_high']:.3f})"
    return text


@app.command("indicators")
@handle_errors
def indicators(
    source: Annotated[str, typer.Option("--source", help="Source whose table results are summarised.")],
    level: Annotated[str | None, typer.Option(
        "--level", help="Also one row per area of this level (name or depth); default national only.")] = None,
    contest: ContestOpt = None,
    candidate: Annotated[list[str] | None, typer.Option(
        "--candidate", help="Only these candidates (repeat); default every candidate.")] = None,
    csv_path: Annotated[Path | None, typer.Option(
        "--csv", metavar="PATH", help="Also write the table to this CSV file.")] = None,
    replicates: Annotated[int, typer.Option("--replicates", help="Bootstrap resamples per area.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap (same seed, same intervals).")] = 0,
    db: DbOpt = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """The Election Forensics Toolkit table (Hicken & Mebane; R package EFToolkit): per area and nationally,
    for turnout and each candidate, 2BL, LastC, P05s, C05s, Skew, Kurt, DipT (p), Sobyanin, Correlation and
    Obs, each with a 95 % bootstrap "basic" interval and the Toolkit's flag rule (an interval that excludes
    the honest-count value: 4.187, 4.5, 0.2, 0.2, 0, 3; DipT p < 0.05; |Sobyanin| > 1.645; |r| > 0.4).
    A flag is a reason to look closer, not proof of fraud.
    """
    from rich.table import Table

    from voteaudit.cli.analysis import _level_name
    from voteaudit.forensics.eftoolkit import INDICATORS, indicator_table

    if replicates < 0:
        refuse(f"--replicates must be 0 or more, not {replicates}")
    with progress(as_json) as step, store_at(db, read_only=True) as store:
        step(f"loading {source}")
        m = store.matrix(source, contest)
        lvl = _level_name(store, level)
        names: dict[str, str] = {}
        if lvl is not None:
            import numpy as np

            names = store.labels(sorted(set(map(str, np.unique(m.path[m.levels.index(lvl)])))))
        step("computing the indicators")
        table = indicator_table(m, level=lvl, names=names, candidates=candidate or None, replicates=replicates,
                                seed=seed)
    rows = table.to_dicts()
    if csv_path is not None:
        try:
            with open(csv_path, "w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerows(csv_rows(rows))
        except OSError as exc:
            refuse(f"{csv_path}: cannot write the CSV ({exc.strerror})")
    if as_json:
        emit(rows)
        return
    intervals = out.width >= 150  # the intervals fit under the values only on a wide terminal
    where = f" by {lvl}" if lvl else " (national)"
    view = Table(title=safe(f"Election Forensics Toolkit indicators: {source}{where}"),
                 caption="* = flagged (EFToolkit rule); "
                         + (f"95 % basic bootstrap intervals (R = {replicates}, seed {seed}) under the values"
                            if intervals else "intervals: widen the terminal, or use --json / --csv"))
    for col in ("area", "target", "Obs", *INDICATORS):
        view.add_column(col, overflow="fold")
    for r in rows:
        view.add_row(safe(r["area"]["name"]), safe(r["target"]), f"{r['obs']:,}",
                     *(_fmt(r["indicators"][k], intervals) for k in INDICATORS))
    out.print(view)
    for note in table.notes:
        err.print(note)
    if csv_path is not None:
        err.print(safe(f"Wrote {csv_path}."))
