"""Analysis results computed once per store state: ``forensics`` then ``report`` runs the battery once.

A result is kept as JSON under the user's cache directory (``$VOTEAUDIT_CACHE``, else
``$XDG_CACHE_HOME/voteaudit``, else ``~/.cache/voteaudit``), keyed by the analysis, its parameters, the
code (:func:`code_state`) and the store's state. The state of a DuckDB store is its file's path, size and
modification time (and its write-ahead log's): any write changes it, so a cached result can never outlive
the data or the code it was computed from. Server stores (PostgreSQL) are not cached: other processes
write to them at any time. Set ``VOTEAUDIT_CACHE=off`` to turn caching off.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voteaudit.model import SourceMatrix
    from voteaudit.store import Store

VERSION = 1  # bump when a cached document's shape changes


@functools.cache
def code_state() -> str:
    """A fingerprint of the installed voteaudit code (every module's size and modification time): results
    computed by other code (an upgrade, an edited checkout) are never reused."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def _root() -> Path | None:
    env = os.environ.get("VOTEAUDIT_CACHE")
    if env == "off":
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voteaudit"


def store_state(db: str) -> str | None:
    """The state of the DuckDB store at ``db`` (None for server stores and missing files)."""
    if db.startswith(("postgresql://", "postgres://")):
        return None
    path = Path(db)
    if not path.is_file():
        return None
    parts = [str(path.resolve())]
    for p in (path, path.with_name(path.name + ".wal")):
        if p.exists():
            st = p.stat()
            parts.append(f"{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _file(db: str, analysis: str, params: dict[str, Any]) -> Path | None:
    root, state = _root(), store_state(db)
    if root is None or state is None:
        return None
    key = json.dumps([VERSION, code_state(), state, analysis, params], sort_keys=True, default=str)
    return root / f"{analysis}-{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"


def cached(db: str, analysis: str, params: dict[str, Any], compute: Callable[[], Any]) -> Any:
    """The JSON-able result of ``compute()`` for this store state and these parameters, computed at most once."""
    path = _file(db, analysis, params)
    if path is not None and path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # unreadable entry: compute again and replace it
    doc = json.loads(json.dumps(compute(), default=str))  # the same types whether computed or read back
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, default=str)
            os.replace(tmp, path)  # atomic: a reader sees the old entry or the whole new one
        except OSError:
            pass  # a read-only home: no cache, same result
    return doc


def forensics_docs(store: Store, matrix: SourceMatrix, *, level: str | None = None, alpha: float = 0.05,
                   seed: int = 0, tests: list[str] | None = None, other: SourceMatrix | None = None,
                   correction: str | None = None, materiality: dict[str, float] | None = None,
                   names: dict[str, str] | None = None, as_of: str | None = None) -> list[dict[str, Any]]:
    """The forensics battery's results (as ``forensics --json`` prints them), computed once per store state."""
    from voteaudit.forensics import run_battery

    params = {"source": matrix.source, "contest": matrix.contest, "other": other.source if other else None,
              "level": level, "alpha": alpha, "seed": seed, "tests": list(tests) if tests else None,
              "correction": correction, "materiality": materiality or None, "names": names or None, "as_of": as_of}
    return cached(str(getattr(store, "url", "")), "forensics", params,
                  lambda: [r.to_dict() for r in run_battery(matrix, level=level, alpha=alpha, seed=seed,
                                                            other=other, tests=tests, correction=correction,
                                                            materiality=materiality, names=names)])
