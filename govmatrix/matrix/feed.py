"""The unified feed: posts of every account, newest first, in one record shape."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from govmatrix.storage.repo import Repo

FEED_FIELDS = (
    "id", "platform", "department", "account", "native_id", "url", "title", "text", "published_at",
    "reposts", "comments", "likes", "reads", "kind", "review_state", "flags", "alerts", "cluster_id",
)


def feed_record(row: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    """One feed record; ``published_at`` is ISO 8601 in the display time zone (``+08:00`` for Asia/Shanghai)."""
    record = {name: row.get(name) for name in FEED_FIELDS}
    record["department"] = row.get("department") or ""
    record["published_at"] = row["published_at"].astimezone(tz).isoformat()
    record["flags"] = list(row.get("flags") or [])
    record["alerts"] = list(row.get("alerts") or [])
    return record


def feed(repo: Repo, tz: tzinfo, *, department: str | None = None, platform: str | None = None,
         since: datetime | None = None, until: datetime | None = None, limit: int = 50) -> list[dict[str, Any]]:
    rows = repo.posts.feed(department=department, platform=platform, since=since, until=until, limit=limit)
    return [feed_record(row, tz) for row in rows]
