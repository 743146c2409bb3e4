"""``voteaudit verify DIR``: recompute a publication and name exactly what was changed, added or removed.

Checks, in order: ``manifest.sha256`` matches ``manifest.json`` (and ``--expect`` if given); every file
the manifest lists exists with its sha256; no file exists that it does not list; every record in the
``tables/`` shards serialises to the hash the manifest lists for it, and none is missing or extra; the
Merkle root recomputed from the records, each shard's root and audit path, and ``root.json`` all agree
with the manifest (and ``--root`` if given). ``record=UNIT`` instead checks only that unit's records'
inclusion proofs against the root (what a voter's browser does), and returns the proofs.
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
from voteaudit.publish.manifest import FORMAT
from voteaudit.publish.records import SourceHead, canonical_bytes
from voteaudit.publish.writer import check_listed

_CHECKSUM = re.compile(r"([0-9a-f]{64})  manifest\.json\n")
OWN = ("manifest.json", "manifest.sha256")


@dataclass
class VerifyResult:
    site: str
    ok: bool = True
    root: str | None = None
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
    if expect and expect.lower() != digest:
        res.fail(f"manifest.json has sha256 {digest}, expected {expect}")
    try:
        doc = json.loads(data)
        assert isinstance(doc, dict) and doc.get("format") == FORMAT
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
        res.root = top[-1][0].hex()
        if res.root != root:
            res.fail(f"Merkle root recomputed from the records is {res.root}; manifest says {root}")
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


def verify(site_dir: Path, *, record: str | None = None, root: str | None = None,
           expect: str | None = None) -> VerifyResult:
    """Verify a publication (or, with ``record``, one unit's inclusion proofs); see the module docstring.

    ``root``: the Merkle root the publisher announced (default: the manifest's); ``expect``: the
    announced sha256 of manifest.json.
    """
    site = Path(site_dir)
    res = VerifyResult(str(site))
    if not site.is_dir():
        res.fail(f"{site} is not a directory")
        return res.finish()
    doc = _load_manifest(site, res, expect)
    if doc is None:
        return res.finish()
    published = doc["merkle"]["root"]
    if root and root.lower() != published:
        res.fail(f"manifest's Merkle root {published} is not the expected {root}")
    if record is not None:
        prove(site, record, (root or published).lower(), res)
        res.root = (root or published).lower()
        return res.finish()
    _check_files(site, doc, res)
    try:
        _check_records(site, doc, res)
    except (ValueError, KeyError, TypeError) as exc:
        res.fail(f"manifest.json is malformed: {exc}")
    return res.finish()
