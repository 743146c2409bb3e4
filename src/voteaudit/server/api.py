"""Public read-only API: health, tables, results at every level, comparisons."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from voteaudit.server.readmodel import Reader, ReadModel

router = APIRouter(prefix="/api", tags=["public"])


def reader(request: Request) -> Reader:
    return request.app.state.reader


async def model(request: Request) -> ReadModel:
    r = reader(request)
    return r._model if r._model is not None else await run_in_threadpool(r.model)


@router.get("/health", summary="200 when the store is reachable")
async def health(request: Request) -> JSONResponse:
    try:
        gen = await run_in_threadpool(reader(request).generation)
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        return JSONResponse({"status": "unavailable", "error": type(exc).__name__}, status_code=503)
    m = reader(request)._model
    return JSONResponse({"status": "ok", "generation": list(gen) if isinstance(gen, tuple) else gen,
                         "model_version": m.version if m else None,
                         "submissions": request.app.state.settings.writable})


@router.get("/levels", summary="Hierarchy level names, outermost first, and the sources")
async def levels(request: Request) -> dict[str, Any]:
    m = await model(request)
    return {"levels": m.levels, "sources": {n: {"kind": x.kind, "units": x.n_units} for n, x in m.matrices.items()}}


@router.get("/units", summary="Tables (leaf units): id, name, level path; paged, filtered")
async def units(request: Request,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                parent: Annotated[str | None, Query(max_length=200, description="Only units under this node")] = None,
                q: Annotated[str | None, Query(max_length=200, description="Code prefix or place name")] = None,
                ) -> dict[str, Any]:
    m = await model(request)
    ids = m.units if not (parent or q) else m.memo(("search", q, parent), lambda: m.search(q, parent))
    return {"total": len(ids), "offset": offset, "limit": limit,
            "items": [m.describe(u) for u in ids[offset:offset + limit]]}


def disagreements(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each pair of records (sources or copies) whose votes differ, with the differences per candidate."""
    out = []
    for i, a in enumerate(records):
        for b in records[i + 1:]:
            cands = sorted(set(a["votes"]) | set(b["votes"]))
            diff = {c: b["votes"].get(c, 0) - a["votes"].get(c, 0) for c in cands
                    if b["votes"].get(c, 0) != a["votes"].get(c, 0)}
            if diff:
                out.append({"a": {"source": a["source"], "record_id": a["record_id"]},
                            "b": {"source": b["source"], "record_id": b["record_id"]},
                            "difference": diff, "size": sum(abs(v) for v in diff.values())})
    return out


def unit_document(r: Reader, m: ReadModel, unit_id: str) -> dict[str, Any] | None:
    with r.store() as s:   # responses are cached per model version by PublicCache
        records = s.unit_records(unit_id)
    if not records and unit_id not in m.labels:
        return None
    return {**m.describe(unit_id), "sources": sorted({x["source"] for x in records}), "records": records,
            "disagreements": disagreements(records)}


@router.get("/units/{unit_id:path}", summary="One table with every source's record and their disagreements")
async def unit(request: Request, unit_id: str) -> dict[str, Any]:
    m = await model(request)
    doc = await run_in_threadpool(unit_document, reader(request), m, unit_id)
    if doc is None:
        raise HTTPException(404, f"no table {unit_id!r}")
    return doc


def json_bytes(doc: Any) -> bytes:
    """``doc`` as JSONResponse would encode it (built off the event loop for large documents)."""
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


@router.get("/results", summary="Totals per source for every node of a level (default: the outermost)",
            response_model=dict[str, Any])
async def results(request: Request, level: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    m = await model(request)
    if level is not None and level not in m.levels:
        raise HTTPException(404, f"no level {level!r} (levels: {', '.join(m.levels)})")
    depth = m.levels.index(level) + 1 if level else 1

    def make() -> bytes:
        nodes = sorted(n for n in m.labels if m.depth(n) == depth)
        return json_bytes({"level": m.levels[depth - 1] if m.levels else None, "national": m.totals(None),
                           "items": [{**m.describe(n), "sources": m.totals(n)} for n in nodes]})
    body = await run_in_threadpool(m.memo, ("level", depth), make)
    return Response(body, media_type="application/json")


@router.get("/results/{node_id:path}", summary="Totals per source under one node (any level)")
async def node_results(request: Request, node_id: str) -> dict[str, Any]:
    m = await model(request)
    if node_id not in m.labels:
        raise HTTPException(404, f"no unit {node_id!r}")
    return {**m.describe(node_id), "sources": m.totals(node_id),
            "children": [m.describe(c) for c in m.children.get(node_id, [])[:1000]]}


def summary_of(r: Reader, m: ReadModel) -> dict[str, Any]:
    from voteaudit.report.summary import build_summary

    def make() -> dict[str, Any]:
        with r.store() as s:
            return build_summary(s)
    return m.memo("summary", make)


@router.get("/summary", summary="The summary document (compare --json): sources, announced, comparison")
async def summary(request: Request) -> dict[str, Any]:
    m = await model(request)
    return await run_in_threadpool(summary_of, reader(request), m)


@router.get("/comparisons", summary="Source against source and against the announced bulletins")
async def comparisons(request: Request) -> dict[str, Any]:
    m = await model(request)
    doc = await run_in_threadpool(summary_of, reader(request), m)
    return {"comparison": doc["comparison"], "announced": doc["announced"]}
