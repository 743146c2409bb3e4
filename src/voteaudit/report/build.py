"""``voteaudit report``: summary.json + a self-contained report.html (+ data downloads).

The HTML opens offline (no CDN, no JavaScript needed): inline CSS and SVG charts. All text from
the data is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from voteaudit.exports import csv_cell, csv_table, distinct_names
from voteaudit.model import SourceMatrix
from voteaudit.names import candidate_key
from voteaudit.report import charts
from voteaudit.report.i18n import Catalogue, formatters, translator
from voteaudit.report.summary import build_summary
from voteaudit.store.base import Store


def headline(doc: dict[str, Any], t: Catalogue | None = None,
             fmt_pct: Callable[[float], str] | None = None) -> list[str]:
    """The finding in plain words: the best-covered source against the latest bulletin for the whole election.

    Statements of the analyses are rendered from their ``message`` in ``t``'s language (their English
    ``statement`` when they carry none)."""
    t = t or translator("en")
    pct = fmt_pct or (lambda v: t.numbers.pct(v, 1))
    lines = []
    sources = sorted(doc["sources"], key=lambda s: -s["units"])
    national = [b for b in doc["announced"] if b["unit"] is None]
    if sources:
        s = sources[0]
        ranked = sorted(s["shares"].items(), key=lambda kv: -kv[1])
        cov = s["coverage_detail"]
        lead = ", ".join(f"{label(t, c)} {pct(v)}" for c, v in ranked[:2])
        lines.append(t("headline_source", units=cov["units"], source=s["name"], kind=kind_label(t, s.get("kind")),
                       coverage=pct(s["coverage"] or 0), total=cov["units_total"], lead=lead))
    if national:
        b = national[-1]
        ranked_b = sorted(b["shares"].items(), key=lambda kv: -kv[1])
        lines.append(t("headline_bulletin", bulletin=b["name"],
                       lead=", ".join(f"{label(t, c)} {pct(v)}" for c, v in ranked_b[:2])))
        if sources:
            win_s = candidate_key(max(sources[0]["shares"], key=sources[0]["shares"].get))
            the = f"kind_label_{sources[0].get('kind')}"
            lines.append(t("headline_differs" if win_s != candidate_key(ranked_b[0][0]) else "headline_same",
                           kind=t(the if t.has(the) else "kind_label_none")))
    for p in doc["comparison"]["pairs"]:
        lines.append(t("headline_pair", a=p["a"], b=p["b"], common=p["common_units"], differ=p["differ"]))
    ev = doc.get("estimate") or {}
    if ev.get("universe"):
        lines.append(said(t, ev["estimate"]))
        if ev.get("bounds_detail"):
            lines.append(said(t, ev["bounds_detail"]))
        if ev.get("what_it_would_take"):
            lines.append(said(t, ev["what_it_would_take"][-1]))
    for name, results in (ev.get("announced_tests") or {}).items():
        flagged = [r for r in results if r["test"] == "round_percentage" and r["flagged"]]
        lines += [f"“{name}”: {said(t, r)}" for r in flagged]
    fh = doc.get("forensics_headline")
    if fh:
        lines.append(t("fx_title") + ": " + t("fx_headline", flagged=fh["flagged"], tested=fh["tested"],
                                               expected=t.numbers.dec(fh["expected_by_chance"], 1),
                                               alpha=t.numbers.dec(fh["alpha"], 2)))
    return lines


def said(t: Catalogue, result: dict[str, Any]) -> str:
    """A result's statement (or a test's interpretation) in ``t``'s language, from its ``message``."""
    return t.message(result.get("message"), result.get("statement") or result.get("interpretation") or "")


def kind_label(t: Catalogue, kind: str | None) -> str:
    """How the report names a source kind: "official results", "tally sheets collected by parties", ..."""
    return t(f"kind_{kind}") if kind and t.has(f"kind_{kind}") else (kind or "")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def phrase(t: Catalogue, text: str, prefix: str = "ph") -> str:
    """A fixed English phrase of the analyses (a forensics target, an effect unit, a method note) in ``t``'s
    language: the catalogue key ``<prefix>_<slug of the phrase>``; the phrase itself when it has none."""
    m = re.match(r"^(.*) \((.*)\)$", text)
    if m and t.has(f"{prefix}_{_slug(m.group(1))}"):  # "leader share (Name)": the name stays
        return f"{t(f'{prefix}_{_slug(m.group(1))}')} ({m.group(2)})"
    m = re.match(r"^(\d[\d,]*) (.+)$", text)  # "1,234 units without ...": the count is a parameter
    if m and t.has(f"{prefix}_n_{_slug(m.group(2))}"):
        return t(f"{prefix}_n_{_slug(m.group(2))}", n=int(m.group(1).replace(",", "")))
    key = f"{prefix}_{_slug(text)}"
    return t(key) if t.has(key) else text


def fx_said(t: Catalogue, r: dict[str, Any]) -> str:
    """How to read one forensics result in ``t``'s language: the test's own interpretation in English; in
    another language a sentence built from the result's fields (verdict, p-value, effect) and the
    catalogue's description of the test (``fxt_<test>``)."""
    if r.get("message") or t.lang == "en":
        return said(t, r)
    n = t.numbers
    what = t(f"fxt_{r['test']}") if t.has(f"fxt_{r['test']}") else r["test"]
    e = r.get("effect") or {}
    effect = (f"{n.sig(e['value'], 3)} {phrase(t, e.get('unit') or '', 'un')}".strip()
              if e.get("value") is not None else "—")
    p = r.get("p_adjusted") if r.get("p_adjusted") is not None else r.get("p_value")
    if not r.get("tested", True):
        verdict = "fxr_not_tested"
    elif r.get("p_value_method") == "none":
        verdict = "fxr_desc_flagged" if r["flagged"] else "fxr_desc_clear"
    else:
        verdict = ("fxr_flagged" if r["flagged"] else "fxr_significant" if r.get("significant")
                   else "fxr_clear")
    return t(verdict, what=what, p=n.sig(p) if p is not None else "—", effect=effect,
             tables=t("fxr_tables", n=r["units_flagged_count"]) if r.get("units_flagged_count") else "")


_OTHERS = re.compile(r"^Other (\d+) candidates \(combined\)$")


def label(t: Catalogue, name: str) -> str:
    """A candidate line as the report shows it: the bulletins' pooled lines ("Other 8 candidates (combined)",
    "others") in the report's language; real names as they are."""
    m = _OTHERS.match(name)
    if m:
        return t("others_combined", n=int(m.group(1)))
    return t("others") if name == "others" else name


def _write_downloads(loaded: dict[str, SourceMatrix], doc: dict[str, Any], data_dir: Path) -> list[dict[str, str]]:
    data_dir.mkdir(parents=True, exist_ok=True)
    files = []
    segment = distinct_names([s["name"] for s in doc["sources"]])
    for s in doc["sources"]:
        m = loaded[s["name"]]
        cols: dict[str, Any] = {"unit": pa.array(m.unit_ids, pa.string())}
        for k, level in enumerate(m.levels[:-1]):
            cols[level] = pa.array(m.path[k], pa.string())
        for key in ("registered", "cast", "valid", "null", "blank"):
            arr = getattr(m, key)
            cols[key] = pa.array(np.where(arr >= 0, arr, 0), pa.int64(), mask=arr < 0)
        for j, c in enumerate(m.candidates):
            cols[c] = pa.array(m.votes[:, j], pa.int64())
        table = pa.table(cols)
        safe = segment[s["name"]]   # injective and bounded: "x/y" and "x?y" get different files
        pq.write_table(table, data_dir / f"{safe}.parquet")
        pacsv.write_csv(csv_table(table), data_dir / f"{safe}.csv")
        files += [{"label": f"{s['name']} (CSV)", "href": f"data/{safe}.csv"},
                  {"label": f"{s['name']} (Parquet)", "href": f"data/{safe}.parquet"}]
    with open(data_dir / "summary-regions.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["source", "region", "name", "units", "registered", "candidate", "votes", "share"])
        for s in doc["sources"]:
            for r in s["by_region"]:
                for c, v in r["totals"].items():
                    w.writerow([csv_cell(x) for x in (s["name"], r["id"], r["name"], r["units"], r["registered"], c,
                                                       v, r["shares"][c])])
    files.append({"label": "Totals by region, every source (CSV)", "href": "data/summary-regions.csv"})
    return files


def _analyses(store: Store, loaded: dict[str, SourceMatrix], doc: dict[str, Any], env: Environment,
              t: Callable[..., str], source: str, step: Callable[[str], None], n_boot: int) -> list[dict[str, Any]]:
    """Estimate and forensics for ``source``: added to ``doc`` and returned as report sections."""
    import numpy as np

    from voteaudit.evidence import evidence
    from voteaudit.forensics import CALIBRATED, headline
    from voteaudit.forensics.agreement import source_agreement
    from voteaudit.forensics.digits import BENFORD_SECOND, second_digit_counts
    from voteaudit.results_cache import forensics_docs

    sections = []
    step(f"estimating from {source}")
    m = loaded[source]
    ev = evidence(store, source, n_boot=n_boot, matrix=m)
    doc["estimate"] = ev
    if ev.get("universe"):
        sections.append({"id": "evidence", "title": t("ev_title"),
                         "html": Markup(env.get_template("_evidence.html").render(ev=ev, t=t))})
    step(f"forensics on {source}")
    others = [s["name"] for s in sorted(doc["sources"], key=lambda s: -s["units"]) if s["name"] != source]
    other = loaded[others[0]] if others else None
    # the battery as `voteaudit forensics --source S` runs it (cached: computed once per store state), then the
    # agreement with the largest other source, which has no random draws
    doc["forensics"] = forensics_docs(store, m) + ([r.to_dict() for r in source_agreement(m, other)] if other else [])
    doc["forensics_headline"] = headline(doc["forensics"])
    lead = int(np.argmax(m.votes.sum(axis=0)))
    name = m.candidates[lead]
    total = m.votes.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, m.votes[:, lead] / total, np.nan)
    turnout = m.turnout()
    figures = []

    def pct0(v: float) -> str:
        return t.numbers.pct(v, 0)

    if np.isfinite(turnout).any():
        figures.append({"title": t("fx_fingerprint", candidate=name, source=source), "note": t("fx_fingerprint_note"),
                        "svg": charts.heatmap(turnout, share, title=t("fx_fingerprint", candidate=name,
                                                                        source=source),
                                              xlabel=t("tg_turnout"), ylabel=name, pct=pct0)})
        figures.append({"title": t("fx_turnout"), "note": t("fx_hist_note"),
                        "svg": charts.fine_histogram(100 * turnout, title=t("fx_turnout"), pct=pct0)})
    figures.append({"title": t("fx_share", candidate=name), "note": t("fx_hist_note"),
                    "svg": charts.fine_histogram(100 * share, title=t("fx_share", candidate=name), pct=pct0)})
    digits = second_digit_counts(m.votes[:, lead])
    if digits.sum() > 0:
        figures.append({"title": t("fx_digits", candidate=name), "note": t("fx_digits_note"),
                        "svg": charts.digit_bars(digits / digits.sum(), BENFORD_SECOND,
                                                 title=t("fx_digits", candidate=name))})
    sections.append({"id": "forensics", "title": t("fx_title"),
                     "html": Markup(env.get_template("_forensics.html").render(
                         fx=doc["forensics"], fx_figures=figures, t=t, fx_head=doc["forensics_headline"],
                         fx_material=[r for r in doc["forensics"] if r["flagged"]],
                         fx_pairs=_calibration_pairs(doc["forensics"], CALIBRATED)))})
    return sections


def _calibration_pairs(fx: list[dict[str, Any]], calibrated: dict[str, str]) -> list[dict[str, Any]]:
    """Each published test's result beside its honest-counting calibration (same target and area)."""
    index = {(r["test"], r["target"], (r.get("area") or {}).get("id")): r for r in fx}
    pairs = []
    for r in fx:
        cal = calibrated.get(r["test"])
        other = index.get((cal, r["target"], (r.get("area") or {}).get("id"))) if cal else None
        if other is not None:
            pairs.append({"published": r, "calibrated": other})
    return pairs


def _audits(store: Store, doc: dict[str, Any], contest: str | None = None) -> list[dict[str, Any]]:
    """Status of every audit in progress (``voteaudit audit sample`` has drawn a sample)."""
    from voteaudit.audit.session import audit_status
    from voteaudit.model import VoteauditError

    out = []
    for s in doc["sources"]:
        if (store.state(f"audit:{s['name']}", contest=contest) or {}).get("draws"):
            try:
                out.append(audit_status(store, s["name"], None, contest=contest))
            except VoteauditError:
                continue
    return out


def _cases(store: Store, loaded: dict[str, SourceMatrix], doc: dict[str, Any], env: Environment,
           t: Callable[..., str], contest: str | None = None) -> dict[str, Any] | None:
    """The ranked cases (``voteaudit cases``) and what each feed changed when (``voteaudit changes``)."""
    from voteaudit.casework import cases_of, feeds_of

    changes = feeds_of(store, contest, list(loaded))
    result = cases_of(store, contest, loaded=loaded, changes=changes)
    if result.margin is None:
        return None
    full = result.to_dict()
    doc["cases"] = {**full, "cases": full["cases"][:200], "cases_total": len(full["cases"])}
    feeds = []
    for name, fc in changes.items():
        d = fc.to_dict()
        doc.setdefault("changes", {})[name] = {**d, "changed": d["changed"][:200]}
        labels = [f"v{p['version']} {p['as_of'][5:16].replace('T', ' ')}" for p in d["timeline"]]
        feeds.append({**d, "svg": charts.timeline(labels, [p["tables_changed"] for p in d["timeline"]],
                                                  title=t("ch_timeline", source=name))})
    return {"id": "cases", "title": t("ca_title"),
            "html": Markup(env.get_template("_cases.html").render(cases=doc["cases"], feeds=feeds, t=t))}


def write_report(store: Store, out_dir: Path, *, title: str = "Election results check",
                 step: Callable[[str], None] = lambda s: None, geojson: Path | None = None,
                 geo_key: str = "NAME_1", geo_names: dict[str, str] | None = None, lang: str = "en",
                 sections: list[dict[str, Any]] | None = None, methods: list[dict[str, str]] | None = None,
                 extra: dict[str, Any] | None = None, analyse: bool = True, source: str | None = None,
                 n_boot: int = 1000, contest: str | None = None) -> dict[str, Any]:
    """Write ``summary.json`` and ``report.html`` into ``out_dir``; return the summary.

    ``extra`` adds keys to the summary; ``sections`` adds report sections (``id``, ``title``, ``html`` as
    markupsafe.Markup built with escaping); ``methods`` adds method notes. With ``analyse``, the best-covered
    source (or ``source``) is projected (``estimate``) and run through the forensics battery (``forensics``).
    """
    t = translator(lang, store.vocabulary())
    fmt = formatters(lang)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    step("reading the sources")
    loaded = {info.name: store.matrix(info.name, contest) for info in store.sources(contest)}
    step("summarising")
    doc = build_summary(store, loaded=loaded, contest=contest)
    if extra:
        doc.update(extra)
    env = Environment(loader=PackageLoader("voteaudit", "report/templates"), autoescape=select_autoescape())
    env.filters.update(fmt)
    env.filters["label"] = lambda name: label(t, name)
    env.filters["basename"] = lambda path: Path(str(path)).name  # provenance: the file's name, never a local path
    env.globals["lang"] = lang
    env.globals.update(said=lambda r: said(t, r), kind=lambda k: kind_label(t, k), fx_said=lambda r: fx_said(t, r),
                       phrase=lambda text, prefix="ph": phrase(t, text, prefix))
    sections = list(sections or [])
    audits = _audits(store, doc, contest)
    if audits:
        doc["audits"] = audits
        sections.append({"id": "audit", "title": t("au_title"),
                         "html": Markup(env.get_template("_audit.html").render(audits=audits, t=t))})
    case_section = _cases(store, loaded, doc, env, t, contest)
    if case_section:
        sections.append(case_section)
    if analyse and doc["sources"]:
        chosen = source or max(doc["sources"], key=lambda s: s["units"])["name"]
        sections = _analyses(store, loaded, doc, env, t, chosen, step, n_boot) + sections
        step(f"EFToolkit indicators on {chosen}")  # its own section, after forensics
        from voteaudit.report.indicators import indicators_section

        ind_section, doc["indicators"] = indicators_section(store, loaded[chosen], env, t, replicates=n_boot)
        sections.insert(next((i + 1 for i, s in enumerate(sections) if s["id"] == "forensics"), len(sections)),
                        ind_section)
    step("writing data downloads")
    downloads = _write_downloads(loaded, doc, out_dir / "data")
    (out_dir / "summary.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str) + "\n",
                                          encoding="utf-8")
    step("rendering report.html")
    candidates: list[str] = []
    for s in doc["sources"]:
        for c in sorted(s["totals"], key=lambda c: -s["totals"][c]):
            if c not in candidates:
                candidates.append(c)
    share_groups = {f"{s['name']} ({kind_label(t, s.get('kind'))})": s["shares"] for s in doc["sources"]}
    share_groups.update({f"{b['name']} ({t('announced')})": b["shares"] for b in doc["announced"] if b["unit"] is None})
    figures = {"shares": charts.grouped_bars(share_groups, title=t("chart_shares"), fmt=lambda v: fmt["pct"](v, 2),
                                             label=lambda c: label(t, c))}
    maps = []
    if geojson is not None and doc["sources"]:
        s = max(doc["sources"], key=lambda s: s["units"])
        lead = max(s["shares"], key=s["shares"].get)
        names = geo_names or {}
        values = {names.get(r["id"], r["name"]): r["shares"].get(lead) for r in s["by_region"]}
        maps.append({"title": t("map_share", candidate=lead, source=s["name"]),
                     "svg": charts.choropleth(geojson, values, key=geo_key, title=t("map_share", candidate=lead,
                                                                                    source=s["name"]),
                                              fmt=lambda v: fmt["pct"](v, 1), no_data=t("no_data"))})
        cov = {names.get(r["id"], r["name"]): r["units"] for r in s["by_region"]}
        maps.append({"title": t("map_tables", source=s["name"]),
                     "svg": charts.choropleth(geojson, cov, key=geo_key, title=t("map_tables", source=s["name"]),
                                              fmt=fmt["num"], high="#00441b", low="#f7fcf5", no_data=t("no_data"))})
    nav = [("sources", "nav_sources"), ("regions", "nav_regions"), ("disagreements", "nav_disagreements"),
           ("validation", "nav_validation"), ("methods", "nav_methods"), ("data", "nav_data")]
    html = env.get_template("report.html").render(
        title=title, doc=doc, headline=headline(doc, t, fmt["pct"]), figures=figures, maps=maps,
        downloads=downloads, candidates=candidates, t=t, lang=lang, nav=nav, sections=sections,
        methods=methods or [])
    (out_dir / "report.html").write_text(html, encoding="utf-8")
    return doc


CONTESTS_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem}table{border-collapse:collapse}
td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ contests|length }} contests share this election's tables. Each has its full report.</p>
{% for c in contests %}
<section id="contest-{{ loop.index }}"><h2>{{ c.contest }}</h2>
<p><a href="{{ c.href }}">Full report of {{ c.contest }}</a></p>
<table><tr><th>source</th><th>tables</th>{% for cand in c.candidates %}<th>{{ cand }}</th>{% endfor %}</tr>
{% for s in c.sources %}<tr><td>{{ s.name }} ({{ s.kind }})</td><td>{{ "{:,}".format(s.units) }}</td>
{% for cand in c.candidates %}<td>{{ "{:,}".format(s.totals.get(cand, 0)) }}
({{ "%.2f"|format(100 * s.shares.get(cand, 0)) }}%)</td>{% endfor %}</tr>{% endfor %}</table></section>
{% endfor %}
<section id="cross-contest"><h2>Ballots across contests</h2>
<p>A table's contests are voted on the same ballots: where a source gives different ballots for them, it is
listed here (largest difference first; "cast" compares ballots cast, "counted" ballots counted, which
voters skipping a contest lower legitimately).</p>
{% for x in cross %}<h3>{{ x.source }}: {{ "{:,}".format(x.differ) }} of {{ "{:,}".format(x.tables_compared) }}
tables differ</h3>
{% if x.tables %}<table><tr><th>table</th><th>difference</th><th>basis</th><th>ballots per contest</th></tr>
{% for t in x.tables %}<tr><td>{{ t.unit }} {{ t.name }}</td><td>{{ "{:,}".format(t.difference) }}</td>
<td>{{ t.basis }}</td><td>{% for k, v in t.ballots.items() %}{{ k }}: {{ "{:,}".format(v) }}{% if not loop.last %};
{% endif %}{% endfor %}</td></tr>{% endfor %}</table>{% endif %}{% endfor %}
</section></body></html>
"""


def write_contests_report(store: Store, out_dir: Path, *, title: str = "Election results check",
                          step: Callable[[str], None] = lambda s: None, **kwargs: Any) -> dict[str, Any]:
    """A store with several contests: a full report per contest (``contests/N/``) and, in ``out_dir``,
    ``report.html`` with a section per contest and the cross-contest ballots, and ``summary.json``
    (``{"contests": [...], "cross_contest": [...]}``, as ``compare --json``)."""
    from jinja2 import Environment

    from voteaudit.report.summary import build_contests_summary

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = store.contest_names()
    pages = []
    for i, name in enumerate(names, start=1):
        step(f"contest {i}/{len(names)}: {name}")
        doc = write_report(store, out_dir / "contests" / str(i), title=f"{title} — {name}", contest=name, **kwargs)
        cands: list[str] = []
        for s in doc["sources"]:
            cands += [c for c in sorted(s["totals"], key=lambda c: -s["totals"][c]) if c not in cands]
        pages.append({"contest": name, "href": f"contests/{i}/report.html", "sources": doc["sources"],
                      "candidates": cands})
    summary = build_contests_summary(store)
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1, default=str) + "\n",
                                          encoding="utf-8")
    html = Environment(autoescape=True).from_string(CONTESTS_PAGE).render(
        title=title, contests=pages, cross=summary["cross_contest"], lang=kwargs.get("lang", "en"))
    (out_dir / "report.html").write_text(html, encoding="utf-8")
    return summary
