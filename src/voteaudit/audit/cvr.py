"""Cast-vote records (CVRs) for ballot-level comparison audits: the file format and the ballot manifest.

A ballot-level comparison audit draws ballots, reads each by hand (the *manual vote record*, MVR) and
compares it with the scanner's record of the same ballot (its CVR). It needs far fewer ballots than a
table-level audit: a ballot can overstate a pair's margin by at most two votes (Lindeman & Stark 2012;
SHANGRLA, Stark 2020). The math is the table-level math with tables of one ballot, which is how
:func:`ballot_arrays` presents the CVRs to :func:`voteaudit.audit.plan` / ``measure``.

File format (CSV, UTF-8, one row per ballot, header row first)::

    ballot_id,table,Candidate A,Candidate B,...
    B-000001,R1.0017,1,0,...

- ``ballot_id``: unique, the id printed on or imprinted on the paper ballot (what the audit team looks up);
- ``table``: the table (batch) the ballot is kept in, as the audited source names it (its unit id);
- one column per candidate of the audited source, named exactly as there, holding 1 (a vote) or 0.
  Extra columns are ignored; a missing candidate column is an error. A ballot with more marks than
  votes allowed is an overvote and counts as no vote (reported in ``overvotes``).

Manual vote records use the same format (``table`` optional). Ballots in the manifest without a CVR
(the table holds more ballots than it has CVRs) become *phantoms*: each is treated as a ballot whose
CVR shows no vote and whose paper, if drawn, counts as the worst case for every assertion
(SHANGRLA's phantom ballots, Bañuelos & Stark 2012).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..model import InputError

ID, TABLE = "ballot_id", "table"
PHANTOM = "phantom:"


@dataclass
class CVRs:
    """One row per ballot: ids, tables, 0/1 marks per candidate (overvotes zeroed)."""

    ballot_ids: list[str]
    tables: list[str]
    marks: np.ndarray          # (N, k) int64
    overvotes: int = 0


def parse(header: list[str], rows: Iterable[list[str]], candidates: list[str], *, file: str,
          votes_allowed: int = 1, need_table: bool = True) -> CVRs:
    """CVRs from CSV rows (module docstring); rows numbered from 2 (the header is row 1) in errors."""
    col = {h.strip(): j for j, h in enumerate(header)}
    for name in ([ID, TABLE] if need_table else [ID]) + list(candidates):
        if name not in col:
            raise InputError(f"no column {name!r} (columns: {', '.join(list(col)[:12])})", file=file, row=1,
                             field=name)
    cj = [col[c] for c in candidates]
    ids: list[str] = []
    tables: list[str] = []
    marks: list[list[int]] = []
    seen: dict[str, int] = {}
    over = 0
    for r, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise InputError(f"{len(row)} fields, the header has {len(header)}", file=file, row=r)
        bid = row[col[ID]].strip()
        if not bid:
            raise InputError("empty ballot id", file=file, row=r, field=ID)
        if bid.startswith(PHANTOM):
            raise InputError(f"ballot ids may not start with {PHANTOM!r}", file=file, row=r, field=ID)
        if bid in seen:
            raise InputError(f"ballot id {bid!r} repeats row {seen[bid]}", file=file, row=r, field=ID)
        seen[bid] = r
        m = []
        for c, j in zip(candidates, cj, strict=True):
            cell = row[j].strip()
            if cell not in ("0", "1"):
                raise InputError(f"a mark is 0 or 1, not {cell!r}", file=file, row=r, field=c)
            m.append(int(cell))
        if sum(m) > votes_allowed:
            over += 1
            m = [0] * len(m)
        ids.append(bid)
        tables.append(row[col[TABLE]].strip() if TABLE in col else "")
        marks.append(m)
    if not ids:
        raise InputError("no ballots", file=file)
    return CVRs(ids, tables, np.array(marks, dtype=np.int64).reshape(len(ids), len(candidates)), over)


@dataclass
class BallotManifest:
    """Every ballot of the manifest, in sampling order: tables in the source's order, within a table the
    CVR file's order, then its phantoms."""

    ballot_ids: np.ndarray     # (N,) str
    tables: np.ndarray         # (N,) str
    marks: np.ndarray          # (N, k) reported (CVR) marks; phantoms 0
    phantom: np.ndarray        # (N,) bool

    def tally_by_table(self, table_ids: np.ndarray) -> np.ndarray:
        """(n, k) CVR votes per table of ``table_ids``."""
        pos = {str(t): i for i, t in enumerate(np.asarray(table_ids).tolist())}
        out = np.zeros((len(pos), self.marks.shape[1]), dtype=np.int64)
        np.add.at(out, np.array([pos[t] for t in self.tables.tolist()], dtype=np.int64), self.marks)
        return out


def ballot_manifest(cvrs: CVRs, table_ids: np.ndarray, ballots: np.ndarray, *, file: str) -> BallotManifest:
    """Place the CVRs in the source's ballot manifest, with phantoms for ballots lacking a CVR.

    Refuses a CVR for a table the source lacks, and a table with more CVRs than ballots."""
    table_ids = np.asarray(table_ids).astype(str)
    order = {t: i for i, t in enumerate(table_ids.tolist())}
    unknown = sorted({t for t in cvrs.tables if t not in order})
    if unknown:
        raise InputError(f"tables not in the audited source: {', '.join(unknown[:10])}", file=file, field=TABLE)
    t_idx = np.array([order[t] for t in cvrs.tables], dtype=np.int64)
    per = np.bincount(t_idx, minlength=len(table_ids))
    b = np.asarray(ballots, dtype=np.int64)
    over = np.flatnonzero(per > b)
    if over.size:
        bad = ", ".join(f"{table_ids[i]} ({per[i]} CVRs, {b[i]} ballots)" for i in over[:10])
        raise InputError(f"more CVRs than ballots in tables {bad}", file=file, field=TABLE)
    srt = np.argsort(t_idx, kind="stable")
    n_ph = b - per
    ids = np.asarray(cvrs.ballot_ids, dtype=object)[srt]
    tabs = table_ids[t_idx[srt]]
    marks = cvrs.marks[srt]
    if n_ph.sum():
        ph_t = np.repeat(np.arange(len(table_ids)), n_ph)
        ph_k = np.concatenate([np.arange(1, k + 1) for k in n_ph if k]) if n_ph.any() else np.zeros(0, int)
        ph_ids = np.array([f"{PHANTOM}{table_ids[t]}:{k}" for t, k in zip(ph_t, ph_k, strict=True)], dtype=object)
        key = np.concatenate([t_idx[srt] * 2, ph_t * 2 + 1])
        ids = np.concatenate([ids, ph_ids])
        tabs = np.concatenate([tabs, table_ids[ph_t]])
        marks = np.vstack([marks, np.zeros((len(ph_ids), marks.shape[1]), dtype=np.int64)])
        phantom = np.concatenate([np.zeros(len(srt), bool), np.ones(len(ph_ids), bool)])
        o = np.argsort(key, kind="stable")
        ids, tabs, marks, phantom = ids[o], tabs[o], marks[o], phantom[o]
    else:
        phantom = np.zeros(len(ids), bool)
    return BallotManifest(ids.astype(str), tabs.astype(str), marks, phantom)
