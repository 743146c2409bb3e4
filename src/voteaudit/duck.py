"""DuckDB query helpers that behave the same on DuckDB 1.x and 2.x.

DuckDB 2 refuses new work on a connection while a result is only partly fetched, and renamed
the Arrow fetch; these helpers always consume results whole.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple | None:
    """First row of a query (the whole result is consumed), or None."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> pa.Table:
    """A query's result as an Arrow table."""
    rel = con.sql(sql, params=params) if params else con.sql(sql)
    method = getattr(rel, "to_arrow_table", None) or rel.arrow
    result = method()
    return result.read_all() if isinstance(result, pa.RecordBatchReader) else result
