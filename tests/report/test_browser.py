"""The demo report in headless Chromium at a laptop's and a phone's width, in English and Spanish.

Checks what a reader sees: no number wraps inside its digits (each number's text is one line box), nothing
is wider than the window except inside the horizontal scroll wrappers (``.scroll``), unknown registered
voters print as "—", the map legend has several steps with values, and no chart label overlaps another.
Screenshots go to ``test-artifacts/report/`` (the ones in ``docs/screenshots/`` were taken with this test).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Chromium, its flags and the browser fixture are the publish browser tests' (which skip, saying why, without them)
from tests.publish.test_browser import browser  # noqa: F401, F811

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "report"

#: Text nodes that are one number (with grouping, decimals, sign, % or a range of two numbers).
NUMBERS_JS = r"""() => {
  const number = /^\s*[−+\-]?[\d][\d.,\u202f\u00a0]*\s*%?\s*(–\s*[−+\-]?[\d][\d.,\u202f\u00a0]*\s*%?)?\s*$/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const bad = []; let n = 0;
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement.closest("td") || !number.test(node.textContent)) continue;
    n += 1;
    const range = document.createRange(); range.selectNodeContents(node);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    if (lines.size > 1) bad.push(node.textContent.trim());
  }
  return {checked: n, wrapped: bad.slice(0, 20)};
}"""

#: Elements sticking out of the window horizontally, other than those inside a scroll wrapper.
OVERFLOW_JS = r"""() => {
  const w = document.documentElement.clientWidth; const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".scroll") && !el.classList.contains("scroll")) continue;
    const r = el.getBoundingClientRect();
    if (r.width && (r.right > w + 1 || r.left < -1)) out.push(el.tagName + " " + (el.textContent || "").slice(0, 40));
  }
  return {page: document.documentElement.scrollWidth, window: w, out: out.slice(0, 10)};
}"""

#: Pairs of text labels inside one chart whose boxes overlap.
COLLISIONS_JS = r"""() => {
  const hits = [];
  for (const svg of document.querySelectorAll("svg.chart")) {
    const boxes = [...svg.querySelectorAll("text")].map(t => [t.textContent, t.getBoundingClientRect()])
      .filter(([, r]) => r.width > 0);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      if (ra.left < rb.right - 0.5 && rb.left < ra.right - 0.5 && ra.top < rb.bottom - 0.5 && rb.top < ra.bottom - 0.5)
        hits.push(`${svg.getAttribute("aria-label").slice(0, 30)}: "${a}" / "${b}"`);
    }
  }
  return hits.slice(0, 10);
}"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for lang in ("en", "es"):
        d = tmp_path_factory.mktemp(f"demo-{lang}")
        proc = subprocess.run([sys.executable, "-m", "voteaudit.cli", "demo", "--out", str(d), "--lang", lang,
                               "--no-site"], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        out[lang] = d / "report.html"
    return out


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("width", [1280, 390])
def test_report_reads_at_laptop_and_phone_width(browser, reports, lang, width):  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=1)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(reports[lang].as_uri())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report{'' if lang == 'en' else '-' + lang}-{width}.png"), full_page=True)
    numbers = page.evaluate(NUMBERS_JS)
    assert numbers["checked"] > 500, numbers      # the scan saw the tables' numbers
    assert not numbers["wrapped"], f"numbers wrapped inside their digits: {numbers['wrapped']}"
    overflow = page.evaluate(OVERFLOW_JS)
    assert overflow["page"] <= overflow["window"] and not overflow["out"], overflow
    assert not page.evaluate(COLLISIONS_JS)
    assert not errors, errors
    page.close()


def test_unknown_is_a_dash_and_the_legend_has_a_scale(browser, reports):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(reports["en"].as_uri())
    # the "qr" source states no registered voters: its by-region table says "—", never 0
    qr = page.locator("h3", has_text="Source “qr” by state").locator("xpath=following-sibling::div[1]")
    registered = qr.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert registered and set(registered) == {"—"}
    maps = page.locator("svg.chart[aria-label*='share of valid votes by region']")
    legend = maps.locator("rect[stroke='#999']")
    assert legend.count() >= 5
    values = [t for t in maps.locator("text").all_text_contents() if t.endswith("%")]
    assert len(set(values)) >= 5
    # no blank band: the map's drawing starts within a few pixels of its heading
    gap = page.evaluate("""() => { const svg = document.querySelector("svg.chart[aria-label*='by region']");
        const paths = [...svg.querySelectorAll("path")].map(p => p.getBoundingClientRect().top);
        return Math.min(...paths) - svg.previousElementSibling.getBoundingClientRect().bottom; }""")
    assert gap < 40, gap
    page.close()
