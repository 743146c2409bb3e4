"""PostgreSQL backend: the server store (``--db postgresql://user@host/db``).

Mirrors :mod:`voteaudit.store.duckdb` table for table and rule for rule, so both backends give
equal results on the same files. Every write holds one transaction-scoped advisory lock (ids are
``max + 1``, as in DuckDB), batches arrive through ``COPY``, and text ordering uses the ``C``
collation (byte order, DuckDB's). The schema lives in the connection's ``search_path`` (pass
``?options=-csearch_path%3Dmyschema`` in the URL to keep several stores in one database) and is
created by the numbered migrations of :mod:`voteaudit.store.schema` (shared with DuckDB), recorded
in ``schema_migrations``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from voteaudit.model import InputError, SourceMatrix, StoreError
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
from voteaudit.store.schema import MIGRATIONS, SCHEMA_VERSION
from voteaudit.store.versions import VersionRow

if TYPE_CHECKING:
    from voteaudit.store.batch import Batch

#: Every write takes this transaction-scoped advisory lock: writers queue, readers never wait.
WRITE_LOCK = 0x766F7465  # "vote"

PER_UNIT = ("registered", "cast", "valid", "null", "blank")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def redact(url: str) -> str:
    """The URL without its password (messages and logs never show credentials)."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def migrate(conn: psycopg.Connection, component: str, steps: list[str]) -> int:
    """Apply the missing numbered ``steps`` of ``component`` (in one transaction); return the version."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT, version INTEGER, "
                     "applied_at TIMESTAMP, PRIMARY KEY (component, version))")
        done = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations WHERE component = %s",
                            [component]).fetchone()[0]
        for version in range(done + 1, len(steps) + 1):
            conn.execute(steps[version - 1])
            conn.execute("INSERT INTO schema_migrations VALUES (%s, %s, %s)", [component, version, _now()])
        return max(done, len(steps))


class PostgresStore(Store):
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open store {redact(url)}: {str(exc).strip().splitlines()[0]}") from None
        version = migrate(self.conn, "store", MIGRATIONS)
        if self._meta("schema_version") != str(version):
            with self.conn.transaction():
                self._set_meta("schema_version", str(version))
        if version != SCHEMA_VERSION:
            raise StoreError(f"{redact(url)} has schema version {version}; this voteaudit reads {SCHEMA_VERSION}")

    def _where(self) -> str:
        return redact(self.url)

    # -- helpers -------------------------------------------------------------------------
    def _one(self, sql: str, params: Any = None) -> tuple | None:
        return self.conn.execute(sql, params or []).fetchone()

    def _all(self, sql: str, params: Any = None) -> list[tuple]:
        return self.conn.execute(sql, params or []).fetchall()

    def _meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = %s", [key])
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                          [key, value])

    def _next(self, table: str, column: str) -> int:
        return int(self._one(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}")[0])

    def _contest_rows(self) -> list[tuple[int, str]]:
        return [(int(i), n) for i, n in self._all("SELECT contest_id, name FROM contests ORDER BY contest_id")]

    def _add_contest(self, name: str) -> int:
        cid = self._next("contests", "contest_id")
        self.conn.execute("INSERT INTO contests VALUES (%s, %s, %s)", [cid, name, _now()])
        return cid

    def _source_id(self, name: str) -> int:
        row = self._one("SELECT source_id FROM sources WHERE name = %s", [name])
        if row is None:
            known = [r[0] for r in self._all("SELECT name FROM sources ORDER BY source_id")]
            raise StoreError(f"no source named {name!r} in {redact(self.url)} "
                             f"(sources: {', '.join(known) or 'none'})")
        return int(row[0])

    def _candidate_ids(self, names: list[str]) -> list[int]:
        """Ids of candidates by name (accent-, case- and space-insensitive), adding new ones."""
        ids = []
        for name in names:
            norm = candidate_key(name)
            row = self._one("SELECT candidate_id FROM candidates WHERE norm = %s", [norm])
            if row is None:
                new = self._next("candidates", "candidate_id")
                self.conn.execute("INSERT INTO candidates VALUES (%s, %s, %s)", [new, name.strip(), norm])
                ids.append(new)
            else:
                ids.append(int(row[0]))
        return ids

    def generation(self) -> tuple[int, int, int]:
        """A cheap fingerprint that changes whenever results, bulletins or saved state are written (for caches)."""
        return tuple(int(x) for x in self._one(
            "SELECT (SELECT coalesce(max(import_id), 0) FROM imports), (SELECT count(*) FROM bulletins), "
            "(SELECT count(*) FROM meta) + (SELECT count(*) FROM states) + (SELECT count(*) FROM contests)"))

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """A transaction on the store's connection, for a caller's own tables in the same database (the
        server's submissions), so that they and a :meth:`write_import` inside it commit together."""
        with self.conn.transaction():
            yield self.conn

    # -- election-wide -------------------------------------------------------------------
    def levels(self) -> list[str] | None:
        value = self._meta("levels")
        return json.loads(value) if value else None

    def labels(self, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        return dict(self._all("SELECT id, label FROM nodes WHERE id = ANY(%s)", [list(ids)]))

    def contests(self) -> list[ContestInfo]:
        out = []
        for cid, name in self._contest_rows():
            units = self._one("SELECT count(DISTINCT unit_key) FROM records WHERE contest_id = %s", [cid])[0]
            srcs = [r[0] for r in self._all(
                "SELECT s.name FROM sources s WHERE source_id IN (SELECT source_id FROM imports WHERE contest_id = %s)"
                " ORDER BY s.source_id", [cid])]
            out.append(ContestInfo(name, int(units), srcs))
        return out

    def changes_since(self, import_id: int) -> tuple[set[str], list[str]]:
        changed = {name for (name,) in self._all(
            "SELECT DISTINCT s.name FROM imports i JOIN sources s USING (source_id) WHERE i.import_id > %s",
            [import_id])}
        touched = [u for (u,) in self._all("""
            SELECT n.id FROM records r JOIN nodes n ON n.node_key = r.unit_key WHERE r.import_id > %(i)s
            UNION SELECT n.id FROM sightings g JOIN records r USING (record_id) JOIN nodes n ON n.node_key = r.unit_key
            WHERE g.import_id > %(i)s""", {"i": import_id})]
        return changed, touched

    # -- writes --------------------------------------------------------------------------
    def write_import(self, batch: Batch, source: str, kind: str, *, strict: bool = False,
                     contest: str | None = None, as_of: datetime | str | None = None, feed: bool = False,
                     also: Callable[[psycopg.Connection], None] | None = None) -> ImportResult:
        """Store one file's records (see :meth:`Store.write_import`).

        ``also`` runs inside the same transaction (the server marks submissions as stored with it).
        """
        return self.write_imports([batch], source, kind, strict=strict, contest=contest, as_of=as_of, feed=feed,
                                  also=also)[0]

    def write_imports(self, batches: list[Batch], source: str, kind: str, *, strict: bool = False,
                      contest: str | None = None, as_of: datetime | str | None = None, feed: bool = False,
                      also: Callable[[psycopg.Connection], None] | None = None) -> list[ImportResult]:
        conn = self.conn
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            results = self._write_batches(batches, source, kind, strict, contest, as_of, feed)
            if also is not None:
                also(conn)
        return results

    def _source_kind(self, source: str) -> str | None:
        row = self._one("SELECT kind FROM sources WHERE name = %s", [source])
        return None if row is None else row[0]

    def _has_import(self, source: str, sha256: str, contest_id: int) -> bool:
        return self._one("SELECT 1 FROM imports i JOIN sources s USING (source_id) WHERE s.name = %s "
                         "AND i.sha256 = %s AND i.contest_id = %s", [source, sha256, contest_id]) is not None

    def _copy(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        cols = ", ".join(f'"{c}"' for c in columns)
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)

    def _write_import(self, batch: Batch, source: str, kind: str, strict: bool, cid: int,
                      contest: str, *, feed: bool = False) -> ImportResult:
        conn = self.conn
        if self.levels() is None:
            self._set_meta("levels", json.dumps(batch.levels))
        row = self._one("SELECT source_id FROM sources WHERE name = %s", [source])
        if row is None:
            source_id = self._next("sources", "source_id")
            conn.execute("INSERT INTO sources VALUES (%s, %s, %s, %s)", [source_id, source, kind, _now()])
        else:
            source_id = int(row[0])
        import_id = self._next("imports", "import_id")
        cand_ids = self._candidate_ids([c for _, c in batch.selections])
        self._copy("import_selections", ["import_id", "position", "selection", "candidate_id", "role"],
                   [(import_id, i, sel, cand, batch.roles.get(sel)) for i, ((sel, _), cand) in
                    enumerate(zip(batch.selections, cand_ids, strict=True))])
        conn.execute("CREATE TEMP TABLE batch_nodes (id TEXT, depth INTEGER, parent TEXT, label TEXT, seq BIGINT) "
                     "ON COMMIT DROP")
        nodes = batch.nodes
        self._copy("batch_nodes", ["id", "depth", "parent", "label", "seq"],
                   list(zip(*(nodes.column(c).to_pylist() for c in ("id", "depth", "parent", "label", "seq")),
                            strict=True)))
        conn.execute("INSERT INTO nodes SELECT %s + b.seq, b.id, b.depth, b.parent, b.label FROM batch_nodes b "
                     "WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = b.id)", [self._next("nodes", "node_key")])
        conn.execute('CREATE TEMP TABLE batch_records ("row" BIGINT, unit_id TEXT, registered BIGINT, '
                     '"cast" BIGINT, valid BIGINT, "null" BIGINT, blank BIGINT, votes BIGINT[], flags TEXT[], '
                     "seq BIGINT, origin TEXT, modes TEXT) ON COMMIT DROP")
        recs = batch.records
        cols = ["row", "unit_id", *PER_UNIT, "votes", "flags", "seq"] + [
            c for c in ("origin", "modes") if c in recs.column_names]
        self._copy("batch_records", cols,
                   list(zip(*(recs.column(c).to_pylist() for c in cols), strict=True)))
        # Identical copy = same unit, counts and votes, from an import with the same selections.
        signature = json.dumps(batch.selections, ensure_ascii=False)
        same = [r[0] for r in self._all("SELECT import_id FROM imports WHERE source_id = %s AND contest_id = %s "
                                        "AND signature = %s", [source_id, cid, signature])]
        conn.execute("""
            CREATE TEMP TABLE incoming ON COMMIT DROP AS
            SELECT b.*, n.node_key AS unit_key,
                   (SELECT min(e.record_id) FROM records e WHERE e.import_id = ANY(%s)
                    AND e.source_id = %s AND e.contest_id = %s AND e.unit_key = n.node_key AND e.votes = b.votes
                    AND e.registered IS NOT DISTINCT FROM b.registered AND e."cast" IS NOT DISTINCT FROM b."cast"
                    AND e.valid IS NOT DISTINCT FROM b.valid AND e."null" IS NOT DISTINCT FROM b."null"
                    AND e.blank IS NOT DISTINCT FROM b.blank) AS existing
            FROM batch_records b JOIN nodes n ON n.id = b.unit_id""", [same, source_id, cid])
        conn.execute("""
            INSERT INTO records SELECT %s + seq, %s, %s, %s, "row", unit_key, registered, "cast", valid, "null",
                blank, votes, flags, origin, modes
            FROM incoming WHERE existing IS NULL""", [self._next("records", "record_id"), cid, source_id, import_id])
        # a feed's tables may change between versions: only two copies inside this file are a conflict
        others = ("(SELECT count(*) FROM incoming r WHERE r.unit_key = i.unit_key) > 1" if feed else
                  "(SELECT count(*) FROM records r WHERE r.source_id = %s AND r.contest_id = %s "
                  "AND r.unit_key = i.unit_key) > 1")
        if strict and (bad := self._one(f"""SELECT i."row", i.unit_id FROM incoming i WHERE i.existing IS NULL AND
                     {others} ORDER BY i."row" LIMIT 1""", [] if feed else [source_id, cid])):
            raise InputError(f"table {bad[1]} would get a second, different copy in source {source!r} "
                             "(a conflict; rejected by --strict)", file=batch.file, row=bad[0])
        conn.execute('INSERT INTO sightings SELECT existing, %s, "row" FROM incoming WHERE existing IS NOT NULL',
                     [import_id])
        if batch.unreported is not None and batch.unreported.num_rows:
            u = batch.unreported
            keys = dict(self._all("SELECT id, node_key FROM nodes WHERE id = ANY(%s)",
                                  [u.column("unit_id").to_pylist()]))
            self._copy("unreported", ["contest_id", "source_id", "import_id", "unit_key", "row", "reason"],
                       [(cid, source_id, import_id, keys[uid], r, why) for uid, r, why in
                        zip(*(u.column(c).to_pylist() for c in ("unit_id", "row", "reason")), strict=True)])
        added, copies = self._one("SELECT count(*) FILTER (WHERE existing IS NULL), "
                                  "count(*) FILTER (WHERE existing IS NOT NULL) FROM incoming")
        conn.execute("INSERT INTO imports VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                     [import_id, cid, source_id, batch.file, batch.sha256, batch.format, batch.rows, added, _now(),
                      signature])
        flags = {f: int(n) for f, n in self._all(
            "SELECT f, count(*) FROM (SELECT unnest(flags) AS f FROM incoming WHERE existing IS NULL) x "
            'GROUP BY f ORDER BY f COLLATE "C"')}
        conflicts = self._one("SELECT count(*) FROM (SELECT unit_key FROM incoming GROUP BY unit_key "
                              "HAVING count(*) > 1) x" if feed else
                              "SELECT count(*) FROM (SELECT unit_key FROM records WHERE source_id = %s "
                              "AND contest_id = %s GROUP BY unit_key HAVING count(*) > 1) x",
                              [] if feed else [source_id, cid])[0]
        conn.execute("DROP TABLE batch_nodes; DROP TABLE batch_records; DROP TABLE incoming")
        return ImportResult(source, batch.file, batch.sha256, "imported", rows=batch.rows, records_added=int(added),
                            identical_copies=int(copies) + batch.duplicates, conflicts=int(conflicts), flags=flags,
                            contest=contest)

    def write_bulletins(self, bulletins: list[Bulletin], universe: dict[str, int], *,
                        contest: str | None = None) -> list[str]:
        conn = self.conn
        added = []
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            cid = self._contest(contest, create=True)
            existing = {b.name: b for b in self._bulletins(cid)}
            check_bulletins(existing, bulletins)
            for b in bulletins:
                if b.name in existing:
                    continue
                bid = self._next("bulletins", "bulletin_id")
                conn.execute("INSERT INTO bulletins VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                             [bid, cid, b.name, b.announced_at, b.unit, b.progress_pct, b.registered, b.cast,
                              b.valid, b.null, b.blank, b.turnout_pct, b.units_counted, b.precision_pct, b.file,
                              b.sha256, _now(), json.dumps(b.extra, ensure_ascii=False)])
                with conn.cursor() as cur:
                    cur.executemany("INSERT INTO bulletin_results VALUES (%s,%s,%s,%s,%s,%s)",
                                    [[bid, i, r.candidate, r.votes, r.stated_pct, r.party]
                                     for i, r in enumerate(b.results)])
                existing[b.name] = b
                added.append(b.name)
            if universe:
                merged = {**json.loads(self._state(cid, "universe") or "{}"), **universe}
                self._set_state(cid, "universe", json.dumps(merged))
        return added

    def _set_state(self, cid: int, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO states VALUES (%s, %s, %s) ON CONFLICT (contest_id, key) "
                          "DO UPDATE SET value = excluded.value", [cid, key, value])

    def _state(self, contest_id: int, key: str) -> str | None:
        row = self._one("SELECT value FROM states WHERE contest_id = %s AND key = %s", [contest_id, key])
        return row[0] if row else None

    def save_state(self, key: str, value: dict[str, Any], *, contest: str | None = None) -> None:
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            self._set_state(self._contest(contest, create=True), key, json.dumps(value, ensure_ascii=False))

    # -- reads ---------------------------------------------------------------------------
    def sources(self, contest: str | None = None) -> list[SourceInfo]:
        cid = self._contest(contest)
        out = []
        for sid, name, kind in self._all("SELECT source_id, name, kind FROM sources WHERE source_id IN "
                                         "(SELECT source_id FROM imports WHERE contest_id = %s) ORDER BY source_id",
                                         [cid]):
            scope = self._scope(sid, cid, name, None) or "TRUE"  # a feed: its latest version
            units, records, conflicts = self._one(f"""
                SELECT count(DISTINCT unit_key), count(*),
                       (SELECT count(*) FROM (SELECT unit_key FROM records WHERE source_id = %(s)s
                        AND contest_id = %(c)s AND {scope} GROUP BY unit_key HAVING count(*) > 1) x)
                FROM records WHERE source_id = %(s)s AND contest_id = %(c)s AND {scope}""", {"s": sid, "c": cid})
            imports = [dict(zip(("file", "sha256", "format", "rows", "records", "imported_at"), r, strict=True))
                       for r in self._all('SELECT file_name, sha256, format, "rows", records, imported_at::TEXT '
                                          "FROM imports WHERE source_id = %s AND contest_id = %s ORDER BY import_id",
                                          [sid, cid])]
            flags = {f: int(n) for f, n in self._all(
                "SELECT f, count(*) FROM (SELECT unnest(flags) AS f FROM records WHERE source_id = %s "
                f'AND contest_id = %s AND {scope}) x GROUP BY f ORDER BY f COLLATE "C"', [sid, cid])}
            out.append(SourceInfo(name, kind, int(units), int(records), int(conflicts), imports, flags))
        return out

    def matrix(self, source: str, contest: str | None = None, *, as_of: datetime | str | None = None) -> SourceMatrix:
        sid = self._source_id(source)
        cid = self._contest(contest)
        levels = self.levels() or []
        kind = self._one("SELECT kind FROM sources WHERE source_id = %s", [sid])[0]
        scope = self._scope(sid, cid, source, as_of)  # a feed: the records of one version
        in_scope = "" if scope is None else f"AND i.import_id IN (SELECT import_id FROM records WHERE {scope})"
        scope = scope or "TRUE"
        cands = self._all(f"""
            SELECT DISTINCT c.candidate_id, c.name, s.role IS NOT NULL FROM import_selections s
            JOIN imports i USING (import_id) JOIN candidates c USING (candidate_id)
            WHERE i.source_id = %s AND i.contest_id = %s {in_scope} ORDER BY c.candidate_id""", [sid, cid])
        if not cands and not self._one("SELECT 1 FROM imports WHERE source_id = %s AND contest_id = %s", [sid, cid]):
            contest_name = self.resolve_contest(contest)
            raise StoreError(f"source {source!r} has no results in contest {contest_name!r} of {redact(self.url)}")
        main = [(c, n) for c, n, other in cands if not other]
        others = [(c, n) for c, n, other in cands if other and c not in {m for m, _ in main}]
        cand_pos = {c: j for j, (c, _) in enumerate(main + others)}
        rows = self._all(f"""
            SELECT n.id, r.registered, r."cast", r.valid, r."null", r.blank, r.votes, r.import_id, r.flags
            FROM (SELECT DISTINCT ON (unit_key) * FROM records WHERE source_id = %s AND contest_id = %s AND {scope}
                  ORDER BY unit_key, record_id) r
            JOIN nodes n ON n.node_key = r.unit_key ORDER BY n.id COLLATE "C" """, [sid, cid])
        n = len(rows)
        unit_ids = np.array([r[0] for r in rows], dtype=object)
        parts = [uid.split(".") for uid in unit_ids]
        path = [np.array([".".join(p[:k + 1]) for p in parts], dtype=object) for k in range(len(levels) - 1)]
        path.append(unit_ids)
        per = {k: np.array([-1 if r[1 + j] is None else r[1 + j] for r in rows], dtype=np.int64)
               for j, k in enumerate(PER_UNIT)}
        votes = np.zeros((n, len(cand_pos)), dtype=np.int64)
        imports = np.array([r[7] for r in rows], dtype=np.int64)
        sels: dict[int, list[tuple[int, int]]] = {}
        for iid, pos, c in self._all("SELECT s.import_id, s.position, s.candidate_id FROM import_selections s "
                                     "JOIN imports i USING (import_id) WHERE i.source_id = %s AND i.contest_id = %s "
                                     "ORDER BY s.import_id, s.position", [sid, cid]):
            sels.setdefault(iid, []).append((pos, c))
        groups: dict[tuple, list[int]] = {}   # imports with the same selections map votes the same way
        for iid in np.unique(imports):
            groups.setdefault(tuple(sels[int(iid)]), []).append(int(iid))
        for sel, iids in groups.items():
            rows_in = np.flatnonzero(np.isin(imports, iids))
            flat = np.array([rows[i][6] for i in rows_in], dtype=np.int64).reshape(len(rows_in), len(sel))
            assign = np.zeros((len(sel), len(cand_pos)), dtype=np.int64)
            for pos, c in sel:
                assign[pos, cand_pos[c]] = 1
            votes[rows_in] = flat @ assign
        conflicted = [r[0] for r in self._all(f"""
            SELECT n.id FROM records r JOIN nodes n ON n.node_key = r.unit_key WHERE r.source_id = %s
            AND r.contest_id = %s AND {scope} GROUP BY n.id HAVING count(*) > 1 ORDER BY n.id COLLATE "C" """,
            [sid, cid])]
        k = len(main)
        return SourceMatrix(
            source=source, kind=kind, levels=levels, unit_ids=unit_ids, path=path,
            candidates=[name for _, name in main], votes=votes[:, :k] if others else votes,
            flags=[list(r[8]) for r in rows], conflicted=conflicted,
            other_votes={name: votes[:, k + j] for j, (_, name) in enumerate(others)},
            contest=self.resolve_contest(contest), **per)

    def _bulletins(self, cid: int) -> list[Bulletin]:
        rows = self._all("""
            SELECT bulletin_id, name, announced_at, unit_id, progress_pct, registered, "cast", valid, "null", blank,
                   turnout_pct, units_counted, precision_pct, file_name, sha256, extra
            FROM bulletins WHERE contest_id = %s ORDER BY bulletin_id""", [cid])
        results: dict[int, list[BulletinResult]] = {}
        for bid, c, v, p, party in self._all("SELECT bulletin_id, candidate, votes, stated_pct, party "
                                             "FROM bulletin_results WHERE bulletin_id IN (SELECT bulletin_id "
                                             "FROM bulletins WHERE contest_id = %s) ORDER BY bulletin_id, position",
                                             [cid]):
            results.setdefault(bid, []).append(BulletinResult(c, int(v), p, party))
        return [Bulletin(name=r[1], results=results.get(r[0], []), announced_at=r[2], unit=r[3], progress_pct=r[4],
                         registered=r[5], cast=r[6], valid=r[7], null=r[8], blank=r[9], turnout_pct=r[10],
                         units_counted=r[11], precision_pct=r[12], file=r[13], sha256=r[14],
                         extra=json.loads(r[15] or "{}")) for r in rows]

    def bulletins(self, contest: str | None = None) -> list[Bulletin]:
        return self._bulletins(self._contest(contest))

    def unreported(self, source: str, contest: str | None = None) -> list[dict[str, Any]]:
        sid, cid = self._source_id(source), self._contest(contest)
        return [{"unit": u, "row": r, "reason": why, "file": f} for u, r, why, f in self._all("""
            SELECT n.id, u."row", u.reason, i.file_name FROM unreported u JOIN nodes n ON n.node_key = u.unit_key
            JOIN imports i USING (import_id) WHERE u.source_id = %s AND u.contest_id = %s
            ORDER BY n.id COLLATE "C", u.import_id""", [sid, cid])]

    def _records_where(self, where: str, params: list[Any]) -> list[dict[str, Any]]:
        rows = self._all(f"""
            SELECT s.name, s.kind, n.id, r.record_id, r.registered, r."cast", r.valid, r."null", r.blank,
                   r.votes, r.flags, r.origin, i.file_name, i.sha256, r."row", i.import_id, i.imported_at::TEXT,
                   (SELECT json_agg(json_build_object('file', i2.file_name, 'row', g."row")) FROM sightings g
                    JOIN imports i2 ON i2.import_id = g.import_id WHERE g.record_id = r.record_id),
                   (SELECT array_agg(ARRAY[ss.selection, c.name] ORDER BY ss.position) FROM import_selections ss
                    JOIN candidates c USING (candidate_id) WHERE ss.import_id = i.import_id), k.name, r.modes
            FROM records r JOIN sources s USING (source_id) JOIN nodes n ON n.node_key = r.unit_key
            JOIN imports i ON i.import_id = r.import_id JOIN contests k ON k.contest_id = r.contest_id
            WHERE {where} ORDER BY r.contest_id, s.source_id, r.record_id""", params)
        return [record_dict(src, kind, uid, rid, (reg, cast, valid, null, blank), votes, flags,
                            [tuple(x) for x in sels], {"file": fname, "sha256": fsha, "row": row, "imported_at": at,
                                                       "also_seen": seen or []}, origin, contest, modes)
                for (src, kind, uid, rid, reg, cast, valid, null, blank, votes, flags, origin, fname, fsha, row, _iid,
                     at, seen, sels, contest, modes) in rows]

    def _conflicting_records(self, source: str, contest_id: int) -> list[dict[str, Any]]:
        sid = self._source_id(source)
        scope = self._scope(sid, contest_id, source, None) or "TRUE"  # a feed: within its latest version
        return self._records_where(
            f"r.source_id = %s AND r.contest_id = %s AND {scope} AND r.unit_key IN (SELECT unit_key FROM records "
            f"WHERE source_id = %s AND contest_id = %s AND {scope} GROUP BY unit_key HAVING count(*) > 1)",
            [sid, contest_id, sid, contest_id])

    def unit_records(self, unit_id: str, contest: str | None = None) -> list[dict[str, Any]]:
        where = "r.unit_key = (SELECT node_key FROM nodes WHERE id = %s)"
        if contest is None:
            return self._records_where(where, [unit_id])
        return self._records_where(where + " AND r.contest_id = %s", [unit_id, self._contest(contest)])

    # -- versions of a feed source --------------------------------------------------------
    def _feed_state(self, source: str) -> tuple[int | None, bool, bool]:
        row = self._one("SELECT source_id, EXISTS (SELECT 1 FROM feeds f WHERE f.source_id = s.source_id), "
                        "EXISTS (SELECT 1 FROM imports i WHERE i.source_id = s.source_id) FROM sources s "
                        "WHERE name = %s", [source])
        return (None, False, False) if row is None else (int(row[0]), bool(row[1]), bool(row[2]))

    def _version_rows(self, source_id: int, contest_id: int) -> list[VersionRow]:
        return [VersionRow(int(i), sha, at, rec, f, int(n or 0)) for i, sha, at, rec, f, n in self._all(
            "SELECT v.import_id, v.sha256, v.as_of, v.recorded_at, i.file_name, i.records FROM versions v "
            "JOIN imports i USING (import_id) WHERE v.source_id = %s AND v.contest_id = %s ORDER BY v.as_of",
            [source_id, contest_id])]

    def _import_of(self, source_id: int, contest_id: int, sha256: str) -> int:
        return int(self._one("SELECT import_id FROM imports WHERE source_id = %s AND contest_id = %s "
                             "AND sha256 = %s", [source_id, contest_id, sha256])[0])

    def _add_version(self, source_id: int, contest_id: int, sha256: str, as_of: datetime, declare: bool) -> None:
        if declare:
            self.conn.execute("INSERT INTO feeds VALUES (%s, %s) ON CONFLICT (source_id) DO NOTHING",
                              [source_id, _now()])
        self.conn.execute("INSERT INTO versions VALUES (%s, %s, %s, %s, %s, %s, %s)",
                          [contest_id, source_id, self._next("versions", "version_id"),
                           self._import_of(source_id, contest_id, sha256), sha256, as_of, _now()])

    def close(self) -> None:
        self.conn.close()
