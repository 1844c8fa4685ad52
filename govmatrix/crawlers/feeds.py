"""Department websites: any RSS 1.0/2.0, Atom or JSON Feed URL, fetched with a conditional GET.

The account's cursor keeps the ETag and Last-Modified of the last complete document; a 304 means
nothing new. Every dated entry inside the horizon is returned on each change of the feed, so an
edited entry is updated (the store skips unchanged ones); an undated entry already stored is left
alone, since its only time is that of the crawl. Parsing is in ``feeds_parse``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from govmatrix.config import AccountOptions, PlatformSettings
from govmatrix.crawlers import feeds_parse as fdp
from govmatrix.crawlers.base import CrawlContext, HttpCrawler
from govmatrix.crawlers.http import PlatformClient
from govmatrix.crawlers.incremental import select_new
from govmatrix.models import CrawlResult

ACCEPT = ("application/feed+json, application/atom+xml, application/rss+xml, application/rdf+xml, "
          "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8")
ETAG, LAST_MODIFIED = "etag", "last_modified"  # cursor keys


class FeedsOptions(AccountOptions):
    url: Annotated[str, Field(pattern=r"^https?://", min_length=8)]  # the feed's full address


@dataclass(frozen=True)
class FetchedFeed:
    """A feed document as served: its body, type, final URL and the validators for the next GET."""

    body: bytes
    content_type: str
    url: str
    validators: dict[str, str | None]


async def fetch_feed(client: PlatformClient, url: str, cursor: dict[str, Any], *,
                     account: str) -> FetchedFeed | None:
    """GET a feed with If-None-Match / If-Modified-Since from ``cursor``; None on 304 Not Modified."""
    headers = {"Accept": ACCEPT}
    if cursor.get(ETAG):
        headers["If-None-Match"] = str(cursor[ETAG])
    if cursor.get(LAST_MODIFIED):
        headers["If-Modified-Since"] = str(cursor[LAST_MODIFIED])
    response = await client.get(url, account=account, headers=headers)
    if response.status_code == 304:
        return None
    validators = {ETAG: response.headers.get("ETag"), LAST_MODIFIED: response.headers.get("Last-Modified")}
    return FetchedFeed(response.content, response.headers.get("Content-Type", ""), response.url, validators)


class FeedsCrawler(HttpCrawler):
    """Crawls one feed URL (the account's ``url``) per call."""

    platform = "feeds"
    settings_model = PlatformSettings
    options_model = FeedsOptions

    async def crawl(self, ctx: CrawlContext) -> CrawlResult:
        account = ctx.native_id
        fetched = await fetch_feed(self.client, ctx.options.url, ctx.account.cursor, account=account)
        if fetched is None:
            return CrawlResult()
        feed = fdp.parse_feed(fetched.body, content_type=fetched.content_type, base_url=fetched.url,
                             platform=self.platform, account=account)
        pairs = [(fdp.feed_native_id(account, entry.key), entry) for entry in fdp.dedup_entries(feed.entries)]
        chosen, _ = select_new(pairs, native_id=lambda pair: pair[0], published_at=lambda pair: pair[1].published_at,
                               horizon=ctx.horizon, known=ctx.known, ordered=False, revisit=True)
        posts = [fdp.entry_post(entry, native_id=native_id, platform=self.platform, now=ctx.now, lossy=feed.lossy)
                 for native_id, entry in chosen]
        warnings = feed.warnings + ([f"feed parsed with problems ({feed.warning})"] if feed.warning else [])
        return CrawlResult(posts=posts, cursor=dict(fetched.validators) if feed.complete else None, warnings=warnings)
