"""Feeds: parsing RSS 1.0/2.0, Atom and JSON Feed fixtures, and the conditional-GET crawl over MockTransport."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from govmatrix.config import load_settings
from govmatrix.crawlers.base import crawler_class
from govmatrix.crawlers.feeds import FeedsCrawler
from govmatrix.crawlers.feeds_parse import (
    MAX_NATIVE_ID,
    FeedEntry,
    dedup_entries,
    entry_post,
    feed_native_id,
    parse_feed,
)
from govmatrix.errors import ParseError
from govmatrix.models import ARTICLE, Account, CrawlResult, Post
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.tz import SHANGHAI
from tests.conftest import ROOT
from tests.sandbox.test_feeds_sim import PINYIN

from .kit import account as make_account
from .kit import cleaned, context, make_crawler

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=SHANGHAI)
FEED_URL = "http://www.hzyy.gov.cn/rss.xml"
RSS = "application/rss+xml; charset=utf-8"


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, content_type: str = "text/xml", base_url: str = "") -> list[FeedEntry]:
    return parse_feed(body(name), content_type=content_type, base_url=base_url).entries


def text_of(entry: FeedEntry) -> str:
    return cleaned([entry_post(entry, native_id="x", platform="feeds", now=NOW)])[0].text


def test_rss20_prefers_content_encoded_and_keeps_enclosures() -> None:
    first, second = parse("rss20.xml", RSS, base_url=FEED_URL)
    assert (first.key, first.title) == ("hzyy-10342", "市渔业局开展禁渔期执法检查")
    assert first.published_at == datetime(2024, 5, 30, 12, 4, 16, tzinfo=SHANGHAI)
    [post] = cleaned([entry_post(first, native_id="x", platform="feeds", now=NOW)])
    assert post.text == ("5月29日，市渔业局执法人员对黄河菏泽段开展禁渔期执法检查。\n检查中，执法人员\xa0共清理违规网具12套。\n"
                         "下一步将继续加大巡查力度。")  # each <p> a line
    assert 'src="http://www.hzyy.gov.cn/images/2024/05/30/yy.jpg"' in post.html  # made absolute
    assert second.media == [{"type": "image", "url": "http://www.hzyy.gov.cn/images/2024/05/27/px.jpg",
                             "mime": "image/jpeg"}]
    assert cleaned([entry_post(second, native_id="y", platform="feeds", now=NOW)])[0].text == \
        "5月27日，全市水产养殖技术培训班在单县举办，120余名养殖户参加。"


def test_rss10_reads_dc_date_and_creator() -> None:
    [entry] = parse("rss10.rdf", "application/rdf+xml")
    assert entry.key == entry.link == "http://www.hzzj.gov.cn/news/2024/0528/881.html"
    assert entry.published_at == datetime(2024, 5, 28, 10, 20, tzinfo=SHANGHAI)
    assert entry.author == "市质监局"


def test_atom_html_title_relative_link_and_plain_text_summary() -> None:
    first, second = parse("atom.xml", "application/atom+xml", base_url="http://hzsw.heze.gov.cn/hzsw.atom")
    assert first.key == "tag:hzsw.heze.gov.cn,2024-05-29:art-552"
    assert first.title == "市水务局部署汛前检查"
    assert first.link == "http://hzsw.heze.gov.cn/art/2024/5/29/art_77_552.html"
    assert first.published_at == datetime(2024, 5, 29, 16, 40, tzinfo=SHANGHAI)
    assert text_of(first) == \
        "市水务局召开会议，部署汛前检查工作。\n会议要求\xa0各县区于6月10日前完成\n病险水库排查。"
    # a type="text" summary is text, not markup: its "<...>" must survive
    assert text_of(second) == "节约用水，从我做起 <人人有责>"
    assert second.published_at == datetime(2024, 5, 20, 8, 0, tzinfo=UTC)


def test_json_feed_items() -> None:
    html_item, text_item, bare = parse("jsonfeed.json", "application/feed+json")
    assert html_item.key == "hzxwb-20240531-1" and html_item.author == "市新闻办"
    assert text_of(html_item) == "5月31日，市政府新闻办召开新闻发布会，介绍2024年夏粮收购工作。\n今年夏粮收购预计6月上旬开始。"
    assert html_item.media[0]["url"] == "http://www.hzxwb.gov.cn/images/2024/05/31/fbh.jpg"
    assert text_item.key == "2880"  # a numeric id is still the guid
    assert text_item.published_at == datetime(2024, 5, 30, 17, 30, tzinfo=UTC)  # date_modified
    assert text_of(text_item) == \
        "5月30日，全市安全生产工作会议召开。\n会议强调，要压实安全生产责任 <重点行业>。"
    assert text_item.media == [{"type": "file", "url": "http://www.hzxwb.gov.cn/files/aqsc.pdf",
                                "mime": "application/pdf"}]
    assert bare.key.startswith("sha256:") and bare.published_at is None


def test_json_feed_is_recognised_without_a_json_content_type() -> None:
    assert [e.key for e in parse("jsonfeed.json", "text/plain")][:2] == ["hzxwb-20240531-1", "2880"]


def test_entries_without_guid_are_keyed_by_link_then_by_content() -> None:
    linked, unlinked, undated = parse("no_guid.xml")
    assert linked.key == "http://www.hzny.gov.cn/art/2024/5/28/art_3102_7741.html"
    assert unlinked.key.startswith("sha256:") and undated.key.startswith("sha256:")
    assert unlinked.key != undated.key  # same title, different text
    again = parse("no_guid.xml")
    assert [e.key for e in again] == [linked.key, unlinked.key, undated.key]  # stable across crawls


def test_broken_feed_keeps_what_parsed_and_says_it_is_incomplete() -> None:
    feed = parse_feed(body("broken.xml"), content_type="text/xml")
    assert [e.key for e in feed.entries] == ["hzmd-301", "hzmd-300"]
    assert not feed.complete and "SAXParseException" in feed.warning
    assert "品牌建设" in feed.entries[0].content


@pytest.mark.parametrize(("payload", "content_type"), [
    (b"", "text/xml"),
    (None, "text/html"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "application/feed+json"),
    (b'{"version": "https://jsonfeed.org/version/1.1"}', "application/feed+json"),
])
def test_nothing_usable_raises_parse_error(payload: bytes | None, content_type: str) -> None:
    with pytest.raises(ParseError, match=r"^feeds site: "):
        parse_feed(body("not_a_feed.html") if payload is None else payload, content_type=content_type,
                   account="site")


def test_gbk_feed_is_decoded() -> None:
    [entry] = parse("gbk.xml")
    assert entry.title == "2024年菏泽市中考报名工作通知"


def test_empty_but_valid_feed_is_not_an_error() -> None:
    feed = parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>',
                      content_type=RSS)
    assert feed.entries == [] and feed.complete


def test_dedup_by_key_and_optionally_by_link() -> None:
    a = FeedEntry(key="1", title="a", link="http://s/", content="")
    b = FeedEntry(key="2", title="b", link="http://s/", content="")
    c = FeedEntry(key="1", title="c", link="http://s/c", content="")
    assert dedup_entries([a, b, c]) == [a, b]  # sites that link every entry to their home page
    assert dedup_entries([a, b, c], by_link=True) == [a]


def test_native_ids_are_scoped_by_account_and_bounded() -> None:
    assert feed_native_id("hzyy-site", "hzyy-1") == "hzyy-site:hzyy-1"
    long_id = feed_native_id("hzyy-site", "http://example.org/" + "x" * 300)
    assert len(long_id) <= MAX_NATIVE_ID and long_id.startswith("hzyy-site:sha256:")
    assert long_id == feed_native_id("hzyy-site", "http://example.org/" + "x" * 300)


def test_undated_entry_gets_now_and_a_flag() -> None:
    post = entry_post(FeedEntry(key="k", title="t", link="", content="<p>x</p>"), native_id="s:k",
                      platform="feeds", now=NOW)
    assert post.published_at == NOW and post.extra == {"key": "k", "undated": True} and post.kind == ARTICLE


# -- crawling over MockTransport ----------------------------------------------------------------------

class FakeSite:
    """Serves one feed document with ETag/Last-Modified and answers conditional requests with 304."""

    def __init__(self, name: str, content_type: str = RSS, etag: str | None = '"v1"') -> None:
        self.body = body(name)
        self.content_type = content_type
        self.etag = etag
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.etag and request.headers.get("If-None-Match") == self.etag:
            return httpx.Response(304, headers={"ETag": self.etag})
        headers = {"Content-Type": self.content_type, "Last-Modified": "Thu, 30 May 2024 04:04:16 GMT"}
        if self.etag:
            headers["ETag"] = self.etag
        return httpx.Response(200, content=self.body, headers=headers)


def crawl(site: FakeSite, account: Account, known: Callable[[Iterable[str]], set[str]] = lambda ids: set(),
          now: datetime = NOW) -> CrawlResult:
    async def go() -> CrawlResult:
        crawler = make_crawler("feeds", site)
        try:
            return await crawler.crawl(context(crawler, account, now, options=account.options, known=known))
        finally:
            await crawler.aclose()

    result = asyncio.run(go())
    cleaned(result.posts)
    return result


def account(url: str = FEED_URL) -> Account:
    acc = make_account("feeds", "hzyy-site", "菏泽渔业网")
    acc.options = {"url": url}
    return acc


def test_registry_knows_the_feeds_crawler() -> None:
    assert crawler_class("feeds") is FeedsCrawler


def test_first_crawl_then_304_with_the_stored_validators() -> None:
    site = FakeSite("rss20.xml")
    acc = account()
    first = crawl(site, acc)
    assert [p.native_id for p in first.posts] == ["hzyy-site:hzyy-10342", "hzyy-site:hzyy-10339"]
    assert first.cursor == {"etag": '"v1"', "last_modified": "Thu, 30 May 2024 04:04:16 GMT"}
    assert "If-None-Match" not in site.requests[0].headers
    acc.cursor.update(first.cursor)
    second = crawl(site, acc)
    assert second.posts == [] and second.cursor is None
    assert site.requests[1].headers["If-None-Match"] == '"v1"'
    assert site.requests[1].headers["If-Modified-Since"] == "Thu, 30 May 2024 04:04:16 GMT"


def test_a_broken_feed_yields_its_entries_but_no_validators() -> None:
    result = crawl(FakeSite("broken.xml", content_type="text/xml"), account())
    assert [p.native_id for p in result.posts] == ["hzyy-site:hzmd-301", "hzyy-site:hzmd-300"]
    assert result.cursor is None  # the next crawl must fetch the whole document again


def test_entries_older_than_the_horizon_are_left_out() -> None:
    result = crawl(FakeSite("rss20.xml"), account(), now=datetime(2024, 6, 28, 12, 0, tzinfo=SHANGHAI))
    assert [p.native_id for p in result.posts] == ["hzyy-site:hzyy-10342"]  # the 05-27 entry is 32 days old


def test_stored_undated_entries_are_not_dated_again() -> None:
    result = crawl(FakeSite("no_guid.xml", content_type="text/xml", etag=None), account(),
                   known=lambda ids: set(ids))
    assert [p.title for p in result.posts] == ["小麦机收减损技术指导意见", "农业局通知"]
    assert all("undated" not in p.extra for p in result.posts)
    fresh = crawl(FakeSite("no_guid.xml", content_type="text/xml", etag=None), account())
    assert [p.extra.get("undated", False) for p in fresh.posts] == [False, False, True]


def test_json_feed_crawl() -> None:
    result = crawl(FakeSite("jsonfeed.json", content_type="application/feed+json"), account())
    assert [p.native_id for p in result.posts][:2] == ["hzyy-site:hzxwb-20240531-1", "hzyy-site:2880"]


def test_an_error_page_is_a_parse_error_naming_the_account() -> None:
    with pytest.raises(ParseError, match=r"^feeds hzyy-site: not a readable feed"):
        crawl(FakeSite("not_a_feed.html", content_type="text/html"), account())


def test_horizon_applies_to_dated_entries_only() -> None:
    late = NOW + timedelta(days=365)
    result = crawl(FakeSite("no_guid.xml", content_type="text/xml", etag=None), account(), now=late)
    assert [p.extra.get("undated", False) for p in result.posts] == [True]


# -- end to end against the sandbox --------------------------------------------------------------------

SANDBOX_START = datetime(2016, 7, 1, 9, 0, tzinfo=SHANGHAI)


def test_every_entry_of_the_sandbox_is_produced_exactly_once() -> None:
    """Daily crawls (and a same-day recrawl, answered 304) of every feed of the example city against the truth.

    A feed lists only its newest entries, so the accounts start one day back.
    """
    produced: dict[str, Post] = {}
    with SandboxServer(SandboxConfig(seed=5, start=SANDBOX_START)) as sandbox:
        accounts = []
        for _, acc in load_settings(ROOT / "settings.toml", require_secrets=False).accounts():
            if acc.platform == "feeds":
                accounts.append(make_account("feeds", acc.id, acc.name))
                accounts[-1].options = {"url": acc.options.url.replace("http://127.0.0.1:8700", sandbox.url)}
        for day in range(3):
            now = SANDBOX_START + timedelta(days=day)
            httpx.post(f"{sandbox.url}/_sandbox/clock", json={"now": now.isoformat()}).raise_for_status()
            assert asyncio.run(crawl_sites(accounts, now, produced)) > 0
            assert asyncio.run(crawl_sites(accounts, now, produced)) == 0  # unchanged feeds answer 304
        truth = sandbox.truth(platforms=["feeds"], since=SANDBOX_START - timedelta(days=1))["posts"]
        root = sandbox.url
    expected = {f"{p['account']}:{root + p['native_id'] if p['native_id'].startswith('/') else p['native_id']}": p
                for p in truth}
    assert produced.keys() == expected.keys() and len(expected) > 10
    for native_id, entry in expected.items():
        post = produced[native_id]
        # the clean pipeline takes out what the site's converter added (pinyin) and repairs mojibake
        assert (post.text, post.published_at) == \
            (entry["clean_text"], datetime.fromisoformat(entry["published_at"])), native_id
        assert post.title == PINYIN.sub("", entry["title"]), native_id


async def crawl_sites(accounts: list[Account], now: datetime, produced: dict[str, Post]) -> int:
    """Crawl every site once as refresh.py would; return how many posts were new."""
    crawler = make_crawler("feeds", rate=500, concurrency=8)
    new = 0
    try:
        for account in accounts:
            ctx = context(crawler, account, now, options=account.options, horizon_days=1,
                          known=lambda ids: set(ids) & produced.keys())
            result = await crawler.crawl(ctx)
            cleaned(result.posts)
            new += sum(post.native_id not in produced for post in result.posts)
            produced.update({post.native_id: post for post in result.posts})
            account.cursor.update((result.cursor or {}) | {"horizon": ctx.horizon.isoformat()})
    finally:
        await crawler.aclose()
    return new
