"""``manifest.json``: what a publication contains, so anyone can prove nothing was changed, added or removed.

    {"format": "voteaudit-publication/1", "generated_at", "generator", "title",
     "hash": "sha256",
     "merkle": {"root", "tree_size", "shard_size", "shards", "leaf", "node", "order", "record"},
     "files": {path: {"sha256", "bytes"}},          every file of the site except the two manifest files
     "records": [[source, unit, copy, sha256], ...]} every record in leaf order; sha256 of its canonical bytes

``manifest.sha256`` holds ``<sha256 of manifest.json>  manifest.json`` (sha256sum format): publish it,
or the Merkle root, somewhere the publisher cannot silently edit (a signed post, a newspaper) — that is
the anchor every later check compares against.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa

from voteaudit.publish.records import RecordSet, join, json_strings, text_bytes
from voteaudit.publish.writer import SiteWriter, compact

FORMAT = "voteaudit-publication/1"
TREE = {
    "leaf": "SHA-256(0x00 || canonical record bytes)",
    "node": "SHA-256(0x01 || left || right)",
    "tree": "RFC 6962 / RFC 9162 section 2.1 Merkle Tree Hash over the records in leaf order",
    "order": "records sorted by unit id (UTF-8 byte order), then source order, then copy number",
    "record": "UTF-8 JSON array [source, kind, unit, copy, registered, cast, valid, null, blank, candidates, "
              "votes, flags, sheet], no whitespace, minimal RFC 8259 string escaping (JSON.stringify)",
}


def write_manifest(w: SiteWriter, doc: dict[str, Any], recs: RecordSet, rec_hex: pa.Array) -> str:
    """Write manifest.json and manifest.sha256; return the manifest's sha256.

    The ``records`` list (one entry per record) is joined column-wise and spliced into the document."""
    names = json_strings(pa.array([s.name for s in recs.sources], pa.string())).take(recs.table.column("src"))
    records = join("[", names, ",", recs.column("unit_json"), ",", recs.column("copy").cast(pa.string()), ',"',
                   rec_hex.cast(pa.large_string()), '"],').cast(pa.large_string())
    listed = text_bytes(records)[:-1]
    manifest = {
        "format": FORMAT, "generated_at": doc["generated_at"], "generator": doc["generator"], "title": doc["title"],
        "hash": "sha256",
        "merkle": {"root": doc["root"], "tree_size": doc["tree_size"], "shard_size": doc["shard_size"],
                   "shards": doc["shards"], **TREE},
        "files": dict(sorted(w.files.items())),
    }
    data = b"".join([compact(manifest)[:-1].encode("utf-8"), b',"records":[', listed, b"]}\n"])
    (w.root / "manifest.json").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    (w.root / "manifest.sha256").write_bytes(f"{digest}  manifest.json\n".encode())
    return digest
