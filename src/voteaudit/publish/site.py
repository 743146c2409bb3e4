"""``voteaudit publish``: a static, tamper-evident release any web server, CDN or USB stick can host.

Layout of ``DIR`` (every path is chosen here; no user-supplied string ever becomes a path except through
:func:`~voteaudit.publish.writer.safe_name`):

    index.html  table.html  verify.html  assets/      the look-up and verify pages (no CDN, no fonts)
    report.html  summary.json  data/                  the report (``voteaudit.report.build.write_report``)
    root.json(.js)                                    Merkle root, tree size, shard size, sources, levels
    tables/NNNNNN.json(.js)                           records of leaves [N*S, N*S+S) + the shard's audit path
    search/  places/                                  the sharded look-up index (see ``lookup``)
    bulk/records.csv  bulk/records.parquet            every record, with its leaf index and sha256
    bulk/<source>.cdf.json[.gz]                       each source as NIST SP 1500-100 CDF JSON
    manifest.json  manifest.sha256                    sha256 of every file and record; the Merkle root

A table's page is ``table.html#<unit id>``: tables are bundled ``S`` records to a shard file (default 256,
a power of two so each shard is a node of the Merkle tree) rather than one file per table.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from jinja2 import Environment, PackageLoader, select_autoescape

from voteaudit import __version__
from voteaudit.model import VoteauditError
from voteaudit.publish import lookup, merkle
from voteaudit.publish.manifest import FORMAT, write_manifest
from voteaudit.publish.nist_export import write_cdf
from voteaudit.publish.records import PER_UNIT, RecordSet, canonical_bytes, collect
from voteaudit.publish.writer import SiteWriter, check_listed, safe_name
from voteaudit.store.base import Store

ASSETS = ("site.css", "common.js", "site.js", "verify.js")
NIST_GZIP_ABOVE = 250_000
FAVICON = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63"
                        "f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082")  # a 1x1 PNG


def _prepare(out: Path) -> None:
    """``out`` must be empty, new, or a previous publication (whose listed files are removed)."""
    out.mkdir(parents=True, exist_ok=True)
    if not any(out.iterdir()):
        return
    manifest = out / "manifest.json"
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))
        assert old.get("format") == FORMAT
    except (OSError, ValueError, AssertionError):
        raise VoteauditError(f"{out} is not empty and holds no earlier publication (manifest.json): "
                             "choose an empty directory") from None
    for rel in [*old.get("files", {}), "manifest.json", "manifest.sha256"]:
        try:
            (out / check_listed(rel)).unlink(missing_ok=True)
        except ValueError:
            continue
    for dirpath, _, _ in sorted(os.walk(out), key=lambda t: -len(t[0])):
        if Path(dirpath) != out and not any(Path(dirpath).iterdir()):
            Path(dirpath).rmdir()
    left = [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() or p.is_symlink()]
    if left:
        raise VoteauditError(f"{out} holds files that are not part of the earlier publication "
                             f"({', '.join(sorted(left)[:5])}): move them or choose an empty directory")


def hash_records(recs: RecordSet) -> tuple[list[str], list[bytes]]:
    """(sha256 hex of each record's canonical bytes, Merkle leaf hash of each record)."""
    sha = hashlib.sha256
    rec_hex, leaves = [], []
    for row in recs.rows:
        data = canonical_bytes(recs.sources, row)
        rec_hex.append(sha(data).hexdigest())
        leaves.append(sha(b"\x00" + data).digest())
    return rec_hex, leaves


def write_shards(w: SiteWriter, recs: RecordSet, leaves: list[bytes], labels: dict[str, str],
                 shard_size: int) -> tuple[str, int]:
    """``tables/NNNNNN`` shards with each shard's audit path; returns (root hex, number of shards)."""
    n = len(leaves)
    shard_roots = [merkle.root(leaves[a:a + shard_size]) for a in range(0, n, shard_size)]
    top = merkle.levels(shard_roots) if shard_roots else [[merkle.root([])]]
    root = top[-1][0].hex()
    heads = [s.to_json() for s in recs.sources]
    for k, start in enumerate(range(0, n, shard_size)):
        rows = recs.rows[start:start + shard_size]
        units = {}
        for row in rows:
            uid = row[1]
            if uid not in units:
                units[uid] = {"label": labels.get(uid) or "",
                              "ancestors": [[a, labels.get(a) or a] for a in recs.paths.get(uid, [])]}
        w.data(f"tables/{k:06d}", {
            "format": "voteaudit-shard/1", "shard": k, "first_leaf": start, "tree_size": n, "root": root,
            "shard_root": shard_roots[k].hex(), "subtree_path": [h.hex() for h in merkle.path(top, k)],
            "sources": heads, "units": units, "records": rows,
        })
    return root, len(shard_roots)


def write_bulk(w: SiteWriter, store: Store, recs: RecordSet, rec_hex: list[str], labels: dict[str, str], *,
               title: str, election_date: str | None, nist_gzip: bool | None) -> list[dict[str, str]]:
    """Every record as CSV and Parquet, and each source as NIST CDF JSON; returns the download list."""
    cands = list(dict.fromkeys(c for s in recs.sources for c in s.candidates))
    pos = {c: j for j, c in enumerate(cands)}
    rows = recs.rows
    cols: dict[str, pa.Array] = {
        "leaf": pa.array(range(len(rows)), pa.int64()),
        "source": pa.array([recs.sources[r[0]].name for r in rows], pa.string()),
        "kind": pa.array([recs.sources[r[0]].kind for r in rows], pa.string()),
        "unit": pa.array([r[1] for r in rows], pa.string()),
        "copy": pa.array([r[2] for r in rows], pa.int32()),
    }
    for k, level in enumerate(recs.levels[:-1]):
        paths = [recs.paths.get(r[1], []) for r in rows]
        cols[f"{level} (id)" if level in cols else level] = pa.array(
            [p[k] if k < len(p) else None for p in paths], pa.string())
    for j, key in enumerate(PER_UNIT):
        cols[key if key not in cols else f"{key} (count)"] = pa.array([r[3 + j] for r in rows], pa.int64())
    matrix: list[list[int | None]] = [[None] * len(rows) for _ in cands]
    for i, r in enumerate(rows):
        for c, v in zip(recs.sources[r[0]].candidates, r[8], strict=True):
            matrix[pos[c]][i] = v
    names = list(cols)
    for c, values in zip(cands, matrix, strict=True):
        name = c if c not in names else f"{c} (votes)"
        names.append(name)
        cols[name] = pa.array(values, pa.int64())
    cols["flags"] = pa.array([";".join(r[9]) for r in rows], pa.string())
    cols["sheet"] = pa.array([r[10] for r in rows], pa.string())
    cols["record_sha256"] = pa.array(rec_hex, pa.string())
    table = pa.table(cols)
    (w.root / "bulk").mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, str(w.root / "bulk/records.csv"))
    pq.write_table(table, str(w.root / "bulk/records.parquet"))
    w.adopt("bulk/records.csv")
    w.adopt("bulk/records.parquet")
    files = [{"label": "Every record (CSV)", "href": "bulk/records.csv"},
             {"label": "Every record (Parquet)", "href": "bulk/records.parquet"}]
    for s in recs.sources:
        m = store.matrix(s.name)
        gz = nist_gzip if nist_gzip is not None else m.n_units > NIST_GZIP_ABOVE
        rel = f"bulk/{safe_name(s.name)}.cdf.json" + (".gz" if gz else "")
        write_cdf(m, labels, w.root / rel, title=title, election_date=election_date, gzipped=gz)
        w.adopt(rel)
        files.append({"label": f"{s.name}: NIST SP 1500-100 CDF JSON" + (" (gzip)" if gz else ""), "href": rel})
    return files


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
            nist_gzip: bool | None = None) -> dict[str, Any]:
    """Write the site into ``out_dir`` (empty, or a previous publication); return what was published.

    ``shard_size`` (a power of two) records per ``tables/`` file; ``sheets`` maps a unit id or a
    (source, unit id) pair to a tally-sheet image: a local image file (copied into ``sheets/``) or a URL;
    ``report_options`` go to ``write_report`` (e.g. ``geojson``); ``election_date`` (YYYY-MM-DD) goes
    into the CDF export; ``nist_gzip`` compresses it (default: above 250,000 tables).
    """
    if shard_size < 1 or shard_size & (shard_size - 1):
        raise VoteauditError(f"shard size must be a power of two, not {shard_size}")
    out = Path(out_dir)
    _prepare(out)
    w = SiteWriter(out)
    step("reading records")
    recs = collect(store, sheets=attach_sheets(w, sheets))
    if not recs.rows:
        raise VoteauditError(f"{store.url} holds no records to publish: ingest a source first")
    step(f"hashing {len(recs):,} records")
    rec_hex, leaves = hash_records(recs)
    wanted = list(dict.fromkeys([*recs.paths, *(a for p in recs.paths.values() for a in p)]))
    labels = store.labels(wanted)
    step("writing table shards")
    root, shards = write_shards(w, recs, leaves, labels, shard_size)
    step("writing the look-up index")
    counts = lookup.build(w, recs, labels)
    generated = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    doc = {"format": FORMAT, "title": title, "generated_at": generated, "generator": f"voteaudit {__version__}",
           "root": root, "tree_size": len(leaves), "shard_size": shard_size, "shards": shards,
           "levels": recs.levels, "sources": [s.to_json() for s in recs.sources], **counts}
    w.data("root", doc)
    step("writing bulk data")
    downloads = write_bulk(w, store, recs, rec_hex, labels, title=title, election_date=election_date,
                           nist_gzip=nist_gzip)
    if report:
        from voteaudit.report.build import write_report

        step("writing the report")
        write_report(store, out, title=title, step=step, **(report_options or {}))
        for p in sorted(out.rglob("*")):
            rel = p.relative_to(out).as_posix()
            if p.is_file() and rel not in w.files:
                w.adopt(rel)
    _assets(w)
    _pages(w, doc, downloads)
    step("writing manifest.json")
    digest = write_manifest(w, doc, recs, rec_hex)
    return {"out": str(out), "root": root, "tree_size": len(leaves), "records": len(leaves), "shards": shards,
            "files": len(w.files) + 2, "bytes": sum(f["bytes"] for f in w.files.values())
            + (out / "manifest.json").stat().st_size + (out / "manifest.sha256").stat().st_size,
            "manifest_sha256": digest, **counts}


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
