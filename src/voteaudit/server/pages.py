"""Public HTML pages (server-side Jinja2, autoescaped) and the observers' login/upload pages.

Forms are CSRF-safe: the login form uses a double-submit cookie, the others the session's own
CSRF token; cookies are HttpOnly and SameSite=Strict.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path as FilePath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from voteaudit.server import submissions as subs
from voteaudit.server.api import model, reader, unit_document
from voteaudit.server.auth import SESSION_COOKIE, limit, pool, session_user
from voteaudit.server.submit_api import COLUMNS, SELECT, read_image
from voteaudit.server.users import by_token, end_session, new_session

router = APIRouter(include_in_schema=False)
env = Environment(loader=FileSystemLoader(FilePath(__file__).parent / "templates"),
                  autoescape=select_autoescape(["html"]), auto_reload=False)
LOGIN_CSRF = "va_login_csrf"


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(env.get_template(name).render(**context), status_code=status)


def error_page(code: int, message: object, headers: dict[str, str] | None = None) -> HTMLResponse:
    """The HTML error page for ``code`` (404, 403, 422, ...), answered with that status."""
    response = render("error.html", code, code=code, message=message)
    response.headers.update(headers or {})
    return response


def cookie(response: Response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


@router.get("/", response_class=HTMLResponse)
async def national(request: Request) -> HTMLResponse:
    m = await model(request)
    announced = [{"name": b.name, "totals": b.totals} for b in await run_in_threadpool(_bulletins, request)
                 if b.unit is None]
    regions = [m.describe(r) for r in m.children.get(None, [])]
    return render("national.html", national=m.totals(None), announced=announced, regions=regions,
                  level=m.levels[0] if m.levels else None)


def _bulletins(request: Request) -> list:
    with reader(request).store() as s:
        return s.bulletins()


@router.get("/regions/{node_id:path}", response_class=HTMLResponse)
async def region(request: Request, node_id: str) -> HTMLResponse:
    m = await model(request)
    if node_id not in m.labels:
        raise HTTPException(404, f"no region {node_id!r}")
    children = [m.describe(c) for c in m.children.get(node_id, [])[:2000]]
    return render("region.html", node=m.describe(node_id), sources=m.totals(node_id), children=children,
                  leaf_level=m.levels[-1] if m.levels else None)


@router.get("/units/{unit_id:path}", response_class=HTMLResponse)
async def unit_page(request: Request, unit_id: str) -> HTMLResponse:
    m = await model(request)
    doc = await run_in_threadpool(unit_document, reader(request), m, unit_id)
    if doc is None:
        raise HTTPException(404, f"no table {unit_id!r}")
    return render("unit.html", doc=doc)


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, q: str | None = None) -> HTMLResponse:
    m = await model(request)
    q = (q or "").strip()[:200] or None
    ids = m.search(q, None) if q else []
    if q and len(ids) == 1:
        return RedirectResponse(f"/units/{quote(ids[0])}", status_code=303)
    return render("search.html", q=q, total=len(ids), items=[m.describe(u) for u in ids[:200]])


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render("login.html", csrf=token)
    cookie(response, request, LOGIN_CSRF, token, max_age=3600)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    if not same(form.get("csrf"), request.cookies.get(LOGIN_CSRF)):
        raise HTTPException(403, "CSRF check failed: reload the login page")
    token = str(form.get("token") or "").strip()

    def make() -> tuple[str, str] | None:
        with pool(request).connection() as conn:
            user = by_token(conn, token) if token else None
            return new_session(conn, user) if user else None
    made = await run_in_threadpool(make)
    if made is None:
        fresh = secrets.token_urlsafe(24)
        response = render("login.html", 401, csrf=fresh, error="Unknown token.")
        cookie(response, request, LOGIN_CSRF, fresh, max_age=3600)
        return response
    response = RedirectResponse("/submit", status_code=303)
    cookie(response, request, SESSION_COOKIE, made[0], max_age=7 * 86400)
    response.delete_cookie(LOGIN_CSRF, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    found = await run_in_threadpool(session_user, request)
    form = await request.form(max_files=0, max_fields=5)
    if found and same(form.get("csrf"), found[1]):
        def end() -> None:
            with pool(request).connection() as conn:
                end_session(conn, request.cookies[SESSION_COOKIE])
        await run_in_threadpool(end)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/submit", response_class=HTMLResponse)
async def submit_form(request: Request) -> Response:
    found = await run_in_threadpool(session_user, request)
    if found is None:
        return RedirectResponse("/login", status_code=303)
    return render("submit.html", user=found[0], csrf=found[1])


@router.post("/submit")
async def submit_upload(request: Request) -> Response:
    found = await run_in_threadpool(session_user, request)
    if found is None:
        return RedirectResponse("/login", status_code=303)
    user, csrf = found
    data, ctype, name = await read_image(request, request.app.state.settings.max_upload)
    form = await request.form()
    if not same(form.get("csrf"), csrf):
        raise HTTPException(403, "CSRF check failed: reload the page")
    if not user.can("submit"):
        raise HTTPException(403, f"role {user.role!r} may not submit")
    limit(request, user)

    def store() -> subs.Outcome:
        with pool(request).connection() as conn:
            return subs.submit_image(conn, user, data, ctype, name, quota=request.app.state.settings.quota)
    try:
        outcome = await run_in_threadpool(store)
    except subs.QuotaExceeded as exc:
        raise HTTPException(429, str(exc)) from None
    request.app.state.wake()
    return RedirectResponse(f"/submissions/{outcome.submission_id}", status_code=303)


@router.get("/submissions/{sid}", response_class=HTMLResponse)
async def submission_page(request: Request, sid: int) -> Response:
    found = await run_in_threadpool(session_user, request)
    if found is None:
        return RedirectResponse("/login", status_code=303)
    user = found[0]

    def fetch() -> tuple | None:
        with pool(request).connection() as conn:
            return conn.execute(SELECT + " WHERE s.submission_id = %s", [min(sid, 2**62)]).fetchone()
    row = await run_in_threadpool(fetch)
    if row is None or not (user.can("review") or row[14] == user.user_id):
        raise HTTPException(404, f"no submission {sid} visible to you")
    s = dict(zip(COLUMNS, row[:len(COLUMNS)], strict=True)) | {"id": row[0]}
    return render("submission.html", s=s)
