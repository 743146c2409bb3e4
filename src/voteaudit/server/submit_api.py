"""Authenticated submissions: observers submit (JSON numbers or a sheet photo), reviewers resolve."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, field_validator

from voteaudit.model import InputError
from voteaudit.server import submissions as subs
from voteaudit.server.auth import bearer_user, limit, pool, require
from voteaudit.server.users import User

router = APIRouter(prefix="/api/submissions", tags=["submissions"])
SubmissionId = Annotated[int, Path(ge=1, le=2**62)]

#: Accepted upload types, recognised by their first bytes (the client's Content-Type is not trusted).
MAGIC = [(b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"%PDF-", "application/pdf"),
         (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff")]


def sniff(data: bytes) -> str | None:
    for magic, ctype in MAGIC:
        if data.startswith(magic):
            return ctype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class ResultsIn(BaseModel):
    unit: str = Field(description="Table id, as listed by GET /api/units", max_length=200)
    results: dict[str, int] = Field(description="Candidate name -> votes")
    registered: int | None = None
    cast: int | None = None
    null: int | None = None
    blank: int | None = None


class SubmissionOut(BaseModel):
    id: int
    status: str
    created: bool


class Resolution(BaseModel):
    decision: Literal["accept", "reject"]
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("note")
    @classmethod
    def _note_text(cls, v: str | None) -> str | None:
        if v is not None and "\x00" in v:  # PostgreSQL text cannot hold NUL: a 422, not a 500
            raise ValueError("note must not contain NUL characters")
        return v


BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": ResultsIn.model_json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {
        "image": {"type": "string", "format": "binary"}}}},
}}}


def outcome_response(o: subs.Outcome) -> JSONResponse:
    return JSONResponse({"id": o.submission_id, "status": o.status, "created": o.created},
                        status_code=201 if o.created else 200)


async def read_image(request: Request, max_upload: int) -> tuple[bytes, str, str | None]:
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > max_upload + 65536:
        raise HTTPException(413, f"upload larger than {max_upload} bytes")
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        raise HTTPException(422, "multipart field 'image' (a file) is required")
    try:
        data = await upload.read(max_upload + 1)
    finally:
        await form.close()  # the spooled temporary file
    if len(data) > max_upload:
        raise HTTPException(413, f"upload larger than {max_upload} bytes")
    ctype = sniff(data)
    if ctype is None:
        raise HTTPException(415, "not a PNG, JPEG, TIFF, WebP or PDF file")
    return data, ctype, upload.filename


@router.post("", summary="Submit a table's results (JSON) or a photo of its sheet (multipart 'image')",
             status_code=201, response_model=SubmissionOut, openapi_extra=BODY,
             responses={200: {"model": SubmissionOut, "description": "identical content already submitted"}})
async def submit(request: Request, user: Annotated[User, Depends(bearer_user)]) -> JSONResponse:
    require(user, "submit")
    limit(request, user)
    settings = request.app.state.settings
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        data, kind, name = await read_image(request, settings.max_upload)
        return await run_in_threadpool(_store_image, request, user, data, kind, name)
    if ctype != "application/json":
        raise HTTPException(415, "send application/json or multipart/form-data")
    body = await request.body()
    if len(body) > 65536:
        raise HTTPException(413, "JSON body larger than 64 KiB")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(422, "body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise HTTPException(422, "body must be a JSON object")
    try:
        clean = subs.check_results(doc.get("unit"), doc.get("results"), doc)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    return await run_in_threadpool(_store_json, request, user, clean)


def _store_json(request: Request, user: User, doc: dict[str, Any]) -> JSONResponse:
    settings = request.app.state.settings
    m = request.app.state.reader.model()
    with pool(request).connection() as conn:
        unit = doc["unit"]
        if not (unit in m.unit_set and m.depth(unit) == len(m.levels)) and not subs.unit_exists(
                conn, unit, len(m.levels)):
            raise HTTPException(422, not_a_table(m, unit))
        if not user.covers(unit):
            raise HTTPException(403, f"table {unit!r} is outside your region {user.scope!r}")
        try:
            outcome = subs.submit_results(conn, user, doc, quota=settings.quota)
        except subs.QuotaExceeded as exc:
            raise HTTPException(429, str(exc)) from None
    if outcome.created and outcome.status == "confirmed":
        request.app.state.wake()   # a table was just accepted: store it
    return outcome_response(outcome)


def not_a_table(m: Any, unit: str) -> str:
    """Why ``unit`` is refused as a submission unit: only tables (leaf units of the deepest level) are."""
    leaf = m.levels[-1] if m.levels else "table"
    if unit in m.labels:
        return (f"unit: {unit!r} is a {m.level_of(unit) or 'region'}, not a table; "
                f"submit the results of one table (a unit of level {leaf!r}, as listed by GET /api/units)")
    return f"unit: no table {unit!r} in this election (tables are units of level {leaf!r}, see GET /api/units)"


def _store_image(request: Request, user: User, data: bytes, ctype: str, name: str | None) -> JSONResponse:
    with pool(request).connection() as conn:
        try:
            outcome = subs.submit_image(conn, user, data, ctype, name, quota=request.app.state.settings.quota)
        except subs.QuotaExceeded as exc:
            raise HTTPException(429, str(exc)) from None
    request.app.state.wake()
    return outcome_response(outcome)


COLUMNS = ("submission_id", "user", "kind", "content_sha256", "unit", "results", "status", "error", "created_at",
           "decided_by", "decided_at", "note", "stored", "decode")
SELECT = ("SELECT s.submission_id, u.name, s.kind, s.content_sha256, s.unit, s.results, s.status, s.error, "
          "s.created_at, d.name, s.decided_at, s.note, s.stored, s.decode, s.user_id, s.upload_id "
          "FROM submissions s JOIN users u USING (user_id) LEFT JOIN users d ON d.user_id = s.decided_by")


def _doc(row: tuple) -> dict[str, Any]:
    return dict(zip(COLUMNS, row[:len(COLUMNS)], strict=True)) | {"id": row[0]}


def _visible(user: User, row: tuple) -> bool:
    return user.can("review") or row[14] == user.user_id


@router.get("", summary="List submissions: your own, or all for reviewers (filter by status)")
def list_submissions(request: Request, user: Annotated[User, Depends(bearer_user)],
                     status: Annotated[Literal["decoding", "unreadable", "pending", "accepted", "confirmed",
                                               "disputed", "rejected"] | None, Query()] = None,
                     offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                     limit_: Annotated[int, Query(alias="limit", ge=1, le=500)] = 100) -> dict[str, Any]:
    where, params = [], []
    if not user.can("review"):
        where.append("s.user_id = %s")
        params.append(user.user_id)
    if status:
        where.append("s.status = %s")
        params.append(status)
    sql = SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY s.submission_id OFFSET %s LIMIT %s"
    with pool(request).connection() as conn:
        rows = conn.execute(sql, [*params, offset, limit_]).fetchall()
    return {"offset": offset, "limit": limit_, "items": [_doc(r) for r in rows]}


def fetch(request: Request, user: User, sid: int) -> tuple:
    with pool(request).connection() as conn:
        row = conn.execute(SELECT + " WHERE s.submission_id = %s", [sid]).fetchone()
    if row is None or not _visible(user, row):
        raise HTTPException(404, f"no submission {sid} visible to you")
    return row


@router.get("/{sid}", summary="One submission with its decision and provenance")
def get_submission(request: Request, sid: SubmissionId,
                   user: Annotated[User, Depends(bearer_user)]) -> dict[str, Any]:
    return _doc(fetch(request, user, sid))


@router.get("/{sid}/image", summary="The uploaded file, as an attachment (never rendered by the browser)",
            response_class=Response)
def get_image(request: Request, sid: SubmissionId, user: Annotated[User, Depends(bearer_user)]) -> Response:
    row = fetch(request, user, sid)
    if row[15] is None:
        raise HTTPException(404, "this submission has no image")
    with pool(request).connection() as conn:
        data = conn.execute("SELECT data FROM uploads WHERE upload_id = %s", [row[15]]).fetchone()[0]
    return Response(bytes(data), media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="submission-{sid}.bin"',
        "Content-Security-Policy": "sandbox; default-src 'none'", "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})


@router.post("/{sid}/resolve", summary="Reviewers: accept or reject a pending or disputed submission")
def resolve_submission(request: Request, sid: SubmissionId, body: Resolution,
                       user: Annotated[User, Depends(bearer_user)]) -> dict[str, Any]:
    require(user, "resolve")
    with pool(request).connection() as conn:
        try:
            status = subs.resolve(conn, user, sid, body.decision, body.note)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        except InputError as exc:
            raise HTTPException(409, str(exc)) from None
    request.app.state.wake()
    return {"id": sid, "status": status}
