"""The simulated department-site feeds (RSS, Atom, JSON Feed) over HTTP, against the truth."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import feedparser
import httpx
import pytest
from parsel import Selector

from govmatrix.pipelines.clean import html_to_text
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.sandbox.city import DEPARTMENTS
from govmatrix.sandbox.texts import press_release
from govmatrix.tz import SHANGHAI

START = datetime(2016, 4, 1, 10, 0, tzinfo=SHANGHAI)
SITES = {str(a.options["feed"]): a.native_id for d in DEPARTMENTS for a in d.accounts if a.platform == "feeds"}
PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùü]+\)")


@contextmanager
def feeds_sandbox(seed: int = 13) -> Iterator[SandboxServer]:
    """A running sandbox."""
    with SandboxServer(SandboxConfig(seed=seed, start=START)) as server:
        yield server


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with feeds_sandbox() as server:
        yield server


@pytest.fixture(scope="module")
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def truth(sandbox: SandboxServer) -> dict[str, Any]:
    return httpx.get(f"{sandbox.url}/_sandbox/truth", params={"platform": "feeds"}, timeout=30).json()


def _newest(truth: dict[str, Any], account: str, count: int = 20) -> list[dict[str, Any]]:
    posts = [p for p in truth["posts"] if p["account"] == account]
    return sorted(posts, key=lambda p: p["published_at"], reverse=True)[:count]


def _entry_text(entry: Any) -> str:
    return html_to_text(entry.content[0].value if "content" in entry else entry.summary)


def test_every_feed_parses_and_matches_the_truth(sandbox: SandboxServer, client: httpx.Client,
                                                 truth: dict[str, Any]) -> None:
    for file, account in SITES.items():
        response = client.get(f"/sites/{file}")
        assert response.status_code == 200 and response.headers["etag"].startswith('"')
        expected_type = "application/atom+xml" if file.endswith(".atom") else ("application/rss+xml", "text/xml")
        assert response.headers["content-type"].split(";")[0] in expected_type
        feed = feedparser.parse(response.content)
        assert not feed.bozo and feed.version == ("atom10" if file.endswith(".atom") else "rss20")
        expected = _newest(truth, account)
        assert len(feed.entries) == len(expected) > 0
        newest = datetime.fromisoformat(expected[0]["published_at"])
        assert parsedate_to_datetime(response.headers["last-modified"]) == newest
        for entry, post in zip(feed.entries, expected, strict=True):
            path = entry.link.removeprefix(sandbox.url)
            assert (entry.get("id") or path) == post["native_id"] and path == post["url"]
            assert entry.title == post["title"] and _entry_text(entry) == post["text"]
            assert datetime.fromtimestamp(calendar.timegm(entry.published_parsed), UTC) == datetime.fromisoformat(post["published_at"])
        page = client.get(feed.entries[0].link)
        assert page.status_code == 200
        assert html_to_text(Selector(page.text).css("#zoom").get() or "") == expected[0]["text"]
    assert client.get("/sites/nosuch.xml").status_code == 404
    assert client.get("/sites/hzly/art/2016/3/1/art_1_99999.html").status_code == 404


def test_conditional_get(sandbox: SandboxServer, client: httpx.Client) -> None:
    counted = sandbox.state.requests["feeds.get"]
    first = client.get("/sites/hzxwb.xml")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    for headers in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'}, {"If-None-Match": "*"},
                    {"If-Modified-Since": modified}):
        answer = client.get("/sites/hzxwb.xml", headers=headers)
        assert answer.status_code == 304 and answer.content == b"" and answer.headers["etag"] == etag
    earlier = format_datetime(parsedate_to_datetime(modified) - timedelta(seconds=1), usegmt=True)
    for headers in ({"If-Modified-Since": earlier}, {"If-None-Match": '"other"', "If-Modified-Since": modified},
                    {"If-Modified-Since": "not a date"}):
        assert client.get("/sites/hzxwb.xml", headers=headers).content == first.content
    assert sandbox.state.requests["feeds.get"] - counted == 8


def test_site_quirks(client: httpx.Client, truth: dict[str, Any]) -> None:
    converted = _newest(truth, SITES["hzwgx.xml"])
    assert all(PINYIN.sub("", p["text"]) == p["clean_text"] for p in converted)
    assert any(PINYIN.search(p["text"]) for p in converted)
    assert any(c in p["clean_text"] for p in converted for c in "國際會議們這縣區") and not any(
        c in p["clean_text"] for p in converted for c in "国际会议们这县区")
    garbled = [p for p in truth["posts"] if p["account"] == SITES["hzzj.xml"] and p["text"] != p["clean_text"]]
    assert garbled
    for post in garbled:
        text, clean = post["text"], post["clean_text"]
        head = next(i for i, (a, b) in enumerate(zip(text, clean, strict=False)) if a != b)
        tail = next(i for i in range(1, len(text)) if text[-i] != clean[-i]) - 1
        assert text[head:len(text) - tail].encode("gbk").decode("utf-8") == clean[head:len(clean) - tail]
    bare = client.get("/sites/hzny.xml")
    assert b"<guid" not in bare.content and all("id" not in e for e in feedparser.parse(bare.content).entries)
    split = feedparser.parse(client.get("/sites/hzyy.xml").content)
    assert all(len(e.summary) < len(e.content[0].value) and "<p>" not in e.summary for e in split.entries)


def test_json_feed_mirrors_the_rss(client: httpx.Client) -> None:
    response = client.get("/sites/hzxwb.json")
    assert response.headers["content-type"] == "application/feed+json; charset=utf-8"
    data = response.json()
    assert data["version"] == "https://jsonfeed.org/version/1.1" and data["feed_url"].endswith("/sites/hzxwb.json")
    rss = feedparser.parse(client.get("/sites/hzxwb.xml").content).entries
    assert [(i["id"], i["url"], i["title"], html_to_text(i["content_html"])) for i in data["items"]] == [
        (e.id, e.link, e.title, _entry_text(e)) for e in rss]
    assert [datetime.fromisoformat(i["date_published"]) for i in data["items"]] == [
        datetime.fromtimestamp(calendar.timegm(e.published_parsed), UTC) for e in rss]
    assert client.get("/sites/hzxwb.json", headers={"If-None-Match": response.headers["etag"]}).status_code == 304


def test_press_releases_are_cross_posted(sandbox: SandboxServer, truth: dict[str, Any]) -> None:
    first_day = datetime.fromisoformat(truth["history_start"]).date()
    press = [p for p in truth["posts"] if p["account"] == SITES["hzxwb.xml"]]
    titles = {press_release(sandbox.state.seed, d).title for d in range(120)}
    days = {datetime.fromisoformat(p["published_at"]).date() for p in press}
    assert {first_day + timedelta(days=d) for d in range((START.date() - first_day).days)} <= days
    assert {p["title"] for p in press} >= {press_release(sandbox.state.seed, (d - first_day).days).title
                                           for d in days}
    others = [p for p in truth["posts"] if p["account"] != SITES["hzxwb.xml"]]
    assert any(p["title"].startswith("【菏泽发布】") and p["title"][6:] in titles for p in others)
    assert any(p["title"] in titles and p["text"].count("\n") == 0 for p in others)


def test_the_clock_adds_entries_and_changes_the_etag() -> None:
    with feeds_sandbox() as server, httpx.Client(base_url=server.url, timeout=10) as client:
        before_truth = server.truth(platforms=["feeds"])
        first = client.get("/sites/hzxwb.xml")
        server.state.set_now(START + timedelta(days=2))
        after_truth = server.truth(platforms=["feeds"])
        assert [p for p in after_truth["posts"] if p["published_at"] <= START.isoformat()] == before_truth["posts"]
        assert len(after_truth["posts"]) > len(before_truth["posts"])
        second = client.get("/sites/hzxwb.xml", headers={"If-None-Match": first.headers["etag"]})
        assert second.status_code == 200 and second.headers["etag"] != first.headers["etag"]
        server.state.set_now(START + timedelta(days=2, seconds=1))
        assert client.get("/sites/hzxwb.xml", headers={"If-None-Match": second.headers["etag"]}).status_code == 304


def test_the_same_seed_gives_identical_bytes() -> None:
    def snapshot(seed: int) -> list[bytes]:
        with feeds_sandbox(seed=seed) as server, httpx.Client(base_url=server.url, timeout=10) as client:
            return [client.get(f"/sites/{file}").content.replace(server.url.encode(), b"ROOT")
                    for file in (*SITES, "hzxwb.json")]

    first = snapshot(3)
    assert snapshot(3) == first
    assert snapshot(4) != first
