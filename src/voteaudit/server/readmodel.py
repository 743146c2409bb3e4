"""The public read side: an in-memory model of the store (matrices, labels, hierarchy), rebuilt when it changes.

Each server process keeps one :class:`ReadModel`; a background thread rebuilds it when the store's
generation changes (at most every ``refresh`` seconds) while the old one keeps answering, so reads
never wait on a rebuild and never lock the store.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voteaudit.model import SourceMatrix
from voteaudit.store import Store, open_store


@dataclass
class ReadModel:
    version: int
    generation: Any
    levels: list[str]
    matrices: dict[str, SourceMatrix]
    labels: dict[str, str]
    units: list[str]                        # leaf ids, sorted
    children: dict[str | None, list[str]]   # parent id (None = top) -> child ids, sorted
    signatures: dict[str, tuple] = field(default_factory=dict)
    built_at: float = field(default_factory=time.time)
    _cache: dict[Any, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def memo(self, key: Any, make: Any) -> Any:
        """A value computed once per model (summaries, level totals)."""
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = make()
        with self._lock:
            if len(self._cache) >= 5000:   # bounded: arbitrary queries must not grow memory
                return value
            return self._cache.setdefault(key, value)

    def depth(self, node: str) -> int:
        return node.count(".") + 1

    def level_of(self, node: str) -> str | None:
        d = self.depth(node)
        return self.levels[d - 1] if 0 < d <= len(self.levels) else None

    def path(self, node: str) -> list[dict[str, Any]]:
        parts = node.split(".")
        out = []
        for k in range(len(parts)):
            nid = ".".join(parts[:k + 1])
            out.append({"id": nid, "name": self.labels.get(nid, nid),
                        "level": self.levels[k] if k < len(self.levels) else None})
        return out

    def describe(self, node: str) -> dict[str, Any]:
        return {"id": node, "name": self.labels.get(node, node), "level": self.level_of(node),
                "path": self.path(node)}

    def search(self, q: str | None, parent: str | None) -> list[str]:
        ids = self.units
        if parent:
            prefix = parent + "."
            ids = [u for u in ids if u.startswith(prefix)]
        if q:
            from voteaudit.names import candidate_key

            key = candidate_key(q)
            code = q.strip().lstrip("0") or q.strip()
            ids = [u for u in ids if u.startswith(q.strip()) or u.rsplit(".", 1)[-1] == code
                   or any(key in candidate_key(p["name"]) for p in self.path(u))]
        return ids

    def totals(self, node: str | None) -> dict[str, dict[str, Any]]:
        """Per source: votes per candidate and tables counted, over the units under ``node`` (None = all)."""
        def make() -> dict[str, dict[str, Any]]:
            out = {}
            for name, m in self.matrices.items():
                if node is None:
                    rows = np.ones(m.n_units, dtype=bool)
                else:
                    d = self.depth(node)
                    if d > len(m.path):
                        continue
                    rows = m.path[d - 1] == node
                n = int(rows.sum())
                if n == 0:
                    continue
                sums = m.votes[rows].sum(axis=0)
                out[name] = {"kind": m.kind, "units": n,
                             "totals": {c: int(v) for c, v in zip(m.candidates, sums, strict=True)}}
            return out
        return self.memo(("totals", node), make)


def build_model(store: Store, version: int, generation: Any, previous: ReadModel | None = None) -> ReadModel:
    """A model of ``store``; sources unchanged since ``previous`` keep their matrices (no reload)."""
    levels = store.levels() or []
    matrices, signatures = {}, {}
    for info in store.sources():
        sig = (info.records, len(info.imports), info.conflicts)
        old = previous.matrices.get(info.name) if previous is not None else None
        if old is not None and previous.signatures.get(info.name) == sig:
            matrices[info.name] = old
        else:
            matrices[info.name] = store.matrix(info.name)
        signatures[info.name] = sig
    leaves: set[str] = set()
    nodes: set[str] = set()
    for m in matrices.values():
        leaves.update(m.unit_ids.tolist())
        for p in m.path:
            nodes.update(np.unique(p).tolist())
    children: dict[str | None, list[str]] = {}
    for nid in sorted(nodes):
        parent = nid.rsplit(".", 1)[0] if "." in nid else None
        children.setdefault(parent, []).append(nid)
    labels = store.labels(sorted(nodes))
    return ReadModel(version, generation, levels, matrices, labels, sorted(leaves), children, signatures=signatures)


class Reader:
    """Stores for reading (a small pool) and the current read model."""

    def __init__(self, url: str, *, pool: int = 3, refresh: float = 5.0) -> None:
        self.url, self.refresh = url, refresh
        self._stores: queue.LifoQueue[Store | None] = queue.LifoQueue()
        for _ in range(pool):
            self._stores.put(None)
        self._model: ReadModel | None = None
        self._build_lock = threading.Lock()
        self._version = 0

    @contextmanager
    def store(self) -> Iterator[Store]:
        s = self._stores.get()
        try:
            if s is None:
                s = open_store(self.url, read_only=True)
            yield s
        except Exception:
            if s is not None:
                try:
                    s.close()
                except Exception:  # noqa: BLE001 - a broken connection: replace it
                    pass
            s = None
            raise
        finally:
            self._stores.put(s)

    def generation(self) -> Any:
        with self.store() as s:
            gen = getattr(s, "generation", None)
            return gen() if gen else 0

    def model(self) -> ReadModel:
        if self._model is None:
            self.rebuild()
        assert self._model is not None
        return self._model

    def rebuild(self, generation: Any = None) -> ReadModel:
        with self._build_lock:
            gen = self.generation() if generation is None else generation
            if self._model is not None and self._model.generation == gen:
                return self._model
            with self.store() as s:
                self._version += 1
                self._model = build_model(s, self._version, gen, self._model)
            return self._model

    def refresh_if_changed(self) -> bool:
        """Rebuild when the store changed since the model was built; True if rebuilt."""
        if self._model is None:
            self.rebuild()
            return True
        gen = self.generation()
        if gen != self._model.generation:
            self.rebuild(gen)
            return True
        return False

    def close(self) -> None:
        while not self._stores.empty():
            s = self._stores.get_nowait()
            if s is not None:
                s.close()
