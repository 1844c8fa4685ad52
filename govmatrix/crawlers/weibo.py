"""Sina Weibo: profiles and timelines from the m.weibo.cn container API (or the Open API with a token).

Fetching is here; every payload is parsed by the pure functions of ``weibo_parse``. A crawl reads
the profile (a follower snapshot), then the timeline newest first with ``since_id`` paging until it
meets a post already stored or the horizon, never letting pinned posts stop it, then fetches the
full text of long posts. Nothing is returned half-way: an error anywhere fails the whole crawl, and
the next run starts again from the newest stored post.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from govmatrix.config import PlatformSettings
from govmatrix.crawlers import weibo_parse as wp
from govmatrix.crawlers.base import CrawlContext, Crawler
from govmatrix.errors import FetchError, LoginRequired, RateLimited
from govmatrix.models import CrawlResult, Post

MAX_PAGES = 300  # a runaway cursor must not crawl forever
OPEN_PAGE_SIZE = 100


class WeiboCrawler(Crawler):
    """Crawls one Weibo account per call; all accounts share the platform client's budget."""

    platform = "weibo"

    @staticmethod
    def client_headers(settings: PlatformSettings) -> dict[str, str]:
        headers = {
            "User-Agent": settings.user_agent,
            "Accept": "application/json, text/plain, */*",
            "Referer": f"{settings.base_url}/",
            "X-Requested-With": "XMLHttpRequest",
            "MWeibo-Pwa": "1",
        }
        if settings.cookie is not None and settings.cookie.value():
            headers["Cookie"] = settings.cookie.value()
        return headers

    async def crawl(self, ctx: CrawlContext) -> CrawlResult:
        if self.settings.access_token is not None and self.settings.access_token.value():
            return await self._crawl_open_api(ctx)
        uid = ctx.account.native_id
        profile_data = await self.fetch_json("/api/container/getIndex", {"type": "uid", "value": uid}, ctx)
        snapshot, profile = wp.parse_profile(profile_data, ctx.now, uid=uid)
        posts = await self._timeline(ctx, str(profile["containerid"]))
        return CrawlResult(posts=posts, snapshots=[snapshot])

    async def fetch_json(self, path: str, params: dict[str, str], ctx: CrawlContext) -> dict[str, Any]:
        """GET an m.weibo.cn endpoint and return its checked ``data``."""
        uid = ctx.account.native_id
        response = await self.client.get(f"{self.settings.base_url}{path}", params=params, account=ctx.account.native_id)
        return wp.parse_envelope(response.content, uid=uid)

    async def _timeline(self, ctx: CrawlContext, containerid: str) -> list[Post]:
        uid = ctx.account.native_id
        params = {"type": "uid", "value": uid, "containerid": containerid}
        collected: list[Post] = []
        long_ids: list[str] = []
        since_id: str | None = None
        for page_number in range(MAX_PAGES):
            data = await self.fetch_json("/api/container/getIndex",
                                         params | ({"since_id": since_id} if since_id else {}), ctx)
            page = wp.parse_timeline(data, uid=uid, now=ctx.now, first_page=page_number == 0)
            fresh, stop = select_new(page, ctx.known, ctx.horizon)
            collected += fresh
            long_ids += page.long_text_ids
            if stop or page.is_last:
                break
            since_id = page.since_id
        return [await self._with_long_text(post, long_ids, ctx) for post in collected]

    async def _with_long_text(self, post: Post, long_ids: list[str], ctx: CrawlContext) -> Post:
        """Complete a post from the list: its exact time and full text, and its original's full text.

        A post whose list entry has only a short or relative time ("昨天 08:15", "07-02") is read
        once more from ``statuses/show``, which always gives the exact time and the full text.
        """
        if not wp.is_exact_time((post.raw or {}).get("created_at")):
            data = await self.fetch_json("/statuses/show", {"id": post.native_id}, ctx)
            post = replace(post, published_at=wp.parse_created_at(str(data.get("created_at")), ctx.now))
            if post.native_id in long_ids:
                post = wp.apply_long_text(post, wp.parse_long_text(data, uid=ctx.account.native_id))
        elif post.native_id in long_ids:
            post = wp.apply_long_text(post, await self.fetch_long_text(post.native_id, ctx))
        original = post.extra.get("original") or {}
        if original.get("native_id") in long_ids:
            mid = str(original["native_id"])
            post = wp.apply_long_text(post, await self.fetch_long_text(mid, ctx), mid=mid)
        return post

    async def fetch_long_text(self, mid: str, ctx: CrawlContext) -> str:
        """The full text HTML: ``statuses/extend``, falling back to ``statuses/show``."""
        try:
            return wp.parse_long_text(await self.fetch_json("/statuses/extend", {"id": mid}, ctx),
                                      uid=ctx.account.native_id)
        except (RateLimited, LoginRequired):
            raise
        except FetchError:
            data = await self.fetch_json("/statuses/show", {"id": mid}, ctx)
            return wp.parse_long_text(data, uid=ctx.account.native_id)

    async def _crawl_open_api(self, ctx: CrawlContext) -> CrawlResult:
        """Open API mode (api.weibo.com): ``users/show`` and ``statuses/user_timeline``."""
        uid = ctx.account.native_id
        token = self.settings.access_token.value() if self.settings.access_token else ""
        base = self.settings.open_api_url
        user = await self._open_json(f"{base}/2/users/show.json", {"uid": uid, "access_token": token}, ctx)
        collected: list[Post] = []
        for page in range(1, MAX_PAGES):
            data = await self._open_json(f"{base}/2/statuses/user_timeline.json", {
                "uid": uid, "access_token": token, "page": str(page), "count": str(OPEN_PAGE_SIZE)}, ctx)
            posts = wp.parse_open_timeline(data, ctx.now, uid=uid)
            fresh, stop = select_new(wp.TimelinePage(posts=posts, since_id=None), ctx.known, ctx.horizon)
            collected += fresh
            if stop or len(posts) < OPEN_PAGE_SIZE:
                break
        return CrawlResult(posts=collected, snapshots=[wp.parse_open_user(user, ctx.now)])

    async def _open_json(self, url: str, params: dict[str, str], ctx: CrawlContext) -> dict[str, Any]:
        response = await self.client.get(url, params=params, account=ctx.account.native_id)
        return wp.parse_open_envelope(response.content, uid=ctx.account.native_id)


def select_new(page: wp.TimelinePage, known: Any, horizon: datetime) -> tuple[list[Post], bool]:
    """The posts of a page to keep, and whether the crawl should stop after this page.

    The crawl stops at the first ordinary post that is already stored or older than the horizon.
    Pinned posts are old posts shown first: they are kept when new and inside the horizon, but
    never stop the crawl.
    """
    stored = known([p.native_id for p in page.posts])
    fresh: list[Post] = []
    for post in page.posts:
        pinned = post.native_id in page.pinned_ids
        if post.native_id in stored or post.published_at < horizon:
            if pinned:
                continue
            return fresh, True
        fresh.append(post)
    return fresh, False
