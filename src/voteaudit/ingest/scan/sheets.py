"""Synthetic tally-sheet images: a printed sheet with its QR code, photographed badly on purpose.

:func:`random_sheet` draws plausible counts for a table (seeded); :func:`render_page` draws the
printed sheet (header, table id, the count per card in text, totals, signature lines and the QR
code of the payload, made with segno); :func:`render_sheet` puts that page in a photograph with the
distortions real phone pictures have — rotation (any angle at ``heavy``), perspective, blur, sensor
noise, shadows / uneven light, low resolution and JPEG compression — at four levels
(:data:`DISTORTIONS`). :func:`render_photo` puts several sheets in one picture. Everything is
deterministic given the seed.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import segno
from PIL import Image, ImageDraw, ImageFont

from . import ve2024
from .generic import encode_generic
from .payloads import get_format, parse_payload
from .records import Sheet

#: Distortion levels, from a flat scan to a bad phone photo.
DISTORTIONS = ("none", "light", "default", "heavy")
PAGE_SIZE = (1000, 1350)  # printed sheet, portrait, in page pixels


@dataclass(frozen=True)
class Distortion:
    """Ranges the photo's defects are drawn from (uniform in [lo, hi])."""

    angle: float                 # max |rotation| in degrees
    right_angles: float          # probability of an extra 90/180/270 degree turn
    fill: tuple[float, float]    # fraction of the frame the sheet's bounding box fills
    perspective: float           # max corner displacement, fraction of the page size
    blur: tuple[float, float]    # gaussian sigma, photo pixels
    noise: tuple[float, float]   # gaussian sensor noise sigma, grey levels
    shadow: tuple[float, float]  # depth of the lighting gradient / cast shadow (0 = even light)
    lowres: tuple[float, float]  # resolution factor the photo was taken at (1 = full)
    jpeg: tuple[int, int] | None  # JPEG quality range of a compression round-trip


LEVELS: dict[str, Distortion] = {
    "none": Distortion(0, 0, (0.92, 0.92), 0, (0, 0), (0, 0), (0, 0), (1, 1), None),
    "light": Distortion(4, 0, (0.85, 0.95), 0.02, (0, 0.7), (1, 4), (0, 0.2), (1, 1), (80, 95)),
    "default": Distortion(15, 0.25, (0.75, 0.95), 0.06, (0.4, 1.4), (3, 9), (0.15, 0.5),
                          (0.6, 1), (55, 85)),
    "heavy": Distortion(180, 0, (0.65, 0.95), 0.11, (1.0, 2.2), (8, 16), (0.4, 0.7),
                        (0.4, 0.7), (25, 50)),
}


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans when installed (it has the accented capitals), else Pillow's bundled font."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def random_sheet(seed: int = 0, *, format: str = "ve2024") -> Sheet:  # noqa: A002 - mirrors parse_payload
    """A plausible sheet drawn from ``seed`` (``format`` ``ve2024`` or ``generic``), as parsed."""
    rng = np.random.default_rng(seed)
    registered = int(rng.integers(150, 900))
    ballots = int(rng.binomial(registered, rng.uniform(0.45, 0.8)))
    null = int(rng.binomial(ballots, 0.01))
    if format == "ve2024":
        centre = f"{rng.integers(1, 25):02d}{rng.integers(1, 20):02d}{rng.integers(1, 15):02d}" \
                 f"{rng.integers(1, 60):03d}"
        weights = np.full(len(ve2024.CARDS), 0.004)
        weights[0] = rng.uniform(0.15, 0.5)                        # PSUV
        weights[ve2024.CARDS.index("MUD")] = rng.uniform(0.3, 0.7)
        weights[ve2024.CARDS.index("UNTC")] = rng.uniform(0.0, 0.05)
        weights[ve2024.CARDS.index("MPV")] = rng.uniform(0.0, 0.05)
        counts = rng.multinomial(ballots - null, weights / weights.sum()).tolist()
        return ve2024.make_sheet(centre, int(rng.integers(1, 13)), counts, null)
    names = ["Ana Pérez", "Bo Li", "Chloé Dubois", "Dmitri Ivanov"]
    cards = {"Ana Pérez": "Ana Pérez", "PX": "Ana Pérez", "Bo Li": "Bo Li", "Chloé Dubois": "Chloé Dubois",
             "Dmitri Ivanov": "Dmitri Ivanov"}
    shares = rng.dirichlet(np.ones(len(cards)))
    votes = rng.multinomial(ballots - null, shares).tolist()
    selections = dict(zip(cards, votes, strict=True))
    unit = ["XX", f"{rng.integers(1, 30):02d}", f"{rng.integers(1, 500):04d}", f"{rng.integers(1, 20):02d}"]
    text = encode_generic(unit, selections, null=null, registered=registered,
                          valid=sum(votes), candidate_of={k: v for k, v in cards.items() if k != v})
    assert set(cards.values()) == set(names)
    return parse_payload(text, format="generic")


def qr_matrix(text: str) -> np.ndarray:
    """The QR symbol of ``text`` (error correction M, boosted when free) as a bool array, no border."""
    return np.array(segno.make(text, error="m", micro=False).matrix, dtype=bool)


def render_page(sheet: Sheet | str) -> Image.Image:
    """The printed sheet: header, table id, counts per card, totals, signatures and the QR code."""
    if isinstance(sheet, str):
        sheet = parse_payload(sheet)
    raw = sheet.raw if sheet.raw else get_format(sheet.payload_format).encode(sheet)
    w, h = PAGE_SIZE
    page = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(page)
    y = 40
    if sheet.payload_format == "ve2024":
        header = ["REPÚBLICA BOLIVARIANA DE VENEZUELA", "CONSEJO NACIONAL ELECTORAL",
                  "ACTA DE ESCRUTINIO - ELECCIÓN PRESIDENCIAL 28/07/2024"]
        state, mun, par, centre, mesa = sheet.unit_parts
        ident = [f"CENTRO {centre}   MESA {mesa}", f"ESTADO {state}   MUNICIPIO {mun}   PARROQUIA {par}"]
        totals = f"VOTOS VÁLIDOS {sheet.valid}     VOTOS NULOS {sheet.null}"
    else:
        header = ["TALLY SHEET", "RESULTS OF THE COUNT AT THE POLLING TABLE"]
        ident = ["UNIT " + " / ".join(sheet.unit_parts)]
        totals = f"VALID {sheet.valid}   NULL {sheet.null}   REGISTERED {sheet.registered}"
    for i, line in enumerate(header):
        font = _font(30 if i == 0 else 24)
        draw.text((w / 2, y), line, fill=0, font=font, anchor="mt")
        y += 40
    y += 10
    draw.line([(40, y), (w - 40, y)], fill=0, width=3)
    y += 20
    for line in ident:
        draw.text((60, y), line, fill=0, font=_font(26))
        y += 36
    y += 10
    items = list(sheet.selections.items())
    rows = math.ceil(len(items) / 2)
    row_h = min(26, max(12, 480 // max(rows, 1)))
    font = _font(row_h - 6)
    col_w = (w - 180) // 2
    for i, (name, votes) in enumerate(items):
        x0 = 60 + (i // rows) * (col_w + 60)
        yy = y + (i % rows) * row_h
        draw.text((x0, yy), f"{i + 1:>2}  {name}", fill=0, font=font)
        draw.text((x0 + col_w - 10, yy), str(votes), fill=0, font=font, anchor="ra")
        draw.line([(x0, yy + row_h - 2), (x0 + col_w, yy + row_h - 2)], fill=170, width=1)
    y += rows * row_h + 20
    draw.text((60, y), totals, fill=0, font=_font(26))
    y += 50
    qr = qr_matrix(raw)
    quiet = 4
    module = max(2, min((h - y - 40) // (qr.shape[0] + 2 * quiet), 8))
    side = (qr.shape[0] + 2 * quiet) * module
    sym = np.kron(~qr, np.ones((module, module), dtype=bool)).astype(np.uint8) * 255
    sym = np.pad(sym, quiet * module, constant_values=255)
    page.paste(Image.fromarray(sym), (w - 50 - side, h - 40 - side))
    for k, label in enumerate(["MIEMBRO DE MESA", "SECRETARIO/A", "TESTIGO"]):
        yy = y + 60 + k * 110
        draw.line([(60, yy), (w - side - 110, yy)], fill=0, width=2)
        draw.text((60, yy + 8), label, fill=0, font=_font(18))
    return page


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A table-top: smooth random colour field plus a little texture (float32 RGB, 0-255)."""
    colour = rng.uniform(50, 170, size=3) * [1.0, 0.85, 0.7]   # wood-ish to grey
    base = (colour * rng.uniform(0.75, 1.15, size=(4, 5, 1))).astype(np.float32)
    bg = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = cv2.resize(rng.normal(0, 12, size=(height // 8, width // 8)).astype(np.float32), (width, height))
    return np.clip(bg + grain[..., None], 0, 255)


def _placement(rng: np.random.Generator, d: Distortion, page_wh: tuple[int, int],
               cell: tuple[float, float, float, float]) -> np.ndarray:
    """A 3x3 homography from page pixels into the photo cell (x, y, w, h)."""
    pw, ph = page_wh
    cx, cy, cw, chh = cell
    angle = rng.uniform(-d.angle, d.angle) if d.angle else 0.0
    if d.right_angles and rng.random() < d.right_angles:
        angle += 90 * int(rng.integers(1, 4))
    corners = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float64) - [pw / 2, ph / 2]
    jitter = rng.uniform(-d.perspective, d.perspective, size=(4, 2)) * [pw, ph] if d.perspective else 0
    corners = corners + jitter
    t = math.radians(angle)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    pts = corners @ rot.T
    span = pts.max(axis=0) - pts.min(axis=0)
    fill = rng.uniform(*d.fill)
    scale = fill * min(cw / span[0], chh / span[1])
    pts = pts * scale
    free = np.array([cw, chh]) - (pts.max(axis=0) - pts.min(axis=0))
    offset = np.array([cx, cy]) - pts.min(axis=0) + free * rng.uniform(0.2, 0.8, size=2)
    dst = (pts + offset).astype(np.float32)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float32)
    return cv2.getPerspectiveTransform(src, dst)


def _lighting(rng: np.random.Generator, depth: float, width: int, height: int) -> np.ndarray:
    """A multiplicative light field: a linear gradient plus a soft-edged cast shadow."""
    if depth <= 0:
        return np.ones((height, width), np.float32)
    sw, sh = 64, 48
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    t = rng.uniform(0, 2 * math.pi)
    ramp = (xx / sw - 0.5) * math.cos(t) + (yy / sh - 0.5) * math.sin(t)
    field = 1 - depth * 0.6 * (ramp - ramp.min()) / (np.ptp(ramp) + 1e-6)
    # cast shadow: a half-plane (a hand, a phone) with a soft edge
    u = rng.uniform(0, 2 * math.pi)
    edge = (xx / sw - rng.uniform(0.3, 0.7)) * math.cos(u) + (yy / sh - rng.uniform(0.3, 0.7)) * math.sin(u)
    shadow = 1 / (1 + np.exp(-edge * rng.uniform(15, 60)))
    field *= 1 - depth * 0.5 * shadow
    return cv2.resize(field, (width, height), interpolation=cv2.INTER_LINEAR)


def render_photo(sheets: list[Sheet | str], *, distortion: str = "default", seed: int = 0,
                 size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    """A photograph (RGB, ``size`` = width x height) of the sheets laid side by side."""
    try:
        d = LEVELS[distortion]
    except KeyError:
        raise ValueError(f"distortion must be one of {DISTORTIONS}, not {distortion!r}") from None
    rng = np.random.default_rng([seed, DISTORTIONS.index(distortion)])
    width, height = size
    if distortion == "none":
        img = np.full((height, width, 3), 235, np.float32)
    else:
        img = _background(rng, width, height).astype(np.float32)
    n = len(sheets)
    for k, sheet in enumerate(sheets):
        page = np.asarray(render_page(sheet))
        cell = (k * width / n, 0.0, width / n, float(height))
        hmat = _placement(rng, d, (page.shape[1], page.shape[0]), cell)
        warped = cv2.warpPerspective(page, hmat, (width, height), flags=cv2.INTER_AREA,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        mask = cv2.warpPerspective(np.full(page.shape, 255, np.uint8), hmat, (width, height),
                                   flags=cv2.INTER_LINEAR, borderValue=0)
        tint = rng.uniform(0.93, 1.0, size=3) if distortion != "none" else np.ones(3)
        alpha = mask.astype(np.float32)[..., None] * np.float32(1 / 255)
        paper = warped.astype(np.float32)[..., None] * tint.astype(np.float32)
        img += (paper - img) * alpha
    if d.shadow[1] > 0:
        img *= _lighting(rng, rng.uniform(*d.shadow), width, height)[..., None]
    if d.lowres[0] < 1:
        f = rng.uniform(*d.lowres)
        small = cv2.resize(img, (int(width * f), int(height * f)), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if d.blur[1] > 0:
        sigma = rng.uniform(*d.blur)
        if sigma > 0.2:
            img = cv2.GaussianBlur(img, (0, 0), sigma)
    if d.noise[1] > 0:
        img += rng.standard_normal((height, width, 1), dtype=np.float32) * rng.uniform(*d.noise)
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    if d.jpeg is not None:
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=int(rng.integers(d.jpeg[0], d.jpeg[1] + 1)))
        buf.seek(0)
        out = Image.open(buf).convert("RGB")
    return out


def render_sheet(sheet: Sheet | str, *, distortion: str = "default", seed: int = 0,
                 size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    """A photograph of one sheet (a :class:`Sheet` or its payload text) at a distortion level.

    ``distortion`` is one of :data:`DISTORTIONS`; the same seed gives the same image.
    """
    return render_photo([sheet], distortion=distortion, seed=seed, size=size)
