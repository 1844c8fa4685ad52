"""The monthly commands (`followers`, `rankings`, `exchanges`, `report`): the report's tables on the
terminal (or as JSON), and the report files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from govmatrix.config import Settings
from govmatrix.matrix.period import Month
from govmatrix.matrix.reports import monthly_reports, report_name, write_report
from govmatrix.matrix.reports.content import KINDS, Report, Table
from govmatrix.matrix.reports.html import cell_text
from govmatrix.render import table
from govmatrix.storage.repo import Repo

# What each command shows: a report kind and the sheets of it.
VIEWS = {"followers": ("followers", ("汇总", "粉丝增长")), "rankings": ("matrix", ("排名", "传播指数")),
         "exchanges": ("exchange", ("在线交流",))}


def month_arg(text: str | None, now: datetime, settings: Settings) -> Month:
    """The month asked for; by default the last complete month in the display zone."""
    return Month.parse(text) if text else Month.of(now.astimezone(settings.tz).date()).previous()


def _tables(report: Report, sheets: tuple[str, ...]) -> list[Table]:
    return [t for s in report.sheets if s.name in sheets for t in s.tables]


def _reports(repo: Repo, settings: Settings, kinds: Sequence[str], month: Month) -> dict[str, Report]:
    return monthly_reports(repo, kinds, month, settings.tz, exchange_since=settings.reports.exchange_since)


def _path(settings: Settings, kind: str, month: Month, fmt: str) -> Path:
    return Path(settings.reports.dir) / report_name(kind, month, fmt)


def show(repo: Repo, settings: Settings, view: str, month: Month, fmt: str, department: str | None = None) -> str:
    kind, sheets = VIEWS[view]
    report = _reports(repo, settings, [kind], month)[kind]
    tables = _tables(report, sheets)
    if department:
        tables = [_only(t, department) for t in tables if t.columns[0].title == "部门"]
    if fmt == "json":
        return json.dumps({"month": str(month), "tables": [_json(t) for t in tables]}, ensure_ascii=False, indent=2)
    return "\n\n".join(f"{t.title}\n" + table([c.title for c in t.columns],
                                              [[cell_text(v, c) for v, c in zip(row, t.columns, strict=True)]
                                               for row in t.rows]) for t in tables)


def _only(t: Table, department: str) -> Table:
    return Table(t.title, t.columns, [r for r in t.rows if department in str(r[0])], t.chart)


def _json(t: Table) -> dict[str, Any]:
    return {"title": t.title, "rows": [dict(zip([c.title for c in t.columns], row, strict=True)) for row in t.rows]}


def write(repo: Repo, settings: Settings, kind: str, month: Month, fmt: str, out: Path | None) -> Path:
    """Write one report file (by default ``[reports] dir``/kind-YYYY-MM.fmt)."""
    report = _reports(repo, settings, [kind], month)[kind]
    return write_report(report, fmt, out or _path(settings, kind, month, fmt))


def write_last_month(repo: Repo, settings: Settings, now: datetime) -> list[Path]:
    """Every report kind of last month in every configured format (the scheduled job on the 1st):
    the statistics read once, each report rendered in each format."""
    month = month_arg(None, now, settings)
    return [write_report(report, fmt, _path(settings, kind, month, fmt))
            for kind, report in _reports(repo, settings, KINDS, month).items() for fmt in settings.reports.formats]
