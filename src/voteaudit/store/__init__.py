"""Stores: ``open_store(url)`` picks the backend from the URL (a path = DuckDB file)."""

from __future__ import annotations

from pathlib import Path

from voteaudit.store.base import Bulletin, BulletinResult, ImportResult, SourceInfo, Store

DEFAULT_DB = "voteaudit.duckdb"

__all__ = ["Bulletin", "BulletinResult", "ImportResult", "SourceInfo", "Store", "open_store", "DEFAULT_DB"]


def open_store(url: str | Path = DEFAULT_DB, *, read_only: bool = False) -> Store:
    """Open (creating if needed) the store at ``url``: a file path, or ``postgresql://...``."""
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        from voteaudit.store.postgres import PostgresStore

        return PostgresStore(text)
    from voteaudit.store.duckdb import DuckDBStore

    return DuckDBStore(text, read_only=read_only)
