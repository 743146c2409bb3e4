"""``voteaudit verify DIR``: recompute a publication and name exactly what was changed, added or removed.

Checks, in order: ``manifest.sha256`` matches ``manifest.json`` (and ``--expect`` if given); every file
the manifest lists exists with its sha256; no file exists that it does not list; every record in the
``tables/`` shards serialises to the hash the manifest lists for it, and none is missing or extra; the
records' Merkle root recomputed from the records, each shard's root and audit path, and ``root.json``
all agree with the manifest; ``release.json``/``.js`` are exactly what the manifest implies and a
signed release's signature is valid under the key the manifest names. ``record=UNIT`` instead checks
only that unit's records' inclusion proofs (what a voter's browser does), and returns the proofs.

All of that is **internal consistency**: whoever can write the site can recompute every hash. Only
an anchor from outside authenticates a release: ``root`` (the release root the publisher announced,
recomputed here from the records and the manifest, never read from the site) or ``key`` (the
publisher's public key, whose signature of the recomputed release root must be valid).
``VerifyResult.anchor`` says which one was checked (None: consistency only).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voteaudit.ingest import sha256_file
from voteaudit.publish import lookup, merkle
from voteaudit.publish.keys import ALGORITHM, PublicKey
from voteaudit.publish.manifest import FORMAT, OWN, release_bytes, release_doc, release_root
from voteaudit.publish.records import SourceHead, canonical_bytes
from voteaudit.publish.writer import check_listed

_CHECKSUM = re.compile(r"([0-9a-f]{64})  manifest\.json\n")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")


@dataclass
class VerifyResult:
    site: str
    ok: bool = True
    root: str | None = None               # the release root recomputed from the records and the manifest
    records_root: str | None = None       # the records' Merkle root recomputed from the shards
    manifest_sha256: str | None = None
    key_fingerprint: str | None = None    # of the key a signed release names
    signed: bool = False                  # the release carries a signature valid under that key
    anchor: str | None = None             # "root" or "key": what outside anchor was checked; None: none
    changed: list[str] = field(default_factory=list)           # files whose bytes differ
    added: list[str] = field(default_factory=list)             # files the manifest does not list
    removed: list[str] = field(default_factory=list)           # listed files that are missing
    records_changed: list[str] = field(default_factory=list)   # "source unit #copy"
    records_added: list[str] = field(default_factory=list)
    records_removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    records_checked: int = 0
    proofs: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.problems.append(problem)

    def finish(self) -> VerifyResult:
        self.ok = not (self.changed or self.added or self.removed or self.records_changed or self.records_added
                       or self.records_removed or self.problems)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _load_manifest(site: Path, res: VerifyResult, expect: str | None) -> dict[str, Any] | None:
    try:
        data = (site / "manifest.json").read_bytes()
    except OSError:
        res.removed.append("manifest.json")
        res.fail("manifest.json is missing: nothing to verify against")
        return None
    digest = hashlib.sha256(data).hexdigest()
    try:
        line = (site / "manifest.sha256").read_bytes().decode("ascii")
        m = _CHECKSUM.fullmatch(line)
        if not m:
            res.changed.append("manifest.sha256")
            res.fail("manifest.sha256 is not '<64 hex>  manifest.json'")
        elif m.group(1) != digest:
            res.changed.append("manifest.json")
            res.fail(f"manifest.json has sha256 {digest}, manifest.sha256 says {m.group(1)}")
    except OSError:
        res.removed.append("manifest.sha256")
    except UnicodeDecodeError:
        res.changed.append("manifest.sha256")
    res.manifest_sha256 = digest
    if expect and expect.lower() != digest:
        res.fail(f"manifest.json has sha256 {digest}, expected {expect}")
    try:
        doc = json.loads(data)
        assert isinstance(doc, dict)
        if doc.get("format") == "voteaudit-publication/1":
            res.fail("this is a voteaudit-publication/1 site, whose root does not cover its files: publish it again")
            return None
        assert doc.get("format") == FORMAT
        assert isinstance(doc["files"], dict) and isinstance(doc["records"], list)
        assert isinstance(doc["merkle"]["root"], str)
    except (ValueError, KeyError, TypeError, AssertionError):
        res.fail(f"manifest.json is not a {FORMAT} manifest")
        return None
    return doc


def _walk(site: Path, res: VerifyResult) -> set[str]:
    found = set()
    for dirpath, dirnames, filenames in os.walk(site):
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            p = Path(dirpath) / name
            rel = p.relative_to(site).as_posix()
            if p.is_symlink():
                res.fail(f"{rel} is a symbolic link (a publication holds plain files only)")
            found.add(rel)
    return found


def _check_files(site: Path, doc: dict[str, Any], res: VerifyResult) -> None:
    listed: dict[str, Any] = doc["files"]
    found = _walk(site, res)
    for rel, meta in sorted(listed.items()):
        try:
            check_listed(rel)
        except ValueError:
            res.fail(f"manifest lists an unsafe path {rel!r}")
            continue
        path = site / rel
        if rel not in found or not path.is_file() or path.is_symlink():
            res.removed.append(rel)
            continue
        res.files_checked += 1
        if not isinstance(meta, dict) or sha256_file(path) != meta.get("sha256"):
            res.changed.append(rel)
    res.added += sorted(found - set(listed) - set(OWN))


def _shard(site: Path, k: int, res: VerifyResult) -> dict[str, Any] | None:
    rel = f"tables/{k:06d}.json"
    try:
        doc = json.loads((site / rel).read_bytes())
        doc["sources"] = [SourceHead(s["name"], s["kind"], list(s["candidates"])) for s in doc["sources"]]
        assert isinstance(doc["records"], list)
        return doc
    except FileNotFoundError:
        res.fail(f"{rel} is missing")
    except (ValueError, KeyError, TypeError, AssertionError, UnicodeDecodeError):
        res.fail(f"{rel} is not a readable shard")
    return None


def _leaves(shard: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    """(record key, sha256 hex, leaf hash) of every record of a shard."""
    out = []
    for row in shard["records"]:
        data = canonical_bytes(shard["sources"], row)
        key = f"{shard['sources'][row[0]].name} {row[1]} #{row[2]}"
        out.append((key, hashlib.sha256(data).hexdigest(), merkle.leaf_hash(data)))
    return out


def _check_records(site: Path, doc: dict[str, Any], res: VerifyResult) -> None:
    tree = doc["merkle"]
    root, size, shard_size = tree["root"], int(tree["tree_size"]), int(tree["shard_size"])
    expected = {f"{s} {u} #{c}": h for s, u, c, h in doc["records"]}
    seen: dict[str, str] = {}
    shard_roots: list[bytes] = []
    shard_docs = []
    for k in range(int(tree["shards"])):
        shard = _shard(site, k, res)
        if shard is None:
            shard_roots.append(b"")
            continue
        try:
            recs = _leaves(shard)
        except (ValueError, KeyError, TypeError, IndexError):
            res.fail(f"tables/{k:06d}.json holds a malformed record")
            shard_roots.append(b"")
            continue
        for key, h, _ in recs:
            seen[key] = h
        shard_roots.append(merkle.root([leaf for _, _, leaf in recs]))
        shard_docs.append((k, shard, len(recs)))
        res.records_checked += len(recs)
    for key, h in seen.items():
        if key not in expected:
            res.records_added.append(key)
        elif expected[key] != h:
            res.records_changed.append(key)
    res.records_removed += [k for k in expected if k not in seen]
    if len(expected) != size:
        res.fail(f"manifest lists {len(expected):,} records for a tree of {size:,}")
    if all(shard_roots):
        top = merkle.levels(shard_roots) if shard_roots else [[merkle.root([])]]
        res.records_root = top[-1][0].hex()
        if res.records_root != root:
            res.fail(f"Merkle root recomputed from the records is {res.records_root}; manifest says {root}")
        for k, shard, _n in shard_docs:
            if (shard.get("root") != root or shard.get("tree_size") != size or shard.get("first_leaf") != k * shard_size
                    or shard.get("shard_root") != shard_roots[k].hex()
                    or shard.get("subtree_path") != [h.hex() for h in merkle.path(top, k)]):
                res.fail(f"tables/{k:06d}.json: its root, position or audit path disagree with the manifest")
    try:
        published = json.loads((site / "root.json").read_bytes())
        if published.get("root") != root or published.get("tree_size") != size:
            res.fail("root.json disagrees with manifest.json")
    except (OSError, ValueError, AttributeError):
        res.fail("root.json is missing or unreadable")


def prove(site: Path, unit: str, root: str, res: VerifyResult) -> None:
    """Check every record of ``unit`` against ``root`` with its RFC 9162 inclusion proof."""
    try:
        entries = [e for e in lookup.find(site, "search", unit) if e[1] in (None, unit)]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        res.fail("the look-up index (search/) is missing or unreadable")
        return
    if not entries:
        res.fail(f"no table {unit!r} in this publication")
        return
    first, count = entries[0][4], entries[0][5]
    meta = json.loads((site / "root.json").read_bytes())
    shard_size = int(meta["shard_size"])
    for k in range(first // shard_size, (first + count - 1) // shard_size + 1):
        shard = _shard(site, k, res)
        if shard is None:
            return
        leaves = [leaf for _, _, leaf in _leaves(shard)]
        inner = merkle.levels(leaves)
        for i, row in enumerate(shard["records"]):
            if row[1] != unit:
                continue
            index = shard["first_leaf"] + i
            audit = merkle.path(inner, i) + [bytes.fromhex(h) for h in shard["subtree_path"]]
            ok = merkle.verify_inclusion(leaves[i], index, int(shard["tree_size"]), audit, bytes.fromhex(root))
            src = shard["sources"][row[0]]
            res.proofs.append({"record": f"{src.name} {unit} #{row[2]}", "leaf_index": index,
                               "tree_size": shard["tree_size"], "leaf_hash": leaves[i].hex(),
                               "audit_path": [h.hex() for h in audit], "root": root, "ok": ok,
                               "canonical": canonical_bytes(shard["sources"], row).decode("utf-8")})
            res.records_checked += 1
            if not ok:
                res.records_changed.append(f"{src.name} {unit} #{row[2]}")
                res.fail(f"record {src.name} {unit} #{row[2]}: inclusion proof does not lead to root {root}")


def _signing_key(doc: dict[str, Any], res: VerifyResult) -> PublicKey | None:
    key = doc.get("signing_key")
    if key is None:
        return None
    if (not isinstance(key, dict) or set(key) != {"algorithm", "public_key", "fingerprint"}
            or key["algorithm"] != ALGORITHM or not _HEX64.fullmatch(str(key["public_key"]))):
        res.fail("manifest.json names a malformed signing key")
        return None
    pub = PublicKey(bytes.fromhex(key["public_key"]))
    if key["fingerprint"] != pub.fingerprint:
        res.fail("manifest.json's signing key fingerprint does not match its public key")
    res.key_fingerprint = pub.fingerprint
    return pub


def _check_release(site: Path, doc: dict[str, Any], res: VerifyResult, root: str) -> None:
    """release.json/.js must be exactly what the manifest implies; a signature must be valid."""
    pub = _signing_key(doc, res)
    signature = None
    try:
        found = json.loads((site / "release.json").read_bytes())
        value = found.get("signature", {}).get("value") if isinstance(found, dict) else None
        if isinstance(value, str) and _HEX128.fullmatch(value):
            signature = value
    except (OSError, ValueError, AttributeError):
        pass
    if pub is not None:
        if signature is None:
            res.fail("release.json holds no readable signature, but the manifest names a signing key")
        elif not pub.verify(root, bytes.fromhex(signature)):
            res.fail(f"the signature in release.json is not a valid signature of release root {root} "
                     f"by key {pub.fingerprint}")
        else:
            res.signed = True
    expected = release_bytes(release_doc(doc["merkle"]["root"], res.manifest_sha256 or "", doc.get("signing_key"),
                                         signature))
    for name, data in zip(("release.json", "release.js"), expected, strict=True):
        try:
            if (site / name).is_symlink() or (site / name).read_bytes() != data:
                res.changed.append(name)
                res.fail(f"{name} is not what manifest.json implies")
        except OSError:
            res.removed.append(name)


def _check_anchor(res: VerifyResult, root: str | None, key: PublicKey | None) -> None:
    """Compare the recomputed release with the anchors given from outside."""
    if root is not None:
        res.anchor = "root"
        announced = root.strip().lower()
        if res.root is None:
            res.fail(f"the release root could not be recomputed, so this copy is not the announced {announced}")
        elif announced == res.root:
            pass
        elif announced == res.records_root:
            res.fail(f"{announced} is this site's records-only Merkle root, which does not cover its files: "
                     f"compare with the release root the publisher announced (this site's is {res.root})")
        else:
            res.fail(f"the release root recomputed from this site is {res.root}, not the announced {announced}")
    if key is not None:
        res.anchor = "key" if root is None else "root and key"
        if res.key_fingerprint is None:
            res.fail(f"this release is not signed (expected a signature by key {key.fingerprint})")
        elif res.key_fingerprint != key.fingerprint:
            res.fail(f"this release is signed by key {res.key_fingerprint}, not by the given key {key.fingerprint}")
        elif not res.signed:
            res.fail(f"this release has no valid signature by key {key.fingerprint}")


def verify(site_dir: Path, *, record: str | None = None, root: str | None = None,
           expect: str | None = None, key: PublicKey | None = None) -> VerifyResult:
    """Verify a publication (or, with ``record``, one unit's inclusion proofs); see the module docstring.

    ``root``: the release root the publisher announced; ``key``: the publisher's public key (see
    :mod:`voteaudit.publish.keys`); ``expect``: the announced sha256 of manifest.json. Without
    ``root`` or ``key`` the result is internal consistency only (``anchor`` None).
    """
    site = Path(site_dir)
    res = VerifyResult(str(site))
    if not site.is_dir() or site.is_symlink():
        res.fail(f"{site} is not a directory")
        return res.finish()
    doc = _load_manifest(site, res, expect)
    if doc is None:
        return res.finish()
    published = doc["merkle"]["root"]
    if not _HEX64.fullmatch(published):
        res.fail("manifest.json's Merkle root is not 64 lower-case hex digits")
        return res.finish()
    if record is not None:
        prove(site, record, published, res)
        res.records_root = published
    else:
        _check_files(site, doc, res)
        try:
            _check_records(site, doc, res)
        except (ValueError, KeyError, TypeError) as exc:
            res.fail(f"manifest.json is malformed: {exc}")
    if res.records_root is not None and res.manifest_sha256 is not None:
        res.root = release_root(res.records_root, res.manifest_sha256)
        _check_release(site, doc, res, res.root)
    _check_anchor(res, root, key)
    return res.finish()
