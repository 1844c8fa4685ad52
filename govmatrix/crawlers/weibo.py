"""Sina Weibo: profiles and timelines from the m.weibo.cn container API (or the Open API with a token).

Fetching is here; every payload is parsed by the pure functions of ``weibo_parse``. A crawl reads
the profile (a follower snapshot), then the timeline newest first with ``since_id`` paging until the
incremental rule stops it (pinned posts never do), or a page brings no post not seen on an earlier
page (a cursor that makes no progress), then completes the posts: exact times and full long texts.
An unreadable card is skipped with a warning; any other error fails the whole crawl, and the next
run starts again from the newest stored post.

Then the comments (evidence for the inspection's interaction item): the posts of the last
``comment_days`` are tracked in the account's cursor with their comment count; those with comments
whose last read is older than ``comment_refresh_hours`` are read again, never read first, through
``comments/hotflow`` (``max_id`` / ``max_id_type`` paging, at most ``max_comment_pages``) and, for a
comment whose replies are not all inline, ``comments/hotFlowChild``; at most ``comment_requests``
requests a crawl, the rest on the next crawls. Comments are best-effort: a refusal, a captcha or a
rate limit while reading them ends the reading with a warning, and the posts are stored.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import Field

from govmatrix.config import AccountOptions, PlatformSettings, Secret
from govmatrix.crawlers import weibo_parse as wbp
from govmatrix.crawlers.base import CrawlContext, HttpCrawler
from govmatrix.crawlers.incremental import select_new
from govmatrix.errors import CrawlError, FetchError, LoginRequired, ParseError, RateLimited
from govmatrix.models import Comment, CrawlResult, Post

MAX_PAGES = 300  # a runaway cursor must not crawl forever
OPEN_PAGE_SIZE = 100


class WeiboSettings(PlatformSettings):
    base_url: str = "https://m.weibo.cn"
    cookie: Secret | None = None  # a logged-in cookie sees more
    access_token: Secret | None = None  # Open API mode (api.weibo.com) when set
    open_api_url: str = "https://api.weibo.com"
    comment_days: Annotated[int, Field(ge=0)] = 14  # read the comments on the posts of these days (0: never)
    comment_requests: Annotated[int, Field(ge=0)] = 20  # at most this many comment requests per crawl of an account
    comment_refresh_hours: Annotated[float, Field(ge=0)] = 6.0  # a post's comments are read again at most this often
    max_comment_pages: Annotated[int, Field(gt=0)] = 10  # pages of one read: a post's comments, a comment's replies


class WeiboOptions(AccountOptions):
    comments: bool = True  # read the comments on its posts (the inspection's evidence that it answers)


def _select(page: wbp.TimelinePage, ctx: CrawlContext) -> tuple[list[Post], bool]:
    pinned = set(page.pinned_ids)
    return select_new(page.posts, native_id=lambda p: p.native_id, published_at=lambda p: p.published_at,
                      horizon=ctx.horizon, known=ctx.known, pinned=lambda p: p.native_id in pinned)


class WeiboCrawler(HttpCrawler):
    """Crawls one Weibo account per call; all accounts share the platform's budget."""

    platform = "weibo"
    settings_model = WeiboSettings
    options_model = WeiboOptions
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
        listed = await self._timeline(ctx, str(profile["containerid"]), result)
        if getattr(ctx.options, "comments", True) and self.settings.comment_days:
            await CommentReader(self, ctx, result).read(listed)
        return result

    async def fetch_json(self, path: str, params: dict[str, str], ctx: CrawlContext) -> dict[str, Any]:
        """GET an m.weibo.cn endpoint and return its checked ``data``."""
        response = await self.client.get(f"{self.settings.base_url}{path}", params=params, account=ctx.native_id)
        return wbp.parse_envelope(response.content, uid=ctx.native_id)

    async def _timeline(self, ctx: CrawlContext, containerid: str, result: CrawlResult) -> list[Post]:
        """Collect the new posts into ``result``; return every post listed (stored ones too, with
        their counts as listed now), pinned ones included."""
        params = {"type": "uid", "value": ctx.native_id, "containerid": containerid}
        collected: list[Post] = []
        shown: list[Post] = []
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
            shown += [p for p in page.posts if p.native_id not in listed]  # pinned too: the comment window decides
            long_ids += page.long_text_ids
            new_ids = {post.native_id for post in page.posts} - listed
            listed |= new_ids
            if stop or page.is_last or not new_ids:  # no new id: the cursor makes no progress
                break
            since_id = page.since_id
        for post in collected:
            result.posts.append(await self._completed(post, long_ids, ctx, result))
        exact = {p.native_id: p for p in result.posts}
        return [exact.get(p.native_id, p) for p in shown]

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


class CommentReader:
    """Reads the comments of one crawl (see the module docstring). Its state lives in the account's
    cursor under ``comments``: mid -> ``{"at": published, "count": comments as listed, "read": last read}``."""

    def __init__(self, crawler: WeiboCrawler, ctx: CrawlContext, result: CrawlResult) -> None:
        self.crawler, self.ctx, self.result = crawler, ctx, result
        self.settings = crawler.settings
        self.left = self.settings.comment_requests

    def tracked(self, listed: list[Post]) -> dict[str, dict[str, Any]]:
        """The posts of the comment window: those tracked before, updated with what was listed now."""
        since = self.ctx.now - timedelta(days=self.settings.comment_days)
        state = {mid: dict(v) for mid, v in (self.ctx.account.cursor.get("comments") or {}).items()}
        for post in listed:
            entry = state.setdefault(post.native_id, {"read": None})
            entry.update(at=post.published_at.isoformat(), count=post.comments or 0)
        return {mid: v for mid, v in state.items() if datetime.fromisoformat(v["at"]) >= since}

    def due(self, state: dict[str, dict[str, Any]]) -> list[str]:
        """Posts with comments to read: never read first (newest first), then the longest unread."""
        refresh = timedelta(hours=self.settings.comment_refresh_hours)
        wanted = [mid for mid, v in state.items() if v["count"] and (
            v["read"] is None or self.ctx.now - datetime.fromisoformat(v["read"]) >= refresh)]
        never = sorted((m for m in wanted if state[m]["read"] is None), key=lambda m: state[m]["at"], reverse=True)
        return never + sorted((m for m in wanted if state[m]["read"] is not None), key=lambda m: state[m]["read"])

    async def read(self, listed: list[Post]) -> None:
        state = self.tracked(listed)
        for mid in self.due(state):
            if self.left <= 0:
                break
            try:
                comments, complete = await self.post_comments(mid)
            except wbp.Refused as exc:  # the post is gone, or its comments are closed
                self.result.warnings.append(f"post {mid}: comments refused ({exc.reason})")
                state[mid]["read"] = self.ctx.now.isoformat()
                continue
            except ParseError as exc:  # one unreadable answer: that post's comments wait for the next crawl
                self.result.warnings.append(f"post {mid}: comments unreadable ({exc.reason})")
                continue
            except CrawlError as exc:  # a captcha, a rate limit, a failed request: the posts are stored anyway
                self.result.warnings.append(f"comments not read further this crawl: {exc.reason}")
                break
            self.result.comments += wbp.link_replies(comments)
            if complete:
                state[mid]["read"] = self.ctx.now.isoformat()
        self.result.cursor = {**(self.result.cursor or {}), "comments": state}

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        self.left -= 1
        response = await self.crawler.client.get(f"{self.settings.base_url}{path}", params=params,
                                                 account=self.ctx.native_id)
        return wbp.parse_comment_envelope(response.content, uid=self.ctx.native_id)

    async def post_comments(self, mid: str) -> tuple[list[Comment], bool]:
        """The comments of one post with their replies, and whether every page was read."""
        found: dict[str, Comment] = {}
        cursor: tuple[str, str] | None = None
        for _ in range(self.settings.max_comment_pages):
            if self.left <= 0:
                return list(found.values()), False
            params = {"id": mid, "mid": mid, "max_id_type": cursor[1] if cursor else "0"}
            data = await self._get("/comments/hotflow", params | ({"max_id": cursor[0]} if cursor else {}))
            if wbp.is_end_of_list(data):  # ok:0: no comments, or past the last page
                return list(found.values()), True
            page = wbp.parse_hotflow(data, uid=self.ctx.native_id, post_id=mid, now=self.ctx.now)
            self.result.warnings += page.warnings
            fresh = [c for c in page.comments if c.native_id not in found]
            if not fresh:  # a cursor that brings nothing new (Weibo served page 1 again)
                return list(found.values()), True
            found.update((c.native_id, c) for c in fresh)
            for root in page.partial_roots:
                found.update((c.native_id, c) for c in await self.replies(mid, root))
            if page.max_id is None:
                return list(found.values()), True
            cursor = (page.max_id, page.max_id_type)
        return list(found.values()), False

    async def replies(self, mid: str, root: str) -> list[Comment]:
        """The replies under one comment (``hotFlowChild``), as far as the budget and page bound go."""
        out: list[Comment] = []
        max_id = "0"
        for _ in range(self.settings.max_comment_pages):
            if self.left <= 0:
                break
            data = await self._get("/comments/hotFlowChild", {"cid": root, "max_id": max_id, "max_id_type": "0"})
            if wbp.is_end_of_list(data):
                break
            page = wbp.parse_child_flow(data, uid=self.ctx.native_id, post_id=mid, root_id=root, now=self.ctx.now)
            self.result.warnings += page.warnings
            out += page.comments
            if page.max_id is None or not page.comments:
                break
            max_id = page.max_id
        return out
