"""DuckDB backend: the embedded default store (one file, e.g. ``./voteaudit.duckdb``).

Records keep their votes as a list aligned with their import's selections, so a million-table
source loads into a units x candidates matrix without a pivot.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from voteaudit.duck import arrow, one
from voteaudit.model import InputError, LazyPath, SourceMatrix, StoreError
from voteaudit.names import candidate_key

if TYPE_CHECKING:
    from voteaudit.ingest.tables import Batch

from voteaudit.store.base import (
    SCHEMA_VERSION,
    Bulletin,
    BulletinResult,
    ImportResult,
    SourceInfo,
    Store,
    record_dict,
)

SCHEMA = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE sources (source_id INTEGER, name VARCHAR, kind VARCHAR, created_at TIMESTAMP);
CREATE TABLE imports (import_id INTEGER, source_id INTEGER, file_name VARCHAR, sha256 VARCHAR,
    format VARCHAR, "rows" BIGINT, records BIGINT, imported_at TIMESTAMP, signature VARCHAR);
CREATE TABLE candidates (candidate_id INTEGER, name VARCHAR, norm VARCHAR);
CREATE TABLE import_selections (import_id INTEGER, position INTEGER, selection VARCHAR, candidate_id INTEGER);
CREATE TABLE nodes (node_key BIGINT, id VARCHAR, depth INTEGER, parent VARCHAR, label VARCHAR);
CREATE TABLE records (record_id BIGINT, source_id INTEGER, import_id INTEGER, "row" BIGINT, unit_key BIGINT,
    registered BIGINT, "cast" BIGINT, valid BIGINT, "null" BIGINT, blank BIGINT, votes BIGINT[],
    flags VARCHAR[], origin VARCHAR);
CREATE TABLE sightings (record_id BIGINT, import_id INTEGER, "row" BIGINT);
CREATE TABLE bulletins (bulletin_id INTEGER, name VARCHAR, announced_at VARCHAR, unit_id VARCHAR,
    progress_pct DOUBLE, registered BIGINT, "cast" BIGINT, valid BIGINT, "null" BIGINT, blank BIGINT,
    turnout_pct DOUBLE, units_counted BIGINT, precision_pct DOUBLE, file_name VARCHAR, sha256 VARCHAR,
    imported_at TIMESTAMP, extra VARCHAR);
CREATE TABLE bulletin_results (bulletin_id INTEGER, position INTEGER, candidate VARCHAR, votes BIGINT,
    stated_pct DOUBLE, party VARCHAR);
"""

PER_UNIT = ("registered", "cast", "valid", "null", "blank")


def sparse_lists(column: pa.ChunkedArray) -> list[Sequence[str]]:
    """Arrow list column -> Python lists, converting only the non-empty ones (most records have no flag)."""
    col = column.combine_chunks()
    lengths = pc.fill_null(pc.list_value_length(col), 0).to_numpy()
    empty: list[str] = []  # one shared empty list: read-only by convention, like the rest of a SourceMatrix
    out: list[Sequence[str]] = [empty] * len(col)
    rows = np.flatnonzero(lengths)
    for i, value in zip(rows.tolist(), col.take(pa.array(rows)).to_pylist(), strict=True):
        out[i] = value
    return out


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class DuckDBStore(Store):
    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.url = str(path)
        try:
            self.con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open store {path}: {str(exc).splitlines()[0]}") from None
        tables = {r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables "
                                                  "WHERE table_schema = 'main'").fetchall()}
        if "meta" not in tables:
            if read_only:
                raise StoreError(f"{path} is not a voteaudit store (no data ingested yet?)")
            self.con.execute("BEGIN")
            self.con.execute(SCHEMA)
            self.con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            self.con.execute("COMMIT")
        version = int(self._meta("schema_version") or 0)
        if version != SCHEMA_VERSION:
            raise StoreError(f"{path} has schema version {version}; this voteaudit reads {SCHEMA_VERSION}")

    # -- helpers -------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = one(self.con, "SELECT value FROM meta WHERE key = ?", [key])
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.con.execute("DELETE FROM meta WHERE key = ?", [key])
        self.con.execute("INSERT INTO meta VALUES (?, ?)", [key, value])

    def _next(self, table: str, column: str) -> int:
        return int(one(self.con, f"SELECT coalesce(max({column}), 0) + 1 FROM {table}")[0])

    def _source_id(self, name: str) -> int:
        row = one(self.con, "SELECT source_id FROM sources WHERE name = ?", [name])
        if row is None:
            known = [r[0] for r in self.con.execute("SELECT name FROM sources ORDER BY source_id").fetchall()]
            raise StoreError(f"no source named {name!r} in {self.url} (sources: {', '.join(known) or 'none'})")
        return int(row[0])

    def _candidate_ids(self, names: list[str]) -> list[int]:
        """Ids of candidates by name (accent-, case- and space-insensitive), adding new ones."""
        ids = []
        for name in names:
            norm = candidate_key(name)
            row = one(self.con, "SELECT candidate_id FROM candidates WHERE norm = ?", [norm])
            if row is None:
                new = self._next("candidates", "candidate_id")
                self.con.execute("INSERT INTO candidates VALUES (?, ?, ?)", [new, name.strip(), norm])
                ids.append(new)
            else:
                ids.append(int(row[0]))
        return ids

    # -- writes --------------------------------------------------------------------------
    def levels(self) -> list[str] | None:
        value = self._meta("levels")
        return json.loads(value) if value else None

    def write_import(self, batch: Batch, source: str, kind: str, *, strict: bool = False) -> ImportResult:
        con = self.con
        row = one(con, "SELECT kind FROM sources WHERE name = ?", [source])
        if row is not None and row[0] != kind:
            raise InputError(f"source {source!r} is already stored with kind {row[0]!r}, not {kind!r}",
                             file=batch.file, field="--kind")
        done = one(con, "SELECT 1 FROM imports i JOIN sources s USING (source_id) WHERE s.name = ? "
                           "AND i.sha256 = ?", [source, batch.sha256])
        if done:
            return ImportResult(source, batch.file, batch.sha256, "already imported", rows=batch.rows)
        con.execute("BEGIN")
        try:
            result = self._write_import(batch, source, kind, strict)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return result

    def _write_import(self, batch: Batch, source: str, kind: str, strict: bool) -> ImportResult:
        con = self.con
        if self.levels() is None:
            self._set_meta("levels", json.dumps(batch.levels))
        row = one(con, "SELECT source_id FROM sources WHERE name = ?", [source])
        if row is None:
            source_id = self._next("sources", "source_id")
            con.execute("INSERT INTO sources VALUES (?, ?, ?, ?)", [source_id, source, kind, _now()])
        else:
            source_id = int(row[0])
        import_id = self._next("imports", "import_id")
        cand_ids = self._candidate_ids([c for _, c in batch.selections])
        con.executemany("INSERT INTO import_selections VALUES (?, ?, ?, ?)",
                        [[import_id, i, sel, cid] for i, ((sel, _), cid) in
                         enumerate(zip(batch.selections, cand_ids, strict=True))])
        con.register("batch_nodes", batch.nodes)
        con.register("batch_records", batch.records)
        con.execute("INSERT INTO nodes SELECT ? + b.seq, b.id, b.depth, b.parent, b.label "
                    "FROM batch_nodes b ANTI JOIN nodes n ON n.id = b.id", [self._next("nodes", "node_key")])
        # Identical copy = same unit, counts and votes, from an import with the same selections.
        signature = json.dumps(batch.selections, ensure_ascii=False)
        same = [r[0] for r in con.execute("SELECT import_id FROM imports WHERE source_id = ? AND signature = ?",
                                          [source_id, signature]).fetchall()]
        existing = "CAST(NULL AS BIGINT)"
        if same:
            existing = f"""(SELECT min(e.record_id) FROM records e WHERE e.import_id IN ({",".join(map(str, same))})
                AND e.unit_key = n.node_key AND e.votes = b.votes
                AND e.registered IS NOT DISTINCT FROM b.registered AND e."cast" IS NOT DISTINCT FROM b."cast"
                AND e.valid IS NOT DISTINCT FROM b.valid AND e."null" IS NOT DISTINCT FROM b."null"
                AND e.blank IS NOT DISTINCT FROM b.blank)"""
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE incoming AS
            SELECT b.*, n.node_key AS unit_key, {existing} AS existing
            FROM batch_records b JOIN nodes n ON n.id = b.unit_id
        """)
        origin = "origin" if "origin" in batch.records.column_names else "NULL"
        con.execute(f"""
            INSERT INTO records SELECT ? + seq, ?, ?, "row", unit_key, registered, "cast", valid, "null", blank,
                votes, flags, {origin}
            FROM incoming WHERE existing IS NULL
        """, [self._next("records", "record_id"), source_id, import_id])
        if strict and (bad := one(con, """SELECT i."row", i.unit_id FROM incoming i WHERE i.existing IS NULL AND
                     (SELECT count(*) FROM records r WHERE r.source_id = ? AND r.unit_key = i.unit_key) > 1
                     ORDER BY i."row" LIMIT 1""", [source_id])):
            raise InputError(f"table {bad[1]} would get a second, different copy in source {source!r} "
                             "(a conflict; rejected by --strict)", file=batch.file, row=bad[0])
        con.execute("INSERT INTO sightings SELECT existing, ?, \"row\" FROM incoming WHERE existing IS NOT NULL",
                    [import_id])
        added, copies = one(con, "SELECT count(*) FILTER (WHERE existing IS NULL), "
                                 "count(*) FILTER (WHERE existing IS NOT NULL) FROM incoming")
        con.execute("INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [import_id, source_id, batch.file, batch.sha256, batch.format, batch.rows, added, _now(),
                     signature])
        flags = dict(con.execute("SELECT f, count(*) FROM (SELECT unnest(flags) AS f FROM incoming "
                                 "WHERE existing IS NULL) GROUP BY f ORDER BY f").fetchall())
        conflicts = one(con, "SELECT count(*) FROM (SELECT unit_key FROM records WHERE source_id = ? "
                                "GROUP BY unit_key HAVING count(*) > 1)", [source_id])[0]
        con.unregister("batch_nodes")
        con.unregister("batch_records")
        return ImportResult(source, batch.file, batch.sha256, "imported", rows=batch.rows, records_added=added,
                            identical_copies=copies + batch.duplicates, conflicts=conflicts, flags=flags)

    def write_bulletins(self, bulletins: list[Bulletin], universe: dict[str, int]) -> list[str]:
        con = self.con
        existing = {b.name: b for b in self.bulletins()}
        for b in bulletins:
            old = existing.get(b.name)
            if old is not None and (old.totals != b.totals or old.unit != b.unit):
                raise InputError(f"bulletin {b.name!r} is already stored with different figures; "
                                 "give this one another name", file=b.file, field="name")
        added = []
        con.execute("BEGIN")
        try:
            for b in bulletins:
                if b.name in existing:
                    continue
                bid = self._next("bulletins", "bulletin_id")
                con.execute("INSERT INTO bulletins VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                            [bid, b.name, b.announced_at, b.unit, b.progress_pct, b.registered, b.cast, b.valid,
                             b.null, b.blank, b.turnout_pct, b.units_counted, b.precision_pct, b.file, b.sha256,
                             _now(), json.dumps(b.extra, ensure_ascii=False)])
                con.executemany("INSERT INTO bulletin_results VALUES (?,?,?,?,?,?)",
                                [[bid, i, r.candidate, r.votes, r.stated_pct, r.party]
                                 for i, r in enumerate(b.results)])
                added.append(b.name)
            if universe:
                merged = {**self.universe(), **universe}
                self._set_meta("universe", json.dumps(merged))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return added

    # -- reads ---------------------------------------------------------------------------
    def sources(self) -> list[SourceInfo]:
        out = []
        for sid, name, kind in self.con.execute(
                "SELECT source_id, name, kind FROM sources ORDER BY source_id").fetchall():
            units, records, conflicts = one(self.con, """
                SELECT count(DISTINCT unit_key), count(*),
                       (SELECT count(*) FROM (SELECT unit_key FROM records WHERE source_id = $1
                        GROUP BY unit_key HAVING count(*) > 1))
                FROM records WHERE source_id = $1""", [sid])
            imports = [dict(zip(("file", "sha256", "format", "rows", "records", "imported_at"), r, strict=True))
                       for r in self.con.execute(
                           'SELECT file_name, sha256, format, "rows", records, imported_at::VARCHAR FROM imports '
                           "WHERE source_id = ? ORDER BY import_id", [sid]).fetchall()]
            flags = dict(self.con.execute("SELECT f, count(*) FROM (SELECT unnest(flags) AS f FROM records "
                                          "WHERE source_id = ?) GROUP BY f ORDER BY f", [sid]).fetchall())
            out.append(SourceInfo(name, kind, units, records, conflicts, imports, flags))
        return out

    def matrix(self, source: str) -> SourceMatrix:
        sid = self._source_id(source)
        levels = self.levels() or []
        kind = one(self.con, "SELECT kind FROM sources WHERE source_id = ?", [sid])[0]
        cands = self.con.execute("""
            SELECT DISTINCT c.candidate_id, c.name FROM import_selections s
            JOIN imports i USING (import_id) JOIN candidates c USING (candidate_id)
            WHERE i.source_id = ? ORDER BY c.candidate_id""", [sid]).fetchall()
        cand_pos = {cid: j for j, (cid, _) in enumerate(cands)}
        paths = ", ".join(
            f"array_to_string(string_split(n.id, '.')[1:{k + 1}], '.') AS p{k}" for k in range(len(levels) - 1))
        conflicted = [r[0] for r in self.con.execute("""
            SELECT n.id FROM records r JOIN nodes n ON n.node_key = r.unit_key WHERE r.source_id = ?
            GROUP BY n.id HAVING count(*) > 1 ORDER BY n.id""", [sid]).fetchall()]
        first = "QUALIFY row_number() OVER (PARTITION BY unit_key ORDER BY record_id) = 1" if conflicted else ""
        table = arrow(self.con, f"""
            WITH r AS (SELECT * FROM records WHERE source_id = ? {first})
            SELECT n.id, n.node_key, {paths + ',' if paths else ''} r.registered, r."cast", r.valid, r."null", r.blank,
                   r.votes, r.import_id, r.flags
            FROM r JOIN nodes n ON n.node_key = r.unit_key ORDER BY n.id""", [sid])
        n = table.num_rows
        arrow_path = [table.column(f"p{k}").combine_chunks() for k in range(len(levels) - 1)]
        arrow_path.append(table.column("id").combine_chunks())
        unit_ids = arrow_path[-1].to_numpy(zero_copy_only=False)
        path = LazyPath(arrow_path, unit_ids)
        per = {k: pc.fill_null(table.column(k), -1).to_numpy().astype(np.int64) for k in PER_UNIT}
        votes = np.zeros((n, len(cands)), dtype=np.int64)
        imports = table.column("import_id").to_numpy()
        vote_col = table.column("votes").combine_chunks()
        for import_id in np.unique(imports):
            sel = self.con.execute("SELECT position, candidate_id FROM import_selections WHERE import_id = ? "
                                   "ORDER BY position", [int(import_id)]).fetchall()
            rows = np.flatnonzero(imports == import_id)
            lists = vote_col.take(pa.array(rows)) if len(rows) != n else vote_col
            flat = lists.flatten().to_numpy().reshape(len(rows), len(sel))
            assign = np.zeros((len(sel), len(cands)), dtype=np.int64)
            for pos, cid in sel:
                assign[pos, cand_pos[cid]] = 1
            votes[rows] = flat @ assign
        return SourceMatrix(
            source=source, kind=kind, levels=levels, unit_ids=unit_ids, path=path,
            candidates=[name for _, name in cands], votes=votes, flags=sparse_lists(table.column("flags")),
            conflicted=conflicted, arrow_path=arrow_path, unit_keys=table.column("node_key").to_numpy(),
            key_space=self.url, **per)

    def bulletins(self) -> list[Bulletin]:
        rows = self.con.execute("""
            SELECT bulletin_id, name, announced_at, unit_id, progress_pct, registered, "cast", valid, "null", blank,
                   turnout_pct, units_counted, precision_pct, file_name, sha256, extra
            FROM bulletins ORDER BY bulletin_id""").fetchall()
        out = []
        for r in rows:
            results = [BulletinResult(c, int(v), p, party) for c, v, p, party in self.con.execute(
                "SELECT candidate, votes, stated_pct, party FROM bulletin_results WHERE bulletin_id = ? "
                "ORDER BY position", [r[0]]).fetchall()]
            out.append(Bulletin(name=r[1], results=results, announced_at=r[2], unit=r[3], progress_pct=r[4],
                                registered=r[5], cast=r[6], valid=r[7], null=r[8], blank=r[9], turnout_pct=r[10],
                                units_counted=r[11], precision_pct=r[12], file=r[13], sha256=r[14],
                                extra=json.loads(r[15] or "{}")))
        return out

    def universe(self) -> dict[str, int]:
        value = self._meta("universe")
        return json.loads(value) if value else {}

    def labels(self, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        return dict(self.con.execute("SELECT id, label FROM nodes WHERE id IN (SELECT unnest(?))",
                                     [list(ids)]).fetchall())

    def _records_where(self, where: str, params: list[Any]) -> list[dict[str, Any]]:
        rows = self.con.execute(f"""
            SELECT s.name, s.kind, n.id, r.record_id, r.registered, r."cast", r.valid, r."null", r.blank,
                   r.votes, r.flags, r.origin, i.file_name, i.sha256, r."row", i.import_id,
                   i.imported_at::VARCHAR,
                   (SELECT list({{'file': i2.file_name, 'row': g."row"}}) FROM sightings g
                    JOIN imports i2 ON i2.import_id = g.import_id WHERE g.record_id = r.record_id)
            FROM records r JOIN sources s USING (source_id) JOIN nodes n ON n.node_key = r.unit_key
            JOIN imports i ON i.import_id = r.import_id
            WHERE {where} ORDER BY s.source_id, r.record_id""", params).fetchall()
        out = []
        for (src, kind, uid, rid, reg, cast, valid, null, blank, votes, flags, origin, fname, fsha, row, iid,
             at, seen) in rows:
            sels = self.con.execute("SELECT s.selection, c.name FROM import_selections s JOIN candidates c "
                                    "USING (candidate_id) WHERE import_id = ? ORDER BY position", [iid]).fetchall()
            out.append(record_dict(src, kind, uid, rid, (reg, cast, valid, null, blank), votes, flags, sels,
                                   {"file": fname, "sha256": fsha, "row": row, "imported_at": at,
                                    "also_seen": seen or []}, origin))
        return out

    def _conflicting_records(self, source: str) -> list[dict[str, Any]]:
        sid = self._source_id(source)
        return self._records_where(
            "r.source_id = ? AND r.unit_key IN (SELECT unit_key FROM records WHERE source_id = ? "
            "GROUP BY unit_key HAVING count(*) > 1)", [sid, sid])

    def unit_records(self, unit_id: str) -> list[dict[str, Any]]:
        return self._records_where("n.id = ?", [unit_id])

    def save_state(self, key: str, value: dict[str, Any]) -> None:
        self.con.execute("BEGIN")
        self._set_meta(f"state:{key}", json.dumps(value, ensure_ascii=False))
        self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()
