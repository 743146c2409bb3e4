"""The site and the report in headless Chromium, from disk (file://) and over HTTP (127.0.0.1).

Checks: no console errors, no request leaves the machine, hostile names never execute, the table search
works by code and by place, the table page proves its records, the in-browser verify says OK for an
untouched site and FAILED for a tampered one. Screenshots go to ``test-artifacts/publish/``.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.publish.test_release import forge
from voteaudit.publish import publish
from voteaudit.publish.keys import SigningKey, new_key_pair
from voteaudit.store import open_store

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "publish"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not CHROMIUM.exists():
    pytest.skip("browser tests need Chromium at /usr/bin/chromium (apt install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Python Playwright")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(evil_site: tuple[Path, dict], evil_db: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """The untouched site, a tampered copy, a consistently forged copy and a signed site, over HTTP and on disk."""
    site = evil_site[0]
    bad = tmp_path_factory.mktemp("tampered") / "site"
    shutil.copytree(site, bad)
    shard = bad / "tables/000001.json"
    doc = json.loads(shard.read_bytes())
    doc["records"][0][8][0] += 7
    shard.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    shard.with_suffix(".js").write_text(f"voteauditData(\"tables/000001\",{json.dumps(doc)});", encoding="utf-8")
    forged = tmp_path_factory.mktemp("forged") / "site"   # re-hashed consistently: only the anchor catches it
    shutil.copytree(site, forged)
    forge(forged, "bulk/records.csv", (forged / "bulk/records.csv").read_bytes() + b"1000 more votes\n")
    signed = tmp_path_factory.mktemp("signed") / "site"
    new_key_pair(signed.parent / "key")
    with open_store(evil_db, read_only=True) as store:
        sdoc = publish(store, signed, shard_size=4, report=False, sign=SigningKey(signed.parent / "key"))
    servers, urls = [], {"root": evil_site[1]["root"], "records_root": evil_site[1]["records_root"],
                         "fingerprint": sdoc["key_fingerprint"]}
    for name, root in (("good", site), ("bad", bad), ("forged", forged), ("signed", signed)):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        urls[name] = f"http://127.0.0.1:{srv.server_port}/"
        urls[f"{name}_file"] = root.as_uri() + "/"
        urls[f"{name}_dir"] = root
    yield urls
    for srv in servers:
        srv.shutdown()
        srv.server_close()


class Watched:
    """A page that records console errors, page errors, dialogs and every request."""

    def __init__(self, browser: object) -> None:
        self.page = browser.new_page(viewport={"width": 1100, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def check(self, shot: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
        assert not self.errors, self.errors
        off = [u for u in self.requests if not (u.startswith("file://") or u.startswith("http://127.0.0.1:")
                                                or u.startswith("data:"))]
        assert not off, off
        self.page.close()


@pytest.mark.parametrize("mode", ["http", "file"])
def test_search_by_place_and_code_then_table_page(browser, served, mode):
    base = served["good"] if mode == "http" else served["good_file"]
    w = Watched(browser)
    page = w.page
    page.goto(base + "index.html")
    page.wait_for_selector("body[data-ready]")
    page.fill("#q", "recreo")
    page.click("#search button")
    page.wait_for_selector("#results li a")
    assert "El Recreo" in page.inner_text("#results")
    page.click("#results li a")
    page.wait_for_selector("#children li")
    assert page.inner_text("#unit-title").endswith("El Recreo")
    page.click("#children li a >> nth=0")
    page.wait_for_selector("#proof[data-state]")
    page.fill("#q", "2.a/b.1")                      # a table id typed in the search box of the table page
    page.click("#search button")
    page.wait_for_selector("#results li a")
    page.click("#results li a")
    page.wait_for_function("location.hash.length > 1")
    page.wait_for_selector("#proof[data-state]")
    # no announced root entered: consistent with the site's own data, not "OK"
    assert page.get_attribute("#proof", "data-state") == "consistent", page.inner_text("#proof")
    text = page.inner_text("#unit")
    for needle in ("</script><script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
                   "obs<script>alert(3)</script>", "authority (official)", "copy 2"):
        assert needle in text, needle
    assert page.locator("#numbers tr.differ").count() >= 1   # the two copies differ on one candidate
    assert page.locator("#disagreements li").count() >= 1
    assert page.locator("img[src^='x'], img[onerror]").count() == 0
    w.check(f"table-{mode}")


@pytest.mark.parametrize("mode", ["http", "file"])
def test_sheet_links_are_safe(browser, served, mode):
    base = served["good"] if mode == "http" else served["good_file"]
    w = Watched(browser)
    w.page.goto(base + "table.html#" + "1.%252e%252e.7".replace("%", "%25"))
    w.page.wait_for_selector("#proof[data-state=consistent]")
    link = w.page.locator(".sheet a")
    assert link.get_attribute("href") == "https://example.org/s.jpg"
    assert link.get_attribute("rel") == "noopener noreferrer nofollow"
    w.page.goto(base + "table.html#" + "1.%252E%252E%2F%252E%252E%2Fetc.%252E%252E%2Fx")
    w.page.wait_for_selector("#proof[data-state=consistent]")
    assert "javascript:alert(4)" in w.page.inner_text(".sheet")
    assert w.page.locator(".sheet a").count() == 0
    w.page.goto(base + "table.html#" + "1.%252E%252E%2F%252E%252E%2Fetc.1")
    w.page.wait_for_selector(".sheet img")
    w.page.wait_for_function("document.querySelector('.sheet img').complete")
    assert w.page.evaluate("document.querySelector('.sheet img').naturalWidth") == 1
    w.check(f"sheet-{mode}")


def test_tampered_site_fails_its_proof(browser, served):
    w = Watched(browser)
    w.page.goto(served["bad"] + "table.html#" + "1.%252E%252E%2F%252E%252E%2Fetc.1")
    w.page.wait_for_selector("#proof[data-state]")
    assert w.page.get_attribute("#proof", "data-state") == "failed"
    w.check("table-tampered")


@pytest.mark.parametrize("which", ["good", "bad"])
def test_verify_page_over_http(browser, served, which):
    w = Watched(browser)
    w.page.goto(served[which] + "verify.html")
    w.page.wait_for_selector("body[data-ready]")
    w.page.click("#run")
    w.page.wait_for_selector("#status[data-state]", timeout=30000)
    state = w.page.get_attribute("#status", "data-state")
    if which == "good":
        assert state == "consistent", w.page.inner_text("#result")
    else:
        assert state == "failed"
        assert "tables/000001.json" in w.page.inner_text("#result")
    w.check(f"verify-http-{which}")


@pytest.mark.parametrize("which", ["good", "bad"])
def test_verify_page_from_disk_with_folder(browser, served, which):
    w = Watched(browser)
    w.page.goto(served[f"{which}_file"] + "verify.html")
    w.page.wait_for_selector("body[data-ready]")
    assert w.page.is_disabled("#run")
    w.page.set_input_files("#folder", str(served[f"{which}_dir"]))
    w.page.wait_for_selector("#status[data-state]", timeout=30000)
    state = w.page.get_attribute("#status", "data-state")
    assert state == ("consistent" if which == "good" else "failed"), w.page.inner_text("#result")
    w.check(f"verify-file-{which}")


@pytest.mark.parametrize("mode", ["http", "file"])
def test_report_opens_cleanly(browser, served, mode):
    base = served["good"] if mode == "http" else served["good_file"]
    w = Watched(browser)
    w.page.goto(base + "report.html")
    w.page.wait_for_load_state("load")
    assert w.page.locator("img[onerror]").count() == 0
    w.check(f"report-{mode}")


def _anchor(page: object, value: str) -> None:
    page.fill("#anchor", value)
    page.dispatch_event("#anchor", "change")


@pytest.mark.parametrize(("which", "anchor", "state"), [
    ("good", "root", "ok"), ("good", "wrong", "failed"), ("good", "records_root", "failed"),
    ("forged", "root", "failed"), ("signed", "fingerprint", "ok"), ("good", "fingerprint", "failed")])
def test_verifier_asks_for_the_announced_root_or_key(browser, served, which, anchor, state):
    """The verifier compares what the reader enters, never the site's own root: a consistently re-hashed
    forgery is only 'consistent' until the announced root is entered, then it fails."""
    value = "ab" * 32 if anchor == "wrong" else served[anchor]
    w = Watched(browser)
    w.page.goto(served[which] + "verify.html")
    w.page.wait_for_selector("body[data-ready]")
    w.page.click("#run")
    w.page.wait_for_selector("#status[data-state]", timeout=30000)
    assert w.page.get_attribute("#status", "data-state") == "consistent", w.page.inner_text("#result")
    _anchor(w.page, value)
    w.page.wait_for_selector(f"#status[data-state={state}]", timeout=30000)
    if anchor == "records_root":
        assert "records-only" in w.page.inner_text("#status")
    w.check(f"verify-anchor-{which}-{anchor}")
    # the table page asks too (and remembers the anchor the reader entered on this site)
    w = Watched(browser)
    w.page.goto(served[which] + "table.html#" + "2.a%2Fb.1")
    w.page.wait_for_selector("#proof[data-state]")
    _anchor(w.page, value)
    w.page.wait_for_selector(f"#proof[data-state={state}]", timeout=30000)
    w.check(f"table-anchor-{which}-{anchor}")
