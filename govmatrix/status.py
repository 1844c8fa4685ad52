"""``govmatrix status``: each account's state, its last crawl and what went wrong, as one table."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from govmatrix.config import Settings
from govmatrix.pacing import needs_attention
from govmatrix.render import clip, table
from govmatrix.storage.repo import Repo


def _local(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "-"


def account_state(enabled: bool, attention: bool, errors: int, crawled: bool) -> str:
    """ok, back-off, ATTENTION (failing for days), disabled, or new (never crawled)."""
    if not enabled:
        return "disabled"
    if attention:
        return "ATTENTION"
    if errors:
        return "back-off"
    return "ok" if crawled else "new"


def status_rows(repo: Repo, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Each account's crawl health: its state, last crawl, last success, errors and what went wrong."""
    runs, failing = repo.runs.last(), repo.runs.failing_since()
    rows = []
    for a in repo.accounts.find():
        run = runs.get(a.id)
        since = failing.get(a.id)
        attention = needs_attention(since, now, after_days=settings.scheduler.attention_after_days)
        rows.append({"account": a, "run": run, "failing_since": since,
                     "state": account_state(a.enabled, attention, a.error_count, bool(run))})
    return rows


def status_table(repo: Repo, settings: Settings, now: datetime) -> str:
    tz = settings.tz
    rows, flagged, warned = [], 0, []
    for row in status_rows(repo, settings, now):
        a, run, since = row["account"], row["run"], row["failing_since"]
        last = f"{run['status']} +{run['new_posts']}/~{run['updated_posts']}" if run else "never"
        if run and run["warnings"]:
            last += f" !{run['warnings']}"
            warned.append((a.label, run["warnings"], run["warning_samples"]))
        flagged += row["state"] == "ATTENTION"
        rows.append((a.platform, a.native_id, clip(a.name, 16), row["state"], last, _local(a.last_success_at, tz),
                     a.error_count or "", _local(since, tz) if since else "", clip(a.last_error or "", 60),
                     _local(a.next_check_at, tz)))
    headers = ("platform", "id", "name", "state", "last crawl", "last success", "errors", "failing since",
               "last error", "next check")
    out = [table(headers, rows)]
    for label, count, samples in warned:
        out.append(f"{label}: {count} items skipped in the last crawl: " + "; ".join(clip(s, 80) for s in samples))
    if flagged:
        out.append(f"{flagged} accounts need attention: failing for {settings.scheduler.attention_after_days} days or more")
    out += inspection_alarm_lines(repo, settings, now)
    return "\n".join(out)


def inspection_alarm_lines(repo: Repo, settings: Settings, now: datetime) -> list[str]:
    """Today's inspection alarms (raised by the scheduler's daily job), under a heading."""
    from govmatrix.readiness import alarm_lines

    lines = alarm_lines(repo, settings, now)
    day = now.astimezone(settings.tz).date()
    if not lines:
        return [f"inspection alarms {day}: none raised (`govmatrix run` raises them daily at 08:00)"]
    return [f"inspection alarms {day} ({len(lines)}):", *(f"  {line}" for line in lines)]
