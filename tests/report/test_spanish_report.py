"""The Spanish demo report (``voteaudit demo --lang es``) says everything in Spanish.

Its visible text (tags, styles and attributes stripped) is scanned for the English catalogue's sentences and
for the English statements the analyses used to leak ("Projected from…", "Even if all…", "For “…” to be
true…", "Other 8 candidates (combined)", "(tally sheets)", forensics interpretations). Proper names and method
names (Benford, Klimek, combined_ratio, test ids, bibliographic references) are not sentences and stay.
"""

from __future__ import annotations

import html.parser
import re
import subprocess
import sys
from pathlib import Path

import pytest

from voteaudit.report.i18n import catalogue


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.skip, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("style", "script", "i")  # <i>: bibliographic references, in their own language

    def handle_endtag(self, tag):
        self.skip -= tag in ("style", "script", "i")
        self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    p = _Text()
    p.feed(page)
    return re.sub(r"[ \t]+", " ", "".join(p.parts))


@pytest.fixture(scope="module")
def spanish(tmp_path_factory) -> tuple[str, str]:
    out = tmp_path_factory.mktemp("demo-es")
    proc = subprocess.run([sys.executable, "-m", "voteaudit.cli", "demo", "--out", str(out), "--lang", "es",
                           "--no-site"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    return page, visible_text(page)


LEAKS = ["Projected from", "Even if all", "to be true", "registered voters", "Other 8 candidates", "tally sheets",
         "independent", "Not tested", "Nothing unusual", "would have to", "collected sheets", "The second digits",
         "tables", "national", " of valid votes", "Complete count", "arithmetic checks", "valid votes were added",
         "rows,", "Flagged", "presidential election", "Ballots = ", "no_sheet", "disagreement", "open"]


def english_fragments() -> list[str]:
    """Literal runs of the English catalogue (between placeholders) long enough to be a phrase, not a name."""
    en, es = catalogue("en"), catalogue("es")
    runs = set()
    for key, text in en.items():
        if text == es[key]:
            continue
        for run in re.split(r"\{[^}]*\}", text):
            run = run.strip(" .,;:()")
            if len(run) >= 18 and run.count(" ") >= 2:
                runs.add(run)
    return sorted(runs)


def test_no_english_statement_left(spanish):
    _, text = spanish
    found = [w for w in LEAKS if w in text]
    assert not found, f"English left in the Spanish report: {found}"
    phrases = english_fragments()
    assert len(phrases) > 100
    found = [p for p in phrases if p in text]
    assert not found, f"English catalogue phrases in the Spanish report: {found[:10]}"


def test_spanish_numbers_and_the_lang_attribute(spanish):
    page, text = spanish
    assert '<html lang="es">' in page
    assert "24.532 mesas" in text  # grouped with "." (CLDR es), not "24,532"
    assert re.search(r"\d,\d\u202f%", text)  # decimal comma, thin no-break space before %
    assert not re.search(r"\b\d{1,3},\d{3},\d{3}\b", text)  # no English grouping left
    assert not re.search(r"\d\.\d+\s?%", text)  # no English decimal point next to a percentage
    assert "Otros 8 candidatos (combinados)" in text


def test_provenance_names_files_never_local_paths(spanish):
    page, text = spanish
    prov = text[text.index("Procedencia"):]
    assert "actas.csv.gz" in prov and "sha256" in prov
    assert str(Path.home()) not in prov and "/tmp" not in prov and not re.search(r"(^|\s)/\w", prov)
