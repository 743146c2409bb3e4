"""Reshape a raw table before staging: filters, contests, summed columns, special rows, tables that did not report.

What the ingest flags of the second round mean (README "Several contests"), all SQL over ``raw``:

* ``--where COL=VALUE`` / ``COL!=VALUE`` (repeatable): keep only rows where every condition holds (cells
  compared trimmed); a condition no row could meet is an error;
* ``--contest-column COL`` (repeatable): each distinct value (joined with " / ", empty parts skipped) is a
  contest, staged as its own batch; ``--contest NAME`` then keeps only that contest (else it names the
  single contest of the file);
* ``--registered A --registered B`` (any per-unit count): the columns are added up; a row with one of them
  empty has that count missing (never a partial sum);
* long files, ``--registered-row TEXT`` / ``--cast-row TEXT``: rows whose candidate, or whose contest,
  is TEXT give the table's registered voters / ballots cast, for every contest of that table;
* ``--missing-if COL=VALUE`` (repeatable) and ``--empty-as-missing`` (rows whose vote cells are all empty):
  such rows are tables that did not report — stored as known units without results (``unreported``),
  never as zero-turnout tables. A table both reporting and not reporting in one contest is an error.

Every problem is an :class:`InputError` naming the file, row and field, raised before anything is written.
"""

from __future__ import annotations

import dataclasses

import duckdb
import pyarrow as pa

from voteaudit.duck import one
from voteaudit.ingest.mapping import PER_UNIT, Mapping
from voteaudit.ingest.readers import RawTable
from voteaudit.ingest.tables import _check_counts, _count, lit, raw_index, stage
from voteaudit.model import InputError
from voteaudit.names import register_udf, unit_id, unit_part_sql
from voteaudit.store.batch import Batch


def _empty(c: str) -> str:
    return f"({c} IS NULL OR trim({c}) = '')"


def _is(c: str, value: str) -> str:
    return f"coalesce(trim({c}) = {lit(value.strip())}, false)"


def _values(con: duckdb.DuckDBPyConnection, c: str, table: str = "raw_src") -> str:
    vals = [r[0] for r in con.execute(f"SELECT DISTINCT trim({c}) AS v FROM {table} ORDER BY v LIMIT 13").fetchall()]
    return ", ".join(map(repr, vals[:12])) + (" ..." if len(vals) > 12 else "")


def _detach_raw(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the file's rows as ``raw_src`` and free the name ``raw`` for the per-contest views."""
    con.execute("CREATE OR REPLACE TEMP TABLE raw_src AS SELECT * FROM raw")
    is_view = one(con, "SELECT count(*) FROM duckdb_views() WHERE view_name = 'raw' AND temporary")[0]
    con.execute("DROP VIEW raw" if is_view else "DROP TABLE raw")


def split(con: duckdb.DuckDBPyConnection, raw: RawTable, mapping: Mapping, *, origin: str, sha256: str,
          store_levels: list[str] | None) -> list[Batch]:
    """Validate and stage ``raw`` under the reshaping flags: one :class:`Batch` per contest."""
    mapping.check(origin)
    col = {name: raw_index(raw, name, origin) for name in raw.header}

    def c(name: str, flag: str) -> str:
        return raw_index(raw, name, origin, flag)

    contest_cols = [c(x, "--contest-column") for x in mapping.contest_columns]
    where = [(x, v, c(x, "--where")) for x, v in mapping.where]
    where_not = [(x, v, c(x, "--where")) for x, v in mapping.where_not]
    missing_if = [(x, v, c(x, "--missing-if")) for x, v in mapping.missing_if]
    if mapping.mode_column:
        c(mapping.mode_column, "--mode-column")
    units = [c(u, "--unit") for u in mapping.units]
    long = mapping.long
    votes = [c(long[1], "--long")] if long else [c(x, "--candidate") for x in mapping.candidates]
    cand = c(long[0], "--long") if long else None
    sums = {k: [c(x, f"--{k}") for x in mapping.columns_of(k)] for k in PER_UNIT}
    _detach_raw(con)

    # 1. --where
    keep = " AND ".join([_is(x, v) for _, v, x in where] + [f"NOT {_is(x, v)}" for _, v, x in where_not]) or "true"
    for name, value, x in where + where_not:
        if not one(con, f"SELECT count(*) FROM raw_src WHERE {_is(x, value)}")[0]:
            op = "=" if (name, value, x) in where else "!="
            raise InputError(f"--where {name}{op}{value}: no row has {name!r} = {value!r} (values: "
                             f"{_values(con, x)})", file=origin, field=name)
    if (where or where_not) and not one(con, f"SELECT count(*) FROM raw_src WHERE {keep}")[0]:
        raise InputError("no row meets every --where condition together", file=origin,
                         field=", ".join(n for n, _, _ in where + where_not))

    # 2. classify rows: not reporting, special (registered / cast) rows, contest
    register_udf(con)
    uid = " || '.' || ".join(unit_part_sql(u) for u in units)
    parts = ", ".join(f"nullif(trim({x}), '')" for x in contest_cols)
    contest_sql = f"concat_ws(' / ', {parts})" if contest_cols else lit(mapping.contest or "")
    missing = [f"({_is(x, v)})" for _, v, x in missing_if]
    reasons = [lit(f"{name}={v}") for name, v, _ in missing_if]
    if mapping.empty_as_missing:
        missing.append("(" + " AND ".join(_empty(x) for x in votes) + ")")
        reasons.append(lit("empty counts"))
    reason_sql = ("CASE " + " ".join(f"WHEN {m} THEN {r}" for m, r in zip(missing, reasons, strict=True))
                  + " END") if missing else "NULL"
    special = {}
    for kind, text in (("registered", mapping.registered_row), ("cast", mapping.cast_row)):
        if text:
            special[kind] = f"({_is(cand, text)} OR coalesce(trim({contest_sql}) = {lit(text.strip())}, false))"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE raw_k AS SELECT *, {uid} AS __uid, {contest_sql} AS __contest,
        {' OR '.join(missing) or 'false'} AS __missing, {reason_sql} AS __reason,
        {' OR '.join(special.values()) or 'false'} AS __special
        {''.join(f', {cond} AS __is_{k}' for k, cond in special.items())}
        FROM raw_src WHERE {keep}""")
    bad = one(con, "SELECT __row, " + " CASE " + " ".join(f"WHEN {_empty(u)} THEN {i}" for i, u in enumerate(units))
              + f" END FROM raw_k WHERE {' OR '.join(_empty(u) for u in units)} ORDER BY __row LIMIT 1")
    if bad:
        raise InputError("empty unit key", file=origin, row=bad[0], field=mapping.units[bad[1]])
    if contest_cols:
        bad = one(con, "SELECT __row FROM raw_k WHERE __contest = '' AND NOT __special ORDER BY __row LIMIT 1")
        if bad:
            raise InputError("empty contest: every --contest-column is empty on this row", file=origin, row=bad[0],
                             field=mapping.contest_columns[0])
        if len(contest_cols) > 1:  # two different column combinations must never join into one contest name
            values = ", ".join(f"coalesce(trim({x}), '')" for x in contest_cols)
            clash = one(con, f"SELECT min(__row), __contest FROM raw_k WHERE NOT __special GROUP BY __contest "
                             f"HAVING count(DISTINCT [{values}]) > 1 LIMIT 1")
            if clash:
                raise InputError(f"contest {clash[1]!r} comes from different values of the contest columns (e.g. an "
                                 "empty part in one row, a ' / ' inside a value in another): they would be merged",
                                 file=origin, row=clash[0], field=", ".join(mapping.contest_columns))

    # 3. counts of summed columns and special rows are validated where they are (the rest by stage)
    con.execute("CREATE OR REPLACE TEMP VIEW raw AS SELECT * FROM raw_k WHERE NOT __missing")
    checks = {name: x for k in PER_UNIT if len(sums[k]) > 1 for name, x in zip(mapping.columns_of(k), sums[k],
                                                                                 strict=True)}
    _check_counts(con, checks, set(checks), origin)
    extra: dict[str, str] = {}     # synthetic header name -> SQL (text) of the column
    renamed: dict[str, str] = {}
    for k in PER_UNIT:
        if len(sums[k]) > 1:
            name = f"{k} = {' + '.join(mapping.columns_of(k))}"
            total = " + ".join(_count(x) for x in sums[k])
            extra[name] = (f"CASE WHEN {' OR '.join(_empty(x) for x in sums[k])} THEN NULL "
                           f"ELSE CAST({total} AS VARCHAR) END")
            renamed[k] = name
    joins = []
    for kind in special:
        text = mapping.registered_row if kind == "registered" else mapping.cast_row
        con.execute(f"CREATE OR REPLACE TEMP VIEW raw AS SELECT * FROM raw_k WHERE __is_{kind} AND NOT __missing")
        if not one(con, "SELECT count(*) FROM raw")[0]:
            raise InputError(f"--{kind}-row {text!r} matches no row (no candidate nor contest is {text!r})",
                             file=origin, field=long[0])
        _check_counts(con, {long[1]: votes[0]}, set(), origin)
        bad = one(con, f"""SELECT __uid, list(__row ORDER BY __row) FROM raw GROUP BY __uid
                           HAVING count(DISTINCT {_count(votes[0])}) > 1 ORDER BY min(__row) LIMIT 1""")
        if bad:
            raise InputError(f"--{kind}-row {text!r}: table {bad[0]} is given different values (rows "
                             f"{', '.join(map(str, bad[1][:5]))})", file=origin, row=bad[1][1], field=long[1])
        con.execute(f"CREATE OR REPLACE TEMP TABLE special_{kind} AS SELECT __uid, "
                    f"CAST(min({_count(votes[0])}) AS VARCHAR) AS v FROM raw GROUP BY __uid")
        name = f"{kind} ({text})"
        extra[name] = f"special_{kind}.v"
        renamed[kind] = name
        joins.append(f"LEFT JOIN special_{kind} USING (__uid)")
    n = len(raw.header)
    header = list(raw.header) + list(extra)
    synth = "".join(f", {sql} AS c{n + i}" for i, sql in enumerate(extra.values()))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE raw_c AS SELECT raw_k.*{synth} FROM raw_k {' '.join(joins)}
                    WHERE NOT __missing AND NOT __special ORDER BY __contest, __row""")

    # 4. contests
    counts = dict(con.execute("SELECT __contest, count(*) FROM raw_c GROUP BY ALL").fetchall())
    gone = {r[0] for r in con.execute("SELECT DISTINCT __contest FROM raw_k WHERE __missing").fetchall()}
    names = sorted(set(counts) | gone)
    if contest_cols and mapping.contest is not None:
        if mapping.contest.strip() not in names:
            shown = ", ".join(map(repr, names[:12])) + (" ..." if len(names) > 12 else "")
            raise InputError(f"no contest {mapping.contest!r} in the file (contests: {shown})", file=origin,
                             field="--contest")
        names = [mapping.contest.strip()]
    if not names:
        raise InputError("no data rows left (every row is a registered/cast row)", file=origin)
    base = dataclasses.replace(mapping, contest_columns=[], where=[], where_not=[], missing_if=[],
                               empty_as_missing=False, registered_row=None, cast_row=None, contest=None,
                               **{k: renamed.get(k, mapping.columns_of(k)[0] if mapping.columns_of(k) else None)
                                  for k in PER_UNIT})
    table = RawTable(header, 0, raw.format)
    batches = []
    for name in names:
        rows = counts.get(name, 0)
        label = name or None
        if not rows:
            raise InputError(f"contest {name!r}: every table is marked as not reporting; nothing to store",
                             file=origin, field="--missing-if" if mapping.missing_if else "--empty-as-missing")
        con.execute(f"CREATE OR REPLACE TEMP VIEW raw AS SELECT * FROM raw_c WHERE __contest = {lit(name)}")
        batch = stage(con, dataclasses.replace(table, rows=rows), base, origin=origin, sha256=sha256,
                      store_levels=store_levels)
        batch.contest = label if contest_cols else (mapping.contest or None)
        if name in gone:
            _attach_unreported(con, batch, name, mapping, units, col, origin)
        store_levels = store_levels or batch.levels
        batches.append(batch)
    return batches


def _attach_unreported(con: duckdb.DuckDBPyConnection, batch: Batch, contest: str, mapping: Mapping,
                       units: list[str], col: dict[str, str], origin: str) -> None:
    """Record the contest's non-reporting tables in ``batch`` (and their hierarchy nodes)."""
    names = [col[n] if n else None for n in mapping.unit_names] + [None] * (len(units) - len(mapping.unit_names))
    rows = con.execute(f"""SELECT __row, __uid, [{', '.join(f'trim({u})' for u in units)}],
                           [{', '.join(f"nullif(trim({n}), '')" if n else 'NULL' for n in names)}], __reason
                           FROM raw_k WHERE __missing AND __contest = {lit(contest)} ORDER BY __row""").fetchall()
    reported = set(batch.records.column("unit_id").to_pylist())
    seen: dict[str, tuple[int, str]] = {}
    nodes = {i: (d, p, lab) for i, d, p, lab in zip(*(batch.nodes.column(k).to_pylist()
                                                      for k in ("id", "depth", "parent", "label")), strict=True)}
    for row, uid, parts, labels, reason in rows:
        if uid in reported:
            first = min(r for r, u in zip(batch.records.column("row").to_pylist(),
                                          batch.records.column("unit_id").to_pylist(), strict=True) if u == uid)
            raise InputError(f"table {uid} is marked as not reporting here but has results at row {first}",
                             file=origin, row=row, field=(mapping.missing_if[0][0] if mapping.missing_if
                                                          else mapping.long[1] if mapping.long else None))
        seen.setdefault(uid, (row, reason))
        for k in range(len(parts)):
            nid = unit_id(parts[:k + 1])
            if nid not in nodes:
                nodes[nid] = (k + 1, unit_id(parts[:k]) if k else None, labels[k] or parts[k])
    ids = list(nodes)
    batch.nodes = pa.table({"id": ids, "depth": pa.array([nodes[i][0] for i in ids], pa.int32()),
                            "parent": pa.array([nodes[i][1] for i in ids], pa.string()),
                            "label": [nodes[i][2] for i in ids], "seq": pa.array(range(len(ids)), pa.int64())})
    batch.unreported = pa.table({"unit_id": list(seen), "row": pa.array([r for r, _ in seen.values()], pa.int64()),
                                 "reason": [why for _, why in seen.values()]})
