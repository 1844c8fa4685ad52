"""Department websites: any RSS 1.0/2.0, Atom or JSON Feed URL, fetched with a conditional GET.

The account's cursor keeps the ETag and Last-Modified of the last complete document; a 304 means
nothing new. Every entry inside the horizon is returned on each change of the feed, so an edited
entry is updated (the store skips unchanged ones); an undated entry already stored is left alone,
since its only time is that of the crawl. Parsing is in ``feeds_parse``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from govmatrix.crawlers import feeds_parse as fp
from govmatrix.crawlers.base import CrawlContext, Crawler
from govmatrix.crawlers.http import PlatformClient
from govmatrix.errors import FetchError
from govmatrix.models import CrawlResult, Post

log = logging.getLogger("govmatrix.crawlers.feeds")

ACCEPT = ("application/feed+json, application/atom+xml, application/rss+xml, application/rdf+xml, "
          "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8")
ETAG, LAST_MODIFIED = "etag", "last_modified"  # cursor keys


@dataclass(frozen=True)
class FetchedFeed:
    """A feed document as served: its body, type, final URL and the validators for the next GET."""

    body: bytes
    content_type: str
    url: str
    validators: dict[str, str | None]


async def fetch_feed(client: PlatformClient, url: str, cursor: dict[str, object], *,
                     account: str) -> FetchedFeed | None:
    """GET a feed with If-None-Match / If-Modified-Since from ``cursor``; None on 304 Not Modified."""
    headers = {"Accept": ACCEPT}
    if cursor.get(ETAG):
        headers["If-None-Match"] = str(cursor[ETAG])
    if cursor.get(LAST_MODIFIED):
        headers["If-Modified-Since"] = str(cursor[LAST_MODIFIED])
    response = await client.get(url, account=account, headers=headers, follow_redirects=True)
    if response.status_code == 304:
        return None
    validators = {ETAG: response.headers.get("ETag"), LAST_MODIFIED: response.headers.get("Last-Modified")}
    return FetchedFeed(response.content, response.headers.get("Content-Type", ""), str(response.url), validators)


def select_entries(pairs: list[tuple[str, fp.FeedEntry]], known: Callable[[Iterable[str]], set[str]],
                   horizon: datetime) -> list[tuple[str, fp.FeedEntry]]:
    """The (native id, entry) pairs to return: dated entries inside the horizon, undated ones not stored yet."""
    stored = known([native_id for native_id, entry in pairs if entry.published_at is None])
    return [(native_id, entry) for native_id, entry in pairs
            if (entry.published_at >= horizon if entry.published_at is not None else native_id not in stored)]


class FeedsCrawler(Crawler):
    """Crawls one feed URL (the account's ``url`` option) per call."""

    platform = "feeds"

    async def crawl(self, ctx: CrawlContext) -> CrawlResult:
        account = ctx.account.native_id
        url = str(ctx.account.options.get("url") or "")
        if not url:
            raise FetchError("no feed url configured", platform=self.platform, account=account)
        fetched = await fetch_feed(self.client, url, ctx.account.cursor, account=account)
        if fetched is None:
            return CrawlResult()
        feed = fp.parse_feed(fetched.body, content_type=fetched.content_type, base_url=fetched.url,
                             platform=self.platform, account=account)
        if feed.warning:
            log.info("%s %s: feed parsed with problems (%s)", self.platform, account, feed.warning)
        pairs = [(fp.feed_native_id(account, entry.key), entry) for entry in fp.dedup_entries(feed.entries)]
        posts: list[Post] = [fp.entry_post(entry, native_id=native_id, platform=self.platform, now=ctx.now)
                             for native_id, entry in select_entries(pairs, ctx.known, ctx.horizon)]
        return CrawlResult(posts=posts, cursor=dict(fetched.validators) if feed.complete else None)
