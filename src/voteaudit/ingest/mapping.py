"""Column mapping: which columns of a results file hold what.

A mapping comes from command-line flags or from a TOML file (``--mapping MAP.toml``)::

    [units]                      # columns that together identify a table, outermost level first
    columns = ["state", "municipality", "centre", "table"]
    names = ["state_name", "municipality_name", "", ""]   # optional display-name columns, aligned
    levels = ["state", "municipality", "centre", "table"] # optional level names (default: columns)

    [columns]                    # optional per-unit columns (a list of columns is added up)
    registered = "RE"
    cast = ["issued_early", "issued_station", "issued_outside"]  # ballots cast/issued
    valid = "VOTOS_VALIDOS"
    null = "VOTOS_NULOS"
    blank = "blank"

    [candidates]                 # wide files: column = candidate name ("" keeps the column name)
    "EG" = "Edmundo González Urrutia"

    [long]                       # long files instead: one row per unit and selection
    candidate = "candidate"
    votes = "votes"

    registered_row = "Registered Voters"   # optional: rows giving the table's registered / cast
    cast_row = "Ballots Cast"
    not_candidates = ["Over Votes", "Under Votes"]  # counted and shown, never a candidate

    [selections]                 # optional: selection (column / long value) -> candidate it counts for
    "PSUV" = "Nicolás Maduro"

    [contests]                   # optional: several contests, vote modes, filters, non-reporting tables
    contest = "president"        # the contest a single-contest file belongs to (or picks one of columns)
    columns = ["office", "district"]   # each distinct value (joined " / ") is a contest
    where = { office = "President" }    # keep only matching rows (all must hold)
    where_not = { mode = "TOTAL" }      # ... and drop these
    mode = "mode"                # rows differing only here are added up (per-mode counts kept)
    missing_if = { status = "NOT_RECEIVED" }  # such rows are tables that did not report
    empty_as_missing = true      # rows with empty vote counts too

    [file]                       # optional reader settings
    format = "csv"               # csv, tsv, xlsx, parquet, jsonl, nist
    delimiter = ";"
    encoding = "latin-1"
    sheet = "Results"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from voteaudit.model import InputError

PER_UNIT = ("registered", "cast", "valid", "null", "blank")
Columns = str | list[str] | None


@dataclass
class Mapping:
    units: list[str]
    unit_names: list[str | None] = field(default_factory=list)
    levels: list[str] | None = None
    registered: Columns = None      # a list of columns is added up (e.g. ballots issued in three columns)
    cast: Columns = None
    valid: Columns = None
    null: Columns = None
    blank: Columns = None
    candidates: list[str] = field(default_factory=list)
    long: tuple[str, str] | None = None
    selections: dict[str, str] = field(default_factory=dict)
    format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    # several contests, vote modes, filters and non-reporting tables (see voteaudit.ingest.shape)
    contest: str | None = None
    contest_columns: list[str] = field(default_factory=list)
    where: list[tuple[str, str]] = field(default_factory=list)
    where_not: list[tuple[str, str]] = field(default_factory=list)   # --where COL!=VALUE
    mode_column: str | None = None
    registered_row: str | None = None
    cast_row: str | None = None
    not_candidates: list[str] = field(default_factory=list)
    missing_if: list[tuple[str, str]] = field(default_factory=list)
    empty_as_missing: bool = False

    def reshapes(self) -> bool:
        """Does the file need :mod:`voteaudit.ingest.shape` before staging (anything beyond plain columns)?"""
        return bool(self.contest_columns or self.where or self.where_not or self.registered_row or self.cast_row
                    or self.missing_if or self.empty_as_missing or any(len(self.columns_of(k)) > 1 for k in PER_UNIT))

    def columns_of(self, kind: str) -> list[str]:
        """The columns mapped to one per-unit count (registered, cast, ...), as a list."""
        value = getattr(self, kind)
        return [] if not value else [value] if isinstance(value, str) else list(value)

    @property
    def level_names(self) -> list[str]:
        return list(self.levels) if self.levels else list(self.units)

    def per_unit_columns(self) -> dict[str, str]:
        """Canonical name -> file column for the optional per-unit counts that are mapped."""
        out = {}
        for k in PER_UNIT:
            cols = self.columns_of(k)
            if len(cols) > 1:
                raise ValueError(f"{k} maps {len(cols)} columns: voteaudit.ingest.shape adds them up first")
            if cols:
                out[k] = cols[0]
        return out

    def candidate_of(self, selection: str) -> str:
        return self.selections.get(selection) or selection

    def check(self, origin: str) -> None:
        """Reject a mapping that cannot describe a results file."""
        if not self.units:
            raise InputError("no unit columns given: use --unit COL (repeat it, outermost level first)",
                             file=origin, field="units")
        if self.long and self.candidates:
            raise InputError("give either --candidate columns (wide file) or --long, not both", file=origin)
        if not self.long and not self.candidates:
            raise InputError("no vote columns given: use --candidate COL (repeat it) or "
                             "--long CANDIDATE_COL VOTES_COL", file=origin, field="candidates")
        if self.levels and len(self.levels) != len(self.units):
            raise InputError(f"{len(self.levels)} level names for {len(self.units)} unit columns",
                             file=origin, field="levels")
        if len(self.unit_names) > len(self.units):
            raise InputError("more unit name columns than unit columns", file=origin, field="names")
        used = list(self.units) + [c for k in PER_UNIT for c in self.columns_of(k)] + list(self.candidates)
        if self.long:
            used += list(self.long)
        used += [c for c in self.contest_columns] + ([self.mode_column] if self.mode_column else [])
        if self.mode_column and not self.long:
            raise InputError("--mode-column is for long files (--long CANDIDATE_COL VOTES_COL)", file=origin,
                             field="--mode-column")
        if not self.long:
            for flag, value in (("--registered-row", self.registered_row), ("--cast-row", self.cast_row),
                                ("--not-candidate", self.not_candidates)):
                if value:
                    raise InputError(f"{flag} is for long files (--long CANDIDATE_COL VOTES_COL)", file=origin,
                                     field=flag)
        for flag, value, col in (("--registered-row", self.registered_row, self.registered),
                                 ("--cast-row", self.cast_row, self.cast)):
            if value and col:
                raise InputError(f"give {flag} or a {flag[:-4]} column, not both", file=origin, field=flag)
        seen: set[str] = set()
        for col in used:
            if col in seen:
                raise InputError("column mapped twice", file=origin, field=col)
            seen.add(col)


def _str_list(value: object, where: str, origin: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError("must be a list of strings", file=origin, field=where)
    return list(value)


def _pairs(value: object, where: str, origin: str) -> list[tuple[str, str]]:
    """A TOML table COL = VALUE (or COL = [VALUE, ...]) as (column, value) pairs."""
    if not isinstance(value, dict):
        raise InputError("must be a table of COLUMN = VALUE", file=origin, field=where)
    return [(str(k), v) for k, vals in value.items() for v in _str_list(vals, f"{where}.{k}", origin)]


def parse_condition(text: str, flag: str) -> tuple[str, str, bool]:
    """``COL=VALUE`` or ``COL!=VALUE`` (a flag's argument) -> (column, value, negated)."""
    col, sep, value = text.partition("=")
    negated = col.endswith("!")
    col = col[:-1] if negated else col
    if not sep or not col.strip():
        raise InputError(f"expected COLUMN=VALUE{' or COLUMN!=VALUE' if flag == '--where' else ''}, not {text!r}",
                         field=flag)
    if negated and flag != "--where":
        raise InputError(f"{flag} takes COLUMN=VALUE, not {text!r}", field=flag)
    return col.strip(), value.strip(), negated


def load_mapping(path: Path) -> Mapping:
    """Read a TOML mapping file (format in this module's docstring)."""
    origin = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("mapping file not found", file=origin) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a valid TOML file: {exc}", file=origin) from None
    known = {"units", "columns", "candidates", "long", "selections", "file", "contests"}
    for key in data:
        if key not in known:
            raise InputError(f"unknown section [{key}] (known: {', '.join(sorted(known))})",
                             file=origin, field=key)
    units = data.get("units", {})
    cols = data.get("columns", {})
    for key in cols:
        if key not in PER_UNIT:
            raise InputError("unknown per-unit column (known: registered, cast, valid, null, blank)",
                             file=origin, field=f"columns.{key}")
        cols[key] = _str_list(cols[key], f"columns.{key}", origin)
    cands = data.get("candidates", {})
    if not isinstance(cands, dict):
        raise InputError("[candidates] must map column = candidate name", file=origin, field="candidates")
    selections = {str(k): str(v) for k, v in data.get("selections", {}).items()}
    for col, name in cands.items():
        if not isinstance(name, str):
            raise InputError("candidate name must be a string", file=origin, field=f"candidates.{col}")
        if name and name != col:
            selections[col] = name
    long = data.get("long")
    if long is not None and not isinstance(long, dict):
        raise InputError("[long] needs candidate = COL and votes = COL", file=origin, field="long")
    contests = data.get("contests", {})
    known_c = {"contest", "columns", "where", "where_not", "mode", "missing_if", "empty_as_missing"}
    for key in contests:
        if key not in known_c:
            raise InputError(f"unknown key (known: {', '.join(sorted(known_c))})", file=origin,
                             field=f"contests.{key}")
    names = [n or None for n in _str_list(units.get("names", []), "units.names", origin)]
    levels = units.get("levels")
    file_opts = data.get("file", {})
    mapping = Mapping(
        units=_str_list(units.get("columns", []), "units.columns", origin),
        unit_names=names,
        levels=_str_list(levels, "units.levels", origin) if levels is not None else None,
        registered=cols.get("registered"), cast=cols.get("cast"), valid=cols.get("valid"),
        null=cols.get("null"), blank=cols.get("blank"),
        candidates=list(cands),
        long=(str(long["candidate"]), str(long["votes"])) if long else None,
        selections=selections,
        format=file_opts.get("format"), delimiter=file_opts.get("delimiter"),
        encoding=file_opts.get("encoding"), sheet=file_opts.get("sheet"),
        contest=contests.get("contest"), contest_columns=_str_list(contests.get("columns", []), "contests.columns",
                                                                   origin),
        where=_pairs(contests.get("where", {}), "contests.where", origin),
        where_not=_pairs(contests.get("where_not", {}), "contests.where_not", origin),
        mode_column=contests.get("mode"),
        registered_row=(long or {}).get("registered_row"), cast_row=(long or {}).get("cast_row"),
        not_candidates=_str_list((long or {}).get("not_candidates", []), "long.not_candidates", origin),
        missing_if=_pairs(contests.get("missing_if", {}), "contests.missing_if", origin),
        empty_as_missing=bool(contests.get("empty_as_missing", False)),
    )
    if long and not {"candidate", "votes"} <= set(long):
        raise InputError("[long] needs candidate = COL and votes = COL", file=origin, field="long")
    return mapping
