"""The Python way in, for notebooks: ``voteaudit.open(path_or_url)`` gives an :class:`Election`.

Everything goes through the same functions as the command line (ingest with its whole-file validation,
``compare``'s summary, the forensics battery, the estimate), and comes back as pandas DataFrames::

    import voteaudit
    e = voteaudit.open("election.duckdb")
    e.ingest(df, source="authority", kind="official", units=["state", "table"], registered="registered",
             candidates=["Alice", "Bob"])
    e.results("authority")          # one row per table
    e.compare()                     # one row per source and candidate
    e.forensics("authority")        # one row per test result

pandas is needed for the DataFrames (the ``pandas`` extra); a DataFrame given to :meth:`Election.ingest`
is written to a Parquet file first, so it is validated exactly like a file (its provenance names it
``dataframe-SHA.parquet``, the start of the sha256 of those bytes).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voteaudit.model import VoteauditError

if TYPE_CHECKING:
    import pandas as pd

    from voteaudit.store import ImportResult, Store

__all__ = ["Election", "open_election"]

PER_UNIT = ("registered", "cast", "valid", "null", "blank")


def _pandas() -> Any:
    try:
        import pandas
    except ModuleNotFoundError:
        raise VoteauditError("DataFrames need pandas: pip install 'voteaudit[pandas]'") from None
    return pandas


class Election:
    """One store (an election with one or more contests), read and written through the ``Store`` interface."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- what is there ---------------------------------------------------------------------------------
    @property
    def contests(self) -> list[str]:
        return self.store.contest_names()

    @property
    def sources(self) -> pd.DataFrame:
        """One row per source: name, kind, tables, imports."""
        rows = [{"name": s.name, "kind": s.kind, "units": s.units, "imports": s.imports}
                for s in self.store.sources()]
        return _pandas().DataFrame(rows, columns=["name", "kind", "units", "imports"])

    # -- writing ---------------------------------------------------------------------------------------
    def ingest(self, data: str | Path | Any, *, source: str, kind: str, units: list[str] | None = None,
               registered: str | list[str] | None = None, cast: str | list[str] | None = None,
               valid: str | list[str] | None = None, null: str | list[str] | None = None,
               blank: str | list[str] | None = None, candidates: list[str] | None = None,
               long: tuple[str, str] | None = None, contest: str | None = None, mapping: str | Path | None = None,
               unit_names: list[str] | None = None, levels: list[str] | None = None, strict: bool = False,
               **options: Any) -> ImportResult:
        """Ingest a results file (path) or a DataFrame (pandas; also a pyarrow Table or a polars frame) — the
        whole of it or nothing, with the CLI's validation. ``options`` are further :class:`Mapping` fields
        (``contest_columns``, ``where``, ``mode``, ``not_candidates``, ``missing_if``, ...)."""
        from voteaudit.ingest import ingest_file, load_mapping
        from voteaudit.ingest.mapping import Mapping

        if mapping is not None:
            m = load_mapping(Path(mapping))
        elif units:
            m = Mapping(units=list(units), unit_names=list(unit_names or []), levels=list(levels) if levels else None,
                        registered=registered, cast=cast, valid=valid, null=null, blank=blank,
                        candidates=list(candidates or []), long=tuple(long) if long else None, **options)
        else:
            m = None
        if isinstance(data, str | Path):
            return ingest_file(self.store, Path(data), m, source=source, kind=kind, strict=strict, contest=contest)
        with tempfile.TemporaryDirectory(prefix="voteaudit-") as tmp:
            path = _frame_to_parquet(data, Path(tmp), source)
            return ingest_file(self.store, path, m, source=source, kind=kind, strict=strict, contest=contest,
                               fmt="parquet")

    # -- reading ---------------------------------------------------------------------------------------
    def results(self, source: str, contest: str | None = None) -> pd.DataFrame:
        """One row per table: the key at each level (as normalised by ingest) and its display name, the per-table
        counts (missing = <NA>), one column per candidate, and the record's flags."""
        pd = _pandas()
        m = self.store.matrix(source, contest=contest)
        ids = m.unit_ids.tolist()
        labels = self.store.labels(sorted({p for level in m.path for p in level.tolist()}))
        cols: dict[str, Any] = {"unit": ids}
        parent: list[str] | None = None
        for name, level in zip(m.levels, m.path, strict=True):
            here = level.tolist()
            cols[name] = here if parent is None else [p[len(q) + 1:] for p, q in zip(here, parent, strict=True)]
            cols[f"{name}_name"] = [labels.get(p) for p in here]
            parent = here
        for key in PER_UNIT:
            cols[key] = pd.array([None if v < 0 else int(v) for v in getattr(m, key).tolist()], dtype="Int64")
        taken = [c for c in m.candidates if c in cols or c == "flags"]
        if taken:  # never let a candidate's votes overwrite a key, count or the flags
            raise VoteauditError(f"candidate name(s) {', '.join(map(repr, taken))} clash with the results' own "
                                 "columns; read them with .store.matrix(source) instead")
        for j, cand in enumerate(m.candidates):
            cols[cand] = m.votes[:, j]
        cols["flags"] = [list(f) for f in m.flags] if len(m.flags) == len(ids) else [[] for _ in ids]
        return pd.DataFrame(cols)

    def compare(self, contest: str | None = None) -> pd.DataFrame:
        """One row per source and candidate: votes, share of valid votes, tables and coverage — the numbers of
        ``voteaudit compare --json``'s ``sources``; the whole document is in ``.attrs["summary"]``."""
        pd = _pandas()
        doc = self.summary(contest)
        rows = [{"source": s["name"], "kind": s["kind"], "candidate": c, "votes": v, "share": s["shares"].get(c),
                 "units": s["units"], "coverage": s["coverage"]}
                for s in doc["sources"] for c, v in s["totals"].items()]
        frame = pd.DataFrame(rows, columns=["source", "kind", "candidate", "votes", "share", "units", "coverage"])
        frame.attrs["summary"] = doc
        return frame

    def summary(self, contest: str | None = None) -> dict[str, Any]:
        """``voteaudit compare --json``'s document."""
        from voteaudit.report.summary import build_summary

        return build_summary(self.store, **_contest_kw(build_summary, contest))

    def estimate(self, source: str, *, confidence: float = 0.95, n_boot: int = 1000, seed: int = 0,
                 contest: str | None = None) -> pd.DataFrame:
        """One row per candidate: estimate and interval from partial coverage (``voteaudit estimate``'s numbers);
        the whole document is in ``.attrs["evidence"]``."""
        from voteaudit.evidence import evidence

        doc = evidence(self.store, source, confidence=confidence, n_boot=n_boot, seed=seed,
                       **_contest_kw(evidence, contest))
        per_candidate = (doc.get("estimate") or {}).get("estimates") or {}  # empty: a complete count, no projection
        rows = [{"candidate": cand, **{k: e.get(k) for k in ("share", "ci_low", "ci_high", "votes", "se", "method")}}
                for cand, e in per_candidate.items()]
        frame = _pandas().DataFrame(rows, columns=["candidate", "share", "ci_low", "ci_high", "votes", "se", "method"])
        frame.attrs["evidence"] = doc
        return frame

    def forensics(self, source: str, level: str | None = None, tests: list[str] | None = None, *,
                  alpha: float = 0.05, seed: int = 0, contest: str | None = None) -> pd.DataFrame:
        """One row per result of the forensics battery (``voteaudit forensics --json``'s list, flattened)."""
        from voteaudit.results_cache import forensics_docs

        m = self.store.matrix(source, contest=contest)
        names = self.store.labels(sorted(set(m.path[m.levels.index(level)].tolist()))) if level else None
        results = forensics_docs(self.store, m, level=level, alpha=alpha, seed=seed, tests=tests, names=names)
        return _pandas().json_normalize(results, max_level=0) if results else _pandas().DataFrame()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Election:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_election(url: str | Path = "voteaudit.duckdb", *, read_only: bool = False) -> Election:
    """Open (creating if needed) the store at ``url`` (a DuckDB path or ``postgresql://...``) as an Election."""
    from voteaudit.store import open_store

    return Election(open_store(url, read_only=read_only))


def _contest_kw(fn: Any, contest: str | None) -> dict[str, Any]:
    """``contest=`` for library functions that take it; refuse a contest where the function has none."""
    import inspect

    if "contest" in inspect.signature(fn).parameters:
        return {"contest": contest}
    if contest is not None:
        raise VoteauditError(f"{fn.__name__} does not take a contest yet")
    return {}


def _frame_to_parquet(data: Any, folder: Path, source: str) -> Path:
    """A pandas/polars DataFrame or Arrow table as a Parquet file (ingest validates its cells by the same count rule
    as any file's: a fractional float or a boolean is refused, naming the row and column)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(data, pa.Table):
        table = data
    elif hasattr(data, "to_arrow"):  # polars
        table = data.to_arrow()
    elif hasattr(data, "columns") and hasattr(data, "to_dict"):  # pandas
        table = pa.Table.from_pandas(data, preserve_index=False)
    else:
        raise VoteauditError(f"cannot ingest a {type(data).__name__}: give a path, a pandas or polars DataFrame "
                             "or a pyarrow Table")
    names = [str(c) for c in table.column_names]
    if len(set(names)) != len(names):
        raise VoteauditError(f"dataframe:{source}: duplicate column names")
    table = table.rename_columns(names)
    tmp = folder / "frame.parquet"
    pq.write_table(table, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:12]
    path = folder / f"dataframe-{digest}.parquet"
    tmp.rename(path)
    return path
