"""Announced totals ("bulletins") from JSON or CSV.

JSON: a list of bulletins, ``{"bulletins": [...]}`` or one bulletin object. A bulletin::

    {"name": "Bulletin 2", "announced": "2024-08-02T10:00-04:00",
     "unit": null,                      # null/absent = national; else key parts, e.g. ["13"] or "13.4"
     "results": [{"candidate": "A", "votes": 6408844, "stated_pct": 51.95, "party": "X"}, ...],
                                        # or {"A": 6408844, ...}
     "registered": 21321805, "cast": 12386669, "valid": 12335884, "null": 50785, "blank": 0,
     "progress_pct": 96.87, "turnout_pct": 59.97, "units_counted": 29000, "precision_pct": 0.01}

Aliases accepted: ``id`` (name becomes "bulletin <id>"), ``announced_at``/``timestamp``,
``votes_cast``, ``valid_votes``, ``null_votes``, ``registered_voters``/``registered_voters_stated``,
``stated_progress_pct``, ``stated_participation_pct``. Unknown keys are kept as ``extra``.
The announced size of the election may be given at the top level as ``{"registry": {"units": N,
"registered": M}}`` (or ``registry_context`` with ``mesas`` / ``registered_voters_total``).

CSV: one row per bulletin and candidate; columns ``bulletin``, ``candidate``, ``votes`` and
optionally ``announced``, ``unit``, ``stated_pct``, ``party``, ``registered``, ``cast``, ``valid``,
``null``, ``blank``, ``progress_pct``, ``turnout_pct``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from voteaudit.ingest.counts import MAX_TOTAL
from voteaudit.ingest.readers import _decode, load_json
from voteaudit.model import InputError
from voteaudit.names import unit_id
from voteaudit.store.base import Bulletin, BulletinResult

ALIASES = {
    "announced_at": ("announced_at", "announced", "timestamp", "time", "date"),
    "registered": ("registered", "registered_voters", "registered_voters_stated"),
    "cast": ("cast", "votes_cast", "ballots_cast"),
    "valid": ("valid", "valid_votes"),
    "null": ("null", "null_votes"),
    "blank": ("blank", "blank_votes"),
    "progress_pct": ("progress_pct", "stated_progress_pct"),
    "turnout_pct": ("turnout_pct", "stated_participation_pct", "participation_pct"),
    "units_counted": ("units_counted", "tables_counted"),
    "precision_pct": ("precision_pct",),
}
COUNTS = ("registered", "cast", "valid", "null", "blank", "units_counted")


def _count(value: Any, origin: str, where: str) -> int:
    if isinstance(value, bool):
        raise InputError("must be a whole number of votes", file=origin, field=where)
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise InputError(f"must be a whole number, not {value!r}", file=origin, field=where)
    if value < 0:
        raise InputError(f"negative count {value}", file=origin, field=where)
    if value > MAX_TOTAL:
        raise InputError(f"count {value} too large: above the plausible maximum of {MAX_TOTAL:,} for an announced "
                         "total", file=origin, field=where)
    return value


def _number(value: Any, origin: str, where: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        m = re.match(r"\s*([0-9]+(?:[.,][0-9]+)?)", value)
        if not m:
            raise InputError(f"must be a number, not {value!r}", file=origin, field=where)
        return float(m.group(1).replace(",", "."))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise InputError(f"must be a number, not {value!r}", file=origin, field=where)


def _unit(value: Any, origin: str, where: str) -> str | None:
    if value in (None, "", "national"):
        return None
    if isinstance(value, list):
        return unit_id([str(v) for v in value])
    if isinstance(value, str | int):
        return unit_id(str(value).split("."))
    raise InputError("unit must be key parts (list) or a dotted id", file=origin, field=where)


def _bulletin(obj: Any, i: int, origin: str) -> Bulletin:
    where = f"bulletins[{i}]"
    if not isinstance(obj, dict):
        raise InputError("each bulletin must be an object", file=origin, field=where)
    if "name" in obj:
        name = str(obj["name"]).strip()
    elif "id" in obj:
        name = f"bulletin {obj['id']}"
    else:
        name = f"bulletin {i + 1}"
    if not name:
        raise InputError("empty bulletin name", file=origin, field=f"{where}.name")
    raw = obj.get("results")
    if isinstance(raw, dict):
        raw = [{"candidate": k, "votes": v} for k, v in raw.items()]
    if not isinstance(raw, list) or not raw:
        raise InputError("needs results: a list of {candidate, votes} or an object candidate -> votes",
                         file=origin, field=f"{where}.results")
    results = []
    seen = set()
    for j, r in enumerate(raw):
        rw = f"{where}.results[{j}]"
        if not isinstance(r, dict):
            raise InputError("each result must be an object", file=origin, field=rw)
        cand = r.get("candidate", r.get("name"))
        if not isinstance(cand, str) or not cand.strip():
            raise InputError("missing candidate name", file=origin, field=f"{rw}.candidate")
        if cand.strip() in seen:
            raise InputError(f"candidate {cand!r} listed twice", file=origin, field=f"{rw}.candidate")
        seen.add(cand.strip())
        if "votes" not in r:
            raise InputError("missing votes", file=origin, field=f"{rw}.votes")
        pct = r.get("stated_pct", r.get("pct", r.get("percent")))
        results.append(BulletinResult(cand.strip(), _count(r["votes"], origin, f"{rw}.votes"),
                                      _number(pct, origin, f"{rw}.stated_pct"),
                                      str(r["party"]) if r.get("party") is not None else None))
    fields: dict[str, Any] = {}
    used = {"name", "id", "results", "unit"}
    for key, aliases in ALIASES.items():
        for alias in aliases:
            if alias in obj and obj[alias] is not None:
                used.add(alias)
                value = obj[alias]
                if key in COUNTS:
                    fields[key] = _count(value, origin, f"{where}.{alias}")
                elif key == "announced_at":
                    fields[key] = str(value)
                else:
                    fields[key] = _number(value, origin, f"{where}.{alias}")
                break
    if "progress_pct" not in fields and isinstance(obj.get("stated_progress"), str):
        fields["progress_pct"] = _number(obj["stated_progress"], origin, f"{where}.stated_progress")
    extra = {k: v for k, v in obj.items() if k not in used}
    return Bulletin(name=name, results=results, unit=_unit(obj.get("unit"), origin, f"{where}.unit"),
                    extra=extra, **fields)


def _universe(data: dict[str, Any], origin: str) -> dict[str, int]:
    reg = data.get("registry") or data.get("registry_context") or {}
    if not isinstance(reg, dict):
        return {}
    out = {}
    for key, aliases in (("units", ("units", "tables", "mesas")),
                         ("registered", ("registered", "registered_voters_total"))):
        for alias in aliases:
            if alias in reg:
                out[key] = _count(reg[alias], origin, f"registry.{alias}")
                break
    return out


def read_bulletins(path: Path) -> tuple[list[Bulletin], dict[str, int]]:
    """Parse an announced-totals file; returns (bulletins, announced election size)."""
    path = Path(path)
    origin = str(path)
    if not path.exists():
        raise InputError("file not found", file=origin)
    data = path.read_bytes()
    if not data.strip():
        raise InputError("empty file", file=origin)
    enc, text = _decode(data, origin, None)
    text = (text if enc else data.decode("utf-8")).lstrip("\ufeff")
    universe: dict[str, int] = {}
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        doc = load_json(text, origin)
        if isinstance(doc, dict) and "bulletins" in doc:
            universe = _universe(doc, origin)
            items = doc["bulletins"]
        elif isinstance(doc, dict):
            items = [doc]
        else:
            items = doc
        if not isinstance(items, list) or not items:
            raise InputError("no bulletins found", file=origin, field="bulletins")
        bulletins = [_bulletin(b, i, origin) for i, b in enumerate(items)]
    else:
        bulletins = _read_csv(text, origin)
    names = [b.name for b in bulletins]
    for name in names:
        if names.count(name) > 1:
            raise InputError(f"two bulletins named {name!r}", file=origin, field="name")
    for b in bulletins:
        b.file = origin
    return bulletins, universe


def _read_csv(text: str, origin: str) -> list[Bulletin]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    for need in ("bulletin", "candidate", "votes"):
        if need not in header:
            raise InputError(f"missing column (have: {', '.join(header)})", file=origin, row=1, field=need)
    grouped: dict[str, dict[str, Any]] = {}
    for rowno, row in enumerate(reader, start=2):
        if None in row:
            raise InputError("ragged row: more fields than the header", file=origin, row=rowno)
        name = (row.get("bulletin") or "").strip()
        if not name:
            raise InputError("empty bulletin name", file=origin, row=rowno, field="bulletin")
        b = grouped.setdefault(name, {"name": name, "results": [], "_row": rowno})
        for key, value in row.items():
            if key not in ("bulletin", "candidate", "votes", "stated_pct", "party") and value not in (None, ""):
                b[key] = value
        votes = (row.get("votes") or "").strip()
        if not re.fullmatch(r"[0-9]{1,30}", votes):
            shown = votes if len(votes) <= 40 else f"{votes[:20]}... ({len(votes)} characters)"
            raise InputError(f"votes must be a whole number of at most 30 digits, not {shown!r}", file=origin,
                             row=rowno, field="votes")
        b["results"].append({"candidate": row.get("candidate") or "", "votes": int(votes),
                             "stated_pct": row.get("stated_pct") or None, "party": row.get("party") or None})
    if not grouped:
        raise InputError("no data rows: the file has a header only", file=origin)
    out = []
    for i, b in enumerate(grouped.values()):
        b.pop("_row")
        out.append(_bulletin(b, i, origin))
    return out
