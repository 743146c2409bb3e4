"""Inline SVG charts for the self-contained report (no JavaScript, no CDN).

Every label is escaped: candidate and place names are untrusted text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

if TYPE_CHECKING:
    import numpy as np

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def _pct(v: float, digits: int = 0) -> str:
    return f"{100 * v:.{digits}f}%"


def grouped_bars(groups: dict[str, dict[str, float]], *, unit: str = "%", scale: float = 100.0,
                 title: str = "", fmt: Callable[[float], str] | None = None,
                 label: Callable[[str], str] = str) -> Markup:
    """Horizontal bars: one block per series (source/bulletin), one bar per category; ``fmt`` writes a value
    (default: ``value × scale`` with 2 decimals and ``unit``), ``label`` a category."""
    cats: list[str] = []
    for values in groups.values():
        for c in values:
            if c not in cats:
                cats.append(c)
    bar_h, gap, left, width = 14, 10, 230, 640
    vmax = max((v for vals in groups.values() for v in vals.values()), default=1.0) or 1.0
    y = 24
    parts = []
    for gname, vals in groups.items():
        parts.append(f'<text x="0" y="{y + 11}" font-weight="bold">{escape(gname)}</text>')
        y += 16
        for ci, c in enumerate(cats):
            if c not in vals:
                continue
            v = vals[c]
            w = max(1.0, (width - left - 70) * v / vmax)
            color = PALETTE[ci % len(PALETTE)]
            text = fmt(v) if fmt else f"{v * scale:.2f}{unit}"
            parts.append(f'<text x="8" y="{y + 11}" class="lbl">{escape(label(c))}</text>'
                         f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}"/>'
                         f'<text x="{left + w + 4:.1f}" y="{y + 11}">{escape(text)}</text>')
            y += bar_h + 3
        y += gap
    return Markup(f'<svg viewBox="0 0 {width} {y}" role="img" aria-label="{escape(title)}" class="chart bars">'
                  f'<title>{escape(title)}</title>{"".join(parts)}</svg>')


def _project(lon: float, lat: float, box: tuple[float, float, float, float], w: float, h: float) -> tuple[float, float]:
    x0, y0, x1, y1 = box
    return (lon - x0) / (x1 - x0) * w, (y1 - lat) / (y1 - y0) * h


def choropleth(geojson: Path, values: dict[str, float], *, key: str, title: str, low: str = "#f7fbff",
               high: str = "#08306b", fmt: str | Callable[[float], str] = "{:.1%}", steps: int = 5,
               no_data: str = "no data") -> Markup:
    """SVG map: features whose property ``key`` is in ``values`` are shaded from ``low`` to ``high``; below it a
    legend of ``steps`` swatches, each with its value (``fmt``: a format string or a function)."""
    show = fmt.format if isinstance(fmt, str) else fmt
    doc = json.loads(Path(geojson).read_text(encoding="utf-8"))
    polys = []
    boxes: list[tuple[float, float, float, float]] = []
    for feat in doc["features"]:
        geom = feat.get("geometry") or {}
        rings = geom.get("coordinates", [])
        if geom.get("type") == "Polygon":
            rings = [rings]
        elif geom.get("type") != "MultiPolygon":
            continue
        name = (feat.get("properties") or {}).get(key)
        polys.append((name, rings))
        for poly in rings:
            lons, lats = [p[0] for p in poly[0]], [p[1] for p in poly[0]]
            boxes.append((min(lons), min(lats), max(lons), max(lats)))
    if not boxes:
        return Markup("")
    # the frame fits the land, not a speck of a far-off islet (e.g. Isla de Aves, 500 km north of Venezuela's
    # coast), which would otherwise leave a blank band above the map: rings smaller than 1/2000 of the largest
    # count only if they lie within the frame of the others
    size = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]
    big = [b for b, s in zip(boxes, size, strict=True) if s >= max(size) / 2000] or boxes
    box = (min(b[0] for b in big), min(b[1] for b in big), max(b[2] for b in big), max(b[3] for b in big))
    w = 600.0
    h = w * (box[3] - box[1]) / (box[2] - box[0])
    vals = [v for v in values.values() if v is not None]
    vmin, vmax = (min(vals), max(vals)) if vals else (0.0, 1.0)

    def mix(t: float) -> str:
        a = [int(low[i:i + 2], 16) for i in (1, 3, 5)]
        b = [int(high[i:i + 2], 16) for i in (1, 3, 5)]
        return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))

    parts = []
    for name, rings in polys:
        d = []
        for poly in rings:
            for ring in poly:
                pts = [_project(p[0], p[1], box, w, h) for p in ring]
                d.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + "Z")
        v = values.get(name) if name is not None else None
        fill = "#e0e0e0" if v is None else mix((v - vmin) / (vmax - vmin) if vmax > vmin else 1.0)
        label = f"{name}: {show(v)}" if v is not None else f"{name}: {no_data}"
        parts.append(f'<path d="{"".join(d)}" fill="{fill}" stroke="#fff" stroke-width="0.6">'
                     f"<title>{escape(label)}</title></path>")
    sw = w / steps  # one swatch per step, its value centred below it (the shade at that value)
    legend = "".join(
        f'<rect x="{k * sw + 2:.1f}" y="{h + 8:.0f}" width="{sw - 4:.1f}" height="14" fill="{mix(k / (steps - 1))}" '
        f'stroke="#999" stroke-width="0.5"/><text x="{k * sw + sw / 2:.1f}" y="{h + 42:.0f}" text-anchor="middle" '
        f'font-size="17">{escape(show(vmin + (vmax - vmin) * k / (steps - 1)))}</text>' for k in range(steps))
    return Markup(f'<svg viewBox="0 0 {w:.0f} {h + 50:.0f}" role="img" aria-label="{escape(title)}" class="chart">'
                  f"<title>{escape(title)}</title>{''.join(parts)}{legend}</svg>")


def read_crosswalk(path: Path) -> dict[str, str]:
    """Region code -> map feature name, from a CSV whose first column is the code and last the feature name."""
    from voteaudit.names import unit_part

    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return {unit_part(r[0]): r[-1] for r in rows[1:] if r and r[0].strip()}


def heatmap(x: np.ndarray, y: np.ndarray, *, bins: int = 60, title: str = "", xlabel: str = "",
            ylabel: str = "", pct: Callable[[float], str] = _pct) -> Markup:
    """2-D histogram on [0, 1]² (e.g. turnout × winner share, Klimek et al. 2012), log-scaled darkness."""
    import numpy as np

    ok = np.isfinite(x) & np.isfinite(y)
    h, _, _ = np.histogram2d(np.clip(x[ok], 0, 1), np.clip(y[ok], 0, 1), bins=bins, range=[[0, 1], [0, 1]])
    size, pad = 360, 56  # left/bottom margin: tick labels (≤ 5 characters) and the axis titles beyond them
    cell = size / bins
    peak = np.log1p(h.max()) if h.max() > 0 else 1.0
    parts = []
    for i, j in zip(*np.nonzero(h), strict=True):
        level = np.log1p(h[i, j]) / peak
        shade = int(255 * (1 - level))
        parts.append(f'<rect x="{pad + i * cell:.1f}" y="{pad + size - (j + 1) * cell:.1f}" width="{cell + 0.3:.1f}" '
                     f'height="{cell + 0.3:.1f}" fill="rgb({shade},{shade},255)"/>')
    axes = (f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="none" stroke="#888"/>'
            f'<text x="{pad + size / 2}" y="{pad + size + 34}" text-anchor="middle">{escape(xlabel)}</text>'
            f'<text x="12" y="{pad + size / 2}" transform="rotate(-90 12 {pad + size / 2})" text-anchor="middle">'
            f"{escape(ylabel)}</text>")
    # x ticks below the frame, y ticks left of it; the corner's 0 is written once (on x), so no two overlap
    ticks = "".join(f'<text x="{pad + f * size}" y="{pad + size + 16}" text-anchor="middle">{escape(pct(f))}</text>'
                    for f in (0, 0.25, 0.5, 0.75, 1))
    ticks += "".join(f'<text x="{pad - 5}" y="{pad + size - f * size + 4}" text-anchor="end">{escape(pct(f))}</text>'
                     for f in (0.25, 0.5, 0.75, 1))
    return Markup(f'<svg viewBox="0 0 {size + pad + 24} {size + pad + 46}" role="img" aria-label="{escape(title)}" '
                  f'class="chart" style="max-width:440px"><title>{escape(title)}</title>{"".join(parts)}{axes}{ticks}'
                  "</svg>")


def fine_histogram(values_pct: np.ndarray, *, title: str = "", step: float = 0.1,
                   pct: Callable[[float], str] = _pct) -> Markup:
    """Histogram of percentages at ``step`` resolution with grey lines at integer percents (Kobak et al. 2016)."""
    import numpy as np

    v = values_pct[np.isfinite(values_pct)]
    counts, edges = np.histogram(v, bins=int(100 / step), range=(0, 100))
    w, h, pad = 700.0, 160.0, 24.0
    peak = counts.max() or 1
    pts = " ".join(f"{pad + w * e / 100:.1f},{pad + h - h * c / peak:.1f}" for e, c in zip(edges[:-1], counts,
                                                                                          strict=True))
    grid = "".join(f'<line x1="{pad + w * p / 100:.1f}" y1="{pad}" x2="{pad + w * p / 100:.1f}" y2="{pad + h}" '
                   f'stroke="#eee"/>' for p in range(0, 101, 1))
    labels = "".join(f'<text x="{pad + w * p / 100:.1f}" y="{pad + h + 14}" text-anchor="middle">'
                     f"{escape(pct(p / 100))}</text>" for p in range(0, 101, 10))
    return Markup(f'<svg viewBox="0 0 {w + 2 * pad} {h + pad + 20}" role="img" aria-label="{escape(title)}" '
                  f'class="chart"><title>{escape(title)}</title>{grid}<polyline points="{pts}" fill="none" '
                  f'stroke="#1f4e9e" stroke-width="1"/>{labels}</svg>')


def digit_bars(observed: np.ndarray, expected: np.ndarray, *, title: str = "") -> Markup:
    """Observed digit frequencies (bars) against the expected ones (dots), digits 0-9."""
    w, h, pad = 420.0, 150.0, 24.0
    peak = max(float(max(observed)), float(max(expected)), 1e-9) * 1.1
    bw = w / 10
    parts = []
    for d in range(10):
        o, e = float(observed[d]), float(expected[d])
        parts.append(f'<rect x="{pad + d * bw + 4:.1f}" y="{pad + h - h * o / peak:.1f}" width="{bw - 8:.1f}" '
                     f'height="{h * o / peak:.1f}" fill="#9ecae1"><title>{d}: {o:.3f}</title></rect>'
                     f'<circle cx="{pad + d * bw + bw / 2:.1f}" cy="{pad + h - h * e / peak:.1f}" r="3.5" '
                     f'fill="#d62728"><title>expected {e:.3f}</title></circle>'
                     f'<text x="{pad + d * bw + bw / 2:.1f}" y="{pad + h + 14}" text-anchor="middle">{d}</text>')
    return Markup(f'<svg viewBox="0 0 {w + 2 * pad} {h + pad + 20}" role="img" aria-label="{escape(title)}" '
                  f'class="chart" style="max-width:480px"><title>{escape(title)}</title>{"".join(parts)}</svg>')


def timeline(labels: list[str], values: list[int], *, title: str = "") -> Markup:
    """Vertical bars over time (e.g. tables a feed changed in each version), one per label, value on top."""
    w, h, pad, top = 700.0, 170.0, 30.0, 18.0
    n = max(len(values), 1)
    peak = max(max(values, default=0), 1)
    bw = (w - 2 * pad) / n
    parts = [f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#999"/>']
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        bh = (h - pad - top) * v / peak
        x = pad + i * bw
        parts.append(f'<rect x="{x + bw * 0.15:.1f}" y="{h - pad - bh:.1f}" width="{bw * 0.7:.1f}" '
                     f'height="{bh:.1f}" fill="{PALETTE[1] if v else "#ccc"}"/>'
                     f'<text x="{x + bw / 2:.1f}" y="{h - pad - bh - 3:.1f}" text-anchor="middle">{v:,}</text>'
                     f'<text x="{x + bw / 2:.1f}" y="{h - pad + 14:.1f}" text-anchor="middle" class="lbl">'
                     f'{escape(label)}</text>')
    return Markup(f'<svg viewBox="0 0 {w:.0f} {h:.0f}" role="img" aria-label="{escape(title)}" class="chart">'
                  f'<title>{escape(title)}</title>{"".join(parts)}</svg>')
