"""The ASGI app: one FastAPI application for the micro-site, the desk, the dashboards and the API."""

from __future__ import annotations

import secrets
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from govmatrix.clock import Clock
from govmatrix.config import Settings
from govmatrix.storage.repo import Repo
from govmatrix.web import api, dashboard, desk
from govmatrix.web.auth import Sessions
from govmatrix.web.common import LoginRequired, SecurityHeaders, Web, environment, render
from govmatrix.web.site import NotFound, Output, Site, SiteCache

STATIC = Path(__file__).with_name("static")
PUBLIC_CACHE = "public, max-age=60"


def create_app(settings: Settings, repo: Repo, clock: Clock, *, secret: str | None = None) -> FastAPI:
    """The app over one store. ``secret`` signs the session cookies (default: ``[web] secret``, else
    a random one: sessions then end when the process does)."""
    configured = settings.web.secret.value() if settings.web.secret else ""
    app = FastAPI(title="govmatrix", version="1", docs_url="/api/docs", redoc_url=None,
                  description="政务新媒体矩阵：统一信息流、审核、统计与报表的 JSON API。")
    app.state.web = Web(settings, repo, clock, Sessions(secret or configured or secrets.token_urlsafe(32),
                                                        settings.web.session_hours))
    app.state.templates = environment(settings.tz)
    app.state.site = Site(settings, repo, app.state.templates)
    app.state.site_cache = SiteCache()
    app.include_router(api.router)
    app.include_router(desk.router)
    app.include_router(dashboard.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(desk.login_url(target), status_code=303)

    @app.exception_handler(HTTPException)
    async def error_page(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return await http_exception_handler(request, exc)
        return render(request, "error.html", status=exc.status_code, message=exc.detail)

    @app.get("/{path:path}", include_in_schema=False)
    async def public(request: Request, path: str) -> Response:
        return site_response(request, "/" + path)

    return app


def site_response(request: Request, path: str) -> Response:
    """A public output with its validators: ETag and Last-Modified, 304 when the client has it."""
    w, site, cache = request.app.state.web, request.app.state.site, request.app.state.site_cache
    base = w.settings.web.base_url.rstrip("/") or str(request.base_url).rstrip("/")
    if not path.endswith("/") and not path.endswith((".json", ".atom")):
        return RedirectResponse(path + "/", status_code=308)
    version, _ = w.repo.reviews.last_change()
    key = f"{base}{path}"
    output: Output | None = cache.get(key, version)
    if output is None:
        try:
            output = site.build(path, base)
        except NotFound:
            return render(request, "site/missing.html", status=404, departments=w.repo.accounts.departments(),
                          department=None)
        cache.put(key, version, output)
    headers = {"ETag": output.etag, "Last-Modified": format_datetime(output.last_modified, usegmt=True),
               "Cache-Control": PUBLIC_CACHE, "Vary": "Accept-Encoding"}
    if _not_modified(request, output):
        return Response(status_code=304, headers=headers)
    return Response(output.body, media_type=output.content_type, headers=headers)


def _not_modified(request: Request, output: Output) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        return output.etag in [tag.strip().removeprefix("W/") for tag in match.split(",")] or match.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return output.last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False
