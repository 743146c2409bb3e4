"""Validate a raw text table against its mapping and turn it into canonical records.

Two tiers (the issue's contract):

* malformed input (unknown columns, empty keys, counts that are not non-negative integers, ...)
  raises :class:`InputError` naming file, row and field — nothing is written;
* well-formed but implausible records are kept and carry flags (the evidence auditors look for):
  ``votes_above_registered``, ``ballots_above_registered``, ``valid_mismatch`` (candidate sum
  differs from the stated valid total), ``cast_below_counted``, ``zero_registered``,
  ``registered_missing``, ``repeated_rows`` (long files: a selection given twice for a unit, summed).

All work is SQL over the DuckDB temp table ``raw`` (see :mod:`voteaudit.ingest.readers`), so a
million-row file is validated in one or two vectorised passes.

Unit keys are normalised part by part so the same table from two sources matches, by the one rule
of :func:`voteaudit.names.unit_part` (NFKC, whitespace collapsed, leading zeros of numbers dropped,
other text accent- and case-insensitive; its SQL twin runs here). A unit id joins the parts with
``.`` (``%`` and ``.`` inside a part are written ``%25`` / ``%2E``); each prefix is the id of an
ancestor (``13.4`` is municipality 4 of state 13).
"""

from __future__ import annotations

import difflib

import duckdb
import numpy as np
import pyarrow as pa

from voteaudit.duck import arrow, one
from voteaudit.ingest import counts
from voteaudit.ingest.mapping import Mapping
from voteaudit.ingest.readers import RawTable
from voteaudit.model import InputError
from voteaudit.names import register_udf, unit_part_sql
from voteaudit.store.batch import Batch

__all__ = ["FLAGS", "Batch", "stage"]

FLAGS = {
    "votes_above_registered": "candidate votes exceed registered voters",
    "ballots_above_registered": "ballots (cast, or valid + null + blank) exceed registered voters",
    "valid_mismatch": "candidate votes do not add up to the stated valid total",
    "cast_below_counted": "fewer ballots cast than votes counted",
    "zero_registered": "zero registered voters",
    "registered_missing": "registered voters not given",
    "repeated_rows": "a selection appears in several rows for the unit (summed)",
    "unknown_unit": "a scanned sheet for a table no source lists",
}


def q(name: str) -> str:
    """Quote an identifier for SQL."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """Quote a string literal for SQL."""
    return "'" + text.replace("'", "''") + "'"


def _columns(raw: RawTable, mapping: Mapping, origin: str) -> dict[str, str]:
    index = {name: f"c{i}" for i, name in enumerate(raw.header)}
    wanted = list(mapping.units) + [n for n in mapping.unit_names if n]
    wanted += list(mapping.per_unit_columns().values()) + list(mapping.candidates)
    if mapping.long:
        wanted += list(mapping.long)
    for name in wanted:
        if name not in index:
            close = difflib.get_close_matches(name, raw.header, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            shown = ", ".join(map(repr, raw.header[:12])) + (" ..." if len(raw.header) > 12 else "")
            raise InputError(f"no such column in the header (columns: {shown}){hint}",
                             file=origin, row=1, field=name)
    return index


def _classify(value: str | None) -> str:
    """Why a count cell was refused (the one rule: :mod:`voteaudit.ingest.counts`)."""
    return counts.problem(value)


def _count_checks(cols: dict[str, str], optional: set[str]) -> list[str]:
    """SQL conditions, true on a row with a malformed count (one regex per chunk of required counts)."""
    return counts.row_bad_sql([c for name, c in cols.items() if name not in optional],
                              [c for name, c in cols.items() if name in optional])


def _check_counts(con: duckdb.DuckDBPyConnection, cols: dict[str, str], optional: set[str],
                  origin: str) -> None:
    """Find the first row with a malformed count, if any, and reject the file naming it."""
    if not cols:
        return
    checks = _count_checks(cols, optional)
    row = one(con, f"SELECT __row FROM raw WHERE {' OR '.join(f'({x})' for x in checks)} ORDER BY __row LIMIT 1")
    if row is None:
        return
    conds = [(name, c, f"NOT {counts.cell_ok_sql(c, optional=name in optional)}") for name, c in cols.items()]
    which = " ".join(f"WHEN {cond} THEN {i}" for i, (_, _, cond) in enumerate(conds))
    row = one(con, f"SELECT __row, CASE {which} END FROM raw WHERE __row = ?", [row[0]])
    name, c, _ = conds[row[1]]
    value = one(con, f"SELECT {c} FROM raw WHERE __row = ?", [row[0]])[0]
    raise InputError(_classify(value), file=origin, row=row[0], field=name)


def _count(c: str) -> str:
    """SQL: a count as BIGINT, exact for every accepted form (:func:`voteaudit.ingest.counts.value_sql`);
    validation runs in the same pass and rejects the file when any cell is refused."""
    return counts.value_sql(c)


def _diagnose(con: duckdb.DuckDBPyConnection, index: dict[str, str], mapping: Mapping, counts: dict[str, str],
              optional: set[str], origin: str) -> None:
    """Raise the precise InputError (row, field, problem) for the first malformed row of ``raw``."""
    empty = [f"({index[u]} IS NULL OR trim({index[u]}) = '')" for u in mapping.units]
    which = " ".join(f"WHEN {cond} THEN {i}" for i, cond in enumerate(empty))
    bad = one(con, f"SELECT __row, CASE {which} END FROM raw WHERE {' OR '.join(empty)} ORDER BY __row LIMIT 1")
    if bad:
        raise InputError("empty unit key", file=origin, row=bad[0], field=mapping.units[bad[1]])
    if mapping.long:
        cand_col = mapping.long[0]
        bad = one(con, f"SELECT __row FROM raw WHERE {index[cand_col]} IS NULL OR trim({index[cand_col]}) = ''"
                       " ORDER BY __row LIMIT 1")
        if bad:
            raise InputError("empty candidate name", file=origin, row=bad[0], field=cand_col)
    _check_counts(con, counts, optional, origin)
    raise InputError("malformed values (the exact row could not be determined)", file=origin)


def _explain_repeats(con: duckdb.DuckDBPyConnection, raw: RawTable, mapping: Mapping, leaf: str,
                     origin: str) -> None:
    """Reject a long file giving a (table, selection) twice, naming the columns that tell the rows apart."""
    mode = ", __mode" if mapping.mode_column else ""
    u, sel, rows = one(con, f"SELECT {leaf}, sel, list(__row ORDER BY __row) FROM lrows GROUP BY {leaf}, sel{mode} "
                            "HAVING count(*) > 1 ORDER BY min(__row) LIMIT 1")
    first, second = rows[0], rows[1]
    index = {name: f"c{i}" for i, name in enumerate(raw.header)}
    votes_col = mapping.long[1]
    differ = []
    for name, c in index.items():
        if name == votes_col:
            continue
        a, b = one(con, f"SELECT (SELECT trim({c}) FROM raw WHERE __row = $1), (SELECT trim({c}) FROM raw "
                        "WHERE __row = $2)", [first, second])
        if a != b:
            n = one(con, f"SELECT count(DISTINCT trim({c})) FROM raw")[0]
            differ.append(f"column {name!r} has {n} values")
    where = f"rows {first} and {second} both give table {u} the selection {sel!r}"
    if not differ:
        raise InputError(f"{where} (no other column differs: a repeated row?); remove the repeat", file=origin,
                         row=second, field=mapping.long[0])
    col = differ[0].split("'")[1]
    raise InputError(f"{where}; {', '.join(differ)}: use --contest-column {col}, --mode-column {col} or "
                     f"--where {col}=VALUE", file=origin, row=second, field=col)


def stage(con: duckdb.DuckDBPyConnection, raw: RawTable, mapping: Mapping, *, origin: str,
          sha256: str, store_levels: list[str] | None) -> Batch:
    """Validate ``raw`` (already read) and build the canonical :class:`Batch`.

    Long files: a (table, selection) given by two rows is rejected (:func:`_explain_repeats`) unless
    ``mapping.mode_column`` tells them apart; those are added up and kept per mode (``modes``).
    """
    mapping.check(origin)
    index = _columns(raw, mapping, origin)
    if raw.rows == 0:
        raise InputError("no data rows: the file has a header only", file=origin)
    levels = mapping.level_names
    if store_levels and len(store_levels) != len(levels):
        raise InputError(
            f"this store identifies tables by {len(store_levels)} levels ({', '.join(store_levels)}) "
            f"but {len(levels)} unit columns were given ({', '.join(mapping.units)})", file=origin,
            field="units")
    if store_levels:
        levels = list(store_levels)

    per_unit = mapping.per_unit_columns()
    counts = {col: index[col] for col in per_unit.values()}
    empty = [f"({index[u]} IS NULL OR trim({index[u]}) = '')" for u in mapping.units]
    if mapping.long:
        cand_col, votes_col = mapping.long
        empty.append(f"({index[cand_col]} IS NULL OR trim({index[cand_col]}) = '')")
        counts[votes_col] = index[votes_col]
    else:
        counts.update({col: index[col] for col in mapping.candidates})
    # Validation rides along the staging pass (a __bad flag per row); only a file with a problem pays
    # for the row-by-row diagnosis in _diagnose, which raises the precise error.
    bad_sql = " OR ".join(empty + _count_checks(counts, set(per_unit.values())))

    def check(table: str) -> None:
        if one(con, f"SELECT bool_or(__bad) FROM {table}")[0]:
            _diagnose(con, index, mapping, counts, set(per_unit.values()), origin)

    n_levels = len(mapping.units)
    register_udf(con)
    parts = ", ".join(f"{unit_part_sql(index[u])} AS p{k}" for k, u in enumerate(mapping.units))
    dot = " || '.' || "
    ids = ", ".join(f"{dot.join(f'p{j}' for j in range(k + 1))} AS id{k}" for k in range(n_levels))
    label_cols = list(mapping.unit_names) + [None] * (n_levels - len(mapping.unit_names))
    labels = ", ".join((f"nullif(trim({index[n]}), '') AS label{k}" if n else f"trim({index[u]}) AS label{k}")
                       for k, (u, n) in enumerate(zip(mapping.units, label_cols, strict=True)))
    per_sql = ", ".join(
        f"{_count(index[per_unit[k]]) if k in per_unit else 'CAST(NULL AS BIGINT)'} AS \"{k}\""
        for k in ("registered", "cast", "valid", "null", "blank"))
    leaf = f"id{n_levels - 1}"
    keyed = f"SELECT __row, {ids}, {labels}, {{rest}} FROM (SELECT *, {parts} FROM raw)"

    if mapping.long:
        cand_col, votes_col = mapping.long
        sel_expr = f"trim({index[cand_col]})"
        mode_sql = f"coalesce(trim({raw_index(raw, mapping.mode_column, origin)}), '')" if mapping.mode_column \
            else "''"
        con.execute("CREATE OR REPLACE TEMP TABLE lrows AS " + keyed.format(
            rest=f"{per_sql}, {sel_expr} AS sel, {_count(index[votes_col])} AS v, {mode_sql} AS __mode, "
                 f"({bad_sql}) AS __bad"))
        check("lrows")
        sels = sorted(r[0] for r in con.execute("SELECT DISTINCT sel FROM lrows").fetchall())
        for k in ("registered", "cast", "valid", "null", "blank"):
            if k not in per_unit:
                continue
            bad = one(con,
                      f"SELECT {leaf}, min(__row), max(__row) FROM lrows GROUP BY {leaf} "
                      f"HAVING count(DISTINCT coalesce(\"{k}\", -1)) > 1 ORDER BY 2 LIMIT 1")
            if bad:
                raise InputError(f"{k} differs between rows of the same unit (first at row {bad[1]})",
                                 file=origin, row=bad[2], field=per_unit[k])
        sel_index = ", ".join(f"({i}, {lit(sel)})" for i, sel in enumerate(sels))
        firsts = ", ".join(f"first(id{k} ORDER BY __row) AS id{k}, first(label{k} ORDER BY __row) AS label{k}"
                           for k in range(n_levels - 1))
        firsts = (firsts + ", ") if firsts else ""
        per_first = ", ".join(f'first("{k}" ORDER BY __row) AS "{k}"'
                              for k in ("registered", "cast", "valid", "null", "blank"))
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE st AS
            WITH sidx(i, sel) AS (VALUES {sel_index}),
            agg AS (SELECT {leaf} AS u, sel, sum(v) AS v, count(*) - count(DISTINCT __mode) AS n FROM lrows
                    GROUP BY ALL),
            units AS (SELECT {leaf}, {firsts}first(label{n_levels - 1} ORDER BY __row) AS label{n_levels - 1},
                      min(__row) AS __row, {per_first} FROM lrows GROUP BY {leaf}),
            grid AS (SELECT u.{leaf} AS u, s.i, coalesce(a.v, 0) AS v, coalesce(a.n, 0) AS n
                     FROM units u CROSS JOIN sidx s LEFT JOIN agg a ON a.u = u.{leaf} AND a.sel = s.sel),
            lists AS (SELECT u, list(v ORDER BY i) AS votes, max(n) > 0 AS repeated FROM grid GROUP BY u)
            SELECT units.*, lists.votes, lists.repeated FROM units JOIN lists ON lists.u = units.{leaf}
        """)
        if one(con, "SELECT bool_or(repeated) FROM st")[0]:
            _explain_repeats(con, raw, mapping, leaf, origin)
        selections = [(sel, mapping.candidate_of(sel)) for sel in sels]
        missing = [t for t in mapping.not_candidates if t not in sels]
        if missing:
            raise InputError(f"--not-candidate {missing[0]!r} matches no row (values: "
                             f"{', '.join(map(repr, sels[:12]))}{' ...' if len(sels) > 12 else ''})",
                             file=origin, field=cand_col)
        if mapping.mode_column:
            con.execute(f"""CREATE OR REPLACE TEMP TABLE st_modes AS
                SELECT u, to_json(map_from_entries(list((__mode, m) ORDER BY __mode)))::VARCHAR AS modes
                FROM (SELECT {leaf} AS u, __mode, to_json(map_from_entries(list((sel, v) ORDER BY sel))) AS m
                      FROM (SELECT {leaf}, __mode, sel, sum(v) AS v FROM lrows GROUP BY ALL) GROUP BY ALL)
                GROUP BY u""")
    else:
        # votes are stored in selection-name order, so copies from files with other column orders compare equal
        cols = sorted(mapping.candidates)
        votes_sql = "list_value(" + ", ".join(_count(index[c]) for c in cols) + ")"
        con.execute("CREATE OR REPLACE TEMP TABLE st AS "
                    + keyed.format(rest=f"{per_sql}, {votes_sql} AS votes, false AS repeated, ({bad_sql}) AS __bad"))
        check("st")
        selections = [(c, mapping.candidate_of(c)) for c in cols]

    counted = [i + 1 for i, (sel, _) in enumerate(selections) if sel not in mapping.not_candidates]
    vsum = "list_sum(votes)" if len(counted) == len(selections) else \
        f"coalesce(list_sum(list_select(votes, {counted})), 0)"
    ballots = f'coalesce("cast", coalesce(valid, {vsum}) + coalesce("null", 0) + coalesce(blank, 0))'
    conds = {
        "votes_above_registered": f"registered IS NOT NULL AND {vsum} > registered",
        "ballots_above_registered": f"registered IS NOT NULL AND {vsum} <= registered AND {ballots} > registered",
        "valid_mismatch": f"valid IS NOT NULL AND valid <> {vsum}",
        "cast_below_counted": f'"cast" IS NOT NULL AND "cast" < coalesce(valid, {vsum}) + coalesce("null", 0)'
                              " + coalesce(blank, 0)",
        "zero_registered": "registered = 0",
        "registered_missing": "registered IS NULL" if "registered" in per_unit else "false",
        "repeated_rows": "repeated",
    }
    any_flag = " OR ".join(f"coalesce({c}, false)" for c in conds.values())
    flags_sql = (f"CASE WHEN {any_flag} THEN [x FOR x IN ["
                 + ", ".join(f"CASE WHEN {c} THEN {lit(k)} END" for k, c in conds.items())
                 + "] IF x IS NOT NULL] ELSE []::VARCHAR[] END")
    modes = f", (SELECT modes FROM st_modes WHERE u = st.{leaf}) AS modes" \
        if mapping.long and mapping.mode_column else ""
    recs = (f'SELECT __row AS "row", {leaf} AS unit_id, registered, "cast", valid, "null", blank, votes, '
            f"{flags_sql} AS flags{modes} FROM st")
    total = raw.rows if not mapping.long else one(con, "SELECT count(*) FROM st")[0]
    repeated_units = one(con, f"SELECT count(DISTINCT {leaf}) FROM st")[0] < total
    if repeated_units:
        # identical copies of a table within the file are stored once (differing ones are all kept)
        recs += (' QUALIFY row_number() OVER (PARTITION BY unit_id, registered, "cast", valid, "null", blank, '
                 'votes ORDER BY "row") = 1')
    # st is in file order and DuckDB preserves insertion order: only the deduplicated form needs sorting
    records = arrow(con, recs + (' ORDER BY "row"' if repeated_units else ""))
    records = records.append_column("seq", pa.array(np.arange(records.num_rows, dtype=np.int64)))
    # ancestors: few, grouped; leaves: one per distinct unit
    node_sql = " UNION ALL ".join(
        f"SELECT id{k} AS id, {k + 1} AS depth, first({('id' + str(k - 1)) if k else 'NULL'}) AS parent, "
        f"coalesce(first(label{k} ORDER BY __row) FILTER (WHERE label{k} IS NOT NULL), id{k}) AS label "
        f"FROM st GROUP BY id{k}" for k in range(n_levels - 1))
    leaves = (f"SELECT {leaf} AS id, {n_levels} AS depth, {('id' + str(n_levels - 2)) if n_levels > 1 else 'NULL'}"
              f" AS parent, coalesce(label{n_levels - 1}, {leaf}) AS label FROM st")
    if repeated_units:
        leaves += f" QUALIFY row_number() OVER (PARTITION BY {leaf} ORDER BY __row) = 1"
    nodes = arrow(con, f"{node_sql + ' UNION ALL ' if node_sql else ''}{leaves}")
    nodes = nodes.append_column("seq", pa.array(np.arange(nodes.num_rows, dtype=np.int64)))
    return Batch(file=origin, sha256=sha256, format=raw.format, rows=raw.rows, levels=levels,
                 selections=selections, records=records, nodes=nodes, duplicates=total - records.num_rows,
                 roles={sel: "not_candidate" for sel, _ in selections if sel in mapping.not_candidates})


def raw_index(raw: RawTable, name: str, origin: str, flag: str | None = None) -> str:
    """The ``raw`` column (``cN``) of header column ``name``, or an error naming it (with close matches)."""
    if name in raw.header:
        return f"c{raw.header.index(name)}"
    close = difflib.get_close_matches(name, raw.header, n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    shown = ", ".join(map(repr, raw.header[:12])) + (" ..." if len(raw.header) > 12 else "")
    raise InputError(f"{flag + ': ' if flag else ''}no such column in the header (columns: {shown}){hint}",
                     file=origin, row=1, field=name)
