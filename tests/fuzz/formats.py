"""Write one small table (header + rows of Python values) as CSV, XLSX, Parquet or JSON lines.

Used by the malformed-input regressions and the ingest fuzzer, so both feed every reader the same
cells. ``None`` is an empty cell (CSV: nothing between the commas; JSON: null; XLSX/Parquet: no value).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

FORMATS = ("csv", "xlsx", "parquet", "jsonl")


def csv_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue().encode("utf-8")


def write_table(path: Path, fmt: str, header: list[str], rows: list[list[object]]) -> Path:
    """``path`` without its extension; returns the written file (extension added)."""
    out = path.with_suffix("." + fmt)
    if fmt == "csv":
        out.write_bytes(csv_bytes(header, rows))
    elif fmt == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(header)
        for r in rows:
            ws.append(list(r))
        wb.save(out)
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = []
        for j in range(len(header)):
            values = [r[j] if j < len(r) else None for r in rows]
            kinds = {type(v) for v in values if v is not None}
            if kinds <= {int} and all(v is None or abs(v) < 2**63 for v in values):
                cols.append(pa.array(values, pa.int64()))
            elif kinds <= {bool}:
                cols.append(pa.array(values, pa.bool_()))
            elif kinds <= {float, int}:
                cols.append(pa.array([None if v is None else float(v) for v in values], pa.float64()))
            else:
                cols.append(pa.array([None if v is None else str(v) for v in values], pa.string()))
        pq.write_table(pa.Table.from_arrays(cols, names=header), out)
    elif fmt == "jsonl":
        # written key by key, so a repeated column stays a repeated key
        lines = ["{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
                                 for k, v in zip(header, r, strict=False)) + "}" for r in rows]
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        raise ValueError(fmt)
    return out
