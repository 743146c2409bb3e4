"""``voteaudit publish``: a static, tamper-evident release any web server, CDN or USB stick can host.

Layout of ``DIR`` (every path is chosen here; no user-supplied string ever becomes a path except through
:func:`~voteaudit.publish.writer.safe_name`):

    index.html  table.html  verify.html  assets/      the look-up and verify pages (no CDN, no fonts)
    report.html  summary.json  data/                  the report (``voteaudit.report.build.write_report``)
    root.json(.js)                                    Merkle root, tree size, shard size, sources, levels
    tables/NNNNNN.json(.js)                           records of leaves [N*S, N*S+S) + the shard's audit path
    search/  places/                                  the sharded look-up index (see ``lookup``)
    bulk/records.csv  bulk/records.parquet            every record, with its leaf index and sha256
    bulk/<source>.cdf.json[.gz]                       each source as NIST SP 1500-100 CDF JSON (sources above
                                                      NIST_AUTO_MAX tables: only when asked, ``nist=True``)
    manifest.json  manifest.sha256                    sha256 of every file and record; the records' Merkle root
    release.json(.js)                                 the release root (commits to all of the above), signature

The site is written into a staging directory beside ``DIR`` and swapped in at the end (``staging``): a
failed or killed run leaves the earlier publication untouched.

A table's page is ``table.html#<unit id>``: tables are bundled ``S`` records to a shard file (default 256,
a power of two so each shard is a node of the Merkle tree) rather than one file per table.

National scale (a million tables in well under two minutes): records stay column-wise (one Arrow table,
see ``records``) from the store's matrices to every file; shards, look-up blocks, the manifest's record
list and the bulk files are spliced from per-record JSON text built by Arrow kernels, and only the
hashing loop touches each record from Python.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from jinja2 import Environment, PackageLoader, select_autoescape

from voteaudit import __version__
from voteaudit.exports import csv_table, distinct_names
from voteaudit.model import VoteauditError
from voteaudit.publish import lookup, merkle, staging
from voteaudit.publish.keys import ALGORITHM, SigningKey
from voteaudit.publish.manifest import FORMAT, OWN, release_bytes, release_doc, release_root, write_manifest
from voteaudit.publish.nist_export import write_cdf
from voteaudit.publish.records import PER_UNIT, RecordSet, collect, join, json_strings, json_text, offsets
from voteaudit.publish.writer import SiteWriter, compact
from voteaudit.store.base import Store

ASSETS = ("site.css", "common.js", "site.js", "verify.js")
NIST_GZIP_ABOVE = 250_000
NIST_AUTO_MAX = 2_000_000   # larger sources get a CDF export only when asked (``nist=True``, ``--nist``)
ANALYSE_MAX = 250_000       # larger publications leave estimation and forensics out of report.html by default
FAVICON = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63"
                        "f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082")  # a 1x1 PNG


def _hex(digests: list[bytes]) -> pa.Array:
    """32-byte digests as an Arrow array of lower-case hex strings (no Python string per digest)."""
    n = len(digests)
    raw = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(n, 32)
    text = np.empty((n, 64), dtype=np.uint8)
    text[:, 0::2] = _HEX[raw >> 4]
    text[:, 1::2] = _HEX[raw & 15]
    bounds = np.arange(0, 64 * (n + 1), 64, dtype=np.int64)
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(bounds), pa.py_buffer(text.tobytes())])


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hash_records(recs: RecordSet) -> tuple[pa.Array, list[bytes]]:
    """(sha256 hex of each record's canonical bytes, Merkle leaf hash of each record).

    ``recs``' ``canonical`` column holds 0x00 + canonical bytes: the leaf hash covers all of it, the
    record hash all but the first byte; both hash views of one buffer, without copying.
    """
    sha = hashlib.sha256
    col = recs.column("canonical")
    data = memoryview(col.buffers()[2]) if len(col) else memoryview(b"")
    bounds = offsets(col).tolist()
    rec: list[bytes] = []
    leaves: list[bytes] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        leaves.append(sha(data[a:b]).digest())
        rec.append(sha(data[a + 1:b]).digest())
    return _hex(rec), leaves


def _segments(arr: pa.Array, cuts: Sequence[int]) -> tuple[memoryview, list[int]]:
    """A string array's bytes and its value offsets at the given row positions (rows ``cuts[i]:cuts[i+1]``
    are ``data[o[i]:o[i+1]]``)."""
    data = memoryview(arr.buffers()[2]) if len(arr) else memoryview(b"")
    return data, offsets(arr)[np.asarray(cuts, dtype=np.int64)].tolist()


def unit_runs(recs: RecordSet) -> tuple[np.ndarray, np.ndarray]:
    """(first leaf of each distinct unit, unit ordinal of each record): leaves are sorted by unit id."""
    unit = recs.column("unit")
    n = len(unit)
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = pc.not_equal(unit.slice(1), unit.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(new)
    return starts, np.cumsum(new) - 1


def write_shards(w: SiteWriter, recs: RecordSet, leaves: list[bytes], labels: dict[str, str], shard_size: int,
                 starts: np.ndarray, ordinal: np.ndarray, label: pa.Array) -> tuple[str, int]:
    """``tables/NNNNNN`` shards with each shard's audit path; returns (root hex, number of shards).

    A shard's ``units`` and ``records`` are spliced from per-unit and per-record JSON text built column-wise.
    """
    n = len(leaves)
    shard_roots = [merkle.root(leaves[a:a + shard_size]) for a in range(0, n, shard_size)]
    top = merkle.levels(shard_roots) if shard_roots else [[merkle.root([])]]
    root = top[-1][0].hex()
    heads = [s.to_json() for s in recs.sources]
    unit_json = recs.column("unit_json").take(pa.array(starts))
    anc = [_ancestor_pairs(recs.column(f"a{k}").take(pa.array(starts)), labels) for k in range(recs.depth)]
    ancestors = join("[", join(*anc, sep=","), "]") if anc else pa.array(["[]"] * len(starts), pa.string())
    unit_text = join(unit_json, ':{"label":', label, ',"ancestors":', ancestors, "},").cast(pa.large_string())
    rows = join(recs.column("row"), ",").cast(pa.large_string())
    cuts = list(range(0, n, shard_size)) + [n]
    rdata, roff = _segments(rows, cuts)
    first_unit = ordinal[cuts[:-1]]
    last_unit = ordinal[np.asarray(cuts[1:]) - 1] + 1
    udata, uoff_first = _segments(unit_text, first_unit)
    _, uoff_last = _segments(unit_text, last_unit)
    for k, start in enumerate(cuts[:-1]):
        head = compact({"format": "voteaudit-shard/1", "shard": k, "first_leaf": start, "tree_size": n,
                        "root": root, "shard_root": shard_roots[k].hex(),
                        "subtree_path": [h.hex() for h in merkle.path(top, k)], "sources": heads})
        w.json_bytes(f"tables/{k:06d}", b"".join([
            head[:-1].encode("utf-8"), b',"units":{', udata[uoff_first[k]:uoff_last[k] - 1], b'},"records":[',
            rdata[roff[k]:roff[k + 1] - 1], b"]}"]))
    return root, len(shard_roots)


def _ancestor_pairs(ids: pa.Array, labels: dict[str, str]) -> pa.Array:
    """``["id","label or id"]`` per row of an ancestor column (computed once per distinct ancestor)."""
    enc = pc.dictionary_encode(ids).combine_chunks() if isinstance(ids, pa.ChunkedArray) else pc.dictionary_encode(ids)
    text = pa.array([json_text([a, labels.get(a) or a]) if a is not None else "null"
                     for a in enc.dictionary.to_pylist()], pa.string())
    return pc.fill_null(text.take(enc.indices), "null")


def write_bulk(w: SiteWriter, store: Store, recs: RecordSet, rec_hex: pa.Array, labels: dict[str, str], *,
               title: str, election_date: str | None, nist_gzip: bool | None,
               nist: bool | None, contest: str | None = None) -> tuple[list[dict[str, str]], list[str]]:
    """Every record as CSV and Parquet (straight from the record columns), and each source as NIST CDF JSON
    (``nist``: all sources; ``None``: sources of at most ``NIST_AUTO_MAX`` tables); returns the download
    list and the sources whose CDF export was left out."""
    t = recs.table
    n = t.num_rows
    src = t.column("src")
    cols: dict[str, Any] = {
        "leaf": pa.array(np.arange(n, dtype=np.int64)),
        "source": pa.array([s.name for s in recs.sources], pa.string()).take(src),
        "kind": pa.array([s.kind for s in recs.sources], pa.string()).take(src),
        "unit": t.column("unit"),
        "copy": t.column("copy"),
    }
    for k, level in enumerate(recs.levels[:-1][:recs.depth]):
        cols[f"{level} (id)" if level in cols else level] = t.column(f"a{k}")
    for key in PER_UNIT:
        cols[key if key not in cols else f"{key} (count)"] = t.column(key)
    names = list(cols)
    for j, c in enumerate(recs.candidates):
        name = c if c not in names else f"{c} (votes)"
        names.append(name)
        cols[name] = t.column(f"v{j}")
    cols["flags"] = t.column("flags")
    cols["sheet"] = t.column("sheet")
    cols["record_sha256"] = rec_hex.cast(pa.string())
    table = pa.table(cols)
    (w.root / "bulk").mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(csv_table(table), str(w.root / "bulk/records.csv"))
    pq.write_table(table, str(w.root / "bulk/records.parquet"))
    w.adopt("bulk/records.csv")
    w.adopt("bulk/records.parquet")
    files = [{"label": "Every record (CSV)", "href": "bulk/records.csv"},
             {"label": "Every record (Parquet)", "href": "bulk/records.parquet"}]
    skipped = []
    segment = distinct_names([s.name for s in recs.sources])
    for s in recs.sources:
        m = store.matrix(s.name, contest)
        if not (nist if nist is not None else m.n_units <= NIST_AUTO_MAX):
            skipped.append(s.name)
            continue
        gz = nist_gzip if nist_gzip is not None else m.n_units > NIST_GZIP_ABOVE
        rel = f"bulk/{segment[s.name]}.cdf.json" + (".gz" if gz else "")
        write_cdf(m, labels, w.root / rel, title=title, election_date=election_date, gzipped=gz)
        w.adopt(rel)
        files.append({"label": f"{s.name}: NIST SP 1500-100 CDF JSON" + (" (gzip)" if gz else ""), "href": rel})
    return files, skipped


IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf")


def attach_sheets(w: SiteWriter, sheets: Mapping[Any, str] | None) -> dict[Any, str] | None:
    """Copy sheet images that are local files into ``sheets/<sha256>.<ext>`` (so the manifest covers them);
    keep http(s) URLs as links and anything else as plain text."""
    if not sheets:
        return None
    out: dict[Any, str] = {}
    copied: dict[str, str] = {}
    for key, value in sheets.items():
        path = Path(value)
        if "://" not in value and path.suffix.lower() in IMAGE_TYPES and path.is_file():
            if value not in copied:
                data = path.read_bytes()
                rel = f"sheets/{hashlib.sha256(data).hexdigest()}{path.suffix.lower()}"
                if rel not in w.files:
                    w.bytes(rel, data)
                copied[value] = rel
            out[key] = copied[value]
        else:
            out[key] = value
    return out


def _assets(w: SiteWriter) -> None:
    folder = resources.files("voteaudit") / "publish" / "static"
    for name in ASSETS:
        w.bytes(f"assets/{name}", (folder / name).read_bytes())
    # report.html has no icon link, so browsers ask the server for /favicon.ico: answer instead of a 404
    w.bytes("favicon.ico", FAVICON)


def _pages(w: SiteWriter, doc: dict[str, Any], downloads: list[dict[str, str]]) -> None:
    env = Environment(loader=PackageLoader("voteaudit", "publish/templates"), autoescape=select_autoescape(
        default_for_string=True, default=True))
    env.filters["size"] = lambda n: f"{n / 1e6:,.1f} MB" if n >= 1e6 else f"{n / 1e3:,.1f} kB"
    for page in ("index.html", "table.html", "verify.html"):
        w.text(page, env.get_template(page).render(doc=doc, downloads=downloads, files=w.files))


def publish(store: Store, out_dir: Path, *, step: Callable[[str], None] = lambda s: None,
            title: str = "Election results", shard_size: int = 256, sheets: Mapping[Any, str] | None = None,
            report: bool = True, report_options: dict[str, Any] | None = None, election_date: str | None = None,
            nist_gzip: bool | None = None, nist: bool | None = None, sign: SigningKey | None = None,
            contest: str | None = None) -> dict[str, Any]:
    """Write the site of one contest (None: the store's only one) into ``out_dir`` (new, empty, or a previous
    publication, replaced atomically); return what was published, with ``root``, the release root to announce.

    ``shard_size`` (a power of two) records per ``tables/`` file; ``sheets`` maps a unit id or a
    (source, unit id) pair to a tally-sheet image: a local image file (copied into ``sheets/``) or a URL;
    ``report_options`` go to ``write_report`` (e.g. ``geojson``; ``analyse`` defaults to True up to
    ``ANALYSE_MAX`` records, else False: the estimation and forensics sections take minutes at national
    scale and have their own commands); ``election_date`` (YYYY-MM-DD) goes into the CDF export;
    ``nist`` writes it for every source (False: none; default: sources of at most ``NIST_AUTO_MAX``
    tables); ``nist_gzip`` compresses it (default: above 250,000 tables); ``sign`` signs the release root.
    """
    if shard_size < 1 or shard_size & (shard_size - 1):
        raise VoteauditError(f"shard size must be a power of two, not {shard_size}")
    out = Path(os.path.abspath(out_dir))   # "." or "a/.." get a real name and parent; links are not resolved
    if not out.name:
        raise VoteauditError(f"cannot publish into {out_dir}: give a directory below the file-system root")
    staging.check_target(out)
    tmp = staging.make_staging(out)
    try:
        result = _write_site(store, SiteWriter(tmp), step=step, title=title, shard_size=shard_size, sheets=sheets,
                             report=report, report_options=report_options, election_date=election_date,
                             nist_gzip=nist_gzip, nist=nist, sign=sign, contest=contest)
        step("swapping the new release in")
        staging.swap(tmp, out)
    except BaseException:
        staging.discard(tmp)
        raise
    return {"out": str(Path(out_dir)), **result}


def _write_site(store: Store, w: SiteWriter, *, step: Callable[[str], None], title: str, shard_size: int,
                sheets: Mapping[Any, str] | None, report: bool, report_options: dict[str, Any] | None,
                election_date: str | None, nist_gzip: bool | None, nist: bool | None,
                sign: SigningKey | None, contest: str | None = None) -> dict[str, Any]:
    out = w.root
    step("reading records")
    recs = collect(store, sheets=attach_sheets(w, sheets), contest=contest)
    if not len(recs):
        raise VoteauditError(f"{store.url} holds no records to publish: ingest a source first")
    step(f"hashing {len(recs):,} records")
    rec_hex, leaves = hash_records(recs)
    starts, ordinal = unit_runs(recs)
    unit_ids = recs.column("unit").take(pa.array(starts))
    places = [pc.unique(recs.column(f"a{k}")).drop_null() for k in range(recs.depth)]
    table_ids = unit_ids.to_pylist()
    labels = store.labels([x for a in places for x in a.to_pylist()] + table_ids)
    label = json_strings(pa.array([labels.get(u) or "" for u in table_ids], pa.string()))
    del table_ids
    step("writing table shards")
    root, shards = write_shards(w, recs, leaves, labels, shard_size, starts, ordinal, label)
    step("writing the look-up index")
    counts = lookup.build(w, recs, labels, starts, label)
    generated = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    doc = {"format": FORMAT, "title": title, "generated_at": generated, "generator": f"voteaudit {__version__}",
           "root": root, "tree_size": len(leaves), "shard_size": shard_size, "shards": shards,
           "levels": recs.levels, "sources": [s.to_json() for s in recs.sources], **counts}
    w.data("root", doc)
    step("writing bulk data")
    downloads, no_cdf = write_bulk(w, store, recs, rec_hex, labels, title=title, election_date=election_date,
                                   nist_gzip=nist_gzip, nist=nist, contest=contest)
    if report:
        from voteaudit.report.build import write_report

        step("writing the report")
        options = {"analyse": len(recs) <= ANALYSE_MAX, **(report_options or {})}
        write_report(store, out, title=title, step=step, contest=contest, **options)
        for p in sorted(out.rglob("*")):
            rel = p.relative_to(out).as_posix()
            if p.is_file() and rel not in w.files:
                w.adopt(rel)
    _assets(w)
    _pages(w, doc, downloads)
    step("writing manifest.json")
    key = None if sign is None else {"algorithm": ALGORITHM, "public_key": sign.public.raw.hex(),
                                     "fingerprint": sign.public.fingerprint}
    digest = write_manifest(w, doc, recs, rec_hex, key)
    release = release_root(root, digest)
    rel_json, rel_js = release_bytes(release_doc(root, digest, key, None if sign is None else
                                                 sign.sign(release).hex()))
    (out / "release.json").write_bytes(rel_json)
    (out / "release.js").write_bytes(rel_js)
    own = sum((out / name).stat().st_size for name in OWN)
    return {"root": release, "records_root": root, "tree_size": len(leaves), "records": len(leaves),
            "shards": shards, "files": len(w.files) + len(OWN), "bytes": sum(f["bytes"] for f in w.files.values())
            + own, "manifest_sha256": digest, "key_fingerprint": None if sign is None else sign.public.fingerprint,
            "nist_skipped": no_cdf, **counts}


def sheets_from_csv(path: Path, *, units: list[str] | None, url: str, source: str | None = None) -> dict[Any, str]:
    """Tally-sheet links from a CSV: raw key columns ``units`` (normalised as ingest does them), or with
    ``units=None`` a column ``unit`` of voteaudit unit ids; ``url`` names the image column."""
    import csv
    import gzip

    from voteaudit.model import InputError
    from voteaudit.names import unit_id

    opener = gzip.open if str(path).endswith(".gz") else open
    out: dict[Any, str] = {}
    needed = [*(units or ["unit"]), url]
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"no column {missing[0]!r}", file=str(path), row=1, field=missing[0])
        for row in reader:
            if row[url] and row[url].strip():
                uid = unit_id([row[c] for c in units]) if units else row["unit"].strip()
                out[(source, uid) if source else uid] = row[url].strip()
    return out
