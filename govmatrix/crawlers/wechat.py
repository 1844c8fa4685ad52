"""WeChat official accounts: the Official Account API for the city's own accounts, an RSS bridge for the rest.

Own accounts (``owned = true``, ``appid``, ``secret = { env = NAME }``): a stable access token
cached per appid, published articles from ``freepublish/batchget`` newest first until the
incremental rule stops, and the daily follower series from datacube in 7-day windows. Datacube
allows few calls a day, so each crawl makes at most ``DATACUBE_CALLS``: daily totals
(``getusercumulate``) from the cursor's ``datacube_day``, then new and cancelled followers
(``getusersummary``) from ``datacube_flow_day`` with the calls left; a 90-day backfill
(``backfill_days``, or from ``start_date``) thus takes three daily crawls. Invalid datacube days
(given twice, outside the window asked, not numbers) are skipped with a warning; an empty answer
never advances a resume day. The calls left read articles' reads and shares (``getarticletotal``,
one call per publication day from ``datacube_article_day``, once its 7 days of figures are over).

Other accounts: the RSS bridge feed (conditional GET, like ``feeds``), and for each entry not stored
yet its public article page for the full body and exact time. Fetching is here; parsing is in
``wechat_parse``. Nothing is returned half-way: an error anywhere fails the crawl.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, model_validator

from govmatrix.config import AccountOptions, PlatformSettings, Secret
from govmatrix.crawlers import feeds_parse as fdp
from govmatrix.crawlers import wechat_parse as wxp
from govmatrix.crawlers.base import CrawlContext, HttpCrawler
from govmatrix.crawlers.feeds import fetch_feed
from govmatrix.crawlers.http import Budget
from govmatrix.crawlers.incremental import select_new
from govmatrix.errors import ConfigError, FetchError, ParseError
from govmatrix.models import CrawlResult, Post
from govmatrix.tz import SHANGHAI

log = logging.getLogger("govmatrix.crawlers.wechat")

PAGE_SIZE = 20  # batchget's largest page
MAX_PAGES = 200  # a runaway offset must not crawl forever
TOKEN_MARGIN = 300  # seconds: refresh a token this long before it expires
DATACUBE_CALLS = 13  # per crawl, both endpoints together: 13 seven-day windows hold 91 days
EMPTY_RETRIES = 3  # crawls an empty oldest window is asked again before it counts as truly empty
CUMULATE_DAY, FLOW_DAY, EMPTY_TRIES = "datacube_day", "datacube_flow_day", "datacube_empty_tries"  # cursor keys
ARTICLE_DAY = "datacube_article_day"  # cursor key: the last publication day whose article figures were read
ARTICLE_DAYS = 7  # datacube counts an article's reads for 7 days
# RSSHub's account route; hid 1 is the account's default homepage. Set bridge_path for anything else.
DEFAULT_BRIDGE_PATH = "/wechat/mp/homepage/{biz}/1"


class WechatSettings(PlatformSettings):
    base_url: str = "https://api.weixin.qq.com"
    article_url: str = "https://mp.weixin.qq.com"  # public article pages
    bridge_url: str = ""  # RSS bridge (RSSHub / wewe-rss) for accounts the city does not own


class WechatOptions(AccountOptions):
    owned: bool = False  # the city's own account: read through the Official Account API
    appid: str | None = None
    secret: Secret | None = None
    start_date: date | None = None  # follower history from this day (owned accounts)
    backfill_days: Annotated[int, Field(gt=0, le=3650)] = 90  # ... else this many days before the first crawl
    bridge_path: str | None = None  # other accounts: the bridge route, or a full feed URL
    interaction: bool | None = None  # the account's menu / message function is declared on (inspection)

    @model_validator(mode="after")
    def _credentials(self) -> WechatOptions:
        if self.owned and not (self.appid and self.secret):
            raise ValueError("an owned wechat account needs appid and secret")
        return self


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: datetime


def bridge_feed_url(bridge_url: str, native_id: str, bridge_path: str | None) -> str:
    """The account's bridge feed: ``bridge_path`` (a path under ``bridge_url``, or a full URL),
    else RSSHub's route for the account's ``__biz``."""
    path = bridge_path or DEFAULT_BRIDGE_PATH.format(biz=native_id)
    if path.startswith(("http://", "https://")):
        return path
    if not bridge_url:
        raise ConfigError(f"wechat {native_id}: no RSS bridge configured (platforms.wechat.bridge_url)")
    return f"{bridge_url.rstrip('/')}/{path.lstrip('/')}"


def _dates(window: wxp.Window) -> dict[str, str]:
    return {"begin_date": window[0].isoformat(), "end_date": window[1].isoformat()}


class WechatCrawler(HttpCrawler):
    """Crawls one WeChat official account per call; tokens are cached in the instance per appid."""

    platform = "wechat"
    settings_model = WechatSettings
    options_model = WechatOptions
    settings: WechatSettings

    def __init__(self, settings: WechatSettings, budget: Budget, **kwargs: Any) -> None:
        super().__init__(settings, budget, **kwargs)
        self._tokens: dict[str, _Token] = {}

    async def crawl(self, ctx: CrawlContext) -> CrawlResult:
        if not ctx.options.owned:
            return await self._crawl_bridge(ctx)
        result = CrawlResult(posts=await self._published(ctx))
        await self._followers(ctx, result)
        return result

    # -- Official Account API -------------------------------------------------------------------

    async def call_api(self, path: str, body: dict[str, Any], ctx: CrawlContext) -> dict[str, Any]:
        """POST to an authenticated API endpoint; a refused token is refreshed and the call repeated once."""
        token = await self._token(ctx)
        try:
            return await self._post(path, body, ctx, params={"access_token": token})
        except wxp.TokenRejected:
            token = await self._token(ctx, rejected=token)
            return await self._post(path, body, ctx, params={"access_token": token})

    async def _post(self, path: str, body: dict[str, Any], ctx: CrawlContext,
                    params: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.post(f"{self.settings.base_url}{path}", params=params, json=body,
                                          account=ctx.native_id)
        return wxp.parse_api(response.content, account=ctx.native_id, now=ctx.now)

    async def _token(self, ctx: CrawlContext, rejected: str | None = None) -> str:
        """The cached token of the account's appid, renewed when near its end or refused."""
        appid, secret = ctx.options.appid, ctx.options.secret.value()
        if not secret:
            raise ConfigError(f"wechat {ctx.native_id}: environment variable {ctx.options.secret.env} "
                              "(the AppSecret) is not set")
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
        return wxp.parse_token(data, account=ctx.native_id)

    async def _published(self, ctx: CrawlContext) -> list[Post]:
        collected: list[Post] = []
        offset = 0
        for _ in range(MAX_PAGES):
            data = await self.call_api("/cgi-bin/freepublish/batchget",
                                       {"offset": offset, "count": PAGE_SIZE, "no_content": 0}, ctx)
            page = wxp.parse_batchget(data, account=ctx.native_id)
            fresh, stop = select_new(page.posts, native_id=lambda p: p.native_id, published_at=lambda p: p.published_at,
                                     horizon=ctx.horizon, known=ctx.known)
            collected += fresh
            offset += page.item_count
            if stop or page.item_count == 0 or offset >= page.total_count:
                break
        return collected

    def _resume(self, ctx: CrawlContext, key: str) -> date:
        stored = ctx.account.cursor.get(key)
        if stored:
            return date.fromisoformat(str(stored)) + timedelta(days=1)
        first = ctx.options.start_date or ctx.now.astimezone(SHANGHAI).date() - timedelta(days=ctx.options.backfill_days)
        return max(first, wxp.DATACUBE_FIRST_DAY)

    async def _followers(self, ctx: CrawlContext, result: CrawlResult) -> None:
        """Datacube totals, then new/cancelled followers, within the call budget (see the module doc)."""
        last = wxp.yesterday(ctx.now)
        calls = DATACUBE_CALLS
        cursor: dict[str, Any] = {}
        found: dict[str, wxp.DatacubeDays] = {}
        for key, path, parse in ((CUMULATE_DAY, "/datacube/getusercumulate", wxp.parse_cumulate),
                                 (FLOW_DAY, "/datacube/getusersummary", wxp.parse_summary)):
            resume = self._resume(ctx, key)
            windows = wxp.datacube_windows(resume, last)[:calls]
            days = found[key] = wxp.DatacubeDays()
            fetched = []
            for window in windows:
                data = await self.call_api(path, _dates(window), ctx)
                fetched.append((window, parse(data, account=ctx.native_id, window=window, days=days)))
            calls -= len(windows)
            result.warnings += days.warnings
            covered = self._skip_empty(ctx, key, fetched, resume, cursor, result)
            covered = max(covered, wxp.covered_day(fetched, last, resume))
            if covered >= resume:
                cursor[key] = covered.isoformat()
        result.snapshots += wxp.follower_snapshots(found[CUMULATE_DAY].values, found[FLOW_DAY].values)
        await self._article_stats(ctx, result, cursor, calls, last)
        result.cursor = cursor

    async def _article_stats(self, ctx: CrawlContext, result: CrawlResult, cursor: dict[str, Any], calls: int,
                             last: date) -> None:
        """Each article's reads and shares, one ``getarticletotal`` call per publication day, with
        the calls the follower series left: a day is asked once its articles' 7 days of figures are
        over (datacube counts no longer), so one call gives their final figures. The endpoint is
        retired upstream ("停止维护"): when it fails, that is a warning, never a failed crawl."""
        day, complete = self._resume(ctx, ARTICLE_DAY), last - timedelta(days=ARTICLE_DAYS - 1)
        while calls > 0 and day <= complete:
            try:
                data = await self.call_api("/datacube/getarticletotal", _dates((day, day)), ctx)
                stats, warnings = wxp.parse_article_total(data, account=ctx.native_id, day=day)
            except (FetchError, ParseError) as exc:  # the figures are extra: the crawl keeps what it has
                result.warnings.append(f"getarticletotal: {exc}; article figures resume from {day} next crawl")
                return
            result.article_stats += stats
            result.warnings += warnings
            cursor[ARTICLE_DAY] = day.isoformat()
            day, calls = day + timedelta(days=1), calls - 1

    def _skip_empty(self, ctx: CrawlContext, key: str, fetched: list[tuple[wxp.Window, int]], resume: date,
                    cursor: dict[str, Any], result: CrawlResult) -> date:
        """An oldest window that stays empty crawl after crawl (the account did not exist yet) is
        passed after EMPTY_RETRIES tries, so it cannot hold the resume day back forever."""
        tries_key = f"{EMPTY_TRIES}:{key}"
        if not fetched or fetched[0][1]:
            if ctx.account.cursor.get(tries_key):
                cursor[tries_key] = 0
            return resume - timedelta(days=1)
        tries = int(ctx.account.cursor.get(tries_key) or 0) + 1
        if tries < EMPTY_RETRIES:
            cursor[tries_key] = tries
            return resume - timedelta(days=1)
        (begin, end), _ = fetched[0]
        result.warnings.append(f"datacube: no data for {begin}..{end} after {tries} tries; passed")
        cursor[tries_key] = 0
        return end

    # -- RSS bridge and article pages -------------------------------------------------------------

    async def _crawl_bridge(self, ctx: CrawlContext) -> CrawlResult:
        account = ctx.native_id
        url = bridge_feed_url(self.settings.bridge_url, account, ctx.options.bridge_path)
        fetched = await fetch_feed(self.client, url, ctx.account.cursor, account=account)
        if fetched is None:
            return CrawlResult()
        feed = fdp.parse_feed(fetched.body, content_type=fetched.content_type, base_url=fetched.url,
                             platform=self.platform, account=account)
        # A stored bridge entry is never read again: the entry a cut document may have damaged waits for a whole one.
        complete_entries = feed.entries if feed.complete else feed.entries[:-1]
        entries: dict[str, fdp.FeedEntry] = {}
        for entry in fdp.dedup_entries(complete_entries, by_link=True):
            entries.setdefault(wxp.article_native_id(entry.link or entry.key), entry)
        chosen, _ = select_new(list(entries.items()), native_id=lambda pair: pair[0],
                               published_at=lambda pair: pair[1].published_at, horizon=ctx.horizon, known=ctx.known,
                               ordered=False)
        result = CrawlResult(cursor=dict(fetched.validators) if feed.complete else None, warnings=list(feed.warnings))
        for native_id, entry in chosen:
            post = await self._bridge_article(native_id, entry, ctx)
            if post is not None:
                result.posts.append(post)
        return result

    async def _bridge_article(self, native_id: str, entry: fdp.FeedEntry, ctx: CrawlContext) -> Post | None:
        """The entry completed from its article page; None when the article was deleted."""
        account = ctx.native_id
        if not entry.link:
            return wxp.bridge_post(entry, None, native_id=native_id, account=account)
        response = await self.client.get(wxp.page_url(entry.link, self.settings.article_url), account=account)
        page = wxp.parse_article_page(response.content, url=response.url, account=account)
        if page.unavailable:
            log.info("wechat %s: article %s unavailable (%s)", account, native_id, page.unavailable)
            return None
        return wxp.bridge_post(entry, page, native_id=native_id, account=account)
