"""Find and decode the QR codes of tally-sheet images (zxing-cpp, with OpenCV preprocessing).

Decoding is a ladder of strategies, cheapest first; the ladder stops at the first rung that reads
a code, unless zxing saw a symbol it could not decode (then the next rungs look for it too, so
several sheets on one photo are all read):

1. ``reduced``: the image at about half resolution (JPEG DCT-domain downscaling: nearly free);
   zxing itself handles rotation, and moderate skew / perspective.
2. ``full``: full resolution.
3. full-resolution variants: ``sharpen`` (unsharp mask), ``median+sharpen`` (noise, then edges),
   ``upscale+sharpen`` (low resolution / blur), ``upscale``, ``clahe`` (local contrast),
   ``flatten`` (divide out uneven light / shadows), ``adaptive`` (adaptive threshold),
   ``histogram`` (zxing's global binarizer).
4. ``crop:*``: where zxing or OpenCV's detector located a symbol it could not read, that region is
   cut out, straightened (perspective warp) and enlarged, and the variants are tried on it.

:func:`decode_image` works on a greyscale array; :func:`decode_file` reads a file (JPEG, PNG, any
format Pillow reads, multi-frame TIFF, multi-page PDF via pypdfium2) and parses each code's
payload into a :class:`Sheet`, keeping provenance (sha256, file name, page, decode details).
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import zxingcpp
from PIL import Image, ImageSequence, UnidentifiedImageError

from voteaudit.model import InputError

from .payloads import parse_payload
from .records import Rejected, ScannedImage

cv2.setNumThreads(1)  # one image per process; parallelism comes from the process pool

_QR = zxingcpp.BarcodeFormat.QRCode
#: Long side (pixels) above which the first rung works on a half-resolution copy.
REDUCE_ABOVE = 1400
#: Long side (pixels) PDF pages are rendered at.
PDF_RENDER_LONG_SIDE = 2200
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".pdf"}

Variant = Callable[[np.ndarray], np.ndarray]


def _sharpen(g: np.ndarray, sigma: float = 2.0, amount: float = 1.0) -> np.ndarray:
    blur = cv2.GaussianBlur(g, (0, 0), sigma)
    return cv2.addWeighted(g, 1 + amount, blur, -amount, 0)


def _upscale(g: np.ndarray) -> np.ndarray:
    return cv2.resize(g, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)


def _flatten(g: np.ndarray) -> np.ndarray:
    """Divide by the smoothed background: removes shadows and light gradients."""
    small = cv2.resize(g, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    bg = cv2.resize(cv2.dilate(small, np.ones((9, 9), np.uint8)), (g.shape[1], g.shape[0]))
    out = cv2.divide(g, cv2.GaussianBlur(bg, (0, 0), 3), scale=255)
    return out


VARIANTS: list[tuple[str, Variant]] = [
    ("sharpen", _sharpen),
    ("median+sharpen", lambda g: _sharpen(cv2.medianBlur(g, 3))),
    ("upscale+sharpen", lambda g: _sharpen(_upscale(cv2.GaussianBlur(g, (0, 0), 1.0)))),
    ("upscale", _upscale),
    ("clahe", lambda g: cv2.createCLAHE(2.0, (8, 8)).apply(g)),
    ("flatten", _flatten),
    ("adaptive", lambda g: cv2.adaptiveThreshold(cv2.GaussianBlur(g, (0, 0), 1.0), 255,
                                                 cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 51, 5)),
    ("median5", lambda g: cv2.medianBlur(g, 5)),
]
#: Extra variants tried on a cropped, enlarged symbol (cheap: the crop is small).
CROP_VARIANTS: list[tuple[str, Variant]] = [
    ("plain", lambda g: g),
    *VARIANTS,
    ("strong-sharpen", lambda g: _sharpen(g, 3.0, 2.0)),
    ("otsu", lambda g: cv2.threshold(cv2.GaussianBlur(g, (0, 0), 1.5), 0, 255,
                                     cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]),
]


@dataclass
class Symbol:
    """One decoded QR symbol: its text and where it is in the original image."""

    text: str
    strategy: str
    position: list[list[float]]  # four corners (x, y): top-left, top-right, bottom-right, bottom-left
    ec_level: str = ""


@dataclass
class DecodeResult:
    """What :func:`decode_image` found: symbols, strategies tried, undecoded detections."""

    symbols: list[Symbol] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)
    undecoded: list[list[list[float]]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def strategy(self) -> str | None:
        return self.symbols[0].strategy if self.symbols else None


def _corners(pos: zxingcpp.Position, scale: float = 1.0, offset: tuple[float, float] = (0, 0),
             inverse: np.ndarray | None = None) -> list[list[float]]:
    pts = np.array([[p.x, p.y] for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)],
                   dtype=np.float64)
    pts = pts / scale
    if inverse is not None:
        pts = cv2.perspectiveTransform(pts[None].astype(np.float32), inverse)[0].astype(np.float64)
    pts = pts + offset
    return [[round(float(x), 1), round(float(y), 1)] for x, y in pts]


def _centre(corners: list[list[float]]) -> np.ndarray:
    return np.mean(np.asarray(corners), axis=0)


def _inside(point: np.ndarray, corners: list[list[float]], margin: float = 0.2) -> bool:
    c = np.asarray(corners)
    lo, hi = c.min(axis=0), c.max(axis=0)
    pad = (hi - lo) * margin
    return bool(np.all(point >= lo - pad) and np.all(point <= hi + pad))


class _Collector:
    """Accumulates decoded symbols (deduplicated by text and place) and undecoded detections."""

    def __init__(self) -> None:
        self.result = DecodeResult()

    def read(self, img: np.ndarray, strategy: str, *, scale: float = 1.0,
             offset: tuple[float, float] = (0, 0), inverse: np.ndarray | None = None,
             binarizer: zxingcpp.Binarizer | None = None) -> bool:
        """Run zxing on ``img``; return True when a new symbol was decoded."""
        self.result.tried.append(strategy)
        kwargs = {"binarizer": binarizer} if binarizer is not None else {}
        found = False
        for bc in zxingcpp.read_barcodes(img, formats=_QR, return_errors=True, **kwargs):
            corners = _corners(bc.position, scale, offset, inverse)
            if bc.valid:
                found |= self._add(Symbol(bc.text, strategy, corners, str(bc.ec_level)))
            elif not any(_inside(_centre(corners), s.position) for s in self.result.symbols) and not any(
                    _inside(_centre(corners), u, 0.0) for u in self.result.undecoded):
                self.result.undecoded.append(corners)
        return found

    def _add(self, sym: Symbol) -> bool:
        centre = _centre(sym.position)
        for s in self.result.symbols:
            if s.text == sym.text and _inside(centre, s.position):
                return False
        self.result.symbols.append(sym)
        self.result.undecoded = [u for u in self.result.undecoded if not _inside(_centre(u), sym.position)]
        return True

    @property
    def done(self) -> bool:
        """A symbol was read and nothing seen is left undecoded."""
        return bool(self.result.symbols) and not self.result.undecoded


def _rescale(result: DecodeResult, factor: float) -> None:
    """Scale the positions found on a reduced image up to full-resolution pixels."""
    for sym in result.symbols:
        sym.position = [[round(x * factor, 1), round(y * factor, 1)] for x, y in sym.position]
    result.undecoded = [[[x * factor, y * factor] for x, y in u] for u in result.undecoded]


def _crop(gray: np.ndarray, corners: list[list[float]]) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """The quadrilateral ``corners`` (plus a quiet-zone margin) warped to an upright square."""
    pts = np.asarray(corners, dtype=np.float32)
    centre = pts.mean(axis=0)
    pts = centre + (pts - centre) * 1.35  # include the quiet zone and any corner misplacement
    side = float(np.clip(np.linalg.norm(pts[1] - pts[0]) * 2, 240, 800))
    dst = np.array([[0, 0], [side, 0], [side, side], [0, side]], dtype=np.float32)
    mat = cv2.getPerspectiveTransform(pts, dst)
    warped = cv2.warpPerspective(gray, mat, (int(side), int(side)), flags=cv2.INTER_CUBIC,
                                 borderMode=cv2.BORDER_REPLICATE)
    return warped, np.linalg.inv(mat), (0.0, 0.0)


def _opencv_locate(gray: np.ndarray) -> list[list[list[float]]]:
    """Symbol outlines OpenCV's QR detector finds (it sometimes locates what zxing cannot)."""
    try:
        ok, pts = cv2.QRCodeDetector().detectMulti(gray)
    except cv2.error:
        return []
    if not ok or pts is None:
        return []
    return [[[float(x), float(y)] for x, y in quad] for quad in pts.reshape(-1, 4, 2)]


def decode_image(gray: np.ndarray, *, full: Callable[[], np.ndarray] | None = None,
                 full_width: int | None = None) -> DecodeResult:
    """Decode every QR symbol in a greyscale image.

    ``gray`` is the image to try first (possibly reduced); ``full`` returns the full-resolution
    image when ``gray`` is a reduced copy (``full_width`` its width, to scale positions without
    loading it). Positions are reported in full-resolution pixels.
    """
    start = time.perf_counter()
    col = _Collector()
    full_img = gray
    if full is not None:
        full_img = np.empty(0)
        col.read(gray, "reduced")
        if col.done:
            _rescale(col.result, (full_width or gray.shape[1]) / gray.shape[1])
            col.result.seconds = time.perf_counter() - start
            return col.result
        full_img = full()
        _rescale(col.result, full_img.shape[1] / gray.shape[1])
    if not col.done:
        col.read(full_img, "full")
    for name, fn in VARIANTS:
        if col.done:
            break
        img = fn(full_img)
        col.read(img, name, scale=img.shape[1] / full_img.shape[1])
    if not col.done:
        col.read(full_img, "histogram", binarizer=zxingcpp.Binarizer.GlobalHistogram)
    if not col.done:
        regions = list(col.result.undecoded)
        if not col.result.symbols:
            regions += [q for q in _opencv_locate(full_img)
                        if not any(_inside(_centre(q), u, 0.0) for u in regions)]
        for region in regions:
            crop, inverse, offset = _crop(full_img, region)
            for name, fn in CROP_VARIANTS:
                img = fn(crop)
                if col.read(img, f"crop:{name}", inverse=inverse, offset=offset,
                            scale=img.shape[1] / crop.shape[1]):
                    break
        col.result.undecoded = [u for u in col.result.undecoded
                                if not any(_inside(_centre(u), s.position) for s in col.result.symbols)]
    col.result.seconds = time.perf_counter() - start
    return col.result


# ----------------------------------------------------------------------------------------- files

@dataclass
class Page:
    """One image to decode: a file, or a page / frame of one."""

    page: int | None
    first: np.ndarray
    full: Callable[[], np.ndarray] | None
    size: tuple[int, int]


def _gray(img: Image.Image) -> np.ndarray:
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    return np.asarray(img.convert("L"))


def _pages(data: bytes) -> Iterator[Page]:
    """The decodable pages of a file's bytes (raises ValueError when it is no image or PDF)."""
    if data[:5] == b"%PDF-":
        yield from _pdf_pages(data)
        return
    try:
        img = Image.open(io.BytesIO(data))
        img.size  # noqa: B018 - force the header parse
    except (UnidentifiedImageError, OSError):
        raise ValueError("not an image or PDF (unknown or damaged image format)") from None
    frames = getattr(img, "n_frames", 1)
    if frames > 1 and img.format in ("TIFF", "MPO"):
        for k, frame in enumerate(ImageSequence.Iterator(img), 1):
            g = _gray(frame)
            yield Page(k, g, None, (g.shape[1], g.shape[0]))
        return
    size = img.size
    if img.format == "JPEG" and max(size) > REDUCE_ABOVE:
        img.draft("L", (size[0] // 2, size[1] // 2))  # DCT-domain downscale while decoding

        def full() -> np.ndarray:
            return _gray(Image.open(io.BytesIO(data)))

        yield Page(None, _gray(img), full, size)
        return
    g = _gray(img)
    if max(size) > REDUCE_ABOVE * 1.5:
        small = cv2.resize(g, (size[0] // 2, size[1] // 2), interpolation=cv2.INTER_AREA)
        yield Page(None, small, lambda: g, size)
    else:
        yield Page(None, g, None, size)


def _pdf_pages(data: bytes) -> Iterator[Page]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ValueError(f"unreadable PDF ({exc})") from None
    try:
        for k in range(len(pdf)):
            page = pdf[k]
            w_pt, h_pt = page.get_size()
            scale = PDF_RENDER_LONG_SIDE / max(w_pt, h_pt, 1.0)
            bitmap = page.render(scale=scale, grayscale=True)
            g = _gray(bitmap.to_pil())
            yield Page(k + 1, g, None, (g.shape[1], g.shape[0]))
    finally:
        pdf.close()


def decode_bytes(data: bytes, name: str, *, sha256: str | None = None) -> list[ScannedImage]:
    """Decode the image(s) in ``data`` (file ``name``), parsing each code's payload."""
    digest = sha256 or hashlib.sha256(data).hexdigest()
    out: list[ScannedImage] = []
    try:
        for page in _pages(data):
            out.append(_decode_page(page, name, digest))
    except ValueError as exc:
        out.append(ScannedImage(path=name, sha256=digest, page=None, error=str(exc),
                                decode={"strategy": None}))
    except (OSError, Image.DecompressionBombError) as exc:  # truncated / damaged image data
        out.append(ScannedImage(path=name, sha256=digest, page=None, error=f"damaged image: {exc}",
                                decode={"strategy": None}))
    if not out:
        out.append(ScannedImage(path=name, sha256=digest, page=None, error="the file has no pages"))
    return out


def _decode_page(page: Page, name: str, digest: str) -> ScannedImage:
    res = decode_image(page.first, full=page.full, full_width=page.size[0])
    image = ScannedImage(path=name, sha256=digest, page=page.page)
    for sym in res.symbols:
        try:
            image.sheets.append(parse_payload(sym.text))
        except InputError as exc:
            image.rejected.append(Rejected(sym.text, exc.problem))
    image.decode = {
        "strategy": res.strategy,
        "tried": res.tried,
        "seconds": round(res.seconds, 4),
        "image_size": list(page.size),
        "symbols": [{"strategy": s.strategy, "position": s.position, "ec_level": s.ec_level}
                    for s in res.symbols],
        "undecoded": res.undecoded,
    }
    if not image.sheets:
        if image.rejected:
            image.error = "payload rejected: " + "; ".join(r.reason for r in image.rejected)
        elif res.undecoded:
            image.error = (f"QR code found but not decodable ({len(res.undecoded)} symbol(s) "
                           "located; too blurred, small or damaged)")
        else:
            image.error = "no QR code found"
    elif res.undecoded:
        image.decode["warning"] = f"{len(res.undecoded)} further symbol(s) located but not decodable"
    return image


def decode_file(path: Path | str) -> list[ScannedImage]:
    """Decode one file: a ScannedImage per image / page (PDF pages and TIFF frames numbered from 1).

    Never raises for a bad image: an unreadable file comes back with ``error`` set.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [ScannedImage(path=str(path), sha256="", page=None, error=f"cannot read file: {exc.strerror}")]
    return decode_bytes(data, str(path))
