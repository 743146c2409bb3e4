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
from voteaudit.store.base import (
    Bulletin,
    BulletinResult,
    ContestInfo,
    ImportResult,
    SourceInfo,
    Store,
    check_bulletins,
    record_dict,
)
from voteaudit.store.schema import SCHEMA_VERSION, upgrade
from voteaudit.store.versions import VersionRow

if TYPE_CHECKING:
    from voteaudit.store.batch import Batch

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
        if "meta" not in tables and read_only:
            raise StoreError(f"{path} is not a voteaudit store (no data ingested yet?)")
        version = int(self._meta("schema_version") or 0) if "meta" in tables else 0
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path} has schema version {version}; this voteaudit reads up to {SCHEMA_VERSION}")
        if version < SCHEMA_VERSION:
            if read_only:
                self.con.close()
                self.con = duckdb.connect(str(path))  # a migration is a write, once
            self._upgrade(version)
            if read_only:
                self.con.close()
                self.con = duckdb.connect(str(path), read_only=True)

    def _upgrade(self, version: int) -> None:
        """Bring an older (or new, empty) store to the current schema in place, in one transaction."""
        con = self.con
        con.execute("BEGIN")
        try:
            upgrade(con.execute, version, indexes=False)
            self._set_meta("schema_version", str(SCHEMA_VERSION))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        if version:
            con.execute("CHECKPOINT")

    # -- helpers -------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = one(self.con, "SELECT value FROM meta WHERE key = ?", [key])
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def _next(self, table: str, column: str) -> int:
        return int(one(self.con, f"SELECT coalesce(max({column}), 0) + 1 FROM {table}")[0])

    def _contest_rows(self) -> list[tuple[int, str]]:
        return [(int(i), n) for i, n in self.con.execute(
            "SELECT contest_id, name FROM contests ORDER BY contest_id").fetchall()]

    def _add_contest(self, name: str) -> int:
        cid = self._next("contests", "contest_id")
        self.con.execute("INSERT INTO contests VALUES (?, ?, ?)", [cid, name, _now()])
        return cid

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

    # -- election-wide -------------------------------------------------------------------
    def levels(self) -> list[str] | None:
        value = self._meta("levels")
        return json.loads(value) if value else None

    def labels(self, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        return dict(self.con.execute("SELECT id, label FROM nodes WHERE id IN (SELECT unnest(?))",
                                     [list(ids)]).fetchall())

    def contests(self) -> list[ContestInfo]:
        out = []
        for cid, name in self._contest_rows():
            units = one(self.con, "SELECT count(DISTINCT unit_key) FROM records WHERE contest_id = ?", [cid])[0]
            srcs = [r[0] for r in self.con.execute(
                "SELECT s.name FROM sources s WHERE source_id IN (SELECT source_id FROM imports WHERE contest_id = ?)"
                " ORDER BY s.source_id", [cid]).fetchall()]
            out.append(ContestInfo(name, int(units), srcs))
        return out

    def changes_since(self, import_id: int) -> tuple[set[str], list[str]]:
        changed = {r[0] for r in self.con.execute(
            "SELECT DISTINCT s.name FROM imports i JOIN sources s USING (source_id) WHERE i.import_id > ?",
            [import_id]).fetchall()}
        touched = [r[0] for r in self.con.execute("""
            SELECT n.id FROM records r JOIN nodes n ON n.node_key = r.unit_key WHERE r.import_id > $1
            UNION SELECT n.id FROM sightings g JOIN records r USING (record_id) JOIN nodes n ON n.node_key = r.unit_key
            WHERE g.import_id > $1""", [import_id]).fetchall()]
        return changed, touched

    # -- writes --------------------------------------------------------------------------
    def write_imports(self, batches: list[Batch], source: str, kind: str, *, strict: bool = False,
                      contest: str | None = None, as_of: datetime | str | None = None,
                      feed: bool = False) -> list[ImportResult]:
        con = self.con
        con.execute("BEGIN")
        try:
            results = self._write_batches(batches, source, kind, strict, contest, as_of, feed)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return results

    def _source_kind(self, source: str) -> str | None:
        row = one(self.con, "SELECT kind FROM sources WHERE name = ?", [source])
        return None if row is None else row[0]

    def _has_import(self, source: str, sha256: str, contest_id: int) -> bool:
        return one(self.con, "SELECT 1 FROM imports i JOIN sources s USING (source_id) WHERE s.name = ? "
                             "AND i.sha256 = ? AND i.contest_id = ?", [source, sha256, contest_id]) is not None

    def _write_import(self, batch: Batch, source: str, kind: str, strict: bool, cid: int,
                      contest: str, *, feed: bool = False) -> ImportResult:
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
        con.executemany("INSERT INTO import_selections VALUES (?, ?, ?, ?, ?)",
                        [[import_id, i, sel, cid_, batch.roles.get(sel)] for i, ((sel, _), cid_) in
                         enumerate(zip(batch.selections, cand_ids, strict=True))])
        con.register("batch_nodes", batch.nodes)
        con.register("batch_records", batch.records)
        con.execute("INSERT INTO nodes SELECT ? + b.seq, b.id, b.depth, b.parent, b.label "
                    "FROM batch_nodes b ANTI JOIN nodes n ON n.id = b.id", [self._next("nodes", "node_key")])
        # Identical copy = same unit, counts and votes, from an import with the same selections.
        signature = json.dumps(batch.selections, ensure_ascii=False)
        same = [r[0] for r in con.execute("SELECT import_id FROM imports WHERE source_id = ? AND contest_id = ? "
                                          "AND signature = ?", [source_id, cid, signature]).fetchall()]
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
        names = batch.records.column_names
        origin = "origin" if "origin" in names else "NULL"
        modes = "modes" if "modes" in names else "NULL"
        con.execute(f"""
            INSERT INTO records SELECT ? + seq, ?, ?, ?, "row", unit_key, registered, "cast", valid, "null", blank,
                votes, flags, {origin}, {modes}
            FROM incoming WHERE existing IS NULL
        """, [self._next("records", "record_id"), cid, source_id, import_id])
        # a feed's tables may change between versions: only two copies inside this file are a conflict
        others = ("(SELECT count(*) FROM incoming r WHERE r.unit_key = i.unit_key) > 1" if feed else
                  "(SELECT count(*) FROM records r WHERE r.source_id = ? AND r.contest_id = ? "
                  "AND r.unit_key = i.unit_key) > 1")
        if strict and (bad := one(con, f"""SELECT i."row", i.unit_id FROM incoming i WHERE i.existing IS NULL AND
                     {others} ORDER BY i."row" LIMIT 1""", [] if feed else [source_id, cid])):
            raise InputError(f"table {bad[1]} would get a second, different copy in source {source!r} "
                             "(a conflict; rejected by --strict)", file=batch.file, row=bad[0])
        con.execute("INSERT INTO sightings SELECT existing, ?, \"row\" FROM incoming WHERE existing IS NOT NULL",
                    [import_id])
        if batch.unreported is not None and batch.unreported.num_rows:
            con.register("batch_unreported", batch.unreported)
            con.execute('INSERT INTO unreported SELECT ?, ?, ?, n.node_key, u."row", u.reason '
                        "FROM batch_unreported u JOIN nodes n ON n.id = u.unit_id", [cid, source_id, import_id])
            con.unregister("batch_unreported")
        added, copies = one(con, "SELECT count(*) FILTER (WHERE existing IS NULL), "
                                 "count(*) FILTER (WHERE existing IS NOT NULL) FROM incoming")
        con.execute("INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [import_id, cid, source_id, batch.file, batch.sha256, batch.format, batch.rows, added, _now(),
                     signature])
        flags = dict(con.execute("SELECT f, count(*) FROM (SELECT unnest(flags) AS f FROM incoming "
                                 "WHERE existing IS NULL) GROUP BY f ORDER BY f").fetchall())
        conflicts = one(con, "SELECT count(*) FROM (SELECT unit_key FROM incoming GROUP BY unit_key "
                             "HAVING count(*) > 1)" if feed else
                        "SELECT count(*) FROM (SELECT unit_key FROM records WHERE source_id = ? "
                        "AND contest_id = ? GROUP BY unit_key HAVING count(*) > 1)",
                        [] if feed else [source_id, cid])[0]
        con.unregister("batch_nodes")
        con.unregister("batch_records")
        return ImportResult(source, batch.file, batch.sha256, "imported", rows=batch.rows, records_added=added,
                            identical_copies=copies + batch.duplicates, conflicts=conflicts, flags=flags,
                            contest=contest)

    def write_bulletins(self, bulletins: list[Bulletin], universe: dict[str, int], *,
                        contest: str | None = None) -> list[str]:
        con = self.con
        con.execute("BEGIN")
        try:
            cid = self._contest(contest, create=True)
            existing = {b.name: b for b in self._bulletins(cid)}
            check_bulletins(existing, bulletins)
            added = []
            for b in bulletins:
                if b.name in existing:
                    continue
                bid = self._next("bulletins", "bulletin_id")
                con.execute("INSERT INTO bulletins VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                            [bid, cid, b.name, b.announced_at, b.unit, b.progress_pct, b.registered, b.cast,
                             b.valid, b.null, b.blank, b.turnout_pct, b.units_counted, b.precision_pct, b.file,
                             b.sha256, _now(), json.dumps(b.extra, ensure_ascii=False)])
                con.executemany("INSERT INTO bulletin_results VALUES (?,?,?,?,?,?)",
                                [[bid, i, r.candidate, r.votes, r.stated_pct, r.party]
                                 for i, r in enumerate(b.results)])
                existing[b.name] = b
                added.append(b.name)
            if universe:
                merged = {**json.loads(self._state(cid, "universe") or "{}"), **universe}
                self._set_state(cid, "universe", json.dumps(merged))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return added

    def _set_state(self, cid: int, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO states VALUES (?, ?, ?)", [cid, key, value])

    def _state(self, contest_id: int, key: str) -> str | None:
        row = one(self.con, "SELECT value FROM states WHERE contest_id = ? AND key = ?", [contest_id, key])
        return row[0] if row else None

    def save_state(self, key: str, value: dict[str, Any], *, contest: str | None = None) -> None:
        self.con.execute("BEGIN")
        try:
            self._set_state(self._contest(contest, create=True), key, json.dumps(value, ensure_ascii=False))
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    # -- reads ---------------------------------------------------------------------------
    def sources(self, contest: str | None = None) -> list[SourceInfo]:
        cid = self._contest(contest)
        out = []
        for sid, name, kind in self.con.execute(
                "SELECT source_id, name, kind FROM sources WHERE source_id IN "
                "(SELECT source_id FROM imports WHERE contest_id = ?) ORDER BY source_id", [cid]).fetchall():
            scope = self._scope(sid, cid, name, None) or "TRUE"  # a feed: its latest version
            units, records, conflicts = one(self.con, f"""
                SELECT count(DISTINCT unit_key), count(*),
                       (SELECT count(*) FROM (SELECT unit_key FROM records WHERE source_id = $1 AND contest_id = $2
                        AND {scope} GROUP BY unit_key HAVING count(*) > 1))
                FROM records WHERE source_id = $1 AND contest_id = $2 AND {scope}""", [sid, cid])
            imports = [dict(zip(("file", "sha256", "format", "rows", "records", "imported_at"), r, strict=True))
                       for r in self.con.execute(
                           'SELECT file_name, sha256, format, "rows", records, imported_at::VARCHAR FROM imports '
                           "WHERE source_id = ? AND contest_id = ? ORDER BY import_id", [sid, cid]).fetchall()]
            flags = dict(self.con.execute("SELECT f, count(*) FROM (SELECT unnest(flags) AS f FROM records "
                                          f"WHERE source_id = ? AND contest_id = ? AND {scope}) GROUP BY f ORDER BY f",
                                          [sid, cid]).fetchall())
            out.append(SourceInfo(name, kind, units, records, conflicts, imports, flags))
        return out

    def matrix(self, source: str, contest: str | None = None, *, as_of: datetime | str | None = None) -> SourceMatrix:
        sid = self._source_id(source)
        cid = self._contest(contest)
        levels = self.levels() or []
        kind = one(self.con, "SELECT kind FROM sources WHERE source_id = ?", [sid])[0]
        scope = self._scope(sid, cid, source, as_of)  # a feed: the records of one version
        in_scope = "" if scope is None else f"AND i.import_id IN (SELECT import_id FROM records WHERE {scope})"
        scope = scope or "TRUE"
        cands = self.con.execute(f"""
            SELECT DISTINCT c.candidate_id, c.name, s.role IS NOT NULL FROM import_selections s
            JOIN imports i USING (import_id) JOIN candidates c USING (candidate_id)
            WHERE i.source_id = ? AND i.contest_id = ? {in_scope} ORDER BY c.candidate_id""", [sid, cid]).fetchall()
        if not cands and not one(self.con, "SELECT 1 FROM imports WHERE source_id = ? AND contest_id = ?",
                                 [sid, cid]):
            contest_name = self.resolve_contest(contest)
            raise StoreError(f"source {source!r} has no results in contest {contest_name!r} of {self.url}")
        main = [(c, n) for c, n, other in cands if not other]
        others = [(c, n) for c, n, other in cands if other and c not in {m for m, _ in main}]
        cand_pos = {c: j for j, (c, _) in enumerate(main + others)}
        paths = ", ".join(
            f"array_to_string(string_split(n.id, '.')[1:{k + 1}], '.') AS p{k}" for k in range(len(levels) - 1))
        conflicted = [r[0] for r in self.con.execute(f"""
            SELECT n.id FROM records r JOIN nodes n ON n.node_key = r.unit_key WHERE r.source_id = ?
            AND r.contest_id = ? AND {scope} GROUP BY n.id HAVING count(*) > 1 ORDER BY n.id""", [sid, cid]).fetchall()]
        first = "QUALIFY row_number() OVER (PARTITION BY unit_key ORDER BY record_id) = 1" if conflicted else ""
        table = arrow(self.con, f"""
            WITH r AS (SELECT * FROM records WHERE source_id = ? AND contest_id = ? AND {scope} {first})
            SELECT n.id, n.node_key, {paths + ',' if paths else ''} r.registered, r."cast", r.valid, r."null", r.blank,
                   r.votes, r.import_id, r.flags
            FROM r JOIN nodes n ON n.node_key = r.unit_key ORDER BY n.id""", [sid, cid])
        n = table.num_rows
        arrow_path = [table.column(f"p{k}").combine_chunks() for k in range(len(levels) - 1)]
        arrow_path.append(table.column("id").combine_chunks())
        unit_ids = arrow_path[-1].to_numpy(zero_copy_only=False)
        path = LazyPath(arrow_path, unit_ids)
        per = {k: pc.fill_null(table.column(k), -1).to_numpy().astype(np.int64) for k in PER_UNIT}
        votes = np.zeros((n, len(cand_pos)), dtype=np.int64)
        imports = table.column("import_id").to_numpy()
        vote_col = table.column("votes").combine_chunks()
        for import_id in np.unique(imports):
            sel = self.con.execute("SELECT position, candidate_id FROM import_selections WHERE import_id = ? "
                                   "ORDER BY position", [int(import_id)]).fetchall()
            rows = np.flatnonzero(imports == import_id)
            lists = vote_col.take(pa.array(rows)) if len(rows) != n else vote_col
            flat = lists.flatten().to_numpy().reshape(len(rows), len(sel))
            assign = np.zeros((len(sel), len(cand_pos)), dtype=np.int64)
            for pos, c in sel:
                assign[pos, cand_pos[c]] = 1
            votes[rows] = flat @ assign
        k = len(main)
        return SourceMatrix(
            source=source, kind=kind, levels=levels, unit_ids=unit_ids, path=path,
            candidates=[name for _, name in main], votes=votes[:, :k] if others else votes,
            flags=sparse_lists(table.column("flags")), conflicted=conflicted, arrow_path=arrow_path,
            unit_keys=table.column("node_key").to_numpy(), key_space=self.url,
            other_votes={name: votes[:, k + j] for j, (_, name) in enumerate(others)},
            contest=self.resolve_contest(contest), **per)

    def _bulletins(self, cid: int) -> list[Bulletin]:
        rows = self.con.execute("""
            SELECT bulletin_id, name, announced_at, unit_id, progress_pct, registered, "cast", valid, "null", blank,
                   turnout_pct, units_counted, precision_pct, file_name, sha256, extra
            FROM bulletins WHERE contest_id = ? ORDER BY bulletin_id""", [cid]).fetchall()
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

    def bulletins(self, contest: str | None = None) -> list[Bulletin]:
        return self._bulletins(self._contest(contest))

    def unreported(self, source: str, contest: str | None = None) -> list[dict[str, Any]]:
        sid, cid = self._source_id(source), self._contest(contest)
        return [{"unit": u, "row": r, "reason": why, "file": f} for u, r, why, f in self.con.execute("""
            SELECT n.id, u."row", u.reason, i.file_name FROM unreported u JOIN nodes n ON n.node_key = u.unit_key
            JOIN imports i USING (import_id) WHERE u.source_id = ? AND u.contest_id = ?
            ORDER BY n.id, u.import_id""", [sid, cid]).fetchall()]

    def _records_where(self, where: str, params: list[Any]) -> list[dict[str, Any]]:
        rows = self.con.execute(f"""
            SELECT s.name, s.kind, n.id, r.record_id, r.registered, r."cast", r.valid, r."null", r.blank,
                   r.votes, r.flags, r.origin, i.file_name, i.sha256, r."row", i.import_id,
                   i.imported_at::VARCHAR,
                   (SELECT list({{'file': i2.file_name, 'row': g."row"}}) FROM sightings g
                    JOIN imports i2 ON i2.import_id = g.import_id WHERE g.record_id = r.record_id), c.name, r.modes
            FROM records r JOIN sources s USING (source_id) JOIN nodes n ON n.node_key = r.unit_key
            JOIN imports i ON i.import_id = r.import_id JOIN contests c ON c.contest_id = r.contest_id
            WHERE {where} ORDER BY r.contest_id, s.source_id, r.record_id""", params).fetchall()
        out = []
        for (src, kind, uid, rid, reg, cast, valid, null, blank, votes, flags, origin, fname, fsha, row, iid,
             at, seen, contest, modes) in rows:
            sels = self.con.execute("SELECT s.selection, c.name FROM import_selections s JOIN candidates c "
                                    "USING (candidate_id) WHERE import_id = ? ORDER BY position", [iid]).fetchall()
            out.append(record_dict(src, kind, uid, rid, (reg, cast, valid, null, blank), votes, flags, sels,
                                   {"file": fname, "sha256": fsha, "row": row, "imported_at": at,
                                    "also_seen": seen or []}, origin, contest, modes))
        return out

    def _conflicting_records(self, source: str, contest_id: int) -> list[dict[str, Any]]:
        sid = self._source_id(source)
        scope = self._scope(sid, contest_id, source, None) or "TRUE"  # a feed: within its latest version
        return self._records_where(
            f"r.source_id = ? AND r.contest_id = ? AND {scope} AND r.unit_key IN (SELECT unit_key FROM records "
            f"WHERE source_id = ? AND contest_id = ? AND {scope} GROUP BY unit_key HAVING count(*) > 1)",
            [sid, contest_id, sid, contest_id])

    def unit_records(self, unit_id: str, contest: str | None = None) -> list[dict[str, Any]]:
        if contest is None:
            return self._records_where("n.id = ?", [unit_id])
        return self._records_where("n.id = ? AND r.contest_id = ?", [unit_id, self._contest(contest)])

    # -- versions of a feed source --------------------------------------------------------
    def _feed_state(self, source: str) -> tuple[int | None, bool, bool]:
        row = one(self.con, "SELECT source_id, EXISTS (SELECT 1 FROM feeds f WHERE f.source_id = s.source_id), "
                            "EXISTS (SELECT 1 FROM imports i WHERE i.source_id = s.source_id) FROM sources s "
                            "WHERE name = ?", [source])
        return (None, False, False) if row is None else (int(row[0]), bool(row[1]), bool(row[2]))

    def _version_rows(self, source_id: int, contest_id: int) -> list[VersionRow]:
        return [VersionRow(int(i), sha, at, rec, f, int(n or 0)) for i, sha, at, rec, f, n in self.con.execute(
            "SELECT v.import_id, v.sha256, v.as_of, v.recorded_at, i.file_name, i.records FROM versions v "
            "JOIN imports i USING (import_id) WHERE v.source_id = ? AND v.contest_id = ? ORDER BY v.as_of",
            [source_id, contest_id]).fetchall()]

    def _import_of(self, source_id: int, contest_id: int, sha256: str) -> int:
        return int(one(self.con, "SELECT import_id FROM imports WHERE source_id = ? AND contest_id = ? "
                                 "AND sha256 = ?", [source_id, contest_id, sha256])[0])

    def _add_version(self, source_id: int, contest_id: int, sha256: str, as_of: datetime, declare: bool) -> None:
        if declare:
            self.con.execute("INSERT INTO feeds SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM feeds WHERE "
                             "source_id = ?)", [source_id, _now(), source_id])
        self.con.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [contest_id, source_id, self._next("versions", "version_id"),
                          self._import_of(source_id, contest_id, sha256), sha256, as_of, _now()])

    def close(self) -> None:
        self.con.close()
