"""看板, the dashboards: the month's matrix report on one page (totals, follower growth, rankings,
indices, exchange compliance), crawl health (ATTENTION first), and the month's report files; the
inspection page (the three single-veto items as of a day, the day's alarms, the register) and its files."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from govmatrix import readiness
from govmatrix.errors import ConfigError
from govmatrix.matrix.inspection import inspection_report, moment_of
from govmatrix.matrix.period import Month
from govmatrix.matrix.register import register_report
from govmatrix.matrix.reports import FORMATS, monthly_reports, report_name, write_report
from govmatrix.matrix.reports.content import KINDS
from govmatrix.matrix.reports.html import sheet_tables
from govmatrix.matrix.reports.inspection import INSPECTION_KINDS, build_inspection
from govmatrix.status import status_rows
from govmatrix.web.common import PLATFORM_NAMES, PageUser, Web, render, web

router = APIRouter(prefix="/dashboard", include_in_schema=False)
STATE_ORDER = {"ATTENTION": 0, "back-off": 1, "new": 2, "ok": 3, "disabled": 4}
STATE_NAMES = {"ATTENTION": "需关注", "back-off": "退避重试", "new": "未抓取", "ok": "正常", "disabled": "已停用"}
KIND_NAMES = {"matrix": "矩阵月报", "followers": "粉丝月报", "exchange": "在线交流月报"}
INSPECTION_NAMES = {"inspection": "检查报告", "register": "账号台账"}


def month_of(w: Web, text: str | None) -> Month:
    """The month asked for (YYYY-MM); by default the current month in the display zone."""
    try:
        return Month.parse(text) if text else Month.of(w.now().astimezone(w.tz).date())
    except (ConfigError, ValueError):
        raise HTTPException(400, f"月份格式应为 YYYY-MM：{text}") from None


def day_of(w: Web, text: str | None) -> date:
    """The day asked for (YYYY-MM-DD), not in the future; by default today in the display zone."""
    today = w.now().astimezone(w.tz).date()
    try:
        day = readiness.date_arg(text, w.now(), w.settings)
    except ConfigError:
        raise HTTPException(400, f"日期格式应为 YYYY-MM-DD：{text}") from None
    if not date(1900, 1, 1) <= day <= today:
        raise HTTPException(400, f"日期不能晚于今天（{today}）：{text}")
    return day


def health(w: Web) -> list[dict[str, Any]]:
    rows = status_rows(w.repo, w.settings, w.now())
    rows.sort(key=lambda r: (STATE_ORDER.get(r["state"], 9), r["account"].platform, r["account"].name))
    return [{**r, "state_name": STATE_NAMES.get(r["state"], r["state"]), "platform": PLATFORM_NAMES.get(
        r["account"].platform, r["account"].platform)} for r in rows]


@router.get("/")
def overview(request: Request, user: PageUser, month: str | None = None) -> Response:
    w = web(request)
    chosen = month_of(w, month)
    report = monthly_reports(w.repo, ["matrix"], chosen, w.tz, exchange_since=w.settings.reports.exchange_since)["matrix"]
    return render(request, "dashboard.html", month=chosen, previous=chosen.previous(), next=chosen.next(),
                  sheets=sheet_tables(report), health=health(w), kinds=KIND_NAMES, formats=FORMATS)


@router.get("/inspection")
def inspection(request: Request, user: PageUser, date: str | None = None) -> Response:
    """The inspection as of the end of a day (now, for today): pass rates, the veto items per account
    with their evidence, what to fix first, the silent lists, the register, and that day's alarms."""
    w = web(request)
    day = day_of(w, date)
    at = moment_of(day, w.now(), w.tz)
    report = inspection_report(w.repo, w.settings, at)
    built = build_inspection(report, register_report(w.repo, w.settings, at, report))
    today = w.now().astimezone(w.tz).date()
    return render(request, "inspection.html", day=day, previous=day - timedelta(days=1),
                  next=day + timedelta(days=1) if day < today else None, total=report.total,
                  platforms=report.platforms, sheets=sheet_tables(built), alarms=w.repo.inspection.alarms(day=day),
                  kinds=INSPECTION_NAMES, formats=FORMATS)


@router.get("/reports/{name}")
def report_file(request: Request, name: str, user: PageUser) -> Response:
    """``matrix-2016-06.xlsx``, ``inspection-2016-06-01.html`` and the like: the report built now from the store."""
    w = web(request)
    stem, _, fmt = name.rpartition(".")
    kind, _, when = stem.partition("-")
    if kind not in (*KINDS, *INSPECTION_KINDS) or fmt not in FORMATS:
        raise HTTPException(404, "没有这个报表")
    if kind in INSPECTION_KINDS:
        day = day_of(w, when)
        folder = Path(tempfile.mkdtemp(prefix="govmatrix-report-"))
        out = readiness.write(w.repo, w.settings, kind, day, fmt, folder / f"{kind}-{day}.{fmt}", w.now())
    else:
        chosen = month_of(w, when)
        report = monthly_reports(w.repo, [kind], chosen, w.tz, exchange_since=w.settings.reports.exchange_since)[kind]
        folder = Path(tempfile.mkdtemp(prefix="govmatrix-report-"))
        out = write_report(report, fmt, folder / report_name(kind, chosen, fmt))
    return FileResponse(out, filename=out.name, background=BackgroundTask(_remove, folder),
                        headers={"Cache-Control": "private, no-store", "Last-Modified": _http_date(w.now())})


def _remove(folder: Path) -> None:
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()


def _http_date(when: datetime) -> str:
    from email.utils import format_datetime

    return format_datetime(when.astimezone(UTC), usegmt=True)
