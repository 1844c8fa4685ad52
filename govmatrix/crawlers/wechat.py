"""WeChat official accounts: the Official Account API for the city's own accounts, an RSS bridge for the rest.

Own accounts (options ``owned``, ``appid`` and ``secret = {env = NAME}``): a stable access token
cached per appid, published articles from ``freepublish/batchget`` newest first until an article
already stored or the horizon, and the daily follower series from datacube in 7-day windows,
resuming after the last stored day (the cursor's ``datacube_day``). Other accounts: the RSS bridge
feed (conditional GET, like ``feeds``), and for each entry not stored yet its public article page
for the full body and exact time. Fetching is here; parsing is in ``wechat_parse``. As with Weibo,
nothing is returned half-way: an error anywhere fails the crawl, and the next one starts again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from govmatrix.config import PlatformSettings
from govmatrix.crawlers import feeds_parse as fp
from govmatrix.crawlers import wechat_parse as wp
from govmatrix.crawlers.base import CrawlContext, Crawler
from govmatrix.crawlers.feeds import fetch_feed
from govmatrix.crawlers.http import PlatformClient
from govmatrix.errors import FetchError, LoginRequired
from govmatrix.models import Account, CrawlResult, FollowerSnapshot, Post

log = logging.getLogger("govmatrix.crawlers.wechat")

PAGE_SIZE = 20  # batchget's largest page
MAX_PAGES = 200  # a runaway offset must not crawl forever
TOKEN_MARGIN = 300  # seconds: refresh a token this long before it expires
CURSOR_DAY = "datacube_day"
# RSSHub's account route; hid 1 is the account's default homepage. Set bridge_path for anything else.
DEFAULT_BRIDGE_PATH = "/wechat/mp/homepage/{biz}/1"


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: datetime


def _credentials(account: Account) -> tuple[str, str]:
    """The appid and the secret (read from the environment variable the settings name)."""
    appid = str(account.options.get("appid") or "")
    secret_ref = account.options.get("secret")
    env = str(secret_ref.get("env") or "") if isinstance(secret_ref, dict) else ""
    if not appid or not env:
        raise LoginRequired("an owned account needs appid and secret", platform="wechat", account=account.native_id)
    secret = os.environ.get(env, "")
    if not secret:
        raise LoginRequired(f"environment variable {env} (the AppSecret) is not set", platform="wechat",
                            account=account.native_id)
    return appid, secret


def select_new(posts: list[Post], known: Callable[[Iterable[str]], set[str]],
               horizon: datetime) -> tuple[list[Post], bool]:
    """The posts of a newest-first page before the first one stored or older than the horizon,
    and whether the crawl should stop there."""
    stored = known([post.native_id for post in posts])
    for position, post in enumerate(posts):
        if post.native_id in stored or post.published_at < horizon:
            return posts[:position], True
    return posts, False


def bridge_feed_url(bridge_url: str, account: Account) -> str:
    """The account's bridge feed: ``bridge_path`` (a path under ``bridge_url``, or a full URL),
    else RSSHub's route for the account's ``__biz``."""
    path = str(account.options.get("bridge_path") or DEFAULT_BRIDGE_PATH.format(biz=account.native_id))
    if path.startswith(("http://", "https://")):
        return path
    if not bridge_url:
        raise FetchError("no RSS bridge configured (platforms.wechat.bridge_url)", platform="wechat",
                         account=account.native_id)
    return f"{bridge_url.rstrip('/')}/{path.lstrip('/')}"


class WechatCrawler(Crawler):
    """Crawls one WeChat official account per call; tokens are cached in the instance per appid."""

    platform = "wechat"
    # datacube calls per crawl, both endpoints together: 13 seven-day windows hold 91 days.
    datacube_budget: ClassVar[int] = 13

    def __init__(self, settings: PlatformSettings, client: PlatformClient) -> None:
        super().__init__(settings, client)
        self._tokens: dict[str, _Token] = {}

    async def crawl(self, ctx: CrawlContext) -> CrawlResult:
        if ctx.account.options.get("owned"):
            posts = await self._published(ctx)
            snapshots, cursor = await self._followers(ctx)
            return CrawlResult(posts=posts, snapshots=snapshots, cursor=cursor)
        return await self._crawl_bridge(ctx)

    # -- Official Account API -------------------------------------------------------------------

    async def call_api(self, path: str, body: dict[str, Any], ctx: CrawlContext) -> dict[str, Any]:
        """POST to an authenticated API endpoint; a refused token is refreshed and the call repeated once."""
        token = await self._token(ctx)
        try:
            return await self._post(path, body, ctx, params={"access_token": token})
        except wp.TokenRejected:
            token = await self._token(ctx, rejected=token)
            return await self._post(path, body, ctx, params={"access_token": token})

    async def _post(self, path: str, body: dict[str, Any], ctx: CrawlContext,
                    params: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.post(f"{self.settings.base_url}{path}", params=params, json=body,
                                          account=ctx.account.native_id)
        return wp.parse_api(response.content, account=ctx.account.native_id, now=ctx.now)

    async def _token(self, ctx: CrawlContext, rejected: str | None = None) -> str:
        """The cached token of the account's appid, renewed when near its end or refused."""
        appid, secret = _credentials(ctx.account)
        cached = self._tokens.get(appid)
        if cached is not None and cached.value != rejected and ctx.now < cached.refresh_at:
            return cached.value
        token, expires_in = await self._stable_token(appid, secret, ctx, force=False)
        if token == rejected:  # still the refused token: only a forced refresh replaces it
            token, expires_in = await self._stable_token(appid, secret, ctx, force=True)
        self._tokens[appid] = _Token(token, ctx.now + timedelta(seconds=expires_in - TOKEN_MARGIN))
        return token

    async def _stable_token(self, appid: str, secret: str, ctx: CrawlContext, *, force: bool) -> tuple[str, int]:
        body = {"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force}
        data = await self._post("/cgi-bin/stable_token", body, ctx)
        return wp.parse_token(data, account=ctx.account.native_id)

    async def _published(self, ctx: CrawlContext) -> list[Post]:
        collected: list[Post] = []
        offset = 0
        for _ in range(MAX_PAGES):
            data = await self.call_api("/cgi-bin/freepublish/batchget",
                                       {"offset": offset, "count": PAGE_SIZE, "no_content": 0}, ctx)
            page = wp.parse_batchget(data, account=ctx.account.native_id)
            fresh, stop = select_new(page.posts, ctx.known, ctx.horizon)
            collected += fresh
            offset += page.item_count
            if stop or page.item_count == 0 or offset >= page.total_count:
                break
        return collected

    async def _followers(self, ctx: CrawlContext) -> tuple[list[FollowerSnapshot], dict[str, str]]:
        """Datacube rows from the resume day to yesterday, within the call budget."""
        last = wp.yesterday(ctx.now)
        first = wp.datacube_start(ctx.account.options.get("start_date"), ctx.account.cursor.get(CURSOR_DAY),
                                  ctx.horizon)
        plan = wp.plan_datacube(wp.datacube_windows(first, last), self.datacube_budget)
        cumulate: dict[date, int] = {}
        summary: dict[date, tuple[int, int]] = {}
        for begin, end in plan.cumulate:
            data = await self.call_api("/datacube/getusercumulate", _dates(begin, end), ctx)
            cumulate |= wp.parse_cumulate(data, account=ctx.account.native_id)
        for begin, end in plan.summary:
            data = await self.call_api("/datacube/getusersummary", _dates(begin, end), ctx)
            summary |= wp.parse_summary(data, account=ctx.account.native_id)
        covered = wp.covered_day(plan.cumulate, set(cumulate), last)
        return wp.follower_snapshots(cumulate, summary), ({CURSOR_DAY: covered.isoformat()} if covered else {})

    # -- RSS bridge and article pages -------------------------------------------------------------

    async def _crawl_bridge(self, ctx: CrawlContext) -> CrawlResult:
        account = ctx.account.native_id
        url = bridge_feed_url(self.settings.bridge_url, ctx.account)
        fetched = await fetch_feed(self.client, url, ctx.account.cursor, account=account)
        if fetched is None:
            return CrawlResult()
        feed = fp.parse_feed(fetched.body, content_type=fetched.content_type, base_url=fetched.url,
                             platform=self.platform, account=account)
        # A stored bridge entry is never read again: the entry a cut document may have damaged waits for a whole one.
        complete_entries = feed.entries if feed.complete else feed.entries[:-1]
        entries: dict[str, fp.FeedEntry] = {}
        for entry in fp.dedup_entries(complete_entries, by_link=True):
            entries.setdefault(wp.article_native_id(entry.link or entry.key), entry)
        stored = ctx.known(list(entries))
        posts = []
        for native_id, entry in entries.items():
            if native_id in stored or (entry.published_at is not None and entry.published_at < ctx.horizon):
                continue
            post = await self._bridge_article(native_id, entry, ctx)
            if post is not None:
                posts.append(post)
        return CrawlResult(posts=posts, cursor=dict(fetched.validators) if feed.complete else None)

    async def _bridge_article(self, native_id: str, entry: fp.FeedEntry, ctx: CrawlContext) -> Post | None:
        """The entry completed from its article page; None when the article was deleted."""
        account = ctx.account.native_id
        if not entry.link:
            return wp.bridge_post(entry, None, native_id=native_id, account=account)
        response = await self.client.get(wp.page_url(entry.link, self.settings.article_url), account=account,
                                         follow_redirects=True)
        page = wp.parse_article_page(response.content, url=str(response.url), account=account)
        if page.unavailable:
            log.info("wechat %s: article %s unavailable (%s)", account, native_id, page.unavailable)
            return None
        return wp.bridge_post(entry, page, native_id=native_id, account=account)


def _dates(begin: date, end: date) -> dict[str, str]:
    return {"begin_date": begin.isoformat(), "end_date": end.isoformat()}
