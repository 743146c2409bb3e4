"""PostgreSQL plumbing for the server: a small connection pool and the server's own tables."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from voteaudit.model import StoreError
from voteaudit.store.postgres import migrate, redact

MIGRATIONS: list[str] = [
    """
    CREATE TABLE users (user_id SERIAL PRIMARY KEY, name TEXT UNIQUE NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('observer', 'reviewer', 'admin')),
        token_hash TEXT UNIQUE NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        disabled BOOLEAN NOT NULL DEFAULT false);
    CREATE TABLE sessions (session_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users,
        csrf TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), expires_at TIMESTAMPTZ NOT NULL);
    CREATE TABLE uploads (upload_id BIGSERIAL PRIMARY KEY, sha256 TEXT NOT NULL, content_type TEXT NOT NULL,
        filename TEXT, size INTEGER NOT NULL, data BYTEA NOT NULL);
    CREATE TABLE submissions (submission_id BIGSERIAL PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users,
        kind TEXT NOT NULL, content_sha256 TEXT NOT NULL, unit TEXT, results JSONB, results_sha256 TEXT,
        status TEXT NOT NULL, upload_id BIGINT REFERENCES uploads, error TEXT, decode JSONB,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(), decided_by INTEGER REFERENCES users,
        decided_at TIMESTAMPTZ, note TEXT, stored BOOLEAN NOT NULL DEFAULT false, stored_at TIMESTAMPTZ,
        UNIQUE (user_id, content_sha256));
    CREATE INDEX submissions_unit ON submissions (unit);
    CREATE INDEX submissions_user ON submissions (user_id);
    CREATE INDEX submissions_todo ON submissions (status) WHERE status IN ('decoding', 'disputed')
        OR (status = 'accepted' AND NOT stored);
    CREATE TABLE audit_log (event_id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        user_id INTEGER, action TEXT NOT NULL, submission_id BIGINT, detail JSONB);
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    """,
    # 2: tokens that expire and can be revoked; a user may be limited to one region (rosters)
    """
    ALTER TABLE users ADD COLUMN expires_at TIMESTAMPTZ, ADD COLUMN revoked_at TIMESTAMPTZ, ADD COLUMN scope TEXT;
    """,
]


def connect(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to {redact(url)}: {str(exc).strip().splitlines()[0]}") from None


def ensure_schema(url: str) -> None:
    """Create the store's and the server's tables if missing."""
    from voteaudit.store.postgres import PostgresStore

    PostgresStore(url).close()
    with connect(url) as conn:
        migrate(conn, "server", MIGRATIONS)


class Pool:
    """A fixed-size pool of autocommit connections (thread-safe); broken connections are replaced."""

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self._free: queue.LifoQueue[psycopg.Connection | None] = queue.LifoQueue()
        for _ in range(size):
            self._free.put(None)   # connections open lazily

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        conn = self._free.get()
        try:
            if conn is None or conn.closed or conn.broken:
                conn = connect(self.url)
            yield conn
        except psycopg.OperationalError:
            if conn is not None:
                conn.close()
            conn = None
            raise
        finally:
            self._free.put(conn)

    def close(self) -> None:
        while not self._free.empty():
            conn = self._free.get_nowait()
            if conn is not None:
                conn.close()
