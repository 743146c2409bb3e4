"""Ingest fuzzer: valid files, mutated, must be refused cleanly or accepted and counted right.

Each case builds a small valid results table (3 to 6 tables, three unit levels, two candidates, one of
them "Ñandú" so the file has multi-byte UTF-8), writes it as CSV, XLSX, Parquet or JSON lines, and applies
one to three mutations: a cell replaced by a hostile value (thousands separators, Unicode spaces, huge or
signed numbers, floats, booleans, empty, formula prefixes, control characters), a row or column deleted or
duplicated, a header renamed, or damage to the encoded bytes (a stray Latin-1 byte, truncation, cp1252
re-encoding, gzip and truncated gzip). Then, against a store that already holds one good import:

* a refused file raises :class:`InputError` (never another exception) naming the file — and the row or the
  field when the problem is in one — and leaves the store's content digest unchanged;
* an accepted file is ingested into a fresh store, after which ``unit`` and ``compare`` (the library
  functions behind the commands) succeed and the candidate totals equal an independent recount: the file
  read back with the csv module / openpyxl / pyarrow / json and the documented count rule applied here in
  plain Python (no RE2, no DuckDB). One accepted case in 20 (chosen by the file's hash) also runs
  ``report``, ``publish`` and ``verify``, the expensive steps;
* where the recount can predict the outcome (every mutation but byte damage) it must match: a file the rule
  accepts is not refused, and a file it refuses is not accepted (no silent acceptance).

Profiles (``VOTEAUDIT_FUZZ_PROFILE``): ``ci`` (the default) runs 2,000 cases in total, derandomized;
``long`` runs 25,000 per format with fresh randomness (``bench/fuzz_ingest.py`` runs it and reports
cases per second).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError

from tests.fuzz.formats import FORMATS, write_table
from voteaudit.ingest import ingest_file
from voteaudit.ingest.mapping import Mapping
from voteaudit.model import InputError
from voteaudit.store import open_store

EXAMPLES = int(os.environ.get("VOTEAUDIT_FUZZ_EXAMPLES", "0"))  # override a profile's cases per format
settings.register_profile("ci", max_examples=EXAMPLES or 500, deadline=None, derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("long", max_examples=EXAMPLES or 25_000, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
PROFILE = os.environ.get("VOTEAUDIT_FUZZ_PROFILE", "ci")
FULL_EVERY = 20  # one accepted case in 20 also runs report, publish and verify

UNITS = ["region", "district", "table"]
CANDS = ["Alice", "Ñandú"]
HEADER = [*UNITS, "registered", "valid", "null", *CANDS, "note"]
COUNT_COLS = ["registered", "valid", "null", *CANDS]
OPTIONAL = {"registered", "valid", "null"}
MAPPING = Mapping(units=UNITS, registered="registered", valid="valid", null="null", candidates=CANDS)
GOOD_ROWS = [["R0", "D0", "1", 100, 60, 2, 30, 30, "ok"]]

# ---- the documented count rule, written again independently (plain Python, no regex engine shared) ----
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x1c\x1d\x1e\x1f")
GROUPS = " \u00a0\u2007\u2009\u202f'\u2019"
MAX = 10**9
ASCII_DIGITS = set("0123456789")


class Bad(Exception):
    """The oracle refuses this cell or file."""


def count_text(text: str) -> int | None:
    t = text.strip(WHITESPACE)
    if t == "":
        return None
    if set(t) <= ASCII_DIGITS:
        value = int(t[-12:]) if len(t.lstrip("0")) <= 10 else MAX + 1
    elif t.count(".") == 1 and set(t.replace(".", "")) <= ASCII_DIGITS:
        whole, frac = t.split(".")
        if not whole or not frac or set(frac) != {"0"} or (len(whole) <= 3 and len(frac) == 3):
            raise Bad(t)
        value = int(whole) if len(whole.lstrip("0")) <= 10 else MAX + 1
    else:
        parts = re.split(f"[{GROUPS}]", t)
        if len(parts) < 2 or not all(p and set(p) <= ASCII_DIGITS for p in parts):
            raise Bad(t)
        if not (1 <= len(parts[0]) <= 3 and parts[0][0] != "0" and all(len(p) == 3 for p in parts[1:])):
            raise Bad(t)
        value = int("".join(parts)) if len(parts) <= 5 else MAX + 1
    if value > MAX:
        raise Bad(t)
    return value


def count_value(v: object) -> int | None:
    """A typed cell (as openpyxl / pyarrow / json give it) under the same rule."""
    if v is None:
        return None
    if isinstance(v, bool):
        raise Bad(v)
    if isinstance(v, int):
        if v < 0 or v > MAX:
            raise Bad(v)
        return v
    if isinstance(v, float | Decimal):
        if v != v or v in (float("inf"), float("-inf")) or v != int(v) or v < 0 or v > MAX:
            raise Bad(v)
        return int(v)
    return count_text(str(v))


def norm_key(v: object) -> str:
    t = " ".join(str(v).split(" ")).strip()
    t = re.sub(r"\s+", " ", t)
    if t.isascii() and t.isdigit():
        return t.lstrip("0") or "0"
    return "".join(c for c in unicodedata.normalize("NFKD", t.lower()) if not unicodedata.combining(c))


# ---- reading a file back independently --------------------------------------------------------------

def read_back(path: Path, fmt: str) -> tuple[list[str], list[list[object]]]:
    """(header, rows) as the format's own library reads them; raises Bad where the file is not a table."""
    data = path.read_bytes()
    if fmt == "csv" or fmt == "jsonl":
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise Bad("gzip") from exc
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Bad("encoding") from exc
        if "\x00" in text:
            raise Bad("nul")
        if fmt == "csv":
            try:
                rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
            except csv.Error as exc:
                raise Bad("csv") from exc
            if not rows:
                raise Bad("empty")
            header = [h.strip() for h in rows[0]]
            body = [r for r in rows[1:] if r != []]
            if any(len(r) != len(header) for r in body):
                raise Bad("ragged")
            return header, [[None if c == "" else c for c in r] for r in body]
        header, body = [], []
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                pairs = json.loads(line, object_pairs_hook=lambda p: p, parse_float=Decimal)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise Bad("json") from exc
            if not isinstance(pairs, list) or any(isinstance(v, list) for _, v in pairs):
                raise Bad("not an object of scalars")
            keys = [k for k, _ in pairs]
            if len(set(keys)) != len(keys):
                raise Bad("dup key")
            header += [k for k in keys if k not in header]
            body.append(dict(pairs))
        return [k.strip() for k in header], [[obj.get(k) for k in header] for obj in body]
    if fmt == "xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
        while rows and all(v is None for v in rows[-1]):
            rows.pop()
        header = [str(h).strip() if h is not None else "" for h in rows[0]]
        while header and header[-1] == "":
            header.pop()
        if any(v is not None for r in rows[1:] for v in r[len(header):]):
            raise Bad("ragged")
        return header, [r[:len(header)] for r in rows[1:]]
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    if len(set(names)) != len(names):
        raise Bad("repeated column")
    table = pq.read_table(path)
    return [n.strip() for n in names], [list(r.values()) for r in table.to_pylist()]


@dataclass
class Expect:
    accept: bool | None                  # None: the oracle does not predict (byte damage)
    totals: dict[str, int] = field(default_factory=dict)
    conflict: bool = False
    reason: str = ""


def recount(path: Path, fmt: str, predict: bool) -> Expect:
    try:
        header, rows = read_back(path, fmt)
        if "" in header or len(set(header)) != len(header):
            raise Bad("header")
        if any(c not in header for c in UNITS + COUNT_COLS):
            raise Bad("missing column")
        if not rows:
            raise Bad("no rows")
        idx = {c: header.index(c) for c in UNITS + COUNT_COLS}
        units: dict[tuple, set] = {}
        for r in rows:
            key = tuple(norm_key(r[idx[u]]) if r[idx[u]] is not None else "" for u in UNITS)
            if any(k == "" for k in key):
                raise Bad("empty key")
            values = tuple(count_value(r[idx[c]]) for c in COUNT_COLS)
            if any(values[COUNT_COLS.index(c)] is None for c in CANDS):
                raise Bad("empty vote")
            units.setdefault(key, set()).add(values)
    except Bad as exc:
        return Expect(False if predict else None, reason=str(exc))
    totals = Counter()
    for copies in units.values():
        first = next(iter(copies))
        for c in CANDS:
            totals[c] += first[COUNT_COLS.index(c)]
    return Expect(True if predict else None, dict(totals), any(len(c) > 1 for c in units.values()))


# ---- mutations --------------------------------------------------------------------------------------

HOSTILE_TEXT = ["1,234", "1.000", "1.234.567", "12,5", "1 000", "1\u00a0000", "1\u202f234\u202f567", "1'234",
                "1 23", "\u00a012\u00a0", "\u2007 7", "12\u3000", "\t3\r", "\u20285", "+5", "-3", "\u22123", "-0",
                "1e3", "0x10", "12.0", "12.00", "12.000", "1000.0", "12.5", ".5", "5.", "true", "FALSE", "", " ",
                "=1+2", "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3", "\x1b[31m1", "1\x07", "\u200b1", "\ufeff1",
                "１２", "٣", "1_000", "NaN", "inf", "9" * 5000, "1000000000", "1000000001", "0" * 50 + "7",
                "1 000 000 000", "1 000 000 001", "2,", ",2", '"', "1\n2"]
HOSTILE_KEYS = ["", " ", "R9", "007", "7", "../x", "=HYPERLINK(1)", "a.b", "50%", "Zoë", "ZOE"]


def hostile_values(fmt: str) -> st.SearchStrategy[object]:
    text = st.one_of(st.sampled_from(HOSTILE_TEXT),
                     st.text(alphabet="0123456789 .,'-+\u00a0\u202f\u3000e", max_size=9))
    numbers = st.one_of(st.integers(-5, 2 * MAX), st.sampled_from([MAX, MAX + 1, 2**63, 2**70, -1]),
                        st.floats(allow_nan=fmt != "jsonl", allow_infinity=fmt != "jsonl"),
                        st.sampled_from([0.5, 12.0, 1e20, 1e9, 1e9 + 1, -0.0]), st.booleans(), st.none())
    if fmt == "csv":
        return text
    return st.one_of(text, numbers)


@st.composite
def case(draw, fmt: str) -> tuple[list[str], list[list[object]], list[tuple], bool]:
    n = draw(st.integers(3, 6))
    rows = []
    for t in range(n):
        votes = [draw(st.integers(0, 400)) for _ in CANDS]
        reg = sum(votes) + draw(st.integers(0, 100))
        rows.append([f"R{t % 2}", f"D{t % 3}", str(t + 1), reg, sum(votes), draw(st.integers(0, 9)), *votes,
                     draw(st.sampled_from(["", "note", "=x"]))])
    header = list(HEADER)
    log = []
    byte_damage = False
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["count", "count", "count", "key", "del_row", "dup_row", "del_col",
                                     "dup_col", "rename", "bytes"]))
        if kind == "count" and rows:
            r, c = draw(st.integers(0, len(rows) - 1)), draw(st.sampled_from(COUNT_COLS))
            if c in header:
                rows[r][header.index(c)] = v = draw(hostile_values(fmt))
                log.append((kind, r, c, v))
        elif kind == "key" and rows:
            r, c = draw(st.integers(0, len(rows) - 1)), draw(st.sampled_from(UNITS))
            if c in header:
                rows[r][header.index(c)] = v = draw(st.sampled_from(HOSTILE_KEYS))
                log.append((kind, r, c, v))
        elif kind == "del_row" and rows:
            log.append((kind, rows.pop(draw(st.integers(0, len(rows) - 1)))))
        elif kind == "dup_row" and rows:
            r = draw(st.integers(0, len(rows) - 1))
            rows.insert(draw(st.integers(0, len(rows))), list(rows[r]))
            log.append((kind, r))
        elif kind in ("del_col", "dup_col", "rename"):
            j = draw(st.integers(0, len(header) - 1))
            if kind == "del_col":
                header.pop(j)
                for r in rows:
                    r.pop(j)
            elif kind == "dup_col":
                header.append(header[j])
                for r in rows:
                    r.append(r[j])
            else:
                header[j] = draw(st.sampled_from(["", header[j].upper(), header[j] + " ", " " + header[j], "x"]))
            log.append((kind, j))
        elif kind == "bytes" and fmt in ("csv", "jsonl"):
            byte_damage = True
            log.append((kind, draw(st.sampled_from(["stray", "truncate", "cp1252", "gzip", "gzip_cut", "bom"])),
                        draw(st.integers(0, 10**6))))
    return header, rows, log, byte_damage


def damage(path: Path, how: str, at: int) -> None:
    data = path.read_bytes()
    pos = at % (len(data) + 1)
    if how == "stray":
        data = data[:pos] + b"\xe1" + data[pos:]
    elif how == "truncate":
        data = data[:pos]
    elif how == "cp1252":
        try:
            data = data.decode("utf-8").encode("cp1252")
        except UnicodeError:
            return
    elif how == "gzip":
        data = gzip.compress(data)
    elif how == "gzip_cut":
        z = gzip.compress(data)
        data = z[: at % len(z)]
    elif how == "bom":
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)


# ---- the property -----------------------------------------------------------------------------------

def content_digest(store) -> str:
    con = store.con
    h = hashlib.sha256()
    for (t,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='main' "
                            "ORDER BY 1").fetchall():
        h.update(t.encode())
        h.update(repr(sorted(map(repr, con.execute(f'SELECT * FROM "{t}"').fetchall()))).encode())
    return h.hexdigest()


class Bench:
    """Shared per format: a template store with one good import (copied fresh after an accepted case),
    a scratch directory, counters."""

    def __init__(self, fmt: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"fuzz-{fmt}-"))
        good = write_table(self.dir / "good", "csv", HEADER, GOOD_ROWS)
        template = open_store(str(self.dir / "template.duckdb"))
        ingest_file(template, good, MAPPING, source="good", kind="official")
        template.close()
        self.base = self.fresh(0)
        self.digest = content_digest(self.base)
        self.n = Counter()

    def fresh(self, k: int):
        db = self.dir / f"base{k}.duckdb"
        shutil.copyfile(self.dir / "template.duckdb", db)
        return open_store(str(db))

    def close(self) -> None:
        self.base.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def check_rejection(exc: InputError, path: Path) -> None:
    text = str(exc)
    assert path.name in text, text
    cell_level = re.search(r"count|whole number|unit key|boolean|digit groups|ragged|appears twice", exc.problem)
    if cell_level:
        assert exc.row is not None or exc.field is not None, text


def run_case(bench: Bench, fmt: str, header, rows, log, byte_damage) -> str:
    bench.n["cases"] += 1
    k = bench.n["cases"]
    try:
        path = write_table(bench.dir / f"case{k}", fmt, header, rows)
    except IllegalCharacterError:  # openpyxl cannot write control characters: not an XLSX file
        reject()
    for entry in log:
        if entry[0] == "bytes":
            damage(path, entry[1], entry[2])
    expect = recount(path, fmt, predict=not byte_damage)
    try:
        ingest_file(bench.base, path, MAPPING, source=f"s{k}", kind="official")
    except InputError as exc:
        check_rejection(exc, path)
        assert content_digest(bench.base) == bench.digest, f"a refused file changed the store: {exc}"
        assert expect.accept is not True, f"refused a file the documented rule accepts ({log}): {exc}"
        bench.n["rejected"] += 1
        path.unlink()
        return "rejected"
    assert expect.accept is not False, f"accepted a file the documented rule refuses ({expect.reason}; {log})"
    try:
        check_accepted(bench, fmt, path, expect, f"s{k}")
    finally:  # the baseline now holds the case: the next case gets a fresh copy of the template
        bench.base.close()
        Path(bench.base.url).unlink()
        bench.base = bench.fresh(k)
    path.unlink()
    return "accepted"


def check_accepted(bench: Bench, fmt: str, path: Path, expect: Expect, source: str) -> None:
    from voteaudit.report.summary import build_summary

    store = bench.base
    if expect.accept is None:  # byte damage: recount what the bytes say, decoded as the reader may
        expect = recount_damaged(path, fmt)
        assert expect.accept, f"accepted damaged bytes that do not read as a table ({expect.reason})"
    doc = build_summary(store, top=5)
    src = {s["name"]: s for s in doc["sources"]}
    assert src["good"]["totals"] == {"Alice": 30, "Ñandú": 30}
    got = src[source]
    leaf = store.matrix(source).unit_ids[0]
    assert any(r["source"] == source for r in store.unit_records(str(leaf)))
    if expect.conflict:
        assert got["conflicts"] >= 1, (got, expect)
    else:
        assert got["totals"] == {c: expect.totals.get(c, 0) for c in CANDS}, (got["totals"], expect)
    if int(hashlib.sha256(path.read_bytes()).hexdigest()[:8], 16) % FULL_EVERY == 0:
        from voteaudit.publish.site import publish
        from voteaudit.publish.verify import verify
        from voteaudit.report.build import write_report

        out = bench.dir / "out"
        rep = write_report(store, out / "report")
        assert {s["name"]: s["totals"] for s in rep["sources"]}[source] == got["totals"]
        publish(store, out / "site")
        res = verify(out / "site")
        assert res.ok, res.problems
        bench.n["full"] += 1
        shutil.rmtree(out)
    bench.n["accepted"] += 1


def recount_damaged(path: Path, fmt: str) -> Expect:
    """Damaged bytes that were accepted: recount them as cp1252 if they are not UTF-8 (the reader's
    fallback for Excel exports); ``accept`` is False when even that is not a table here."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return Expect(False, reason="corrupt gzip")
    try:
        data.decode("utf-8")
        return recount(path, fmt, predict=True)
    except UnicodeDecodeError:
        pass
    alt = path.with_name("recode-" + path.name)
    try:
        alt.write_bytes(data.decode("cp1252", errors="strict").encode("utf-8"))
    except UnicodeDecodeError:
        alt.write_bytes(data.decode("latin-1").encode("utf-8"))
    try:
        return recount(alt, fmt, predict=True)
    finally:
        alt.unlink()


BENCHES: dict[str, Bench] = {}


@pytest.fixture(scope="module", autouse=True)
def _benches():
    yield
    for fmt, b in BENCHES.items():
        print(f"\nfuzz {fmt}: {dict(b.n)}")
        b.close()
    BENCHES.clear()


def fuzz(fmt: str):
    @settings(settings.get_profile(PROFILE))
    @given(data=case(fmt))
    def test(data):
        bench = BENCHES.get(fmt) or BENCHES.setdefault(fmt, Bench(fmt))
        run_case(bench, fmt, *data)

    return test


test_fuzz_csv = fuzz("csv")
test_fuzz_xlsx = fuzz("xlsx")
test_fuzz_parquet = fuzz("parquet")
test_fuzz_jsonl = fuzz("jsonl")
assert set(FORMATS) == {"csv", "xlsx", "parquet", "jsonl"}
