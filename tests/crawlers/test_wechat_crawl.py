"""The WeChat crawler's fetch side over httpx.MockTransport: tokens, paging, datacube windows, quota, bridge."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from govmatrix.config import load_settings
from govmatrix.crawlers.base import Crawler, crawler_class
from govmatrix.crawlers.wechat import WechatCrawler, bridge_feed_url
from govmatrix.errors import ConfigError, LoginRequired, RateLimited
from govmatrix.models import Account, CrawlResult
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.tz import SHANGHAI
from tests.conftest import ROOT

from .kit import account as make_account
from .kit import cleaned, context, make_crawler

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "wechat"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=SHANGHAI)
YESTERDAY = date(2024, 5, 31)
APPID, SECRET_ENV, SECRET = "wx0123456789abcdef", "WECHAT_SECRET_TEST", "s3cr3t-AppSecret-value"
SETTINGS = {"base_url": "https://api.test", "article_url": "https://pages.test/mp", "bridge_url": "https://bridge.test"}


def error(code: int, message: str) -> httpx.Response:
    return httpx.Response(200, json={"errcode": code, "errmsg": f"{message} rid: 665f-0001"})


class FakeWechat:
    """api.weixin.qq.com for one account with daily publishes, plus article pages and an RSSHub bridge.

    ``token_life``: a token dies (42001) after that many API calls, as when another server
    refreshes it; ``sticky``: a non-forced stable_token keeps handing out a dead token;
    ``quota``: endpoint paths that answer 45009.
    """

    def __init__(self, *, now: datetime = NOW, days: int = 50, token_life: int | None = None, sticky: bool = False,
                 quota: Iterable[str] = ()) -> None:
        self.now, self.days, self.token_life, self.sticky = now, days, token_life, sticky
        self.quota = set(quota)
        self.calls: Counter[str] = Counter()
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self.tokens: dict[str, int] = {}  # token -> API calls made with it
        self.current = ""
        self.page_requests: list[str] = []
        self.bridge = (FIXTURES / "bridge_rsshub.xml").read_bytes()
        self.empty = False  # datacube answers an empty list

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls[path] += 1
        if request.url.host == "pages.test":
            self.page_requests.append(str(request.url))
            return httpx.Response(200, content=(FIXTURES / ("article_deleted.html" if "__biz" in str(request.url)
                                                           else "article_page.html")).read_bytes())
        if request.url.host == "bridge.test":
            if request.headers.get("If-None-Match") == '"b1"':
                return httpx.Response(304, headers={"ETag": '"b1"'})
            return httpx.Response(200, content=self.bridge,
                                  headers={"ETag": '"b1"', "Content-Type": "application/xml; charset=utf-8"})
        body = json.loads(request.content or b"{}")
        self.bodies.append((path, body))
        if path == "/cgi-bin/stable_token":
            return self.stable_token(body)
        token = request.url.params.get("access_token", "")
        if token not in self.tokens:
            return error(40001, "invalid credential, access_token is invalid or not latest")
        self.tokens[token] += 1
        if self.token_life is not None and self.tokens[token] > self.token_life:
            return error(42001, "access_token expired")
        if path in self.quota:
            return error(45009, "reach max api daily quota limit")
        if path == "/cgi-bin/freepublish/batchget":
            return httpx.Response(200, json=self.batchget(body["offset"], body["count"]))
        return self.datacube(path, body)

    def stable_token(self, body: dict[str, Any]) -> httpx.Response:
        if (body.get("grant_type"), body.get("appid"), body.get("secret")) != ("client_credential", APPID, SECRET):
            return error(40125, "invalid appsecret")
        if not self.current or body["force_refresh"] or not self.sticky and self.dead(self.current):
            self.current = f"86_token{len(self.tokens) + 1}"
            self.tokens[self.current] = 0
        return httpx.Response(200, json={"access_token": self.current, "expires_in": 7200})

    def dead(self, token: str) -> bool:
        return self.token_life is not None and self.tokens[token] >= self.token_life

    def batchget(self, offset: int, count: int) -> dict[str, Any]:
        items = []
        for n in range(offset, min(offset + count, self.days)):
            at = self.now - timedelta(days=n, hours=1)
            news = [{"title": f"第{n}篇", "author": "市新闻办", "digest": f"摘要{n}", "content": f"<p>正文{n}</p>",
                     "content_source_url": "", "thumb_media_id": f"m{n}", "thumb_url": "",
                     "url": f"http://mp.weixin.qq.com/s?__biz=MzA=&mid={n}&idx=1&sn=ab#rd", "is_deleted": False}]
            items.append({"article_id": f"A{n:04d}", "content": {"news_item": news}, "update_time": int(at.timestamp())})
        return {"item": items, "total_count": self.days, "item_count": len(items)}

    def datacube(self, path: str, body: dict[str, Any]) -> httpx.Response:
        begin, end = date.fromisoformat(body["begin_date"]), date.fromisoformat(body["end_date"])
        if end < begin or (end - begin).days >= 7 or end >= self.now.date():
            return error(61501, "date range error")
        days = [] if self.empty else [begin + timedelta(days=i) for i in range((end - begin).days + 1)]
        if path.endswith("getarticletotal"):  # one article a day, mid n: published n days before now
            return httpx.Response(200, json={"list": [self.article_total(d) for d in days]})
        if path.endswith("getusercumulate"):
            rows = [{"ref_date": d.isoformat(), "user_source": 0, "cumulate_user": 10_000 + d.toordinal() % 1000}
                    for d in days]
        else:
            rows = [{"ref_date": d.isoformat(), "user_source": s, "new_user": d.day + s, "cancel_user": s}
                    for d in days for s in (0, 30)]
        return httpx.Response(200, json={"list": rows})

    def article_total(self, day: date) -> dict[str, Any]:
        n = (self.now - timedelta(hours=1)).date().toordinal() - day.toordinal()
        details = [{"stat_date": (day + timedelta(days=k)).isoformat(), "int_page_read_count": 100 * (k + 1) + n,
                    "share_count": str(k + n), "add_to_fav_count": k} for k in range(7)]
        return {"ref_date": day.isoformat(), "msgid": f"{n}_1", "title": f"第{n}篇", "details": details[::-1]}

    def datacube_calls(self) -> int:
        return sum(n for path, n in self.calls.items() if path.startswith("/datacube/"))


def owned(**options: Any) -> Account:
    acc = make_account("wechat", "gh_test0530", "测试发布")
    acc.options = {"owned": True, "appid": APPID, "secret": {"env": SECRET_ENV}} | options
    return acc


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


async def crawl_async(crawler: Crawler, account: Account, now: datetime = NOW,
                      known: Iterable[str] = ()) -> CrawlResult:
    stored = set(known)
    result = await crawler.crawl(context(crawler, account, now, options=account.options,
                                         known=lambda ids: set(ids) & stored))
    cleaned(result.posts)
    return result


def crawl(fake: FakeWechat, account: Account, now: datetime = NOW, known: Iterable[str] = ()) -> CrawlResult:
    async def go() -> CrawlResult:
        crawler = make_crawler("wechat", fake, **SETTINGS)
        try:
            return await crawl_async(crawler, account, now, known)
        finally:
            await crawler.aclose()

    return asyncio.run(go())


def totals(result: CrawlResult) -> list[Any]:
    return [s for s in result.snapshots if s.source == "datacube"]


def summary(result: CrawlResult) -> tuple[list[str], list[tuple[datetime, int | None, dict[str, Any]]]]:
    return ([p.native_id for p in result.posts],
            [(s.taken_at, s.followers, s.extra) for s in result.snapshots])


def test_registry_knows_the_wechat_crawler() -> None:
    assert crawler_class("wechat") is WechatCrawler


def test_first_crawl_reads_articles_to_the_horizon_and_backfills_followers() -> None:
    fake = FakeWechat()
    result = crawl(fake, owned())
    assert [p.native_id for p in result.posts] == [f"A{n:04d}_1" for n in range(30)]  # 30-day horizon
    assert fake.calls["/cgi-bin/freepublish/batchget"] == 2 and fake.calls["/cgi-bin/stable_token"] == 1
    days = [s.day(SHANGHAI) for s in totals(result)]  # 90 days back by default: a quarter's report
    assert days == [date(2024, 3, 3) + timedelta(days=i) for i in range(90)] and days[-1] == YESTERDAY
    assert fake.datacube_calls() == 13  # the 13 windows of the totals use the day's calls
    assert [s for s in result.snapshots if s.source == "datacube_flow"] == []  # new/cancelled: the next crawls
    assert result.cursor == {"datacube_day": "2024-05-25"}  # the window ending yesterday is asked again


def test_incremental_crawl_stops_at_the_newest_stored_article() -> None:
    fake = FakeWechat()
    result = crawl(fake, owned(), known={"A0003_1", "A0004_1"})
    assert [p.native_id for p in result.posts] == ["A0000_1", "A0001_1", "A0002_1"]
    assert fake.calls["/cgi-bin/freepublish/batchget"] == 1


def test_ninety_days_of_history_in_at_most_thirteen_datacube_calls() -> None:
    fake = FakeWechat()
    start = YESTERDAY - timedelta(days=89)
    account = owned(start_date=start.isoformat())
    result = crawl(fake, account)
    assert fake.datacube_calls() <= 13
    assert [s.day(SHANGHAI) for s in result.snapshots] == [start + timedelta(days=i) for i in range(90)]
    assert all(s.source == "datacube" and s.followers is not None for s in result.snapshots)
    assert result.cursor == {"datacube_day": (start + timedelta(days=83)).isoformat()}
    # the next two daily crawls bring the new and cancelled followers of the same 90 days
    flows: dict[date, dict[str, int]] = {}
    for day in (1, 2):
        account.cursor.update(result.cursor or {})
        later = NOW + timedelta(days=day)
        fake = FakeWechat(now=later)
        result = crawl(fake, account, now=later)
        assert fake.datacube_calls() <= 13
        flows |= {s.day(SHANGHAI): s.extra for s in result.snapshots if s.source == "datacube_flow"}
    assert sorted(flows)[:90] == [start + timedelta(days=i) for i in range(90)]


def test_the_next_day_needs_one_window_with_both_endpoints() -> None:
    fake = FakeWechat(now=NOW + timedelta(days=1))
    account = owned(start_date="2024-03-01")
    account.cursor = {"datacube_day": YESTERDAY.isoformat(), "datacube_flow_day": YESTERDAY.isoformat(),
                      "datacube_article_day": (YESTERDAY - timedelta(days=6)).isoformat()}
    result = crawl(fake, account, now=NOW + timedelta(days=1))
    assert fake.datacube_calls() == 3  # and one day of article figures, the day whose 7 days just ended
    [stats] = result.article_stats
    # the crawl's yesterday is YESTERDAY + 1; the day 7 days of figures before it
    assert stats.ref_date == YESTERDAY - timedelta(days=5)
    assert result.cursor is not None and result.cursor["datacube_article_day"] == str(stats.ref_date)
    total, flow = result.snapshots
    assert total.day(SHANGHAI) == flow.day(SHANGHAI) == NOW.date() and total.followers
    assert set(flow.extra) == {"new_user", "cancel_user"} and flow.followers is None


def test_article_figures_use_the_calls_left_and_take_the_last_day() -> None:
    fake = FakeWechat()
    account = owned(start_date="2024-05-01")
    account.cursor = {"datacube_day": YESTERDAY.isoformat(), "datacube_flow_day": YESTERDAY.isoformat()}
    result = crawl(fake, account)
    assert fake.datacube_calls() == 13  # the follower series is up to date: 13 publication days
    days = [s.ref_date for s in result.article_stats]
    assert days == [date(2024, 5, 1) + timedelta(days=i) for i in range(13)]
    first = result.article_stats[0]
    n = (NOW - timedelta(hours=1)).date().toordinal() - first.ref_date.toordinal()
    # the last details row (the rows came newest first), shares sent as a string
    assert (first.msgid, first.reads, first.shares, first.stat_date) == (f"{n}_1", 700 + n, 6 + n,
                                                                           first.ref_date + timedelta(days=6))
    assert result.cursor is not None and result.cursor["datacube_article_day"] == "2024-05-13"
    assert {p.extra["msgid"] for p in result.posts} >= {"0_1", "1_1"}  # how posts name their figures


def test_an_empty_answer_never_moves_the_resume_day() -> None:
    fake = FakeWechat()
    fake.empty = True
    account = owned(start_date="2024-05-11")
    result = crawl(fake, account)
    assert totals(result) == [] and "datacube_day" not in (result.cursor or {})
    for _ in range(2):  # an oldest window empty crawl after crawl is passed at the third try
        account.cursor.update(result.cursor or {})
        result = crawl(fake, account)
    assert result.cursor is not None and result.cursor["datacube_day"] == "2024-05-17"
    assert any("no data for 2024-05-11..2024-05-17" in w for w in result.warnings)


def test_a_token_expiring_mid_crawl_is_refreshed_without_losing_data() -> None:
    calm = crawl(FakeWechat(), owned(start_date="2024-04-01"))
    fake = FakeWechat(token_life=4)
    stormy = crawl(fake, owned(start_date="2024-04-01"))
    assert summary(stormy) == summary(calm)
    assert fake.calls["/cgi-bin/stable_token"] == len(fake.tokens) > 3  # one renewal per dead token
    assert all(body["force_refresh"] is False for path, body in fake.bodies if path == "/cgi-bin/stable_token")


def test_a_refused_token_still_handed_out_is_force_refreshed() -> None:
    fake = FakeWechat(token_life=3, sticky=True)
    result = crawl(fake, owned())
    assert len(result.posts) == 30
    forced = [body for path, body in fake.bodies if path == "/cgi-bin/stable_token" and body["force_refresh"]]
    assert forced and len(fake.tokens) == len(forced) + 1


def test_the_token_is_cached_per_appid_and_renewed_before_it_expires() -> None:
    fake = FakeWechat()

    async def go() -> None:
        crawler = make_crawler("wechat", fake, **SETTINGS)
        await crawl_async(crawler, owned(), NOW)
        await crawl_async(crawler, owned(), NOW + timedelta(minutes=90))
        assert fake.calls["/cgi-bin/stable_token"] == 1
        await crawl_async(crawler, owned(), NOW + timedelta(seconds=7200 - 299))  # within the margin
        assert fake.calls["/cgi-bin/stable_token"] == 2
        await crawler.aclose()

    asyncio.run(go())


def test_daily_quota_backs_off_until_midnight_and_the_retry_loses_nothing() -> None:
    fake = FakeWechat(quota={"/datacube/getusercumulate"})
    account = owned()
    with pytest.raises(RateLimited) as caught:
        crawl(fake, account)
    assert caught.value.retry_after == 12 * 3600
    assert str(caught.value).startswith("wechat gh_test0530: API error 45009")
    fake.quota.clear()  # the next day
    assert summary(crawl(fake, account)) == summary(crawl(FakeWechat(), owned()))


def test_wrong_secret_is_login_required_and_never_shown(caplog: pytest.LogCaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "wrong-" + SECRET)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LoginRequired) as caught:
        crawl(FakeWechat(), owned())
    assert "40125" in str(caught.value) and SECRET not in str(caught.value)
    assert all(SECRET not in record.getMessage() for record in caplog.records)


def test_missing_secret_names_the_variable_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV)
    fake = FakeWechat()
    with pytest.raises(ConfigError, match=f"environment variable {SECRET_ENV}"):
        crawl(fake, owned())
    assert not fake.calls


# -- accounts read through the RSS bridge ----------------------------------------------------------------

BIZ = "MzI0NTUxMzg2OA=="


def bridged(**options: Any) -> Account:
    acc = make_account("wechat", BIZ, "菏泽农业")
    acc.options = options
    return acc


def test_bridge_url_default_and_override() -> None:
    assert bridge_feed_url("https://bridge.test/", BIZ, None) == f"https://bridge.test/wechat/mp/homepage/{BIZ}/1"
    assert bridge_feed_url("https://bridge.test", BIZ, "/feeds/MP_WXS_3.rss") == "https://bridge.test/feeds/MP_WXS_3.rss"
    assert bridge_feed_url("", BIZ, "https://w.test/feeds/x.atom") == "https://w.test/feeds/x.atom"
    with pytest.raises(ConfigError, match="no RSS bridge configured"):
        bridge_feed_url("", BIZ, None)


def test_bridge_entries_are_completed_from_their_article_pages() -> None:
    fake = FakeWechat()
    result = crawl(fake, bridged(), now=datetime(2024, 4, 14, 9, 0, tzinfo=SHANGHAI))
    # the repeated item (same link, other guid) is fetched once; the long-link article was deleted
    assert fake.page_requests == [
        "https://pages.test/mp/s/Jx0dT8lR2vN6bQ4mH7kP1w",
        "https://pages.test/mp/s?__biz=MzI0NTUxMzg2OA==&mid=2247484117&idx=2&sn=8e7d6c5b4a39281706f5e4d3c2b1a098"
        "&chksm=8e7d6c5b0a1b2c3d"]
    [post] = result.posts
    assert post.native_id == "Jx0dT8lR2vN6bQ4mH7kP1w"
    assert post.published_at == datetime.fromtimestamp(1713009660, SHANGHAI)
    assert "持续至5月10日" in post.text and len(post.media) == 2
    assert result.cursor == {"etag": '"b1"', "last_modified": None}


def test_stored_bridge_entries_are_not_fetched_again() -> None:
    fake = FakeWechat()
    result = crawl(fake, bridged(), now=datetime(2024, 4, 14, 9, 0, tzinfo=SHANGHAI),
                   known={"Jx0dT8lR2vN6bQ4mH7kP1w", "MzI0NTUxMzg2OA==_2247484117_2"})
    assert result.posts == [] and fake.page_requests == []


def test_a_cut_bridge_feed_keeps_only_its_undamaged_entries() -> None:
    fake = FakeWechat()
    fake.bridge = fake.bridge[: fake.bridge.index(b"<guid isPermaLink=\"false\">http://")]  # item 3 has no link
    result = crawl(fake, bridged(), now=datetime(2024, 4, 14, 9, 0, tzinfo=SHANGHAI))
    assert [p.native_id for p in result.posts] == ["Jx0dT8lR2vN6bQ4mH7kP1w"] and result.cursor is None
    assert len(fake.page_requests) == 1


def test_bridge_304_means_nothing_new() -> None:
    fake = FakeWechat()
    account = bridged()
    account.cursor = {"etag": '"b1"'}
    result = crawl(fake, account, now=datetime(2024, 4, 14, 9, 0, tzinfo=SHANGHAI))
    assert result.posts == [] and result.cursor is None and fake.page_requests == []


# -- end to end against the sandbox --------------------------------------------------------------------

SANDBOX_START = datetime(2016, 7, 1, 9, 0, tzinfo=SHANGHAI)


def test_every_article_and_follower_day_of_the_sandbox_is_produced_exactly_once() -> None:
    """Three daily crawls of every WeChat account of the example city against the sandbox's truth."""
    backfill_from = (SANDBOX_START - timedelta(days=91)).date()  # 13 weeks up to yesterday
    accounts = city_accounts("wechat", start_date=backfill_from.isoformat())
    produced: dict[tuple[str, str], Any] = {}
    followers: dict[tuple[str, date], int | None] = {}
    with SandboxServer(SandboxConfig(seed=5, start=SANDBOX_START)) as sandbox:
        settings = {"base_url": f"{sandbox.url}/wechat-api", "article_url": f"{sandbox.url}/mp",
                    "bridge_url": f"{sandbox.url}/rsshub", "rate": 500, "concurrency": 8}
        for day in range(3):
            now = SANDBOX_START + timedelta(days=day)
            httpx.post(f"{sandbox.url}/_sandbox/clock", json={"now": now.isoformat()}).raise_for_status()
            datacube = asyncio.run(crawl_city(sandbox, settings, accounts, now, produced, followers))
            if day == 0:
                assert datacube and max(datacube.values()) <= 13
        truth = sandbox.truth(platforms=["wechat"])
    expected = {}
    for post in truth["posts"]:
        published = datetime.fromisoformat(post["published_at"])
        if post["owned"] and published >= SANDBOX_START - timedelta(days=30):
            expected[(post["account"], f"{post['article_id']}_{post['idx']}")] = post
        elif not post["owned"] and published >= SANDBOX_START - timedelta(days=1):
            expected[(post["account"], post["native_id"])] = post
    assert produced.keys() == expected.keys() and len(expected) > 50
    for key, post in expected.items():
        assert (produced[key].title, produced[key].text, produced[key].published_at) == \
            (post["title"], post["clean_text"], datetime.fromisoformat(post["published_at"])), key  # footer gone
    assert followers == {(f["account"], date.fromisoformat(f["day"])): f["followers"] for f in truth["followers"]
                         if date.fromisoformat(f["day"]) >= backfill_from}


def city_accounts(platform: str, **owned_options: Any) -> list[tuple[Account, int]]:
    """The example city's accounts of ``platform``, each with its horizon in days: an RSS bridge lists
    only its 20 newest articles, so bridge accounts start one day back."""
    accounts = []
    for _, acc in load_settings(ROOT / "settings.toml", require_secrets=False).accounts():
        if acc.platform == platform:
            own = acc.options.owned
            account = make_account(platform, acc.id, acc.name)
            account.options = acc.options.model_dump(mode="json", exclude_defaults=True) | (owned_options if own else {})
            accounts.append((account, 30 if own else 1))
    return accounts


async def crawl_city(sandbox: SandboxServer, settings: dict[str, Any], accounts: list[tuple[Account, int]],
                     now: datetime, produced: dict[tuple[str, str], Any],
                     followers: dict[tuple[str, date], int | None]) -> dict[str, int]:
    """Crawl every account once as refresh.py would; return the datacube calls of each owned account."""
    calls = {}
    crawler = make_crawler("wechat", **settings)
    for account, horizon_days in accounts:
        before = sandbox.state.requests["wechat.datacube"]
        ctx = context(crawler, account, now, options=account.options, horizon_days=horizon_days,
                      known=lambda ids, a=account.native_id: {i for i in ids if (a, i) in produced})
        result = await crawler.crawl(ctx)
        cleaned(result.posts)
        for post in result.posts:
            assert (account.native_id, post.native_id) not in produced, post.native_id
            produced[(account.native_id, post.native_id)] = post
        followers.update({(account.native_id, s.day(SHANGHAI)): s.followers for s in totals(result)})
        account.cursor.update((result.cursor or {}) | {"horizon": ctx.horizon.isoformat()})
        if account.options.get("owned"):
            calls[account.native_id] = sandbox.state.requests["wechat.datacube"] - before
    await crawler.aclose()
    return calls


def test_failing_article_figures_are_a_warning_not_a_failed_crawl() -> None:
    fake = FakeWechat(quota=["/datacube/getarticletotal"])
    account = owned(start_date="2024-05-01")
    account.cursor = {"datacube_day": "2024-05-24", "datacube_flow_day": YESTERDAY.isoformat()}
    result = crawl(fake, account)
    assert totals(result) and result.posts and result.article_stats == []
    assert any("getarticletotal" in w and "resume from 2024-05-01" in w for w in result.warnings)
    assert result.cursor is not None and "datacube_article_day" not in result.cursor
