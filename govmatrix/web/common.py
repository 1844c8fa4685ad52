"""What every part of the web app shares: its state, the templates, who is asking, the security headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Annotated, Any

import nh3
from fastapi import Depends, HTTPException, Request
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govmatrix.clock import Clock
from govmatrix.config import Settings
from govmatrix.pipelines.clean import MARK_VALUES, SAFE_ATTRIBUTES, SAFE_TAGS
from govmatrix.storage.repo import Repo
from govmatrix.storage.users import User
from govmatrix.web.auth import COOKIE, CSRF_FIELD, CSRF_HEADER, Session, Sessions, csrf_ok, token_user

PLATFORM_NAMES = {"weibo": "微博", "wechat": "微信", "forum": "论坛", "feeds": "网站"}
STATE_NAMES = {"pending": "待审", "approved": "已通过", "hidden": "已隐藏", "pinned": "置顶"}
ROLE_NAMES = {"admin": "管理员", "reviewer": "审核员", "viewer": "只读"}
SEVERITY_NAMES = {"high": "高", "medium": "中", "low": "低"}

# No inline script or style anywhere; images come from the platforms' own hosts.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Adds the security headers to every response (pages, feeds, API, static files, errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in SECURITY_HEADERS if name not in names]
            await send(message)

        await self.app(scope, receive, with_headers)


@dataclass
class Web:
    """The app's state: settings, store, clock and the session codec."""

    settings: Settings
    repo: Repo
    clock: Clock
    sessions: Sessions

    @property
    def tz(self) -> tzinfo:
        return self.settings.tz

    def now(self) -> datetime:
        return self.clock.now()


def web(request: Request) -> Web:
    return request.app.state.web


def safe_html(html: str) -> Markup:
    """A post's HTML made safe again at the last moment (the clean pipeline stored it sanitised already)."""
    return Markup(nh3.clean(html or "", tags=set(SAFE_TAGS) | {"mark"}, tag_attribute_values=MARK_VALUES,
                            attributes={tag: set(names) for tag, names in SAFE_ATTRIBUTES.items()},
                            url_schemes={"http", "https"}, link_rel="noopener noreferrer nofollow"))


def _local(value: Any, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(tz).strftime(fmt) if isinstance(value, datetime) else ""


def environment(tz: tzinfo) -> Environment:
    loader = ChoiceLoader([PackageLoader("govmatrix.web", "templates"),
                           PackageLoader("govmatrix.matrix.reports", "templates")])  # a report's sheets.html
    env = Environment(loader=loader, autoescape=select_autoescape(
        ["html", "xml"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["local"] = lambda value, fmt="%Y-%m-%d %H:%M": _local(value, tz, fmt)
    env.filters["safe_html"] = safe_html
    env.filters["platform"] = lambda name: PLATFORM_NAMES.get(name, name)
    env.filters["state"] = lambda name: STATE_NAMES.get(name, name)
    env.filters["role"] = lambda name: ROLE_NAMES.get(name, name)
    env.filters["severity"] = lambda name: SEVERITY_NAMES.get(name, name)
    env.filters["count"] = lambda n: "" if n is None else f"{n:,}"
    return env


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    w = web(request)
    env: Environment = request.app.state.templates
    session: Session | None = getattr(request.state, "session", None)
    body = env.get_template(template).render(
        request=request, site_title=w.settings.web.site_title, user=getattr(request.state, "user", None),
        csrf=session.csrf if session else "", **context)
    response = HTMLResponse(body, status_code=status)
    _keep_session(request, response)
    return response


def _keep_session(request: Request, response: Any) -> None:
    """Sets the session cookie when this request began a session (or changed it)."""
    session: Session | None = getattr(request.state, "new_session", None)
    if session is not None:
        w = web(request)
        response.set_cookie(COOKIE, w.sessions.dump(session), max_age=w.sessions.max_age, httponly=True,
                            samesite="lax", secure=request.url.scheme == "https", path="/")


def session_of(request: Request) -> Session:
    """The request's session; a new anonymous one (with its CSRF token) when there is none."""
    w = web(request)
    session = w.sessions.load(request.cookies.get(COOKIE))
    if session is None:
        session = Session.anonymous()
        request.state.new_session = session
    request.state.session = session
    return session


def current_user(request: Request) -> User | None:
    """The user of the request: by API token, else by session cookie."""
    w = web(request)
    user = token_user(w.repo, request.headers.get("authorization"))
    if user is not None:
        request.state.token = True
    else:
        user = w.sessions.user_of(w.repo, session_of(request))
    request.state.user = user
    return user


class LoginRequired(Exception):
    """A page that needs a login was asked for without one: the desk redirects to the login page."""


def page_user(request: Request) -> User:
    """The logged-in user of a page (else a redirect to the login page)."""
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    return user


def admin_page_user(request: Request) -> User:
    user = page_user(request)
    if user.role != "admin":
        raise HTTPException(403, "只有管理员可以查看此页")
    return user


async def acting_user(request: Request) -> User:
    """The user of a state-changing request: logged in, allowed to review, and (with a session
    cookie) the request carries the session's CSRF token. Anyone else gets 403."""
    user = current_user(request)
    if user is None:
        raise HTTPException(403, "请先登录")
    if not getattr(request.state, "token", False):
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = str((await request.form()).get(CSRF_FIELD) or "") or None
        if not csrf_ok(getattr(request.state, "session", None), sent):
            raise HTTPException(403, "请求缺少有效的 CSRF 令牌，请刷新页面后重试")
    if user.role not in ("admin", "reviewer"):
        raise HTTPException(403, "只读用户不能执行审核操作")
    return user


PageUser = Annotated[User, Depends(page_user)]
AdminUser = Annotated[User, Depends(admin_page_user)]
ActingUser = Annotated[User, Depends(acting_user)]
