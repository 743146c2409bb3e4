"""``manifest.json``: what a publication contains, so anyone can prove nothing was changed, added or removed.

    {"format": "voteaudit-publication/2", "generated_at", "generator", "title",
     "hash": "sha256",
     "merkle": {"root", "tree_size", "shard_size", "shards", "leaf", "node", "order", "record", "release"},
     "files": {path: {"sha256", "bytes"}},          EVERY file of the site except the OWN files below
     "signing_key": {"algorithm", "public_key", "fingerprint"},   only in a signed release
     "records": [[source, unit, copy, sha256], ...]} every record in leaf order; sha256 of its canonical bytes

``merkle.root`` is the records' Merkle root (what a table's inclusion proof leads to). The **release
root**, the one value to announce, commits to everything:

    release root = SHA-256(0x02 || records' Merkle root || SHA-256(manifest.json))

manifest.json lists the sha256 of every other file (report, summary, bulk and data downloads, labels,
look-up index, shards, pages, scripts including the verifier itself), so changing any byte of the site
changes the release root. The OWN files are derived and checked byte for byte by ``verify``:
``manifest.sha256`` (``<sha256>  manifest.json``, sha256sum format) and ``release.json``/``release.js``
(the release root, its two inputs and, when signed, the Ed25519 signature of the release root — the
detached signature; see :mod:`voteaudit.publish.keys`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa

from voteaudit.publish.records import RecordSet, join, json_strings, text_bytes
from voteaudit.publish.writer import SiteWriter, compact, js_safe_bytes

FORMAT = "voteaudit-publication/2"
FORMATS = (FORMAT, "voteaudit-publication/1")   # earlier publications publish may replace
OWN = ("manifest.json", "manifest.sha256", "release.json", "release.js")
RELEASE = "voteaudit-release/2"
TREE = {
    "leaf": "SHA-256(0x00 || canonical record bytes)",
    "node": "SHA-256(0x01 || left || right)",
    "tree": "RFC 6962 / RFC 9162 section 2.1 Merkle Tree Hash over the records in leaf order",
    "order": "records sorted by unit id (UTF-8 byte order), then source order, then copy number",
    "record": "UTF-8 JSON array [source, kind, unit, copy, registered, cast, valid, null, blank, candidates, "
              "votes, flags, sheet], no whitespace, minimal RFC 8259 string escaping (JSON.stringify)",
    "release": "release root = SHA-256(0x02 || this Merkle root || SHA-256(manifest.json)); it commits to every "
               "file listed here and to every record",
}


def release_root(records_root: str, manifest_sha256: str) -> str:
    """The release root (hex) from the records' Merkle root and the manifest's sha256 (both hex)."""
    return hashlib.sha256(b"\x02" + bytes.fromhex(records_root) + bytes.fromhex(manifest_sha256)).hexdigest()


def release_doc(records_root: str, manifest_sha256: str, key: dict[str, str] | None,
                signature: str | None) -> dict[str, Any]:
    """The content of ``release.json``: everything in it follows from the manifest except the signature."""
    root = release_root(records_root, manifest_sha256)
    doc: dict[str, Any] = {"format": RELEASE, "root": root, "records_root": records_root,
                           "manifest_sha256": manifest_sha256, "rule": TREE["release"]}
    if key is not None:
        doc["signature"] = {**key, "signed": f"{RELEASE} root {root}", "value": signature}
    return doc


def release_bytes(doc: dict[str, Any]) -> tuple[bytes, bytes]:
    """(release.json, release.js) bytes for a :func:`release_doc`."""
    data = compact(doc).encode("utf-8")
    return data + b"\n", b"".join([b'voteauditData("release",', js_safe_bytes(data), b");\n"])


def write_manifest(w: SiteWriter, doc: dict[str, Any], recs: RecordSet, rec_hex: pa.Array,
                   key: dict[str, str] | None = None) -> str:
    """Write manifest.json and manifest.sha256; return the manifest's sha256 (``key``: the signing key's
    algorithm, public key and fingerprint, for a signed release).

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
    if key is not None:
        manifest["signing_key"] = key
    data = b"".join([compact(manifest)[:-1].encode("utf-8"), b',"records":[', listed, b"]}\n"])
    (w.root / "manifest.json").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    (w.root / "manifest.sha256").write_bytes(f"{digest}  manifest.json\n".encode())
    return digest
