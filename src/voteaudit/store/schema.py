"""The store's schema: one ordered list of migrations, run as written by DuckDB and PostgreSQL.

Every statement is in the SQL both engines accept (``TEXT``, ``BIGINT[]``, ``DOUBLE PRECISION``,
primary keys, unique constraints, ``CREATE INDEX``), so the two backends cannot drift apart.
Version *n* is reached by running ``MIGRATIONS[:n]`` in order; a store records its version
(DuckDB: ``meta.schema_version``; PostgreSQL: also ``schema_migrations``), and opening an older
store runs the missing steps in place, in one transaction.

Version 2 (schema v2: election > contests): a store holds one election — its unit hierarchy
(``nodes``), its sources and candidates — and any number of ``contests``; every import (hence every
record, sighting and selection), bulletin, saved state (audits, the announced universe) and
unreported table belongs to one contest. A version-1 store becomes the contest ``main``.
"""

from __future__ import annotations

from collections.abc import Callable

#: The default contest: the one a version-1 store's data belongs to, and the one a first ingest
#: without ``--contest`` creates.
DEFAULT_CONTEST = "main"

V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE sources (source_id INTEGER PRIMARY KEY, name TEXT UNIQUE, kind TEXT, created_at TIMESTAMP);
CREATE TABLE imports (import_id INTEGER PRIMARY KEY, source_id INTEGER, file_name TEXT, sha256 TEXT,
    format TEXT, "rows" BIGINT, records BIGINT, imported_at TIMESTAMP, signature TEXT);
CREATE TABLE candidates (candidate_id INTEGER PRIMARY KEY, name TEXT, norm TEXT UNIQUE);
CREATE TABLE import_selections (import_id INTEGER, position INTEGER, selection TEXT, candidate_id INTEGER,
    PRIMARY KEY (import_id, position));
CREATE TABLE nodes (node_key BIGINT PRIMARY KEY, id TEXT UNIQUE, depth INTEGER, parent TEXT, label TEXT);
CREATE TABLE records (record_id BIGINT PRIMARY KEY, source_id INTEGER, import_id INTEGER, "row" BIGINT,
    unit_key BIGINT, registered BIGINT, "cast" BIGINT, valid BIGINT, "null" BIGINT, blank BIGINT,
    votes BIGINT[], flags TEXT[], origin TEXT);
CREATE TABLE sightings (record_id BIGINT, import_id INTEGER, "row" BIGINT);
CREATE TABLE bulletins (bulletin_id INTEGER PRIMARY KEY, name TEXT, announced_at TEXT, unit_id TEXT,
    progress_pct DOUBLE PRECISION, registered BIGINT, "cast" BIGINT, valid BIGINT, "null" BIGINT,
    blank BIGINT, turnout_pct DOUBLE PRECISION, units_counted BIGINT, precision_pct DOUBLE PRECISION,
    file_name TEXT, sha256 TEXT, imported_at TIMESTAMP, extra TEXT);
CREATE TABLE bulletin_results (bulletin_id INTEGER, position INTEGER, candidate TEXT, votes BIGINT,
    stated_pct DOUBLE PRECISION, party TEXT);
"""

_V1_TABLES = ("sources", "imports", "candidates", "import_selections", "nodes", "records", "sightings",
              "bulletins", "bulletin_results")

V2 = (
    # v1's PostgreSQL indexes go first (a renamed table keeps them, and their names are reused below)
    "".join(f"DROP INDEX IF EXISTS {ix};\n" for ix in ("imports_source", "records_source_unit", "records_unit",
                                                     "sightings_record"))
    + "".join(f"ALTER TABLE {t} RENAME TO v1_{t};\n" for t in _V1_TABLES)
    + """
CREATE TABLE contests (contest_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TIMESTAMP);
CREATE TABLE sources (source_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
    created_at TIMESTAMP);
CREATE TABLE imports (import_id INTEGER PRIMARY KEY, contest_id INTEGER NOT NULL, source_id INTEGER NOT NULL,
    file_name TEXT, sha256 TEXT NOT NULL, format TEXT, "rows" BIGINT, records BIGINT, imported_at TIMESTAMP,
    signature TEXT, UNIQUE (contest_id, source_id, sha256));
CREATE TABLE candidates (candidate_id INTEGER PRIMARY KEY, name TEXT, norm TEXT NOT NULL UNIQUE);
CREATE TABLE import_selections (import_id INTEGER, position INTEGER, selection TEXT, candidate_id INTEGER,
    role TEXT, PRIMARY KEY (import_id, position));
CREATE TABLE nodes (node_key BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, depth INTEGER, parent TEXT, label TEXT);
CREATE TABLE records (record_id BIGINT PRIMARY KEY, contest_id INTEGER NOT NULL, source_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL, "row" BIGINT, unit_key BIGINT NOT NULL, registered BIGINT, "cast" BIGINT,
    valid BIGINT, "null" BIGINT, blank BIGINT, votes BIGINT[], flags TEXT[], origin TEXT, modes TEXT);
CREATE INDEX records_source_unit ON records (contest_id, source_id, unit_key);
CREATE TABLE sightings (record_id BIGINT, import_id INTEGER, "row" BIGINT, PRIMARY KEY (record_id, import_id, "row"));
CREATE TABLE unreported (contest_id INTEGER NOT NULL, source_id INTEGER NOT NULL, import_id INTEGER NOT NULL,
    unit_key BIGINT NOT NULL, "row" BIGINT, reason TEXT, PRIMARY KEY (import_id, unit_key));
CREATE TABLE bulletins (bulletin_id INTEGER PRIMARY KEY, contest_id INTEGER NOT NULL, name TEXT NOT NULL,
    announced_at TEXT, unit_id TEXT, progress_pct DOUBLE PRECISION, registered BIGINT, "cast" BIGINT,
    valid BIGINT, "null" BIGINT, blank BIGINT, turnout_pct DOUBLE PRECISION, units_counted BIGINT,
    precision_pct DOUBLE PRECISION, file_name TEXT, sha256 TEXT, imported_at TIMESTAMP, extra TEXT,
    UNIQUE (contest_id, name));
CREATE TABLE bulletin_results (bulletin_id INTEGER, position INTEGER, candidate TEXT, votes BIGINT,
    stated_pct DOUBLE PRECISION, party TEXT, PRIMARY KEY (bulletin_id, position));
CREATE TABLE states (contest_id INTEGER, key TEXT, value TEXT, PRIMARY KEY (contest_id, key));
"""
    # a v1 store with anything in it becomes the contest 'main'
    + f"""
INSERT INTO contests SELECT 1, '{DEFAULT_CONTEST}', CAST(now() AS TIMESTAMP) WHERE EXISTS (SELECT 1 FROM v1_imports)
    OR EXISTS (SELECT 1 FROM v1_bulletins) OR EXISTS (SELECT 1 FROM meta WHERE key LIKE 'state:%' OR key = 'universe');
INSERT INTO sources SELECT source_id, name, kind, created_at FROM v1_sources;
INSERT INTO imports SELECT import_id, 1, source_id, file_name, sha256, format, "rows", records, imported_at, signature
    FROM v1_imports;
INSERT INTO candidates SELECT candidate_id, name, norm FROM v1_candidates;
INSERT INTO import_selections SELECT import_id, position, selection, candidate_id, NULL FROM v1_import_selections;
INSERT INTO nodes SELECT node_key, id, depth, parent, label FROM v1_nodes;
INSERT INTO records SELECT record_id, 1, source_id, import_id, "row", unit_key, registered, "cast", valid, "null",
    blank, votes, flags, origin, NULL FROM v1_records;
INSERT INTO sightings SELECT DISTINCT record_id, import_id, "row" FROM v1_sightings;
INSERT INTO bulletins SELECT bulletin_id, 1, name, announced_at, unit_id, progress_pct, registered, "cast", valid,
    "null", blank, turnout_pct, units_counted, precision_pct, file_name, sha256, imported_at, extra FROM v1_bulletins;
INSERT INTO bulletin_results SELECT bulletin_id, position, candidate, votes, stated_pct, party FROM v1_bulletin_results;
INSERT INTO states SELECT 1, substr(key, 7), value FROM meta WHERE key LIKE 'state:%';
INSERT INTO states SELECT 1, 'universe', value FROM meta WHERE key = 'universe';
DELETE FROM meta WHERE key LIKE 'state:%' OR key = 'universe';
"""
    + "".join(f"DROP TABLE v1_{t};\n" for t in reversed(_V1_TABLES))
)

# Versions of a source (issue 16, additive): a source declared a *feed* (``feeds``) keeps every publication
# as a version (``versions``: the import holding its bytes, their sha256, the publication time ``as_of``).
# A version's tables are the records of its import plus the earlier records it sighted again; a table whose
# numbers change between versions is not a conflict (see :mod:`voteaudit.store.versions`).
V3_VERSIONS = """
CREATE TABLE feeds (source_id INTEGER PRIMARY KEY, declared_at TIMESTAMP);
CREATE TABLE versions (contest_id INTEGER NOT NULL, source_id INTEGER NOT NULL, version_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL, sha256 TEXT NOT NULL, as_of TIMESTAMP NOT NULL, recorded_at TIMESTAMP,
    PRIMARY KEY (contest_id, source_id, as_of));
"""

MIGRATIONS: list[str] = [V1, V2, V3_VERSIONS]
SCHEMA_VERSION = len(MIGRATIONS)

#: Tables of the current schema, in dependency order (used by tests and the fingerprint of a store).
TABLES = ("meta", "contests", "sources", "imports", "candidates", "import_selections", "nodes", "records",
          "sightings", "unreported", "bulletins", "bulletin_results", "states", "feeds", "versions")


def statements(script: str) -> list[str]:
    """The statements of a migration script, one by one (no statement holds a ``;`` in a literal)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def upgrade(execute: Callable[[str], object], current: int, *, indexes: bool = True) -> int:
    """Run the migrations after version ``current`` through ``execute`` (the caller holds the transaction).

    ``indexes=False`` skips ``CREATE INDEX`` (secondary indexes only: keys and unique constraints always
    hold): DuckDB scans by zone maps, and an ART index would slow every bulk insert of records.
    """
    for script in MIGRATIONS[current:]:
        for stmt in statements(script):
            if indexes or not stmt.upper().startswith("CREATE INDEX"):
                execute(stmt)
    return SCHEMA_VERSION
