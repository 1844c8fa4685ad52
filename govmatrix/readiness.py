"""The inspection's edges: `govmatrix report inspection|register --date D` and the day's alarms as
`govmatrix status` prints them (the scheduler's daily job raises them: ``matrix.inspection.raise_day_alarms``)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from govmatrix.config import Settings
from govmatrix.errors import ConfigError
from govmatrix.matrix.inspection import inspection_report, moment_of
from govmatrix.matrix.register import register_report
from govmatrix.matrix.reports import write_report
from govmatrix.matrix.reports.inspection import INSPECTION_KINDS, build_inspection, build_register
from govmatrix.render import clip
from govmatrix.storage.repo import Repo


def date_arg(text: str | None, now: datetime, settings: Settings) -> date:
    """The day asked for (YYYY-MM-DD); by default today in the display zone."""
    if not text:
        return now.astimezone(settings.tz).date()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--date: expected YYYY-MM-DD, got {text!r}") from None


def write(repo: Repo, settings: Settings, kind: str, day: date, fmt: str, out: Path | None, now: datetime) -> Path:
    """Write the inspection report or the register as of ``day`` (its end, or now while it lasts)."""
    if kind not in INSPECTION_KINDS:
        raise ConfigError(f"report: unknown kind {kind!r}")
    at = moment_of(day, now, settings.tz)
    if at < datetime(day.year, day.month, day.day, tzinfo=settings.tz):
        raise ConfigError(f"--date: {day} is in the future")
    report = inspection_report(repo, settings, at)
    register = register_report(repo, settings, at, report)
    built = build_inspection(report, register) if kind == "inspection" else build_register(register, settings.tz)
    return write_report(built, fmt, out or Path(settings.reports.dir) / f"{kind}-{day.isoformat()}.{fmt}")


def alarm_lines(repo: Repo, settings: Settings, now: datetime) -> list[str]:
    """Today's alarms, one line each, for `govmatrix status`."""
    today = now.astimezone(settings.tz).date()
    return [clip(str(a["message"]), 140) for a in repo.inspection.alarms(day=today)]
