"""Readers: any supported results file -> a DuckDB temp table of text columns, in file order.

Every reader yields the same thing: the header (column names as written) and a temp table
``raw`` with text columns ``c0..cN`` and ``__row``, the row number a user sees (row 1 = the
header row; in a plain CSV row r is line r; in JSON lines, the line number).
Parsing is DuckDB's (fast path); when DuckDB rejects a file the error is translated into
file/row/field terms.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from voteaudit.duck import one
from voteaudit.model import InputError

FORMATS = ("csv", "tsv", "xlsx", "parquet", "jsonl", "nist")


@dataclass
class RawTable:
    header: list[str]
    rows: int
    format: str
    encoding: str | None = None


def detect_format(path: Path, declared: str | None = None) -> str:
    """Format from the declared name or the file name (``.csv.gz`` counts as csv)."""
    if declared:
        fmt = declared.lower()
        if fmt not in FORMATS:
            raise InputError(f"unknown format {declared!r} (known: {', '.join(FORMATS)})", file=str(path))
        return fmt
    name = path.name.lower()
    for suffix in (".gz", ".gzip"):
        name = name.removesuffix(suffix)
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    table = {"csv": "csv", "txt": "csv", "tsv": "tsv", "tab": "tsv", "xlsx": "xlsx", "xlsm": "xlsx",
             "parquet": "parquet", "pq": "parquet", "jsonl": "jsonl", "ndjson": "jsonl", "json": "nist"}
    if ext not in table:
        raise InputError(f"cannot tell the format from the extension {ext!r}; use --format "
                         f"({', '.join(FORMATS)})", file=str(path))
    return table[ext]


def _check_header(header: list[str], origin: str) -> list[str]:
    header = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name == "":
            raise InputError(f"column {i} has an empty name in the header", file=origin, row=1)
        if name in seen:
            raise InputError(f"column name appears twice (columns {seen[name]} and {i})",
                             file=origin, row=1, field=name)
        seen[name] = i
    return header


def _decode(data: bytes, origin: str, encoding: str | None) -> tuple[str | None, str]:
    """Return (encoding, text-if-transcoding-needed) for CSV bytes; None means UTF-8 as is."""
    def line_of(pos: int) -> int:
        return data[:pos].count(b"\n") + 1

    if encoding and encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig"):
        try:
            return encoding, data.decode(encoding)
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}", file=origin) from None
        except UnicodeDecodeError as exc:
            raise InputError(f"bytes that are not {encoding} at byte {exc.start}", file=origin,
                             row=line_of(exc.start)) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", data.decode("utf-16")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError("NUL byte: this is a binary file, not a text table", file=origin, row=line_of(nul))
    try:
        data.decode("utf-8")
        return None, ""
    except UnicodeDecodeError as exc:
        if encoding:  # UTF-8 was asked for explicitly
            raise InputError(f"bytes that are not UTF-8 at byte {exc.start}", file=origin,
                             row=line_of(exc.start)) from None
        bad = exc.start
    # Not UTF-8: single-byte Western encodings are the usual alternative (Excel exports).
    for candidate in ("cp1252", "latin-1"):
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text):
            continue
        return candidate, text
    raise InputError(f"undecodable bytes (neither UTF-8 nor Latin-1 text) at byte {bad}",
                     file=origin, row=line_of(bad))


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: 0 for d in ",;\t|"}
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


_DUCK_LINE = re.compile(r"CSV Error on Line: (\d+)")


def _duck_csv_error(exc: Exception, origin: str) -> InputError:
    text = str(exc)
    match = _DUCK_LINE.search(text)
    row = int(match.group(1)) if match else None
    if m := re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text):
        problem = f"ragged row: {m.group(2)} fields where the header has {m.group(1)}"
    elif "unterminated quote" in text:
        problem = "a quoted value is never closed"
    elif "Invalid unicode" in text:
        problem = "bytes that are not valid text in the detected encoding"
    else:
        problem = "unreadable as a table: " + text.splitlines()[0]
    return InputError(problem, file=origin, row=row)


def read_csv(con: duckdb.DuckDBPyConnection, path: Path, *, tsv: bool = False,
             delimiter: str | None = None, encoding: str | None = None) -> RawTable:
    origin = str(path)
    raw = path.read_bytes()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise InputError("empty file", file=origin)
    enc, text = _decode(data, origin, encoding)
    source = path
    if enc is not None:  # transcode to UTF-8 for DuckDB
        tmp = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)
        tmp.write(text.encode("utf-8"))
        tmp.close()
        source = Path(tmp.name)
    else:
        text = data[: 1 << 16].decode("utf-8", errors="ignore")
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delim = delimiter or ("\t" if tsv else _sniff_delimiter(first))
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delim))
    except (StopIteration, csv.Error) as exc:
        raise InputError(f"unreadable header: {exc}", file=origin, row=1) from None
    header = _check_header(header, origin)
    columns = {f"c{i}": "VARCHAR" for i in range(len(header))}
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE raw_csv AS SELECT * FROM read_csv(?, auto_detect=false, delim=?,"
            " quote='\"', escape='\"', header=true, columns=?, strict_mode=true, null_padding=false)",
            [str(source), delim, columns],
        )
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise _duck_csv_error(exc, origin) from None
    finally:
        if source != path:
            source.unlink(missing_ok=True)
    # the table keeps file order, so a row's number is its rowid + 2 (row 1 is the header)
    con.execute("CREATE OR REPLACE TEMP VIEW raw AS SELECT *, rowid + 2 AS __row FROM raw_csv")
    rows = one(con, "SELECT count(*) FROM raw_csv")[0]
    return RawTable(header, rows, "tsv" if tsv else "csv", enc or "utf-8")


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _register_rows(con: duckdb.DuckDBPyConnection, header: list[str], rows: list[list[object]],
                   row_numbers: list[int]) -> None:
    cols = {f"c{i}": pa.array([_cell_text(r[i]) if i < len(r) else None for r in rows], pa.string())
            for i in range(len(header))}
    cols["__row"] = pa.array(row_numbers, pa.int64())
    table = pa.table(cols)
    con.register("raw_arrow", table)
    con.execute("CREATE OR REPLACE TEMP TABLE raw AS SELECT * FROM raw_arrow")
    con.unregister("raw_arrow")


def read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, *, sheet: str | None = None) -> RawTable:
    import openpyxl  # core dependency, imported late: slow to import

    origin = str(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InputError(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})", file=origin) from None
    if sheet is not None and sheet not in book.sheetnames:
        raise InputError(f"no sheet named {sheet!r} (sheets: {', '.join(book.sheetnames)})", file=origin)
    ws = book[sheet] if sheet else book.worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    book.close()
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    if not rows:
        raise InputError("empty sheet", file=origin)
    header = [_cell_text(v) or "" for v in rows[0]]
    while header and header[-1] == "":
        header.pop()
    header = _check_header(header, origin)
    body = rows[1:]
    for i, r in enumerate(body, start=2):
        extra = [v for v in r[len(header):] if v is not None]
        if extra:
            raise InputError(f"ragged row: values beyond the {len(header)} header columns", file=origin, row=i)
    _register_rows(con, header, body, list(range(2, len(body) + 2)))
    return RawTable(header, len(body), "xlsx")


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> RawTable:
    origin = str(path)
    try:
        desc = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"not a readable Parquet file ({str(exc).splitlines()[0]})", file=origin) from None
    header = _check_header([d[0] for d in desc], origin)
    select = ", ".join(f'CAST("{d[0].replace(chr(34), chr(34) * 2)}" AS VARCHAR) AS c{i}'
                       for i, d in enumerate(desc))
    con.execute(f"CREATE OR REPLACE TEMP TABLE raw AS SELECT {select}, (file_row_number + 2)::BIGINT AS __row"
                " FROM read_parquet(?, file_row_number=true)", [str(path)])
    rows = one(con, "SELECT count(*) FROM raw")[0]
    return RawTable(header, rows, "parquet")


def read_jsonl(con: duckdb.DuckDBPyConnection, path: Path, *, encoding: str | None = None) -> RawTable:
    """JSON lines: one object per line; keys are columns (first-seen order)."""
    origin = str(path)
    raw = path.read_bytes()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    enc, text = _decode(data, origin, encoding)
    if enc is None:
        text = data.decode("utf-8-sig")
    objects: list[tuple[int, dict]] = []
    header: dict[str, None] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", file=origin, row=lineno) from None
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", file=origin, row=lineno)
        for key, value in obj.items():
            if isinstance(value, dict | list):
                raise InputError("nested values are not supported in JSON lines", file=origin,
                                 row=lineno, field=key)
            header.setdefault(key, None)
        objects.append((lineno, obj))
    if not objects:
        raise InputError("empty file", file=origin)
    names = _check_header(list(header), origin)
    # JSON lines has no header row: a record's row number is its line number.
    rows = [[obj.get(k) for k in header] for _, obj in objects]
    _register_rows(con, names, rows, [ln for ln, _ in objects])
    return RawTable(names, len(rows), "jsonl", enc or "utf-8")
