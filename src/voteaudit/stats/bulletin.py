"""Announced totals (a "bulletin") and how its candidate labels line up with a source's columns.

A bulletin is what an authority reads out or publishes: national totals per candidate, possibly
with registered voters, ballots cast, valid and null votes, stated percentages and the stated
progress of the count. Labels may combine candidates ("Other 8 candidates (combined)").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Bulletin:
    """One announcement of national totals.

    ``totals``: label -> votes. ``stated_pct``: label -> percentage as announced (of valid votes).
    ``registered``: registered voters as stated; ``registered_counted``: registered voters of the
    tables counted so far; ``progress_pct``: stated share of the count done, on ``progress_basis``
    ("tables" or "registered"). ``cast`` = ballots cast (valid + null + blank).
    """

    name: str
    totals: dict[str, int]
    stated_pct: dict[str, float] = field(default_factory=dict)
    registered: int | None = None
    registered_counted: int | None = None
    cast: int | None = None
    valid: int | None = None
    null: int | None = None
    blank: int | None = None
    stated_turnout_pct: float | None = None
    stated_null_pct: float | None = None
    progress_pct: float | None = None
    progress_basis: str = "tables"
    stated_pct_text: dict[str, str] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return list(self.totals)

    @property
    def valid_total(self) -> int:
        """Stated valid votes, else the sum of the announced counts."""
        return int(self.valid) if self.valid is not None else int(sum(self.totals.values()))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Bulletin:
        """Accept the shape of ``cne_bulletins.json`` bulletins, or a flat ``{"name", "totals", ...}``.

        Stated percentages keep their printed precision (from the JSON number's text when available
        through ``stated_pct_text``; otherwise inferred from the float's shortest repr).
        """
        if "totals" in d:
            totals = {str(k): int(v) for k, v in d["totals"].items()}
            stated = {str(k): float(v) for k, v in (d.get("stated_pct") or {}).items()}
        else:
            totals, stated = {}, {}
            for r in d.get("results", []):
                totals[str(r["candidate"])] = int(r["votes"])
                if r.get("stated_pct") is not None:
                    stated[str(r["candidate"])] = float(r["stated_pct"])
        name = str(d.get("name", d.get("id", "bulletin")))
        progress = d.get("progress_pct", d.get("stated_progress_pct"))
        basis = str(d.get("progress_basis", "tables"))
        if progress is None and isinstance(d.get("stated_progress"), str):
            m = re.match(r"\s*([\d.]+)\s*%", d["stated_progress"])
            if m:
                progress = float(m.group(1))
        registered_counted = d.get("registered_counted", d.get("registered_voters_in_counted_actas"))
        if "progress_basis" not in d and registered_counted is not None:
            basis = "registered"
        valid = d.get("valid", d.get("valid_votes", d.get("total_valid_votes_implied")))
        return cls(
            name=name,
            totals=totals,
            stated_pct=stated,
            registered=_opt_int(d.get("registered", d.get("registered_voters_stated"))),
            registered_counted=_opt_int(registered_counted),
            cast=_opt_int(d.get("cast", d.get("votes_cast"))),
            valid=_opt_int(valid),
            null=_opt_int(d.get("null", d.get("null_votes"))),
            blank=_opt_int(d.get("blank", d.get("blank_votes"))),
            stated_turnout_pct=_opt_float(d.get("stated_turnout_pct", d.get("stated_participation_pct"))),
            stated_null_pct=_opt_float(d.get("stated_null_pct")),
            progress_pct=_opt_float(progress),
            progress_basis=basis,
        )


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def decimals_of(value: float) -> int:
    """Decimals printed in a stated percentage (51.2 -> 1, 51.95 -> 2, 59.0 -> 0)."""
    text = repr(float(value))
    if "e" in text or "E" in text:
        return 6
    frac = text.split(".")[1] if "." in text else ""
    frac = frac.rstrip("0")
    return len(frac)


def _norm(s: str) -> str:
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", s).strip()


def align_columns(
    candidates: Sequence[str],
    labels: Sequence[str],
    mapping: Mapping[str, str | Sequence[str]] | None = None,
) -> list[list[int]]:
    """For each bulletin label, the indices of the source columns it adds up.

    ``mapping`` (label -> candidate name or list of names) wins; otherwise labels match candidate
    names exactly, then case/accent-insensitively. One label that mentions "other"/"otros" and
    matches no candidate takes every candidate left over. Every candidate must land in exactly
    one label, or ``ValueError`` names the ones that do not.
    """
    mapping = dict(mapping or {})
    index = {c: i for i, c in enumerate(candidates)}
    norm_index = {_norm(c): i for i, c in enumerate(candidates)}
    groups: list[list[int] | None] = []
    for label in labels:
        if label in mapping:
            target = mapping[label]
            names = [target] if isinstance(target, str) else list(target)
            missing = [n for n in names if n not in index]
            if missing:
                raise ValueError(f"bulletin label {label!r} maps to unknown candidates {missing}")
            groups.append([index[n] for n in names])
        elif label in index:
            groups.append([index[label]])
        elif _norm(label) in norm_index:
            groups.append([norm_index[_norm(label)]])
        else:
            groups.append(None)
    used = {i for g in groups if g is not None for i in g}
    leftover = [i for i in range(len(candidates)) if i not in used]
    unmatched = [j for j, g in enumerate(groups) if g is None]
    other = [j for j in unmatched if re.search(r"\b(other|others|otros|otras|resto)\b", _norm(labels[j]))]
    if len(other) == 1 and leftover:
        groups[other[0]] = leftover
        unmatched.remove(other[0])
        leftover = []
    if unmatched:
        raise ValueError(f"bulletin labels without matching candidates: {[labels[j] for j in unmatched]}")
    if leftover:
        raise ValueError(f"candidates in no bulletin label: {[candidates[i] for i in leftover]}")
    seen: set[int] = set()
    for g in groups:
        assert g is not None
        if seen & set(g):
            raise ValueError("a candidate is counted in two bulletin labels")
        seen |= set(g)
    return [g for g in groups if g is not None]


def group_votes(votes: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Sum columns of an (n, k) vote matrix into the bulletin's labels: (n, len(groups))."""
    votes = np.asarray(votes)
    return np.column_stack([votes[:, list(g)].sum(axis=1) for g in groups]) if groups else votes[:, :0]
