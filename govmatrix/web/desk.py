"""审核台, the review desk: log in, the queue (alerts first, clusters once), review actions, the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from govmatrix.errors import ConfigError
from govmatrix.matrix.feed import also_posted_line, page
from govmatrix.storage.feed import FeedQuery
from govmatrix.storage.users import User
from govmatrix.web.auth import COOKIE, CSRF_FIELD, Session, Throttle, csrf_ok
from govmatrix.web.common import (
    PLATFORM_NAMES,
    STATE_NAMES,
    ActingUser,
    AdminUser,
    PageUser,
    render,
    session_of,
    web,
)
from govmatrix.web.review import ACTION_NAMES, ReviewRefused, review

router = APIRouter(prefix="/desk", include_in_schema=False)
FILTERS = ("q", "state", "department", "platform", "kind", "alerts", "flag", "order", "view", "since", "until")
KINDS = {"original": "原创", "repost": "转发", "article": "文章", "thread": "主题帖", "reply": "回帖"}


def login_url(target: str) -> str:
    return "/desk/login?" + urlencode({"next": target})


def _safe_next(target: str | None) -> str:
    """Only a path of the desk or the dashboards (never another site) after logging in."""
    if target and target.startswith(("/desk/", "/dashboard/")) and "//" not in target and "\\" not in target:
        return target
    return "/desk/"


@router.get("/login")
def login_form(request: Request, next: str = "/desk/", failed: int = 0) -> Response:
    session_of(request)
    return render(request, "desk/login.html", next=_safe_next(next), failed=bool(failed))


@router.post("/login")
async def login(request: Request) -> Response:
    w = web(request)
    form = await request.form()
    session = session_of(request)
    target = _safe_next(str(form.get("next") or ""))
    if not csrf_ok(session, str(form.get(CSRF_FIELD) or "")):
        raise HTTPException(403, "请求缺少有效的 CSRF 令牌，请刷新页面后重试")
    name, password = str(form.get("name") or "").strip(), str(form.get("password") or "")
    throttle = Throttle(w.settings.web.login_attempts, timedelta(minutes=w.settings.web.login_window_minutes))
    address = request.client.host if request.client else ""
    now = w.now()
    if throttle.refused(w.repo, name, address, now):
        return render(request, "desk/login.html", status=429, next=target, throttled=True,
                      minutes=w.settings.web.login_window_minutes)
    user = throttle.login(w.repo, name, password, address, now)
    if user is None:
        return render(request, "desk/login.html", status=401, next=target, failed=True)
    response = RedirectResponse(target, status_code=303)
    fresh = Session(user.id, user.updated_at.timestamp(), Session.anonymous().csrf)  # a new token after login
    response.set_cookie(COOKIE, w.sessions.dump(fresh), max_age=w.sessions.max_age, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(session_of(request), str(form.get(CSRF_FIELD) or "")):
        raise HTTPException(403, "请求缺少有效的 CSRF 令牌，请刷新页面后重试")
    response = RedirectResponse("/desk/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _date(text: str, end: bool, request: Request) -> datetime | None:
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=web(request).tz)
    except ValueError:
        raise HTTPException(400, f"日期格式应为 YYYY-MM-DD：{text}") from None
    return day + timedelta(days=1) if end else day


def desk_query(request: Request, filters: dict[str, str], limit: int) -> FeedQuery:
    state = filters.get("state", "pending")
    order = filters.get("order", "alerts")
    if state not in (*STATE_NAMES, "all") or order not in ("alerts", "newest"):
        raise HTTPException(400, "筛选条件无效")
    return FeedQuery(
        department=filters.get("department") or None, platform=filters.get("platform") or None,
        kind=filters.get("kind") or None, review_state=None if state == "all" else state,
        since=_date(filters.get("since", ""), False, request), until=_date(filters.get("until", ""), True, request),
        alerts=filters.get("alerts") == "1", flag=filters.get("flag") or None, search=filters.get("q") or None,
        collapsed=filters.get("view", "clusters") == "clusters", order=order, limit=limit)


@router.get("/")
def queue(request: Request, user: PageUser) -> Response:
    w = web(request)
    filters = {k: v for k in FILTERS if (v := request.query_params.get(k, "").strip())}
    filters.setdefault("state", "pending")
    query = desk_query(request, filters, w.settings.web.page_size)
    try:
        result = page(w.repo, w.tz, query, request.query_params.get("after"))
    except ConfigError as exc:
        raise HTTPException(400, str(exc)) from None
    blocking = w.repo.wording.blocking([r["id"] for r in result.records])
    items = [_desk_item(record, row, user, blocking.get(record["id"], []), query.collapsed)
             for record, row in zip(result.records, result.rows, strict=True)]
    more = ("/desk/?" + urlencode({**filters, "after": result.cursor})) if result.cursor else None
    return render(request, "desk/queue.html", items=items, filters=filters, more=more,
                  departments=w.repo.accounts.departments(), platforms=PLATFORM_NAMES, states=STATE_NAMES,
                  kinds=KINDS, actions=ACTION_NAMES, here=str(request.url.path) + (
                      f"?{request.url.query}" if request.url.query else ""),
                  done=request.query_params.get("done", ""),
                  alarms=w.repo.inspection.alarms(day=w.now().astimezone(w.tz).date(), limit=100))


def _desk_item(record: dict[str, Any], row: dict[str, Any], user: User, hits: list[dict[str, Any]],
               collapsed: bool) -> dict[str, Any]:
    text = record["title"] or record["text"]
    return {**record, "snippet": text[:160] + ("…" if len(text) > 160 else ""), "body_text": record["text"],
            "department_short": row["department_short"] or "", "may_review": user.may_review(row["department_short"]),
            "also": also_posted_line(record).replace("also posted by ", "同时发布：") if collapsed else "",
            "cluster": collapsed and record["cluster_id"] is not None and bool(record.get("also_posted_by")),
            "wording": hits, "alert_rules": [a for a in record["alerts"] if not str(a.get("rule", "")).startswith(
                "wording:")]}


@router.post("/review")
async def review_action(request: Request, user: ActingUser) -> Response:
    w = web(request)
    form = await request.form()
    back = _safe_next(str(form.get("next") or "/desk/"))
    single = str(form.get("item") or "")
    if single:
        action, _, post_id = single.partition(":")
        ids = [post_id]
    else:
        action, ids = str(form.get("action") or ""), [str(i) for i in form.getlist("ids")]
    if not all(i.isdigit() for i in ids):
        raise HTTPException(400, "条目编号无效")
    try:
        result = review(w.repo, user, [int(i) for i in ids], action, now=w.now(), note=str(form.get("note") or ""),
                        cluster=form.get("cluster") == "1")
    except ReviewRefused as exc:
        raise HTTPException(exc.status, exc.message) from None
    message = f"{ACTION_NAMES[action]}：{result.changed} 条" + (
        f"，{len(result.skipped)} 条未处理（" + "；".join(sorted({why for _, why in result.skipped})) + "）"
        if result.skipped else "")
    return RedirectResponse(back + ("&" if "?" in back else "?") + "done=" + quote(message), status_code=303)


@router.get("/item/{post_id}")
def item(request: Request, post_id: int, user: PageUser) -> Response:
    w = web(request)
    row = w.repo.feed.one(post_id)
    if row is None:
        raise HTTPException(404, "没有这个条目")
    hits = w.repo.wording.blocking([post_id]).get(post_id, [])
    members = w.repo.feed.also_posted([row["cluster_id"]]).get(row["cluster_id"], []) if row["cluster_id"] else []
    return render(request, "desk/item.html", row=row, hits=hits, events=w.repo.reviews.events(post_id),
                  members=[m for m in members if m["id"] != post_id], actions=ACTION_NAMES,
                  may_review=user.may_review(row["department_short"]), done=request.query_params.get("done", ""))


@router.post("/wording/dismiss")
async def dismiss(request: Request, user: ActingUser) -> Response:
    w = web(request)
    form = await request.form()
    post_id = str(form.get("post_id") or "")
    if not post_id.isdigit():
        raise HTTPException(400, "条目编号无效")
    row = w.repo.feed.one(int(post_id))
    if row is None:
        raise HTTPException(404, "没有这个条目")
    if not user.may_review(row["department_short"]):
        raise HTTPException(403, "该条目不在你负责的部门内")
    w.repo.wording.dismiss(int(post_id), str(form.get("key") or ""), actor=user.name, now=w.now(),
                           note=str(form.get("note") or ""))
    return RedirectResponse(f"/desk/item/{post_id}?done=" + quote("已忽略该用语提示"), status_code=303)


@router.get("/audit")
def audit(request: Request, user: AdminUser, before: int | None = None) -> Response:
    w = web(request)
    events = w.repo.reviews.events(limit=100, before=before)
    more = f"/desk/audit?before={events[-1]['id']}" if len(events) == 100 else None
    return render(request, "desk/audit.html", events=events, more=more, states=STATE_NAMES)
