"""``voteaudit report``: summary.json + a self-contained report.html (+ data downloads).

The HTML opens offline (no CDN, no JavaScript needed): inline CSS and SVG charts. All text from
the data is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import csv
import json
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
from voteaudit.report.i18n import translator
from voteaudit.report.summary import build_summary
from voteaudit.store.base import Store


def headline(doc: dict[str, Any], t: Callable[..., str] = translator("en"),
             fmt_pct: Callable[[float], str] = lambda v: f"{100 * v:.1f}%") -> list[str]:
    """The finding in plain words: the best-covered source against the latest national bulletin."""
    lines = []
    sources = sorted(doc["sources"], key=lambda s: -s["units"])
    national = [b for b in doc["announced"] if b["unit"] is None]
    if sources:
        s = sources[0]
        ranked = sorted(s["shares"].items(), key=lambda kv: -kv[1])
        cov = s["coverage_detail"]
        lead = ", ".join(f"{c} {fmt_pct(v)}" for c, v in ranked[:2])
        lines.append(t("headline_source", units=f"{cov['units']:,}", source=s["name"],
                       coverage=fmt_pct(s["coverage"] or 0), total=f"{cov['units_total']:,}", lead=lead))
    if national:
        b = national[-1]
        ranked_b = sorted(b["shares"].items(), key=lambda kv: -kv[1])
        lines.append(t("headline_bulletin", bulletin=b["name"],
                       lead=", ".join(f"{c} {fmt_pct(v)}" for c, v in ranked_b[:2])))
        if sources:
            win_s = candidate_key(max(sources[0]["shares"], key=sources[0]["shares"].get))
            lines.append(t("headline_differs" if win_s != candidate_key(ranked_b[0][0]) else "headline_same"))
    for p in doc["comparison"]["pairs"]:
        lines.append(t("headline_pair", a=p["a"], b=p["b"], common=f"{p['common_units']:,}", differ=f"{p['differ']:,}"))
    ev = doc.get("estimate") or {}
    if ev.get("universe"):
        lines.append(ev["estimate"]["statement"])
        if ev.get("bounds_detail"):
            lines.append(ev["bounds_detail"]["statement"])
        if ev.get("what_it_would_take"):
            lines.append(ev["what_it_would_take"][-1]["statement"])
    for name, results in (ev.get("announced_tests") or {}).items():
        flagged = [r for r in results if r["test"] == "round_percentage" and r["flagged"]]
        lines += [f"“{name}”: {r['interpretation']}" for r in flagged]
    fh = doc.get("forensics_headline")
    if fh:
        lines.append(t("fx_title") + ": " + t("fx_headline", flagged=fh["flagged"], tested=fh["tested"],
                                               expected=f"{fh['expected_by_chance']:.1f}", alpha=fh["alpha"]))
    return lines


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
    if np.isfinite(turnout).any():
        figures.append({"title": t("fx_fingerprint", candidate=name, source=source), "note": t("fx_fingerprint_note"),
                        "svg": charts.heatmap(turnout, share, title=t("fx_fingerprint", candidate=name,
                                                                        source=source),
                                              xlabel="turnout", ylabel=name)})
        figures.append({"title": t("fx_turnout"), "note": t("fx_hist_note"),
                        "svg": charts.fine_histogram(100 * turnout, title=t("fx_turnout"))})
    figures.append({"title": t("fx_share", candidate=name), "note": t("fx_hist_note"),
                    "svg": charts.fine_histogram(100 * share, title=t("fx_share", candidate=name))})
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


def _formatters(lang: str) -> dict[str, Callable[..., str]]:
    """Number formats: 7,156,462 and 67.13% in English; 7.156.462 and 67,13% in Spanish."""
    def local(text: str) -> str:
        return text.translate(str.maketrans(",.", ".,")) if lang == "es" else text

    return {
        "num": lambda v: "—" if v is None else local(f"{v:,}"),
        "pct": lambda v, d=2: "—" if v is None else local(f"{100 * v:.{d}f}") + "%",
        "signed": lambda v: local(f"{v:+,}"),
        "signedf": lambda v, d=2: local(f"{v:+.{d}f}"),
    }


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
    t = translator(lang)
    fmt = _formatters(lang)
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
    share_groups = {f"{s['name']} ({t('tally_sheets')})": s["shares"] for s in doc["sources"]}
    share_groups.update({f"{b['name']} ({t('announced')})": b["shares"] for b in doc["announced"] if b["unit"] is None})
    figures = {"shares": charts.grouped_bars(share_groups, title=t("chart_shares"))}
    maps = []
    if geojson is not None and doc["sources"]:
        s = max(doc["sources"], key=lambda s: s["units"])
        lead = max(s["shares"], key=s["shares"].get)
        names = geo_names or {}
        values = {names.get(r["id"], r["name"]): r["shares"].get(lead) for r in s["by_region"]}
        maps.append({"title": t("map_share", candidate=lead, source=s["name"]),
                     "svg": charts.choropleth(geojson, values, key=geo_key, title=t("map_share", candidate=lead,
                                                                                    source=s["name"]))})
        cov = {names.get(r["id"], r["name"]): r["units"] for r in s["by_region"]}
        maps.append({"title": t("map_tables", source=s["name"]),
                     "svg": charts.choropleth(geojson, cov, key=geo_key, title=t("map_tables", source=s["name"]),
                                              fmt="{:,.0f}", high="#00441b", low="#f7fcf5")})
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
