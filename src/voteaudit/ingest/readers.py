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
import math
import re
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pyarrow as pa

from voteaudit.duck import one
from voteaudit.model import InputError

FORMATS = ("csv", "tsv", "xlsx", "parquet", "jsonl", "nist")
# Compressed input (.gz, the parts of an XLSX workbook, Parquet pages) is refused beyond this many bytes
# once decompressed: a 15 MB gzip bomb expands to 5 GiB. A national results file is ~100 MB.
MAX_DECOMPRESSED = 1 << 30
# JSON integers longer than this are refused as text before Python converts them (4,300-digit limit)
MAX_JSON_DIGITS = 30


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


def read_bytes(path: Path, origin: str) -> bytes:
    """The file's bytes, gunzipped (streaming, at most :data:`MAX_DECOMPRESSED`) when it is gzip data."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            while chunk := fh.read(1 << 20):
                out += chunk
                if len(out) > MAX_DECOMPRESSED:
                    raise InputError(f"gzip data expands beyond {MAX_DECOMPRESSED >> 20:,} MiB "
                                     "(the limit for a compressed file)", file=origin)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise InputError(f"corrupt or truncated gzip data ({exc or type(exc).__name__})", file=origin) from None
    return bytes(out)


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


# a well-formed multi-byte UTF-8 character (RFC 3629 table 3-7)
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
                             rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}"
                             rb"|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}")


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
    if _UTF8_MULTIBYTE.search(data):
        # UTF-8 text (it has valid multi-byte characters) with a few invalid bytes: re-decoding the whole
        # file as cp1252 would silently turn every "á" into "Ã¡" and make new keys.
        raise InputError(f"the file is UTF-8 except for invalid bytes {data[bad:bad + 4]!r}... at byte {bad}: "
                         "repair them, or declare the encoding (--encoding / [file] encoding)",
                         file=origin, row=line_of(bad)) from None
    # Not UTF-8 at all: single-byte Western encodings are the usual alternative (Excel exports).
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


def _csv_header(data: bytes, text: str | None, origin: str, delimiter: str | None,
                tsv: bool) -> tuple[list[str], str]:
    """The header row and the delimiter, from a prefix that grows until it holds the whole header row
    (however long: thousands of columns, quoted newlines)."""
    size = 1 << 16
    while True:
        head = (text[:size] if text is not None else data[:size].decode("utf-8", errors="ignore")).lstrip("\ufeff")
        whole = size >= (len(text) if text is not None else len(data))
        first = head.split("\n", 1)[0]
        delim = delimiter or ("\t" if tsv else _sniff_delimiter(first))
        try:
            rows = csv.reader(io.StringIO(head), delimiter=delim)
            header = next(rows)
            complete = whole or next(rows, None) is not None
        except (StopIteration, csv.Error) as exc:
            raise InputError(f"unreadable header: {exc}", file=origin, row=1) from None
        if complete:
            return header, delim
        size *= 4


def read_csv(con: duckdb.DuckDBPyConnection, path: Path, *, tsv: bool = False,
             delimiter: str | None = None, encoding: str | None = None) -> RawTable:
    origin = str(path)
    data = read_bytes(path, origin)
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise InputError("empty file", file=origin)
    enc, text = _decode(data, origin, encoding)
    source = path
    if enc is not None:  # transcode to UTF-8 for DuckDB
        tmp = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)
        tmp.write(text.encode("utf-8"))
        tmp.close()
        source = Path(tmp.name)
    header, delim = _csv_header(data, text if enc is not None else None, origin, delimiter, tsv)
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
    """A typed cell (XLSX, JSON) as the text validation reads: integral floats lose their ".0"; booleans
    stay words ("true"), never 1, so a boolean where a count belongs is refused."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
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
        with zipfile.ZipFile(path) as z:  # zipfile stops reading a member at its declared size
            expanded = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})", file=origin) from None
    if expanded > MAX_DECOMPRESSED:
        raise InputError(f"the workbook expands to {expanded >> 20:,} MiB, beyond the "
                         f"{MAX_DECOMPRESSED >> 20:,} MiB limit for a compressed file", file=origin)
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


def _parquet_text(name: str, duck_type: str) -> str:
    """SQL: a typed Parquet column as text; integral floats and decimals without their fraction."""
    col = '"' + name.replace('"', '""') + '"'
    if duck_type in ("FLOAT", "DOUBLE") or duck_type.startswith("DECIMAL"):
        return (f"CASE WHEN {col} = trunc({col}) AND abs({col}) < 1e18 THEN CAST(CAST({col} AS HUGEINT) AS VARCHAR) "
                f"ELSE CAST({col} AS VARCHAR) END")
    return f"CAST({col} AS VARCHAR)"


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> RawTable:
    import pyarrow.parquet as pq

    origin = str(path)
    try:
        meta = pq.ParquetFile(path).metadata
        desc = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except (duckdb.Error, pa.ArrowException, OSError) as exc:
        raise InputError(f"not a readable Parquet file ({str(exc).splitlines()[0]})", file=origin) from None
    # the file's own column names: DuckDB renames a repeated one ("a_1"), which would hide it
    _check_header(list(meta.schema.to_arrow_schema().names), origin)
    header = _check_header([d[0] for d in desc], origin)
    expanded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if expanded > MAX_DECOMPRESSED:
        raise InputError(f"the data expands to {expanded >> 20:,} MiB, beyond the {MAX_DECOMPRESSED >> 20:,} MiB "
                         "limit for a compressed file", file=origin)
    select = ", ".join(f"{_parquet_text(d[0], d[1])} AS c{i}" for i, d in enumerate(desc))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE raw AS SELECT {select}, (file_row_number + 2)::BIGINT AS __row"
                    " FROM read_parquet(?, file_row_number=true)", [str(path)])
    except duckdb.Error as exc:
        raise InputError(f"not a readable Parquet file ({str(exc).splitlines()[0]})", file=origin) from None
    rows = one(con, "SELECT count(*) FROM raw")[0]
    return RawTable(header, rows, "parquet")


class _JSONProblem(ValueError):
    """Raised from inside the JSON parser's hooks; becomes an InputError naming the line."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj: dict[str, object] = {}
    for key, value in pairs:
        if key in obj:
            raise _JSONProblem(f"key {key!r} appears twice in one object (which value is meant?)")
        obj[key] = value
    return obj


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_DIGITS:
        raise _JSONProblem(f"an integer of {len(text.lstrip('-')):,} digits")
    return int(text)


def _float_text(text: str) -> str:
    """A JSON number with a fraction or exponent, as cell text: integral values as plain digits."""
    try:
        d = Decimal(text)
    except InvalidOperation:
        return text
    if d.is_finite() and d == d.to_integral_value() and d.adjusted() < MAX_JSON_DIGITS:
        return str(int(d))
    return text


def load_json(text: str, origin: str, *, row: int | None = None, cells: bool = False) -> object:
    """Parse JSON text strictly: a repeated key, an integer of more than :data:`MAX_JSON_DIGITS` digits or
    nesting beyond Python's recursion limit is an InputError, like a syntax error. With ``cells`` numbers
    stay text (JSON lines: validation reads every cell as text, with one rule)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_int=str if cells else _bounded_int,
                          parse_float=_float_text if cells else float)
    except json.JSONDecodeError as exc:
        where = f" (column {exc.colno})" if row is not None else ""
        raise InputError(f"not valid JSON: {exc.msg}{where}", file=origin, row=row or exc.lineno) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", file=origin, row=row) from None
    except _JSONProblem as exc:
        raise InputError(str(exc), file=origin, row=row) from None


def read_jsonl(con: duckdb.DuckDBPyConnection, path: Path, *, encoding: str | None = None) -> RawTable:
    """JSON lines: one object per line; keys are columns (first-seen order)."""
    origin = str(path)
    data = read_bytes(path, origin)
    enc, text = _decode(data, origin, encoding)
    if enc is None:
        text = data.decode("utf-8-sig")
    objects: list[tuple[int, dict]] = []
    header: dict[str, None] = {}
    # lines end at "\n" only: str.splitlines would also split at U+2028, U+0085 and \x1c inside strings
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        obj = load_json(line, origin, row=lineno, cells=True)
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
