"""Column mapping: which columns of a results file hold what.

A mapping comes from command-line flags or from a TOML file (``--mapping MAP.toml``)::

    [units]                      # columns that together identify a table, outermost level first
    columns = ["state", "municipality", "centre", "table"]
    names = ["state_name", "municipality_name", "", ""]   # optional display-name columns, aligned
    levels = ["state", "municipality", "centre", "table"] # optional level names (default: columns)

    [columns]                    # optional per-unit columns
    registered = "RE"
    cast = "ballots"             # ballots cast/issued, where the protocol reports them
    valid = "VOTOS_VALIDOS"
    null = "VOTOS_NULOS"
    blank = "blank"

    [candidates]                 # wide files: column = candidate name ("" keeps the column name)
    "EG" = "Edmundo González Urrutia"

    [long]                       # long files instead: one row per unit and selection
    candidate = "candidate"
    votes = "votes"

    [selections]                 # optional: selection (column / long value) -> candidate it counts for
    "PSUV" = "Nicolás Maduro"

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


@dataclass
class Mapping:
    units: list[str]
    unit_names: list[str | None] = field(default_factory=list)
    levels: list[str] | None = None
    registered: str | None = None
    cast: str | None = None
    valid: str | None = None
    null: str | None = None
    blank: str | None = None
    candidates: list[str] = field(default_factory=list)
    long: tuple[str, str] | None = None
    selections: dict[str, str] = field(default_factory=dict)
    format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None

    @property
    def level_names(self) -> list[str]:
        return list(self.levels) if self.levels else list(self.units)

    def per_unit_columns(self) -> dict[str, str]:
        """Canonical name -> file column for the optional per-unit counts that are mapped."""
        cols = {"registered": self.registered, "cast": self.cast, "valid": self.valid,
                "null": self.null, "blank": self.blank}
        return {k: v for k, v in cols.items() if v}

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
        used = list(self.units) + list(self.per_unit_columns().values()) + list(self.candidates)
        if self.long:
            used += list(self.long)
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


def load_mapping(path: Path) -> Mapping:
    """Read a TOML mapping file (format in this module's docstring)."""
    origin = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("mapping file not found", file=origin) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a valid TOML file: {exc}", file=origin) from None
    known = {"units", "columns", "candidates", "long", "selections", "file"}
    for key in data:
        if key not in known:
            raise InputError(f"unknown section [{key}] (known: {', '.join(sorted(known))})",
                             file=origin, field=key)
    units = data.get("units", {})
    cols = data.get("columns", {})
    for key in cols:
        if key not in {"registered", "cast", "valid", "null", "blank"}:
            raise InputError("unknown per-unit column (known: registered, cast, valid, null, blank)",
                             file=origin, field=f"columns.{key}")
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
    )
    if long and not {"candidate", "votes"} <= set(long):
        raise InputError("[long] needs candidate = COL and votes = COL", file=origin, field="long")
    return mapping
