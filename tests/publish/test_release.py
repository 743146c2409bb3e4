"""The release root commits to every file, a signed release resists a consistent forgery, and ``verify``
says what anchor it checked (issue 13, defect 4)."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
from pathlib import Path

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from voteaudit.cli.publish import keys_app, publish_command, verify_command
from voteaudit.model import VoteauditError
from voteaudit.publish import publish, verify
from voteaudit.publish.keys import SigningKey, load_public, new_key_pair
from voteaudit.publish.manifest import OWN
from voteaudit.store import open_store


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def forge(site: Path, rel: str, data: bytes, key: SigningKey | None = None) -> None:
    """Replace ``rel`` and recompute everything a forger can: the manifest's entry, manifest.sha256, the
    release root and release.json/.js (re-signed with ``key``, the forger's own, if given)."""
    (site / rel).write_bytes(data)
    man = json.loads((site / "manifest.json").read_bytes())
    if rel in man["files"]:
        man["files"][rel] = {"sha256": _sha(data), "bytes": len(data)}
    if key is not None:
        man["signing_key"] = {"algorithm": "Ed25519", "public_key": key.public.raw.hex(),
                              "fingerprint": key.public.fingerprint}
    raw = json.dumps(man, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    (site / "manifest.json").write_bytes(raw)
    digest = _sha(raw)
    (site / "manifest.sha256").write_text(f"{digest}  manifest.json\n")
    records_root = man["merkle"]["root"]
    root = _sha(b"\x02" + bytes.fromhex(records_root) + bytes.fromhex(digest))
    rel_doc = json.loads((site / "release.json").read_bytes())
    rel_doc.update(root=root, manifest_sha256=digest)
    if "signature" in rel_doc or key is not None:
        sig = rel_doc.get("signature", {})
        sig.update(man.get("signing_key", {}), signed=f"voteaudit-release/2 root {root}")
        if key is not None:
            sig["value"] = key.sign(root).hex()
        rel_doc["signature"] = sig
    body = json.dumps(rel_doc, ensure_ascii=False, separators=(",", ":")).encode()
    (site / "release.json").write_bytes(body + b"\n")
    (site / "release.js").write_bytes(b'voteauditData("release",' + body + b");\n")


@pytest.fixture(scope="module")
def keypair(tmp_path_factory) -> tuple[Path, Path]:
    path = tmp_path_factory.mktemp("keys") / "publisher"
    new_key_pair(path)
    return path, path.with_name("publisher.pub")


@pytest.fixture(scope="module")
def signed_site(evil_db, keypair, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("signed") / "site"
    with open_store(evil_db, read_only=True) as store:
        doc = publish(store, out, shard_size=4, sign=SigningKey(keypair[0]), report=True)
    return out, doc


def _copy(site: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(site, dst)
    return dst


def test_keys_new_writes_a_private_key_only_its_owner_reads(tmp_path):
    pub = new_key_pair(tmp_path / "k")
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert load_public(tmp_path / "k.pub") == pub == SigningKey(tmp_path / "k").public
    assert len(pub.fingerprint) == 64
    with pytest.raises(VoteauditError, match="exists"):
        new_key_pair(tmp_path / "k")
    with pytest.raises(VoteauditError, match="private key"):
        load_public(tmp_path / "k")
    other = new_key_pair(tmp_path / "other")
    assert other.fingerprint != pub.fingerprint


def test_signed_release_verifies_against_its_key_and_root(signed_site, keypair):
    site, doc = signed_site
    key = load_public(keypair[1])
    assert doc["key_fingerprint"] == key.fingerprint
    res = verify(site, key=key)
    assert res.ok and res.signed and res.anchor == "key", res.to_dict()
    assert verify(site, root=doc["root"]).ok
    assert not verify(site, root="ab" * 32).ok
    # the records-only Merkle root is not accepted as the anchor: it does not cover the files
    bad = verify(site, root=doc["records_root"])
    assert not bad.ok and any("records-only" in p for p in bad.problems)


def test_the_manifest_lists_every_file_of_the_site(signed_site):
    site, _ = signed_site
    listed = set(json.loads((site / "manifest.json").read_bytes())["files"])
    every = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert listed == every - set(OWN)
    for rel in ("report.html", "summary.json", "bulk/records.csv", "assets/verify.js", "assets/site.js",
                "search/index.json", "root.js", "tables/000000.js", "data/summary-regions.csv"):
        assert rel in listed, rel
    assert any(r.startswith("data/") and r.endswith(".csv") and r != "data/summary-regions.csv" for r in listed)


@pytest.mark.parametrize("rel", ["bulk/records.csv", "assets/verify.js", "report.html", "summary.json"])
def test_a_consistent_forgery_fails_the_key_and_the_root(signed_site, keypair, tmp_path, rel):
    site, doc = signed_site
    key = load_public(keypair[1])
    work = _copy(site, tmp_path)
    forge(work, rel, (work / rel).read_bytes() + b"1000 more votes\n")
    kept = verify(work, key=key)
    assert not kept.ok and any("not a valid signature" in p for p in kept.problems)
    assert not verify(work, root=doc["root"]).ok
    # the forger signs with a key of their own: consistent again, but not the publisher's key
    work2 = _copy(site, tmp_path / "b")
    new_key_pair(tmp_path / "forger")
    forge(work2, rel, (work2 / rel).read_bytes() + b"x", key=SigningKey(tmp_path / "forger"))
    assert verify(work2).ok
    res = verify(work2, key=key)
    assert not res.ok and any("not by the given key" in p for p in res.problems)


def test_a_consistent_forgery_of_an_unsigned_release_is_only_caught_by_the_root(evil_site, tmp_path):
    site, doc = evil_site
    work = _copy(site, tmp_path)
    forge(work, "bulk/records.csv", (work / "bulk/records.csv").read_bytes() + b"1000 more votes\n")
    res = verify(work)
    assert res.ok and res.anchor is None and res.root != doc["root"]
    assert not verify(work, root=doc["root"]).ok


def test_an_unsigned_release_fails_a_key_check(evil_site, keypair):
    res = verify(evil_site[0], key=load_public(keypair[1]))
    assert not res.ok and any("not signed" in p for p in res.problems)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_change_to_any_file_fails_the_announced_root(signed_site, tmp_path_factory, data):
    """Property over every file of the site: change a byte, re-hash what a forger can re-hash; the release
    root recomputed from the copy is no longer the announced one."""
    site, doc = signed_site
    names = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    rel = data.draw(st.sampled_from(names), label="file")
    raw = bytearray((site / rel).read_bytes())
    i = data.draw(st.integers(0, max(len(raw) - 1, 0)), label="at")
    if raw and data.draw(st.booleans(), label="flip"):
        raw[i] ^= data.draw(st.integers(1, 255), label="xor")
    else:
        raw.insert(i, data.draw(st.integers(0, 255), label="byte"))
    work = tmp_path_factory.mktemp("p") / "site"
    shutil.copytree(site, work)
    if rel in OWN:
        (work / rel).write_bytes(bytes(raw))
    else:
        forge(work, rel, bytes(raw))
    res = verify(work, root=doc["root"])
    assert not res.ok, (rel, res.to_dict())
    shutil.rmtree(work.parent)


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.command("publish")(publish_command)
    app.command("verify")(verify_command)
    app.add_typer(keys_app, name="keys")
    return app


def test_cli_keys_sign_and_verify(evil_db, tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli_app(), ["keys", "new", "--out", str(tmp_path / "pub"), "--json"])
    assert r.exit_code == 0, r.output
    fp = json.loads(r.stdout)["fingerprint"]
    out = tmp_path / "site"
    r = runner.invoke(cli_app(), ["publish", "--out", str(out), "--db", str(evil_db), "--json", "--no-report",
                                  "--sign", str(tmp_path / "pub")])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["key_fingerprint"] == fp and doc["root"] != doc["records_root"]
    r = runner.invoke(cli_app(), ["verify", str(out)])
    assert r.exit_code == 0
    text = " ".join(r.stdout.split())
    assert "that is all this proves" in text and doc["root"] in text and fp in text
    r = runner.invoke(cli_app(), ["verify", str(out), "--key", str(tmp_path / "pub.pub")])
    assert r.exit_code == 0 and fp in " ".join(r.stdout.split()) and "that is all" not in r.stdout
    r = runner.invoke(cli_app(), ["verify", str(out), "--root", doc["root"], "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["anchor"] == "root"
    r = runner.invoke(cli_app(), ["verify", str(out), "--root", "00" * 32])
    assert r.exit_code == 1 and "not the announced" in " ".join(r.stderr.split())
    r = runner.invoke(cli_app(), ["verify", str(out), "--key", str(tmp_path / "pub")])
    assert r.exit_code == 2 and "private key" in r.stderr
