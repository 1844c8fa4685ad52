"""The Weibo crawler's fetch side against real-shape payloads over httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from govmatrix.errors import LoginRequired, ParseError
from govmatrix.models import CrawlResult
from govmatrix.pipelines.clean import html_to_text

from .kit import account, cleaned, context, make_crawler

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "weibo"
NOW = datetime(2024, 7, 3, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
UID = "5512345678"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class FakeWeibo:
    """Answers like m.weibo.cn from fixtures and records every request."""

    def __init__(self, timeline: str = "timeline_first_page.json") -> None:
        self.timeline = timeline
        self.seen: list[httpx.URL] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.url)
        params = request.url.params
        if request.url.path.endswith("/statuses/extend"):
            return httpx.Response(200, content=fixture("statuses_extend.json"))
        if "containerid" not in params:
            return httpx.Response(200, content=fixture("profile_int.json"))
        if "since_id" in params:
            return httpx.Response(200, content=fixture("end_page.json"))
        return httpx.Response(200, content=fixture(self.timeline))


def run_crawl(handler: object, now: datetime = NOW, known: set[str] = frozenset(),  # type: ignore[assignment]
              horizon_days: int = 30, **settings: object) -> CrawlResult:
    settings.setdefault("comment_days", 0)  # the timeline walk alone (the comments: test_weibo_comments.py)

    async def go() -> CrawlResult:
        crawler = make_crawler("weibo", handler, base_url="https://m.weibo.cn", **settings)  # type: ignore[arg-type]
        try:
            ctx = context(crawler, account("weibo", UID), now, known=lambda ids: set(ids) & known,
                          horizon_days=horizon_days)
            return await crawler.crawl(ctx)
        finally:
            await crawler.aclose()

    result = asyncio.run(go())
    cleaned(result.posts)
    return result


def crawl(fake: FakeWeibo, known: set[str] = frozenset()) -> CrawlResult:  # type: ignore[assignment]
    return run_crawl(fake, known=known)


def test_first_crawl_reads_every_page_inside_the_horizon() -> None:
    fake = FakeWeibo()
    result = crawl(fake)
    ids = [p.native_id for p in result.posts]
    # both pinned posts are older than the 30-day horizon: skipped, and they did not stop the crawl
    assert ids == ["5051112223334445", "5049876543210987", "5049700000000002", "5049500000000003"]
    assert len(fake.seen) == 5  # profile, two timeline pages, two long texts
    long_post = result.posts[0]
    extend = json.loads(fixture("statuses_extend.json"))["data"]["longTextContent"]
    assert long_post.text == html_to_text(extend)
    assert "全文" not in long_post.html
    [snapshot] = result.snapshots
    assert snapshot.followers is not None and snapshot.followers > 0


def test_incremental_crawl_stops_at_the_newest_stored_post() -> None:
    fake = FakeWeibo()
    result = crawl(fake, known={"5049876543210987", "4990000000000001", "4871234567890123"})
    assert [p.native_id for p in result.posts] == ["5051112223334445"]
    assert not any("since_id" in url.params for url in fake.seen)  # no second page
    assert sum(url.path.endswith("/statuses/extend") for url in fake.seen) == 1


def test_captcha_and_truncated_pages_fail_the_whole_crawl() -> None:
    with pytest.raises(LoginRequired, match=f"weibo {UID}: login or captcha required"):
        crawl(FakeWeibo(timeline="captcha.json"))
    with pytest.raises(ParseError, match=f"weibo {UID}:"):
        crawl(FakeWeibo(timeline="timeline_truncated.json"))


def test_open_api_mode_when_a_token_is_configured() -> None:
    from govmatrix.config import Secret

    seen: list[httpx.URL] = []
    timeline = json.loads(fixture("open_user_timeline.json"))

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path == "/2/users/show.json":
            return httpx.Response(200, content=fixture("open_users_show.json"))
        return httpx.Response(200, json=timeline)

    token = Secret(env="WEIBO_TOKEN")
    token._value = "2.00tok"  # what load_settings reads from the environment
    result = run_crawl(handler, datetime(2030, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")), horizon_days=10_000,
                       open_api_url="https://api.weibo.com", access_token=token)
    assert [url.path for url in seen] == ["/2/users/show.json", "/2/statuses/user_timeline.json"]
    assert all(url.params["access_token"] == "2.00tok" and url.params["uid"] == UID for url in seen)
    assert [p.native_id for p in result.posts] == [str(s["idstr"] if "idstr" in s else s["id"])
                                                   for s in timeline["statuses"]]
    [snapshot] = result.snapshots
    assert snapshot.followers == json.loads(fixture("open_users_show.json"))["followers_count"]
