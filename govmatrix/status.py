"""``govmatrix status``: each account's state, its last crawl and what went wrong, as one table."""

from __future__ import annotations

from datetime import datetime, tzinfo

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


def status_table(repo: Repo, settings: Settings, now: datetime) -> str:
    tz = settings.tz
    runs, failing = repo.runs.last(), repo.runs.failing_since()
    rows, flagged, warned = [], 0, []
    for a in repo.accounts.find():
        run = runs.get(a.id)
        last = f"{run['status']} +{run['new_posts']}/~{run['updated_posts']}" if run else "never"
        if run and run["warnings"]:
            last += f" !{run['warnings']}"
            warned.append((a.label, run["warnings"], run["warning_samples"]))
        since = failing.get(a.id)
        attention = needs_attention(since, now, after_days=settings.scheduler.attention_after_days)
        flagged += attention
        rows.append((a.platform, a.native_id, clip(a.name, 16), account_state(a.enabled, attention, a.error_count, bool(run)),
                     last, _local(a.last_success_at, tz), a.error_count or "", _local(since, tz) if since else "",
                     clip(a.last_error or "", 60), _local(a.next_check_at, tz)))
    headers = ("platform", "id", "name", "state", "last crawl", "last success", "errors", "failing since",
               "last error", "next check")
    out = [table(headers, rows)]
    for label, count, samples in warned:
        out.append(f"{label}: {count} items skipped in the last crawl: " + "; ".join(clip(s, 80) for s in samples))
    if flagged:
        out.append(f"{flagged} accounts need attention: failing for {settings.scheduler.attention_after_days} days or more")
    return "\n".join(out)
