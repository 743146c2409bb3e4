"""What the evidence says about one source: the stats package run on a store's contents.

The one place where the CLI (``voteaudit estimate``), the demo and the report turn stored data
into the inputs of the pure functions in :mod:`voteaudit.stats`: the universe (announced size of
the election, or an official source's full table list), the bulletins, and the source's matrix.
"""

from __future__ import annotations

from typing import Any

from voteaudit.model import SourceMatrix
from voteaudit.stats import (
    Bulletin as StatsBulletin,
)
from voteaudit.stats import (
    Universe,
    announced_tests,
    announced_tests_to_dict,
    bulletin_certificate,
    coverage,
    estimate_matrix,
    worst_case_bounds,
)
from voteaudit.store.base import Bulletin, Store


def universe_of(store: Store, covered: SourceMatrix, contest: str | None = None) -> Universe | None:
    """The contest's full size: announced figures, else an official source with more tables."""
    contest = contest if contest is not None else covered.contest
    announced = store.universe(contest)
    if announced.get("units") or announced.get("registered"):
        return Universe(tables=announced.get("units"), registered=announced.get("registered"),
                        note="announced size of the election (bulletins file registry)")
    for info in store.sources(contest):
        if info.kind == "official" and info.name != covered.source and info.units >= covered.n_units:
            full = store.matrix(info.name, contest)
            return Universe.from_frame(full.path[0], full.registered,
                                       note=f"every table of official source {info.name!r}")
    return None


def stats_bulletin(b: Bulletin) -> StatsBulletin:
    """A stored bulletin in the stats package's shape (registered in counted tables kept from extras)."""
    d: dict[str, Any] = {
        "name": b.name, "totals": b.totals,
        "stated_pct": {r.candidate: r.stated_pct for r in b.results if r.stated_pct is not None},
        "registered": b.registered, "cast": b.cast, "valid": b.valid, "null": b.null, "blank": b.blank,
        "stated_turnout_pct": b.turnout_pct, "progress_pct": b.progress_pct,
    }
    counted = b.extra.get("registered_voters_in_counted_actas", b.extra.get("registered_counted"))
    if counted is not None:
        d["registered_counted"] = counted
    if b.extra.get("stated_null_pct") is not None:
        d["stated_null_pct"] = b.extra["stated_null_pct"]
    if b.valid is None and b.extra.get("total_valid_votes_implied") is not None:
        d["valid"] = b.extra["total_valid_votes_implied"]
    return StatsBulletin.from_dict(d)


def evidence(store: Store, source: str, *, confidence: float = 0.95, n_boot: int = 1000, seed: int = 0,
             time_limit: float = 20.0, partial_count: bool = False,
             matrix: SourceMatrix | None = None, contest: str | None = None) -> dict[str, Any]:
    """Estimate, bounds, what-it-would-take per bulletin and tests of the bulletins, as one JSON document.

    By default the certificate assumes every collected sheet was among the tables a bulletin counted
    (exact by sorting). ``partial_count`` lets the tables a partial bulletin had not yet counted be
    any of the collected ones (an integer program; may stop at ``time_limit`` with a proven range).
    """
    m = matrix if matrix is not None else store.matrix(source, contest)
    contest = contest if contest is not None else m.contest
    universe = universe_of(store, m, contest)
    national = [b for b in store.bulletins(contest) if b.unit is None]
    bulletins = [stats_bulletin(b) for b in national]
    doc: dict[str, Any] = {"source": source, "universe": None if universe is None else {
        "tables": universe.total_tables, "registered": universe.total_registered, "note": universe.note}}
    doc["coverage"] = coverage(m.path[0], m.registered, universe=universe).to_dict()
    est = estimate_matrix(m, universe, confidence=confidence, n_boot=n_boot, seed=seed)
    doc["estimate"] = est.to_dict()
    doc["estimates"] = doc["estimate"].get("estimates", doc["estimate"])
    if universe is not None and universe.total_registered is not None:
        covered_reg = int(m.registered.clip(0).sum())
        bounds = worst_case_bounds(m.votes, universe.total_registered - covered_reg, m.candidates)
        doc["bounds_detail"] = bounds.to_dict()
        doc["bounds"] = doc["bounds_detail"].get("bounds", doc["bounds_detail"])
        certs = [bulletin_certificate(m, b, universe, time_limit=time_limit, allow_uncounted=partial_count)
                 for b in bulletins]
        doc["what_it_would_take"] = [c.to_dict() for c in certs]
        if not partial_count:
            for c in doc["what_it_would_take"]:
                c.setdefault("notes", []).insert(0, "assumes every collected sheet was among the tables the bulletin "
                                                    "counted (use --partial-count to relax)")
    else:
        doc["bounds"], doc["what_it_would_take"] = {}, []
        doc["note"] = "the size of the election is unknown (no announced registry, no official source): " \
                      "bounds and what-it-would-take need the registered voters of all tables"
    tests = announced_tests(bulletins, tables_total=universe.total_tables if universe else None,
                            registered_total=universe.total_registered if universe else None)
    doc["announced_tests"] = announced_tests_to_dict(tests)
    return doc
