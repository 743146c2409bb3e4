"""Uploaded sheet photos are decoded in a separate process with hard limits, never in the server process.

An image's pixel count is read from its header (Pillow opens lazily) and an image over
``max_pixels`` is refused before a single pixel is decoded (a 29 KB PNG can declare 110 megapixels:
decoding it costs gigabytes). What passes is decoded in a child process started with the ``spawn``
method whose address space is capped (``RLIMIT_AS``) and whose CPU time per upload is capped
(``RLIMIT_CPU``, re-armed per task); Pillow's own decompression-bomb guard is set to the same pixel
limit. A child that runs out of memory, exceeds its time or crashes on a malformed file takes only
itself down: the upload is marked unreadable with the reason, and a fresh child serves the next one.
The child answers in JSON of bounded size (never pickle), so even a child subverted by a hostile
file cannot make the server run code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from typing import Any

Outcome = tuple[dict[str, Any] | None, str | None, dict[str, Any]]   # (canonical numbers, error, details)
MAX_PDF_PAGES = 20
MAX_REPLY = 1024 * 1024   # bytes of a decoder's answer


@dataclass(frozen=True)
class Limits:
    max_pixels: int = 40_000_000
    memory: int = 1024 * 1024 * 1024      # bytes of address space (RLIMIT_AS)
    cpu_seconds: int = 60                 # per upload (RLIMIT_CPU)


def pixels(data: bytes) -> tuple[int, str]:
    """(pixels to decode, what) from the file's header only; ValueError when it is no image."""
    import io

    if data[:5] == b"%PDF-":
        import pypdfium2 as pdfium

        from voteaudit.ingest.scan.decode import PDF_RENDER_LONG_SIDE
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise ValueError(f"unreadable PDF ({exc})") from None
        try:
            n = len(pdf)
        finally:
            pdf.close()
        if n > MAX_PDF_PAGES:
            raise ValueError(f"PDF of {n} pages; at most {MAX_PDF_PAGES} pages are decoded")
        return n * PDF_RENDER_LONG_SIDE ** 2, f"{n} PDF page(s)"
    from PIL import Image, UnidentifiedImageError

    guard, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None   # the size is all we read here
    try:
        img = Image.open(io.BytesIO(data))   # lazy: parses the header, decodes nothing
        w, h = img.size
        frames = getattr(img, "n_frames", 1) if img.format in ("TIFF", "MPO") else 1
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"not an image or PDF (unknown or damaged image format: {exc})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = guard
    return w * h * frames, f"{w}×{h} pixels" + (f" × {frames} frames" if frames > 1 else "")


def check_pixels(data: bytes, max_pixels: int) -> None:
    """ValueError naming the size when the image would decode to more than ``max_pixels`` pixels."""
    n, what = pixels(data)
    if n > max_pixels:
        raise ValueError(f"image of {what} ({n / 1e6:.1f} megapixels) is larger than the limit of "
                         f"{max_pixels / 1e6:.1f} megapixels; photograph the sheet at a lower resolution")


def decode_upload(data: bytes, filename: str | None, max_pixels: int) -> Outcome:
    """(canonical numbers, error, decode details) of one uploaded file (runs in the child)."""
    from voteaudit.model import InputError
    from voteaudit.names import unit_id
    from voteaudit.server import submissions as subs

    try:
        check_pixels(data, max_pixels)
    except ValueError as exc:
        return None, str(exc), {"images": [], "refused": "before decoding"}
    from voteaudit.ingest.scan.decode import decode_bytes

    images = decode_bytes(data, filename or "upload")
    details: dict[str, Any] = {"images": [{"page": im.page, "error": im.error, "strategy": im.decode.get("strategy"),
                                           "sheets": len(im.sheets)} for im in images]}
    sheets = [sh for im in images for sh in im.sheets]
    if not sheets:
        return None, next((im.error for im in images if im.error), "no sheet found"), details
    sheet = sheets[0]
    if len(sheets) > 1:
        details["warning"] = f"{len(sheets)} sheets in one upload; the first was used"
    details["payload_format"] = sheet.payload_format
    details["problems"] = sheet.problems
    counts = {"null": sheet.null, "blank": sheet.blank, "registered": sheet.registered}
    try:
        doc = subs.check_results(unit_id(sheet.unit_parts), dict(sheet.candidates), counts)
    except InputError as exc:
        return None, str(exc), details
    return doc, None, details


def _child(conn_in: Connection, conn_out: Connection, limits: dict[str, int]) -> None:  # pragma: no cover - child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limits["memory"], limits["memory"]))
    import warnings

    from PIL import Image

    # Pillow's own guard as a second line: refuses above 2 x MAX_IMAGE_PIXELS (= max_pixels), warns above
    Image.MAX_IMAGE_PIXELS = limits["max_pixels"] // 2
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    while True:
        try:
            filename = json.loads(conn_in.recv_bytes())["filename"]
            data = conn_in.recv_bytes()
        except EOFError:
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = int(used.ru_utime + used.ru_stime) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (spent + limits["cpu_seconds"], resource.RLIM_INFINITY))
        try:
            result: Any = ("ok", decode_upload(data, filename, limits["max_pixels"]))
        except MemoryError:
            result = ("error", f"decoding needs more than the decoder's {limits['memory'] >> 20} MiB of memory")
        except Exception as exc:  # noqa: BLE001 - any failure on a hostile file is that file's error
            result = ("error", f"cannot decode the file: {type(exc).__name__}: {exc}")
        del data
        conn_out.send_bytes(json.dumps(result, ensure_ascii=False).encode())


class Decoder:
    """A child process decoding uploads one at a time under :class:`Limits`; replaced when it dies.

    The child is a fresh interpreter (``python -m voteaudit.server.decoder``), not a fork: it holds
    no copy of the server's memory and re-imports nothing of the parent's main module.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._send: Connection | None = None
        self._recv: Connection | None = None

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "voteaudit.server.decoder", str(to_child_r), str(from_child_w),
             json.dumps(asdict(self.limits))], pass_fds=(to_child_r, from_child_w), env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, close_fds=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._send, self._recv = Connection(to_child_w, readable=False), Connection(from_child_r, writable=False)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def decode(self, data: bytes, filename: str | None) -> Outcome:
        """Decode one upload in the child; a child that dies or overruns yields an error, not an exception."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._stop()
                self._start()
            assert self._send is not None and self._recv is not None
            try:
                self._send.send_bytes(json.dumps({"filename": filename}).encode())
                self._send.send_bytes(data)
                # CPU is capped in the child; the wall clock here (start-up, a stalled child) with margin
                if self._recv.poll(self.limits.cpu_seconds * 2 + 30):
                    # JSON, never pickle, from the process that handled the hostile file; size bounded
                    kind, value = json.loads(self._recv.recv_bytes(MAX_REPLY))
                    return tuple(value) if kind == "ok" else (None, value, {"images": []})
                reason = "decoding timed out"
            except (EOFError, OSError, ValueError):
                reason = "the decoder stopped"
            code = self._stop()
            if code is not None and code < 0:
                sig = signal.Signals(-code).name
                reason += (f" ({sig}: the file needs more than {self.limits.cpu_seconds} s of CPU)"
                           if sig == "SIGXCPU" else f" ({sig})")
            elif code:
                reason += f" (exit status {code}, likely out of its {self.limits.memory >> 20} MiB of memory)"
            return None, f"{reason}: the file is too large or damaged to decode", {"images": []}

    def _stop(self) -> int | None:
        code = None
        for conn in (self._send, self._recv):
            if conn is not None:
                conn.close()
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            code = self._proc.wait(10)
        self._proc, self._send, self._recv = None, None, None
        return code

    def close(self) -> None:
        with self._lock:
            self._stop()


if __name__ == "__main__":  # pragma: no cover - the child process
    _child(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False),
           json.loads(sys.argv[3]))
