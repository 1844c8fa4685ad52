"""Sina Weibo: profiles and timelines from the m.weibo.cn container API (or the Open API with a token).

Fetching is here; every payload is parsed by the pure functions of ``weibo_parse``. A crawl reads
the profile (a follower snapshot), then the timeline newest first with ``since_id`` paging until the
incremental rule stops it (pinned posts never do), or a page brings no post not seen on an earlier
page (a cursor that makes no progress), then completes the posts: exact times and full long texts.
An unreadable card is skipped with a warning; any other error fails the whole crawl, and the next
run starts again from the newest stored post.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from govmatrix.config import PlatformSettings, Secret
from govmatrix.crawlers import weibo_parse as wbp
from govmatrix.crawlers.base import CrawlContext, HttpCrawler
from govmatrix.crawlers.incremental import select_new
from govmatrix.errors import FetchError, LoginRequired, RateLimited
from govmatrix.models import CrawlResult, Post

MAX_PAGES = 300  # a runaway cursor must not crawl forever
OPEN_PAGE_SIZE = 100


class WeiboSettings(PlatformSettings):
    base_url: str = "https://m.weibo.cn"
    cookie: Secret | None = None  # a logged-in cookie sees more
    access_token: Secret | None = None  # Open API mode (api.weibo.com) when set
    open_api_url: str = "https://api.weibo.com"


def _select(page: wbp.TimelinePage, ctx: CrawlContext) -> tuple[list[Post], bool]:
    pinned = set(page.pinned_ids)
    return select_new(page.posts, native_id=lambda p: p.native_id, published_at=lambda p: p.published_at,
                      horizon=ctx.horizon, known=ctx.known, pinned=lambda p: p.native_id in pinned)


class WeiboCrawler(HttpCrawler):
    """Crawls one Weibo account per call; all accounts share the platform's budget."""

    platform = "weibo"
    settings_model = WeiboSettings
    daily_snapshot = True
    settings: WeiboSettings

    @staticmethod
    def client_headers(settings: WeiboSettings) -> dict[str, str]:
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
        uid = ctx.native_id
        profile_data = await self.fetch_json("/api/container/getIndex", {"type": "uid", "value": uid}, ctx)
        snapshot, profile = wbp.parse_profile(profile_data, ctx.now, uid=uid)
        result = CrawlResult(snapshots=[snapshot])
        await self._timeline(ctx, str(profile["containerid"]), result)
        return result

    async def fetch_json(self, path: str, params: dict[str, str], ctx: CrawlContext) -> dict[str, Any]:
        """GET an m.weibo.cn endpoint and return its checked ``data``."""
        response = await self.client.get(f"{self.settings.base_url}{path}", params=params, account=ctx.native_id)
        return wbp.parse_envelope(response.content, uid=ctx.native_id)

    async def _timeline(self, ctx: CrawlContext, containerid: str, result: CrawlResult) -> None:
        params = {"type": "uid", "value": ctx.native_id, "containerid": containerid}
        collected: list[Post] = []
        long_ids: list[str] = []
        listed: set[str] = set()
        since_id: str | None = None
        for page_number in range(MAX_PAGES):
            data = await self.fetch_json("/api/container/getIndex",
                                         params | ({"since_id": since_id} if since_id else {}), ctx)
            page = wbp.parse_timeline(data, uid=ctx.native_id, now=ctx.now, first_page=page_number == 0)
            result.warnings += page.warnings
            fresh, stop = _select(page, ctx)
            collected += [post for post in fresh if post.native_id not in listed]
            long_ids += page.long_text_ids
            new_ids = {post.native_id for post in page.posts} - listed
            listed |= new_ids
            if stop or page.is_last or not new_ids:  # no new id: the cursor makes no progress
                break
            since_id = page.since_id
        for post in collected:
            result.posts.append(await self._completed(post, long_ids, ctx, result))

    async def _completed(self, post: Post, long_ids: list[str], ctx: CrawlContext, result: CrawlResult) -> Post:
        """A listed post with its exact time and full text, and its original's full text.

        A post listed with only a short or relative time ("昨天 08:15", "07-02") is read once more
        from ``statuses/show``, which gives the exact time and the full text. When Weibo refuses
        that (the post was deleted or hidden since it was listed), the listed text and time stay,
        the time marked approximate.
        """
        if not wbp.is_exact_time((post.raw or {}).get("created_at")):
            try:
                data = await self.fetch_json("/statuses/show", {"id": post.native_id}, ctx)
            except wbp.Refused as exc:
                data = {wbp.END_OF_LIST: True, "reason": exc.reason}
            if wbp.is_end_of_list(data):
                result.warnings.append(f"post {post.native_id}: statuses/show refused, listed time kept")
                return replace(post, extra=post.extra | {"time_approximate": True})
            post = replace(post, published_at=wbp.parse_created_at(str(data.get("created_at")), ctx.now))
            if post.native_id in long_ids:
                post = wbp.apply_long_text(post, wbp.parse_long_text(data, uid=ctx.native_id))
        elif post.native_id in long_ids:
            post = wbp.apply_long_text(post, await self.fetch_long_text(post.native_id, ctx))
        original = post.extra.get("original") or {}
        if original.get("native_id") in long_ids:
            mid = str(original["native_id"])
            post = wbp.apply_long_text(post, await self.fetch_long_text(mid, ctx), mid=mid)
        return post

    async def fetch_long_text(self, mid: str, ctx: CrawlContext) -> str:
        """The full text HTML: ``statuses/extend``, falling back to ``statuses/show``."""
        try:
            return wbp.parse_long_text(await self.fetch_json("/statuses/extend", {"id": mid}, ctx), uid=ctx.native_id)
        except (RateLimited, LoginRequired):
            raise
        except FetchError:
            data = await self.fetch_json("/statuses/show", {"id": mid}, ctx)
            return wbp.parse_long_text(data, uid=ctx.native_id)

    async def _crawl_open_api(self, ctx: CrawlContext) -> CrawlResult:
        """Open API mode (api.weibo.com): ``users/show`` and ``statuses/user_timeline``."""
        uid = ctx.native_id
        token = self.settings.access_token.value() if self.settings.access_token else ""
        base = self.settings.open_api_url
        user = await self._open_json(f"{base}/2/users/show.json", {"uid": uid, "access_token": token}, ctx)
        result = CrawlResult(snapshots=[wbp.parse_open_user(user, ctx.now)])
        for number in range(1, MAX_PAGES):
            data = await self._open_json(f"{base}/2/statuses/user_timeline.json", {
                "uid": uid, "access_token": token, "page": str(number), "count": str(OPEN_PAGE_SIZE)}, ctx)
            page = wbp.parse_open_timeline(data, ctx.now, uid=uid)
            result.warnings += page.warnings
            fresh, stop = _select(page, ctx)
            result.posts += fresh
            if stop or len(page.posts) + len(page.warnings) < OPEN_PAGE_SIZE:
                break
        return result

    async def _open_json(self, url: str, params: dict[str, str], ctx: CrawlContext) -> dict[str, Any]:
        response = await self.client.get(url, params=params, account=ctx.native_id)
        return wbp.parse_open_envelope(response.content, uid=ctx.native_id)
