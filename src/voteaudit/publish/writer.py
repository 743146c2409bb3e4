"""Writing the site: every file goes through :class:`SiteWriter`, which refuses unsafe paths and hashes
what it writes (so the manifest needs no second pass over the bytes).

JSON data that the look-up page loads is written twice: ``NAME.json`` (for HTTP and for programs) and
``NAME.js`` (``voteauditData("NAME", {...});``) because browsers refuse ``fetch()`` on ``file://`` but
do run ``<script src>``. The ``.js`` twin escapes ``<``, ``>``, ``&``, U+2028 and U+2029 so no data can
close a script element or break a JavaScript parser.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from voteaudit.exports import safe_name

__all__ = ["SiteWriter", "check_listed", "check_rel", "compact", "js_literal", "js_safe", "js_safe_bytes",
           "safe_name"]

_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")
_BAD_CHARS = re.compile(r"[\\:\x00-\x1f\x7f]")
_JS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JS_RE = re.compile("[<>&\u2028\u2029]")
_JS_BYTES = {k.encode("utf-8"): v.encode("ascii") for k, v in _JS_ESCAPES.items()}
_JS_RE_BYTES = re.compile(b"[<>&]|\xe2\x80[\xa8\xa9]")  # the same characters, in UTF-8


def compact(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def js_safe(text: str) -> str:
    """Compact JSON text made safe inside a ``<script>`` element or a ``.js`` file (same value)."""
    return _JS_RE.sub(lambda m: _JS_ESCAPES[m.group(0)], text)


def js_safe_bytes(data: bytes) -> bytes:
    """:func:`js_safe` on UTF-8 bytes."""
    return _JS_RE_BYTES.sub(lambda m: _JS_BYTES[m.group(0)], data)


def js_literal(doc: Any) -> str:
    """JSON that is also safe to place inside a ``<script>`` element or a ``.js`` file."""
    return js_safe(compact(doc))


def check_rel(rel: str) -> str:
    """Reject any relative path that is not plain safe segments (no ``..``, no absolute, no odd characters)."""
    parts = rel.split("/")
    if any(not _SAFE_SEGMENT.fullmatch(p) for p in parts):
        raise ValueError(f"unsafe path in site: {rel!r}")
    return rel


def check_listed(rel: str) -> str:
    """Looser rule for paths a manifest lists (other writers may use non-ASCII names): relative, no empty,
    ``.`` or ``..`` segment, no backslash, colon or control character. Verify applies the same rule."""
    parts = rel.split("/")
    if (not rel or any(p in ("", ".", "..") for p in parts) or _BAD_CHARS.search(rel)):
        raise ValueError(f"unsafe path in site: {rel!r}")
    return rel


class SiteWriter:
    """Writes files under ``root`` and remembers each one's sha256 and size."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.files: dict[str, dict[str, Any]] = {}

    def bytes(self, rel: str, data: bytes) -> None:
        path = self.root / check_rel(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}

    def text(self, rel: str, text: str) -> None:
        self.bytes(rel, text.encode("utf-8"))

    def data(self, name: str, doc: Any) -> None:
        """``name.json`` and its ``name.js`` twin."""
        self.json_bytes(name, compact(doc).encode("utf-8"))

    def json_bytes(self, name: str, data: bytes | bytearray | memoryview) -> None:
        """``name.json`` holding ``data`` (compact JSON, UTF-8) and its ``name.js`` twin."""
        data = bytes(data)
        self.bytes(f"{name}.json", data)
        self.bytes(f"{name}.js", b"".join([f"voteauditData({js_literal(name)},".encode(), js_safe_bytes(data),
                                           b");\n"]))

    def adopt(self, rel: str) -> None:
        """Hash a file another writer (the report, pyarrow) put under ``root``."""
        path = self.root / check_listed(rel)
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        self.files[rel] = {"sha256": h.hexdigest(), "bytes": path.stat().st_size}
