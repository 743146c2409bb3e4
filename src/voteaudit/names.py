"""Name matching: the same candidate written differently by two sources is one candidate."""

from __future__ import annotations

import re
import unicodedata


def candidate_key(name: str) -> str:
    """Accent-, case- and whitespace-insensitive key: "Nicolás  MADURO" -> "nicolas maduro"."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip().casefold()


def unit_part(text: str) -> str:
    """Normalised unit-key part, as ingest computes it in SQL (see ``ingest.tables``)."""
    t = re.sub(r"\s+", " ", str(text).strip())
    if re.fullmatch(r"[0-9]+", t):
        t = t.lstrip("0") or "0"
    else:
        t = "".join(ch for ch in unicodedata.normalize("NFKD", t) if not unicodedata.combining(ch)).lower()
    return t.replace("%", "%25").replace(".", "%2E")


def unit_id(parts: list[str]) -> str:
    """Unit id from raw key parts, outermost first."""
    return ".".join(unit_part(p) for p in parts)
