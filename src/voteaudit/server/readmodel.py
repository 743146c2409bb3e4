"""The public read side: an in-memory model of the store (matrices, labels, hierarchy), kept up to date.

Each server process keeps one :class:`ReadModel`; a background thread updates it when the store's
generation changes (at most every ``refresh`` seconds) while the old one keeps answering, so reads
never wait on an update and never lock the store. On PostgreSQL the update is incremental: only the
sources with new imports are reloaded, only new nodes are labelled, and the units the new imports
touched are reported (as cache tags) so that cached responses of untouched units stay valid.
"""

from __future__ import annotations

import bisect
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

#: Cache tag of every response that depends on the data as a whole (national pages, summaries).
ALL = "all"
#: Cache tag of responses that list the tables (leaf units).
LEAVES = "leaves"


def unit_tag(unit: str) -> str:
    return "unit:" + unit


def node_tag(node: str) -> str:
    return "node:" + node


def prefixes(node: str) -> list[str]:
    """``node`` and its ancestors' ids, outermost first."""
    parts = node.split(".")
    return [".".join(parts[:k + 1]) for k in range(len(parts))]


@dataclass
class Aggregates:
    """One source's sums at one depth: a row per node (``index`` maps node id to row)."""

    index: dict[str, int]
    units: np.ndarray      # (g,) tables per node
    sums: np.ndarray       # (g, k) votes per node and candidate

    @classmethod
    def of(cls, m: SourceMatrix, depth: int) -> Aggregates:
        ids, inverse = np.unique(np.asarray(m.path[depth - 1], dtype=object), return_inverse=True)
        inverse = inverse.reshape(-1)
        units = np.bincount(inverse, minlength=len(ids))
        sums = np.zeros((len(ids), len(m.candidates)), dtype=np.int64)
        np.add.at(sums, inverse, m.votes)
        return cls({str(n): i for i, n in enumerate(ids.tolist())}, units, sums)


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
    unit_set: frozenset[str] = frozenset()
    aggregates: dict[str, dict[int, Aggregates]] = field(default_factory=dict)  # per source, per depth
    _cache: dict[Any, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.unit_set and self.units:
            self.unit_set = frozenset(self.units)

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

    def _aggregates(self, name: str, depth: int) -> Aggregates:
        per = self.aggregates.setdefault(name, {})
        agg = per.get(depth)
        if agg is None:   # computed once per matrix: unchanged sources keep theirs across updates
            agg = per[depth] = Aggregates.of(self.matrices[name], depth)
        return agg

    def totals(self, node: str | None) -> dict[str, dict[str, Any]]:
        """Per source: votes per candidate and tables counted, over the units under ``node`` (None = all)."""
        out = {}
        for name, m in self.matrices.items():
            if node is None:
                n = m.n_units
                sums = m.votes.sum(axis=0) if n else None
            else:
                d = self.depth(node)
                if d > len(m.path):
                    continue
                agg = self._aggregates(name, d)
                row = agg.index.get(node)
                if row is None:
                    continue
                n, sums = int(agg.units[row]), agg.sums[row]
            if n == 0:
                continue
            out[name] = {"kind": m.kind, "units": n,
                         "totals": {c: int(v) for c, v in zip(m.candidates, sums.tolist(), strict=True)}}
        return out


def _tree(nodes: set[str]) -> dict[str | None, list[str]]:
    children: dict[str | None, list[str]] = {}
    for nid in sorted(nodes):
        parent = nid.rsplit(".", 1)[0] if "." in nid else None
        children.setdefault(parent, []).append(nid)
    return children


def build_model(store: Store, version: int, generation: Any, previous: ReadModel | None = None) -> ReadModel:
    """A model of ``store``; sources unchanged since ``previous`` keep their matrices (no reload)."""
    levels = store.levels() or []
    matrices, signatures, aggregates = {}, {}, {}
    for info in store.sources():
        sig = (info.records, len(info.imports), info.conflicts)
        old = previous.matrices.get(info.name) if previous is not None else None
        if old is not None and previous.signatures.get(info.name) == sig:
            matrices[info.name] = old
            aggregates[info.name] = previous.aggregates.get(info.name, {})
        else:
            matrices[info.name] = store.matrix(info.name)
        signatures[info.name] = sig
    leaves: set[str] = set()
    nodes: set[str] = set()
    for m in matrices.values():
        leaves.update(m.unit_ids.tolist())
        for p in m.path:
            nodes.update(np.unique(np.asarray(p, dtype=object)).tolist())
    labels = store.labels(sorted(nodes))
    return ReadModel(version, generation, levels, matrices, labels, sorted(leaves), _tree(nodes),
                     signatures=signatures, unit_set=frozenset(leaves), aggregates=aggregates)


def _postgres(store: Store) -> bool:
    try:
        from voteaudit.store.postgres import PostgresStore
    except ImportError:   # pragma: no cover - the server extra brings psycopg
        return False
    return isinstance(store, PostgresStore)


def update_model(store: Store, version: int, generation: Any,
                 previous: ReadModel | None) -> tuple[ReadModel, set[str] | None]:
    """The model of ``store`` now, and the cache tags it invalidates (None: every cached response).

    On PostgreSQL, when only results were imported since ``previous`` (the generation is
    ``(last import id, bulletins, meta entries)``), only the sources with new imports are
    reloaded and the touched units are reported; otherwise the model is rebuilt.
    """
    incremental = (previous is not None and _postgres(store) and isinstance(generation, tuple)
                   and isinstance(previous.generation, tuple) and len(generation) == 3
                   and generation[2] == previous.generation[2] and generation[0] >= previous.generation[0])
    if not incremental:
        return build_model(store, version, generation, previous), None
    since = previous.generation[0]
    changed, touched = store.changes_since(since)
    matrices, aggregates = dict(previous.matrices), dict(previous.aggregates)
    for name in sorted(changed):
        matrices[name] = store.matrix(name)
        aggregates.pop(name, None)
    tags = {ALL}
    new_nodes: set[str] = set()
    new_leaves = [u for u in touched if u not in previous.unit_set]
    for u in touched:
        tags.add(unit_tag(u))
        for p in prefixes(u):
            tags.add(node_tag(p))
            if p not in previous.labels:
                new_nodes.add(p)
    labels, children = previous.labels, previous.children
    if new_nodes:
        labels = {**labels, **store.labels(sorted(new_nodes))}
        children = dict(children)
        for nid in sorted(new_nodes):
            parent = nid.rsplit(".", 1)[0] if "." in nid else None
            siblings = list(children.get(parent, []))
            bisect.insort(siblings, nid)
            children[parent] = siblings
    units, unit_set = previous.units, previous.unit_set
    if new_leaves:
        tags.add(LEAVES)
        unit_set = unit_set | frozenset(new_leaves)
        units = sorted(unit_set)
    model = ReadModel(version, generation, previous.levels, matrices, labels, units, children,
                      signatures={}, unit_set=unit_set, aggregates=aggregates)
    if not new_nodes and not new_leaves:   # searches depend on the tables and their names only
        model._cache.update({k: v for k, v in previous._cache.items() if isinstance(k, tuple) and k[0] == "search"})
    return model, tags


class Reader:
    """Stores for reading (a small pool), the current read model, and what each update invalidated."""

    def __init__(self, url: str, *, pool: int = 3, refresh: float = 5.0) -> None:
        self.url, self.refresh = url, refresh
        self._stores: queue.LifoQueue[Store | None] = queue.LifoQueue()
        for _ in range(pool):
            self._stores.put(None)
        self._model: ReadModel | None = None
        self._build_lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._changes: list[tuple[int, set[str] | None]] = []   # (version, tags invalidated; None = all)
        self._version = 0
        self.version = 0    # published after the model and its changes: caches compare against it

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
                model, tags = update_model(s, self._version + 1, gen, self._model)
            self._version += 1
            self._model = model
            with self._log_lock:
                self._changes.append((model.version, tags))
                del self._changes[:-200]
            self.version = model.version
            return model

    def changes_since(self, version: int | None) -> set[str] | None:
        """The cache tags invalidated by the updates after ``version`` (None: everything)."""
        with self._log_lock:
            if version is None or not self._changes or self._changes[0][0] > version + 1:
                return None
            out: set[str] = set()
            for v, tags in self._changes:
                if v > version:
                    if tags is None:
                        return None
                    out |= tags
            return out

    def refresh_if_changed(self) -> bool:
        """Update the model when the store changed since it was built; True if updated."""
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
