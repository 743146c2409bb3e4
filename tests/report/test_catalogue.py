"""The report's catalogues (report/locales/*.toml): every English text has a Spanish one with the same
placeholders, every key the code and templates use exists, and numbers follow each language (Babel/CLDR)."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from voteaudit.report.i18n import LANGS, Numbers, catalogue, placeholders, translator


def test_every_english_text_has_a_spanish_one_with_the_same_placeholders():
    en, es = catalogue("en"), catalogue("es")
    missing = sorted(set(en) - set(es))
    assert not missing, f"texts without Spanish: {missing}"
    extra = sorted(set(es) - set(en))
    assert not extra, f"Spanish texts without English: {extra}"
    differ = {k: (placeholders(en[k]), placeholders(es[k])) for k in en if placeholders(en[k]) != placeholders(es[k])}
    assert not differ, f"placeholders differ: {differ}"
    untranslated = [k for k in en if en[k] == es[k] and len(en[k]) > 12 and re.search(r"\b(the|of|and)\b", en[k])]
    assert not untranslated, f"Spanish texts left in English: {untranslated}"


def _keys_used() -> set[str]:
    """Literal keys the report code and templates look up: t("key", ...), msg("key", ...)."""
    root = resources.files("voteaudit")
    templates = (root / "report" / "templates").iterdir()
    texts = [p.read_text(encoding="utf-8") for p in templates if p.name.endswith(".html")]
    texts += [(root / "report" / n).read_text(encoding="utf-8") for n in ("build.py", "indicators.py")]
    texts += [(root / "stats" / n).read_text(encoding="utf-8") for n in ("estimate.py", "bounds.py", "coverage.py",
                                                                       "certificate.py", "announced.py")]
    keys = set()
    for text in texts:
        keys |= set(re.findall(r"\b(?:t|msg)\(\s*\"([a-z][a-z0-9_]*)\"\s*[,)]", text))
    return keys


def test_every_key_the_code_uses_is_in_the_catalogue():
    used = _keys_used()
    assert len(used) > 60  # the scan found the lookups
    assert not sorted(used - set(catalogue("en")))


def test_a_missing_placeholder_value_is_an_error_not_a_silent_blank():
    with pytest.raises(KeyError):
        translator("es")("headline_pair", a="x")


@pytest.mark.parametrize(("lang", "num", "pct", "dec"), [
    ("en", "7,156,462", "67.13%", "0.05"),
    ("es", "7.156.462", "67,13\u202f%", "0,05"),
])
def test_numbers_per_language(lang, num, pct, dec):
    n = Numbers(lang)
    assert (n.num(7156462), n.pct(0.671349), n.dec(0.05, 2)) == (num, pct, dec)
    assert n.stated("51.2") == ("51.2%" if lang == "en" else "51,2\u202f%")  # as printed, with its decimals
    assert n.num(None) == "—"


def test_messages_render_nested_parts_and_lists():
    t = translator("es")
    m = {"key": "st_est_projected", "params": {
        "units": 24532, "total": 30026, "label": {"key": "kind_label_independent", "params": {}},
        "parts": [{"key": "st_cand_ci", "params": {"candidate": "A", "share": 0.6714, "low": 0.671, "high": 0.672}},
                  {"key": "st_cand_ci", "params": {"candidate": "B", "share": 0.3041, "low": 0.303, "high": 0.305}}],
        "confidence": 0.95, "assumption": {"key": "assume_combined_ratio", "params": {}}}}
    text = t.message(m)
    assert text.startswith("Proyectado a partir de 24.532 de 30.026 mesas (las actas recogidas")
    assert "A 67,1\u202f% (67,1\u202f%–67,2\u202f%) y B 30,4\u202f%" in text
    assert "intervalos del 95\u202f%" in text
    assert t.message({"key": "no_such_key", "params": {}}, "fallback") == "fallback"


def test_languages_are_the_catalogues():
    assert set(LANGS) == {p.name.removesuffix(".toml") for p in (resources.files("voteaudit") / "report" / "locales")
                          .iterdir() if p.name.endswith(".toml")}


def test_the_users_name_for_a_unit_replaces_the_catalogues_but_never_a_value():
    t = translator("en", {"unit": "precinct", "units": "precincts"})
    assert t("headline_pair", a="Table A", b="tables", common=3, differ=1) == (
        "Sources “Table A” and “tables” share 3 precincts and report different numbers for 1 of them.")
    assert t("col_table") == "Precinct"
    # a placeholder named like the word is left alone
    assert "{" not in t("au_line", draws=1, tables=2, risk=0.1, limit=0.05, verdict="v")
    es = translator("es", {"unit": "recinto", "units": "recintos"})
    assert es("col_tables") == "Recintos" and "Mesa" in es("source_by_level", source="Mesa", level="estado")
