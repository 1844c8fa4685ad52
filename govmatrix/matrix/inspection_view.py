"""What the dashboard's inspection page shows, as one JSON-ready dict (pure): ``dashboard``; and
``dashboard_data``, which reads it through the repo for a moment (no clock: ``at`` is a parameter)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from govmatrix.config import Settings
from govmatrix.matrix.inspection import (
    ITEM_NAMES,
    ITEMS,
    STATUS_NAMES,
    AccountInspection,
    InspectionReport,
    Rate,
    inspection_report,
)
from govmatrix.matrix.register import STATUS_NAMES as REGISTER_STATUS
from govmatrix.matrix.register import Register, RegisterLine, register_report
from govmatrix.matrix.reports.content import PLATFORM_NAMES
from govmatrix.storage.repo import Repo

SILENT_LABELS = {10: "10天", 14: "2周", 90: "3个月", 365: "1年"}
_POST_KEYS = ("id", "native_id", "kind", "title", "text", "url", "author", "published_at")


def jsonable(value: Any, tz: Any) -> Any:
    """``value`` with times as local ISO strings, days as ISO dates, sets as sorted lists."""
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v, tz) for k, v in value.items() if k not in ("alerts", "dismissed")}
    if isinstance(value, list | tuple):
        return [jsonable(v, tz) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v, tz) for v in value)
    return value


def _rate(r: Rate) -> dict[str, Any]:
    return {"name": PLATFORM_NAMES.get(r.name, r.name), "platform": r.name, "inspected": r.inspected,
            "passed": r.passed, "failed": r.failed, "pending": r.pending, "rate": r.rate}


def _account(a: AccountInspection, report: InspectionReport) -> dict[str, Any]:
    u, tz = a.updates, report.tz
    last = {k: u.last[k] for k in _POST_KEYS if k in u.last} if u.last else None
    return {"id": a.account.id, "platform": a.account.platform,
            "platform_name": PLATFORM_NAMES.get(a.account.platform, a.account.platform),
            "native_id": a.account.native_id, "name": a.account.name, "department": a.account.department,
            "overall": a.overall, "overall_name": STATUS_NAMES[a.overall], "closed_on": jsonable(a.closed_on, tz),
            "last_update": jsonable(last, tz), "days_since": u.days_since, "silent_days": u.silent_days,
            "silent_exact": u.days_since is not None, "crosses_on": jsonable(u.crosses_on, tz),
            "alarm_on": jsonable(u.alarm_on, tz), "days_left": a.days_left(report.day),
            "verdicts": {item: {"status": v.status, "status_name": STATUS_NAMES[v.status], "reason": v.reason,
                                "evidence": jsonable(v.evidence, tz)} for item, v in a.verdicts.items()}}


def _line(x: RegisterLine, tz: Any) -> dict[str, Any]:
    ledger = x.ledger
    return {"account_id": x.account.id, "platform": x.account.platform, "native_id": x.account.native_id,
            "name": x.account.name, "department": x.account.department, "status": x.status,
            "status_name": REGISTER_STATUS[x.status], "registered": x.registered,
            "operator": ledger.operator if ledger else "", "frequency": ledger.frequency if ledger else "",
            "opened": jsonable(ledger.opened, tz) if ledger else None,
            "changed": jsonable(ledger.changed, tz) if ledger else None,
            "closed": jsonable(ledger.closed, tz) if ledger else None,
            "cancelled": jsonable(ledger.cancelled, tz) if ledger else None,
            "closing_notice": ledger.closing_notice if ledger else "", "last_update": jsonable(x.last_update, tz),
            "silent_days": x.silent_days, "silent_exact": x.silent_exact, "recent_updates": x.recent_updates,
            "issues": list(x.issues)}


def dashboard(report: InspectionReport, register: Register | None = None,
              alarms: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The page (pure): the moment and rules; the pass rates of the matrix and of each platform; the
    counts per veto item; every account with its three verdicts, reasons and evidence (failures first);
    the silent lists; what to fix first; the register's lists; the day's alarms."""
    tz, rules = report.tz, report.rules
    inspected = [a for a in report.accounts if a.overall != "closed"]
    return {
        "day": report.day.isoformat(), "at": report.at.astimezone(tz).isoformat(),
        "rules": rules.model_dump(mode="json"), "notes": list(report.notes),
        "total": _rate(report.total), "platforms": [_rate(r) for r in report.platforms],
        "items": [{"item": item, "name": ITEM_NAMES[item],
                   **{s: sum(a.verdicts[item].status == s for a in inspected) for s in ("pass", "fail", "unknown", "na")}}
                  for item in ITEMS],
        "accounts": [_account(a, report) for a in report.accounts],
        "silent": [{"days": n, "label": SILENT_LABELS.get(n, f"{n}天"),
                    "accounts": [{"id": a.account.id, "name": a.account.name, "platform": a.account.platform,
                                  "department": a.account.department, "silent_days": a.updates.silent_days,
                                  "exact": a.updates.days_since is not None} for a in accounts]}
                   for n, accounts in report.silent.items()],
        "fixes": [{"priority": f.priority, "account_id": f.account.id, "name": f.account.name,
                   "department": f.account.department, "platform": f.account.platform, "item": f.item,
                   "item_name": ITEM_NAMES[f.item], "problem": f.problem, "action": f.action} for f in report.fixes],
        "register": None if register is None else {
            "lines": [_line(x, tz) for x in register.lines],
            "unregistered": [x.account.id for x in register.unregistered],
            "silent": [x.account.id for x in register.silent], "issues": [x.account.id for x in register.issues]},
        "alarms": [{"id": a.get("id"), "day": jsonable(a["day"], tz), "kind": a["kind"], "message": a["message"],
                    "account_id": a["account_id"], "raised_at": jsonable(a.get("raised_at"), tz)} for a in alarms],
    }


def dashboard_data(repo: Repo, settings: Settings, at: datetime) -> dict[str, Any]:
    """``dashboard`` of every enabled account as of ``at``, with the register and the alarms raised on
    ``at``'s local day, read through the repo."""
    report = inspection_report(repo, settings, at)
    register = register_report(repo, settings, at, report)
    return dashboard(report, register, repo.inspection.alarms(day=report.day))
