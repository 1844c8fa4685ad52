"""The unified feed: posts of every account in one record shape, filtered, searched and paged.

Every view (the CLI, the review desk, the micro-site) reads it here. Search takes what a person
types, in traditional or simplified script, and looks for it in each post's search form
(``text_norm``) through the bigram index (storage/search.py). Pages are keyset pages: a page ends
with a cursor, the sort key of its last row, and the next page starts after it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

import orjson

from govmatrix.errors import ConfigError
from govmatrix.pipelines.clean import normalise
from govmatrix.storage.feed import FeedQuery, FeedStore
from govmatrix.storage.repo import Repo

FEED_FIELDS = (
    "id", "platform", "department", "account", "native_id", "url", "title", "text", "published_at",
    "reposts", "comments", "likes", "reads", "kind", "review_state", "flags", "alerts", "cluster_id",
)
MAX_LIMIT = 500


@dataclass(frozen=True)
class FeedPage:
    records: list[dict[str, Any]]
    cursor: str | None  # where the next page starts; None on the last page
    rows: list[dict[str, Any]]  # the store's rows behind the records (with html, media, updated_at)


def feed_record(row: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    """One feed record; ``published_at`` is ISO 8601 in the display time zone (``+08:00`` for Asia/Shanghai)."""
    record = {name: row.get(name) for name in FEED_FIELDS}
    record["department"] = row.get("department") or ""
    record["published_at"] = row["published_at"].astimezone(tz).isoformat()
    record["flags"] = list(row.get("flags") or [])
    record["alerts"] = list(row.get("alerts") or [])
    return record


def encode_cursor(key: tuple[Any, ...]) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str, order: str) -> tuple[Any, ...]:
    """The sort key a cursor holds; ConfigError for anything that is not one of ours."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        *rank, when, post_id = values
        if len(rank) != (order == "alerts") or not isinstance(post_id, int) or not all(isinstance(r, int) for r in rank):
            raise ValueError(cursor)
        return (*rank, datetime.fromisoformat(when), post_id)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise ConfigError(f"feed: not a cursor of this feed: {cursor!r}") from None


def page(repo: Repo, tz: tzinfo, query: FeedQuery, cursor: str | None = None) -> FeedPage:
    """One page of the feed. ``query.search`` is what a person typed (normalised here); with
    ``query.collapsed`` each record of a cluster lists the other accounts that posted it."""
    if not 1 <= query.limit <= MAX_LIMIT:
        raise ConfigError(f"feed: limit must be between 1 and {MAX_LIMIT}, not {query.limit}")
    search = normalise(query.search) if query.search is not None else None
    after = decode_cursor(cursor, query.order) if cursor else None
    rows = repo.feed.page(replace(query, search=search, after=after, limit=query.limit + 1))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    records = [feed_record(row, tz) for row in rows]
    if query.collapsed:
        members = repo.feed.also_posted([r["cluster_id"] for r in rows if r["cluster_id"] is not None])
        for record in records:
            others = [m for m in members.get(record["cluster_id"], []) if m["id"] != record["id"]]
            record["also_posted_by"] = list(dict.fromkeys(m["account"] for m in others))
    next_cursor = encode_cursor(FeedStore.key(rows[-1], query.order)) if more and rows else None
    return FeedPage(records, next_cursor, rows)


def also_posted_line(record: dict[str, Any], shown: int = 2) -> str:
    """"also posted by 菏泽食药监, 健康菏泽 (+9)" for a collapsed record ('' without copies)."""
    names = record.get("also_posted_by") or []
    if not names:
        return ""
    rest = len(names) - shown
    return "also posted by " + ", ".join(names[:shown]) + (f" (+{rest})" if rest > 0 else "")


def feed(repo: Repo, tz: tzinfo, *, department: str | None = None, platform: str | None = None,
         since: datetime | None = None, until: datetime | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest records (one page), for callers that need no filter beyond these."""
    query = FeedQuery(department=department, platform=platform, since=since, until=until, limit=limit)
    return page(repo, tz, query).records
