"""``publish``: layout, manifest, canonical records, hostile names, safe paths, ``verify`` and the CLI."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.publish.conftest import EVIL_A, EVIL_B, EVIL_PLACE, EVIL_SOURCE
from voteaudit.cli.publish import publish_command, verify_command
from voteaudit.model import VoteauditError
from voteaudit.publish import publish, verify
from voteaudit.publish.manifest import OWN
from voteaudit.publish.records import SourceHead, canonical_bytes
from voteaudit.publish.writer import check_rel, js_literal, safe_name
from voteaudit.store import open_store


def files_of(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}


def test_layout_and_manifest(evil_site):
    site, doc = evil_site
    manifest = json.loads((site / "manifest.json").read_bytes())
    assert (site / "manifest.sha256").read_text() == \
        f"{hashlib.sha256((site / 'manifest.json').read_bytes()).hexdigest()}  manifest.json\n"
    assert set(manifest["files"]) == files_of(site) - set(OWN)
    for rel, meta in manifest["files"].items():
        assert hashlib.sha256((site / rel).read_bytes()).hexdigest() == meta["sha256"]
    for page in ("index.html", "table.html", "verify.html", "report.html", "root.json", "bulk/records.csv",
                 "bulk/records.parquet", "tables/000000.json", "tables/000000.js", "search/index.json"):
        assert page in manifest["files"], page
    assert manifest["merkle"]["root"] == doc["records_root"] == json.loads((site / "root.json").read_bytes())["root"]
    digest = hashlib.sha256((site / "manifest.json").read_bytes()).hexdigest()
    pair = bytes.fromhex(doc["records_root"]) + bytes.fromhex(digest)
    assert doc["root"] == hashlib.sha256(b"\x02" + pair).hexdigest()
    assert json.loads((site / "release.json").read_bytes())["root"] == doc["root"]
    assert doc["records"] == 10 == len(manifest["records"])  # 5 + 4 tables, one conflict kept as 2 copies
    keys = {(s, u, c) for s, u, c, _ in manifest["records"]}
    assert (EVIL_SOURCE, "2.a/b.1", 1) in keys  # the differing copy is published too


def test_record_hashes_are_canonical_json(evil_site):
    site, _ = evil_site
    manifest = json.loads((site / "manifest.json").read_bytes())
    shard = json.loads((site / "tables/000000.json").read_bytes())
    heads = [SourceHead(**s) for s in shard["sources"]]
    row = shard["records"][0]
    data = canonical_bytes(heads, row)
    s = heads[row[0]]
    assert data == json.dumps([s.name, s.kind, row[1], row[2], *row[3:8], s.candidates, row[8], row[9], row[10]],
                              ensure_ascii=False, separators=(",", ":")).encode()
    assert manifest["records"][0][3] == hashlib.sha256(data).hexdigest()


def test_hostile_names_are_escaped_everywhere(evil_site):
    site, _ = evil_site
    for page in ("index.html", "table.html", "verify.html", "report.html"):
        html = (site / page).read_text(encoding="utf-8")
        for evil in (EVIL_A, EVIL_B, EVIL_PLACE, EVIL_SOURCE, "<election>"):
            assert evil not in html, (page, evil)
        assert len(re.findall(r"<script", html)) == len(re.findall(r"<script src=\"assets/", html)), page
    for js in site.rglob("*.js"):
        text = js.read_text(encoding="utf-8")
        if js.parent.name != "assets":
            assert "<" not in text and ">" not in text, js
    assert "</script>" not in js_literal({"a": EVIL_A})
    assert json.loads(js_literal({"a": EVIL_A, "b": "\u2028"})) == {"a": EVIL_A, "b": "\u2028"}


def test_no_path_escapes_the_site(evil_site):
    site, _ = evil_site
    root = site.resolve()
    for p in site.rglob("*"):
        assert p.resolve().is_relative_to(root)
        assert ".." not in p.relative_to(site).parts
    for name in ("../../etc/passwd", "..", "a/b", "%2e%2e", "x\x00y", "/abs", "C:\\x", EVIL_A):
        safe = safe_name(name)
        assert re.fullmatch(r"[A-Za-z0-9_-]+-[0-9a-f]{8}", safe), safe
        check_rel(f"bulk/{safe}.csv")
    assert safe_name("a b") != safe_name("a_b")
    for bad in ("../x", "a/../b", "/etc", "a//b", "a\\b", ".hidden", "a/%2e%2e"):
        with pytest.raises(ValueError):
            check_rel(bad)


def test_sheet_images_are_copied_into_the_site(evil_site):
    site, _ = evil_site
    shard_rows = [r for p in sorted(site.glob("tables/*.json")) for r in json.loads(p.read_bytes())["records"]]
    sheets = {r[10] for r in shard_rows if r[10]}
    local = [s for s in sheets if s.startswith("sheets/")]
    assert len(local) == 1 and (site / local[0]).is_file()
    assert "https://example.org/s.jpg" in sheets and "javascript:alert(4)" in sheets  # shown as text/link only


def test_verify_accepts_untouched_and_proves_one_record(evil_site):
    site, doc = evil_site
    res = verify(site)
    assert res.ok, res.to_dict()
    assert res.root == doc["root"] and res.records_checked == 10
    one = verify(site, record="2.a/b.1", root=doc["root"])
    assert one.ok and len(one.proofs) == 3 and all(p["ok"] for p in one.proofs)
    assert not verify(site, record="2.a/b.1", root="00" * 32).ok
    assert not verify(site, record="no.such.table").ok
    assert not verify(site, expect="00" * 32).ok


def test_verify_names_what_changed(site_copy):
    shard = site_copy / "tables/000001.json"
    doc = json.loads(shard.read_bytes())
    doc["records"][0][8][0] += 1
    shard.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    (site_copy / "bulk/records.csv").unlink()
    (site_copy / "extra.html").write_text("hi")
    res = verify(site_copy)
    assert not res.ok
    assert res.changed == ["tables/000001.json"]
    assert res.removed == ["bulk/records.csv"]
    assert res.added == ["extra.html"]
    assert len(res.records_changed) == 1 and res.records_changed[0].endswith("#0")
    assert any("Merkle root" in p for p in res.problems)


def test_verify_names_added_and_removed_records(site_copy):
    shard = site_copy / "tables/000000.json"
    doc = json.loads(shard.read_bytes())
    gone = doc["records"].pop()
    extra = list(doc["records"][0])
    extra[1] = "9.9.9"
    doc["records"].append(extra)
    shard.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    res = verify(site_copy)
    assert not res.ok
    name = doc["sources"][gone[0]]["name"]
    assert f"{name} {gone[1]} #{gone[2]}" in res.records_removed
    assert any(k.split(" ")[1] == "9.9.9" for k in res.records_added)


def test_publish_refuses_a_foreign_directory_and_replaces_its_own(evil_db, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.docx").write_text("precious")
    with open_store(evil_db, read_only=True) as store, pytest.raises(VoteauditError):
        publish(store, tmp_path / "busy", report=False)
    assert (tmp_path / "busy" / "thesis.docx").read_text() == "precious"
    with pytest.raises(VoteauditError), open_store(evil_db, read_only=True) as store:
        publish(store, tmp_path / "x", shard_size=3)


def cli_app() -> typer.Typer:
    app = typer.Typer()
    app.command("publish")(publish_command)
    app.command("verify")(verify_command)
    return app


def test_cli_publish_then_verify_json(evil_db, tmp_path):
    runner = CliRunner()
    out = tmp_path / "site"
    r = runner.invoke(cli_app(), ["publish", "--out", str(out), "--db", str(evil_db), "--json", "--no-report",
                                  "--title", "CLI"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["records"] == 10 and len(doc["root"]) == 64
    r = runner.invoke(cli_app(), ["publish", "--out", str(out), "--db", str(evil_db), "--json", "--no-report"])
    assert r.exit_code == 0, r.output  # republishing over its own earlier publication is allowed
    r = runner.invoke(cli_app(), ["verify", str(out), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"] is True
    r = runner.invoke(cli_app(), ["verify", str(out), "--json", "--record", "1.%252e%252e.7"])
    assert r.exit_code == 0 and len(json.loads(r.stdout)["proofs"]) == 2
    (out / "index.html").write_bytes(b"tampered")
    r = runner.invoke(cli_app(), ["verify", str(out), "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["changed"] == ["index.html"]
    r = runner.invoke(cli_app(), ["verify", str(out)])
    assert r.exit_code == 1 and "file changed: index.html" in r.stderr
    r = runner.invoke(cli_app(), ["publish", "--out", str(out / "x"), "--db", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 2
