"""The JSON API: the feed, review actions, statistics, reports and crawl health.

Reading needs a login (any role); review actions need a reviewer or an admin and, with a session
cookie, the session's CSRF token in ``X-CSRF-Token``. Scripts use ``Authorization: Bearer <token>``
(``govmatrix user token NAME``) instead of a cookie.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from govmatrix.errors import ConfigError
from govmatrix.matrix.feed import MAX_LIMIT, page
from govmatrix.matrix.inspection import moment_of
from govmatrix.matrix.inspection_view import dashboard_data
from govmatrix.matrix.reports import monthly_reports
from govmatrix.monthly import VIEWS, show
from govmatrix.storage.feed import MAX_ID, FeedQuery
from govmatrix.storage.users import User
from govmatrix.web.common import acting_user, current_user, web
from govmatrix.web.dashboard import day_of, health, month_of
from govmatrix.web.review import ACTIONS, MAX_ITEMS, ReviewRefused, review

router = APIRouter(prefix="/api", tags=["api"])


def reader(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "login or an API token required")
    return user


class FeedItem(BaseModel):
    id: int
    platform: str
    department: str
    account: str
    native_id: str
    url: str
    title: str
    text: str
    published_at: str
    reposts: int | None
    comments: int | None
    likes: int | None
    reads: int | None
    kind: str
    review_state: str
    flags: list[str]
    alerts: list[dict[str, Any]]
    cluster_id: int | None
    also_posted_by: list[str] = []


class FeedPageOut(BaseModel):
    items: list[FeedItem]
    next: str | None = Field(description="pass as `after` for the next page; null on the last page")


def _day(value: date | None, end: bool, tz: Any) -> datetime | None:
    if value is None:
        return None
    start = datetime.combine(value, time(), tz)
    return start + timedelta(days=1) if end else start


@router.get("/feed", response_model=FeedPageOut)
def feed(request: Request, user: Annotated[User, Depends(reader)],
         q: Annotated[str | None, Query(max_length=200)] = None,
         department: str | None = None, platform: str | None = None, account: str | None = None,
         kind: str | None = None, state: Literal["pending", "approved", "hidden", "pinned"] | None = None,
         alerts: bool = False, flag: str | None = None, order: Literal["newest", "alerts"] = "newest",
         view: Literal["items", "clusters"] = "items", since: date | None = None, until: date | None = None,
         after: Annotated[str | None, Query(max_length=500)] = None,
         limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50) -> FeedPageOut:
    w = web(request)
    query = FeedQuery(department=department, platform=platform, account=account, kind=kind, review_state=state,
                      since=_day(since, False, w.tz), until=_day(until, True, w.tz), alerts=alerts, flag=flag,
                      search=q, collapsed=view == "clusters", order=order, limit=limit)
    try:
        result = page(w.repo, w.tz, query, after)
    except ConfigError as exc:
        raise HTTPException(400, str(exc)) from None
    return FeedPageOut(items=[FeedItem(**r) for r in result.records], next=result.cursor)


class ReviewIn(BaseModel):
    ids: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Field(min_length=1, max_length=MAX_ITEMS)]
    action: Literal["approve", "hide", "pin", "reset", "note"]
    note: Annotated[str, Field(max_length=2000)] = ""
    cluster: bool = Field(False, description="act on every member of the items' near-duplicate clusters")


class Skipped(BaseModel):
    id: int
    reason: str


class ReviewOut(BaseModel):
    changed: int
    unchanged: int
    skipped: list[Skipped]


@router.post("/review", response_model=ReviewOut, responses={403: {"description": "not allowed"}})
def review_items(request: Request, body: ReviewIn, user: Annotated[User, Depends(acting_user)]) -> ReviewOut:
    assert body.action in ACTIONS
    w = web(request)
    try:
        result = review(w.repo, user, body.ids, body.action, now=w.now(), note=body.note, cluster=body.cluster)
    except ReviewRefused as exc:
        raise HTTPException(exc.status, exc.message) from None
    return ReviewOut(changed=result.changed, unchanged=result.unchanged,
                     skipped=[Skipped(id=i, reason=why) for i, why in result.skipped])


class TableOut(BaseModel):
    title: str
    rows: list[dict[str, Any]]


class StatisticsOut(BaseModel):
    month: str
    tables: list[TableOut]


@router.get("/statistics/{view}", response_model=StatisticsOut)
def statistics(request: Request, view: Literal["followers", "rankings", "exchanges"],
               user: Annotated[User, Depends(reader)],
               month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
               department: str | None = None) -> Any:
    """The month's follower statistics, rankings and indices, or online exchanges (default: this month)."""
    assert view in VIEWS
    w = web(request)
    return json.loads(show(w.repo, w.settings, view, month_of(w, month), "json", department))


class SheetOut(BaseModel):
    name: str
    tables: list[TableOut]
    notes: list[str]


class ReportOut(BaseModel):
    title: str
    month: str
    sheets: list[SheetOut]


@router.get("/reports/{kind}", response_model=ReportOut)
def report(request: Request, kind: Literal["followers", "exchange", "matrix"], user: Annotated[User, Depends(reader)],
           month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None) -> ReportOut:
    """A monthly report's content; the files are at /dashboard/reports/KIND-YYYY-MM.xlsx|html|csv."""
    w = web(request)
    chosen = month_of(w, month)
    built = monthly_reports(w.repo, [kind], chosen, w.tz, exchange_since=w.settings.reports.exchange_since)[kind]
    return ReportOut(title=built.title, month=str(chosen), sheets=[SheetOut(
        name=s.name, notes=list(s.notes), tables=[TableOut(title=t.title, rows=[
            dict(zip([c.title for c in t.columns], row, strict=True)) for row in t.rows]) for t in s.tables])
        for s in built.sheets])


class AccountHealth(BaseModel):
    platform: str
    id: str
    name: str
    department: str
    state: str
    last_success_at: datetime | None
    errors: int
    failing_since: datetime | None
    last_error: str | None
    next_check_at: datetime | None


@router.get("/status", response_model=list[AccountHealth])
def status(request: Request, user: Annotated[User, Depends(reader)]) -> list[AccountHealth]:
    """Each account's crawl health, as `govmatrix status` shows it, ATTENTION first."""
    return [AccountHealth(platform=h["account"].platform, id=h["account"].native_id, name=h["account"].name,
                          department=h["account"].department, state=h["state"],
                          last_success_at=h["account"].last_success_at, errors=h["account"].error_count,
                          failing_since=h["failing_since"], last_error=h["account"].last_error,
                          next_check_at=h["account"].next_check_at) for h in health(web(request))]


class Me(BaseModel):
    name: str
    role: str
    departments: list[str]


@router.get("/me", response_model=Me)
def me(user: Annotated[User, Depends(reader)]) -> Me:
    return Me(name=user.name, role=user.role, departments=list(user.departments))


@router.get("/inspection")
def inspection(request: Request, user: Annotated[User, Depends(reader)],
               day: Annotated[str | None, Query(alias="date", pattern=r"^\d{4}-\d{2}-\d{2}$")] = None) -> dict[str, Any]:
    """The inspection as of the end of a day (default today, as of now): pass rates, each account's
    three veto items with reasons and evidence, what to fix first, the silent lists, the register and
    that day's alarms (what /dashboard/inspection shows)."""
    w = web(request)
    chosen = day_of(w, day)
    return dashboard_data(w.repo, w.settings, moment_of(chosen, w.now(), w.tz))
