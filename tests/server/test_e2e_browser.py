"""End to end in headless Chromium: an observer logs in with a token, uploads a sheet photo, sees it
decoded; once a second observer's entry agrees, the public table page shows the observers' source."""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from server_data import auth

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
UNIT = "1.1.13.10113042.1"


@pytest.fixture
def live_server(pg_url: str):
    import uvicorn

    from voteaudit.server.app import create_app
    from voteaudit.server.config import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Settings(db=pg_url, worker=True, refresh=0.3))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def sheet_photo(tmp_path: Path) -> Path:
    from voteaudit.ingest.scan import ve2024
    from voteaudit.ingest.scan.sheets import render_sheet

    counts = [0] * len(ve2024.CARDS)
    counts[0], counts[ve2024.CARDS.index("MUD")] = 120, 232
    img = render_sheet(ve2024.make_sheet("010113042", 1, counts, 0), seed=3).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    path = tmp_path / "acta.jpg"
    path.write_bytes(buf.getvalue())
    return path


def test_observer_uploads_sheet_in_browser(live_server: str, tokens: dict[str, str], tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium to run the browser test)")
    sync_api = pytest.importorskip("playwright.sync_api")
    photo = sheet_photo(tmp_path)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--headless", "--no-sandbox", "--disable-gpu",
                                           "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(f"{live_server}/login")
            page.fill("input[name=token]", tokens["ana"])
            page.click("button:has-text('Log in')")
            page.wait_for_url("**/submit")
            assert page.text_content("b.user") == "ana"
            page.set_input_files("input[name=image]", str(photo))
            page.click("button:has-text('Upload')")
            page.wait_for_url("**/submissions/*")
            deadline = time.time() + 90
            while page.text_content("#status") == "decoding" and time.time() < deadline:
                time.sleep(0.5)
                page.reload()
            assert page.text_content("#status") == "pending"           # decoded; waits for a second entry
            assert page.text_content("#unit") == UNIT
            assert "232" in page.content()
            # a second observer sends the same photo through the API: the entries agree
            r = httpx.post(f"{live_server}/api/submissions", headers=auth(tokens["bo"]),
                           files={"image": ("same.jpg", photo.read_bytes(), "image/jpeg")})
            assert r.status_code == 201
            deadline = time.time() + 90
            page.goto(f"{live_server}/units/{UNIT}")
            while "observers" not in (page.text_content("p") or "") + page.content() and time.time() < deadline:
                time.sleep(0.5)
                page.reload()
            assert page.locator(".source", has_text="observers").count() == 1
            assert "authority" in page.content()
        finally:
            browser.close()
