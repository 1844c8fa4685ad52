"""The simulated WeChat (API, article pages, RSSHub bridge) over HTTP, against the reference notes and the truth."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import httpx
import pytest
from parsel import Selector

from govmatrix.pipelines.clean import html_to_text
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.sandbox.city import DEPARTMENTS
from govmatrix.sandbox.wechat_tokens import TokenDesk
from govmatrix.tz import SHANGHAI

START = datetime(2016, 4, 1, 10, 0, tzinfo=SHANGHAI)
OWNED = {a.native_id: str(a.options["appid"]) for d in DEPARTMENTS for a in d.accounts
         if a.platform == "wechat" and a.options.get("owned")}
BRIDGED = [a.native_id for d in DEPARTMENTS for a in d.accounts if a.platform == "wechat" and not a.options.get("owned")]
PRESS_APPID = OWNED["gh_hzfb0530"]
NEWS_FIELDS = {"title": str, "author": str, "digest": str, "content": str, "content_source_url": str,
               "thumb_media_id": str, "url": str, "thumb_url": str, "is_deleted": bool}


@contextmanager
def wechat_sandbox(seed: int = 5, faults: str = "none") -> Iterator[SandboxServer]:
    """A running sandbox."""
    with SandboxServer(SandboxConfig(seed=seed, start=START, faults=faults)) as server:
        server.state.stall_seconds, server.state.slow_seconds = 0.05, 0.01
        yield server


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with wechat_sandbox() as server:
        yield server


@pytest.fixture(scope="module")
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def truth(sandbox: SandboxServer) -> dict[str, Any]:
    return httpx.get(f"{sandbox.url}/_sandbox/truth", params={"platform": "wechat"}, timeout=30).json()


def _token(client: httpx.Client, appid: str) -> str:
    params = {"grant_type": "client_credential", "appid": appid, "secret": "sandbox-secret"}
    return str(client.get("/wechat-api/cgi-bin/token", params=params).json()["access_token"])


def _api(client: httpx.Client, path: str, token: str, body: Any) -> dict[str, Any]:
    response = client.post(f"/wechat-api/{path}", params={"access_token": token}, json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; encoding=utf-8"
    data: dict[str, Any] = response.json()
    return data


def _errcode(data: dict[str, Any]) -> int:
    assert set(data) == {"errcode", "errmsg"} and isinstance(data["errmsg"], str)
    return int(data["errcode"])


def _all_published(client: httpx.Client, token: str, count: int = 20) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = _api(client, "cgi-bin/freepublish/batchget", token, {"offset": len(items), "count": count})
        assert page["item_count"] == len(page["item"]) <= count
        items += page["item"]
        if len(items) >= page["total_count"]:
            assert page["total_count"] == len(items)
            return items


def _text_of(page_html: str) -> str:
    return html_to_text(Selector(page_html).css("#js_content").get() or "")


def _script_var(page_html: str, name: str) -> str:
    found = re.search(rf'var {name} = "(.*)";', page_html)
    assert found is not None, name
    return found.group(1)


def test_tokens_and_credential_errors(sandbox: SandboxServer, client: httpx.Client) -> None:
    counted = sandbox.state.requests["wechat.token"]
    ok = client.get("/wechat-api/cgi-bin/token",
                    params={"grant_type": "client_credential", "appid": PRESS_APPID, "secret": "s"}).json()
    assert set(ok) == {"access_token", "expires_in"} and ok["expires_in"] == 7200 and len(ok["access_token"]) >= 100
    cases = {40125: {"appid": PRESS_APPID, "secret": "wrong"}, 40013: {"appid": "wx0000", "secret": "s"},
             41004: {"appid": PRESS_APPID, "secret": ""}, 41002: {"secret": "s"}}
    for code, params in cases.items():
        answer = client.get("/wechat-api/cgi-bin/token", params={"grant_type": "client_credential", **params})
        assert _errcode(answer.json()) == code
    stable = {"grant_type": "client_credential", "appid": PRESS_APPID, "secret": "s"}
    first = client.post("/wechat-api/cgi-bin/stable_token", json=stable).json()
    assert client.post("/wechat-api/cgi-bin/stable_token", json=stable).json() == first
    assert _errcode(client.get("/wechat-api/cgi-bin/stable_token").json()) == 43002
    forced = client.post("/wechat-api/cgi-bin/stable_token", json={**stable, "force_refresh": True}).json()
    assert forced["access_token"] != first["access_token"] and forced["expires_in"] == 7200
    body = {"offset": 0, "count": 1}
    assert _errcode(_api(client, "cgi-bin/freepublish/batchget", first["access_token"], body)) == 40001
    assert "item" in _api(client, "cgi-bin/freepublish/batchget", forced["access_token"], body)
    assert _errcode(_api(client, "cgi-bin/freepublish/batchget", "", body)) == 41001
    assert sandbox.state.requests["wechat.token"] - counted == 9


def test_batchget_pages_to_the_end_and_matches_the_truth(client: httpx.Client, truth: dict[str, Any]) -> None:
    for account, appid in OWNED.items():
        token = _token(client, appid)
        items = _all_published(client, token)
        if appid == PRESS_APPID:
            assert [i["article_id"] for i in _all_published(client, token, count=7)] == [i["article_id"] for i in items]
        times = [i["update_time"] for i in items]
        assert times == sorted(times, reverse=True)
        served = []
        for item in items:
            assert set(item) == {"article_id", "content", "update_time"} and isinstance(item["update_time"], int)
            for idx, news in enumerate(item["content"]["news_item"], start=1):
                assert all(isinstance(news[k], t) for k, t in NEWS_FIELDS.items())
                assert "data-src=" in news["content"] and " src=" not in news["content"]
                if not news["is_deleted"]:
                    stamp = datetime.fromtimestamp(item["update_time"], SHANGHAI).isoformat()
                    served.append((item["article_id"], idx, news["title"], html_to_text(news["content"]), stamp))
        expected = [(p["article_id"], p["idx"], p["title"], p["text"], p["published_at"])
                    for p in truth["posts"] if p["account"] == account]
        assert served and sorted(served) == sorted(expected)
        lean = _api(client, "cgi-bin/freepublish/batchget", token, {"offset": 0, "count": 3, "no_content": 1})
        assert all("content" not in n and n["title"] for i in lean["item"] for n in i["content"]["news_item"])


def test_batchget_rejects_bad_requests(client: httpx.Client) -> None:
    token = _token(client, PRESS_APPID)
    for body in ({"offset": 0, "count": 21}, {"offset": 0, "count": 0}, {"offset": -1, "count": 5},
                 {"offset": "0", "count": 5}):
        assert _errcode(_api(client, "cgi-bin/freepublish/batchget", token, body)) == 40097
    raw = client.post("/wechat-api/cgi-bin/freepublish/batchget", params={"access_token": token}, content=b"{nope")
    assert _errcode(raw.json()) == 47001
    get = client.get("/wechat-api/cgi-bin/freepublish/batchget", params={"access_token": token})
    assert _errcode(get.json()) == 43002
    assert _errcode(_api(client, "cgi-bin/freepublish/batchget", "86_forged", {"offset": 0, "count": 1})) == 40001


def test_datacube_limits_and_follower_history(client: httpx.Client, truth: dict[str, Any]) -> None:
    token = _token(client, PRESS_APPID)
    yesterday, today = "2016-03-31", "2016-04-01"
    limits = {("2016-03-20", "2016-03-27"): 61501, ("2016-03-30", today): 61501, ("2016-03-28", "2016-03-27"): 61501,
              ("2016/03/20", "2016-03-21"): 61500, ("2016-03-20", "2016-02-30"): 61500}
    for (begin, end), code in limits.items():
        answer = _api(client, "datacube/getusercumulate", token, {"begin_date": begin, "end_date": end})
        assert _errcode(answer) == code, (begin, end)
    days = [(datetime(2015, 12, 3) + timedelta(days=n)).date() for n in range(120)]
    cumulate: dict[str, int] = {}
    for week in range(0, len(days), 7):
        span = {"begin_date": days[week].isoformat(), "end_date": days[min(week + 6, len(days) - 1)].isoformat()}
        rows = _api(client, "datacube/getusercumulate", token, span)["list"]
        assert all(set(r) == {"ref_date", "user_source", "cumulate_user"} and r["user_source"] == 0 for r in rows)
        cumulate |= {r["ref_date"]: r["cumulate_user"] for r in rows}
        summary = _api(client, "datacube/getusersummary", token, span)["list"]
        for r in summary:
            assert set(r) == {"ref_date", "user_source", "new_user", "cancel_user"}
            assert r["new_user"] >= 0 and r["cancel_user"] >= 0
        for day in {r["ref_date"] for r in summary} - {days[0].isoformat()}:
            net = sum(r["new_user"] - r["cancel_user"] for r in summary if r["ref_date"] == day)
            before = (datetime.fromisoformat(day) - timedelta(days=1)).date().isoformat()
            if before in cumulate:
                assert net == cumulate[day] - cumulate[before]
    assert max(cumulate) == yesterday and len(cumulate) == 120
    expected = {f["day"]: f["followers"] for f in truth["followers"] if f["account"] == "gh_hzfb0530"}
    assert expected == cumulate
    series = [cumulate[d] for d in sorted(cumulate)]
    assert series[-1] > series[0] and any(b < a for a, b in zip(series, series[1:], strict=False))
    assert {f["account"] for f in truth["followers"]} == set(OWNED)


def test_article_pages_match_the_truth(client: httpx.Client, truth: dict[str, Any]) -> None:
    posts = truth["posts"]
    for post in posts[:: max(1, len(posts) // 40)]:
        page = client.get(post["url"])
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        doc = Selector(page.text)
        assert doc.css("#activity-name::text").get("").strip() == post["title"]
        assert doc.css('meta[property="og:title"]::attr(content)').get() == post["title"]
        ct = int(_script_var(page.text, "ct"))
        assert datetime.fromtimestamp(ct, SHANGHAI).isoformat() == post["published_at"]
        assert _script_var(page.text, "msg_title") == post["title"]
        assert "var msg_desc = " in page.text and doc.css("#js_name::text").get("").strip()
        assert "visibility: hidden" in (doc.css("#js_content::attr(style)").get() or "")
        assert doc.css("#js_content img::attr(data-src)").getall() and not doc.css("#js_content img::attr(src)")
        assert _text_of(page.text) == post["text"]
    assert "参数错误" in client.get("/mp/s/AAAAAAAAAAAAAAAAAAAAAA").text


def test_permanent_links_and_deleted_articles(client: httpx.Client, truth: dict[str, Any]) -> None:
    token = _token(client, OWNED["gh_hzsyj0530"])
    items = _all_published(client, token)
    by_id = {(p["article_id"], p["idx"]): p for p in truth["posts"]}
    deleted = 0
    for item in items:
        for idx, news in enumerate(item["content"]["news_item"], start=1):
            page = client.get(news["url"])
            if news["is_deleted"]:
                deleted += 1
                assert "该内容已被发布者删除" in page.text and (item["article_id"], idx) not in by_id
            else:
                assert _text_of(page.text) == by_id[(item["article_id"], idx)]["text"]
    forged = items[0]["content"]["news_item"][0]["url"].replace("&sn=", "&sn=0")
    assert "参数错误" in client.get(forged).text
    assert deleted + len([p for p in truth["posts"] if p["account"] == "gh_hzsyj0530"]) == sum(
        len(i["content"]["news_item"]) for i in items)


def test_rsshub_bridge_lists_the_latest_articles(sandbox: SandboxServer, client: httpx.Client,
                                                truth: dict[str, Any]) -> None:
    digest_only = 0
    for account in BRIDGED:
        response = client.get(f"/rsshub/wechat/mp/homepage/{account}/1")
        assert response.status_code == 200 and response.headers["content-type"] == "application/xml; charset=utf-8"
        feed = feedparser.parse(response.content)
        assert not feed.bozo and feed.feed.title
        expected = sorted((p for p in truth["posts"] if p["account"] == account),
                          key=lambda p: p["published_at"], reverse=True)
        assert 0 < len(feed.entries) == min(20, len(expected))
        by_url = {p["url"]: p for p in expected}
        for entry in feed.entries:
            assert entry.id == entry.link
            post = by_url[entry.link.removeprefix(sandbox.url)]
            assert entry.title == post["title"]
            published = datetime.fromtimestamp(calendar.timegm(entry.published_parsed), UTC)
            assert published == datetime.fromisoformat(post["published_at"])
            described = html_to_text(entry.description)
            if described != post["text"]:
                assert post["text"].replace("\n", "").startswith(described) and len(described) <= 54
                digest_only += 1
        newest = {e.link.removeprefix(sandbox.url) for e in feed.entries}
        assert newest == {p["url"] for p in expected[:20]}
    assert digest_only
    assert client.get("/rsshub/wechat/mp/homepage/MzAwMDAwMDAwMA==/1").status_code == 404


def test_hostile_tokens_die_and_a_retrying_client_gets_everything() -> None:
    with wechat_sandbox(faults="hostile") as server, httpx.Client(base_url=server.url, timeout=10) as client:
        codes: list[int] = []
        token = ""

        def call(path: str, body: dict[str, Any]) -> dict[str, Any]:
            nonlocal token
            for _ in range(60):
                try:
                    response = client.post(f"/wechat-api/{path}", params={"access_token": token}, json=body)
                    data = response.json() if response.status_code == 200 else {"errcode": -1}
                except (httpx.HTTPError, ValueError):
                    continue
                code = data.get("errcode", 0)
                codes.append(code)
                if code in (40001, 42001, 41001):
                    token = _token_retrying(client)
                    continue
                if code:
                    continue
                return data
            raise AssertionError("no answer after 60 attempts")

        items: list[dict[str, Any]] = []
        while True:
            page = call("cgi-bin/freepublish/batchget", {"offset": len(items), "count": 5})
            items += page["item"]
            if len(items) >= page["total_count"]:
                break
        week = call("datacube/getusercumulate", {"begin_date": "2016-03-25", "end_date": "2016-03-31"})
        assert {40001, 42001} & set(codes) and 45009 in codes
        expected = server.truth(platforms=["wechat"], accounts=["gh_hzfb0530"])
        served = {(i["article_id"], idx) for i in items
                  for idx, news in enumerate(i["content"]["news_item"], start=1) if not news["is_deleted"]}
        assert served == {(p["article_id"], p["idx"]) for p in expected["posts"]}
        assert [r["cumulate_user"] for r in week["list"]] == [f["followers"] for f in expected["followers"][-7:]]


def _token_retrying(client: httpx.Client) -> str:
    for _ in range(30):
        try:
            return _token(client, PRESS_APPID)
        except (httpx.HTTPError, ValueError, KeyError):
            continue
    raise AssertionError("no token after 30 attempts")


def test_the_clock_expires_tokens_and_adds_content() -> None:
    with wechat_sandbox() as server, httpx.Client(base_url=server.url, timeout=10) as client:
        old, new = _token(client, PRESS_APPID), _token(client, PRESS_APPID)
        probe = {"offset": 0, "count": 20}
        before = _api(client, "cgi-bin/freepublish/batchget", old, probe)  # the old token's 5 minutes of grace
        server.state.set_now(START + timedelta(minutes=6))
        assert _errcode(_api(client, "cgi-bin/freepublish/batchget", old, probe)) == 40001
        server.state.set_now(START + timedelta(days=2))
        assert _errcode(_api(client, "cgi-bin/freepublish/batchget", new, probe)) == 42001
        token = _token(client, PRESS_APPID)
        after = _api(client, "cgi-bin/freepublish/batchget", token, probe)
        assert after["total_count"] > before["total_count"]
        added = after["total_count"] - before["total_count"]
        assert after["item"][added:] == before["item"][: 20 - added]
        week = {"begin_date": "2016-03-28", "end_date": "2016-04-02"}
        assert _api(client, "datacube/getusercumulate", token, week)["list"][-1]["ref_date"] == "2016-04-02"


def test_the_same_seed_gives_identical_bytes() -> None:
    def snapshot(seed: int) -> list[bytes]:
        with wechat_sandbox(seed=seed) as server, httpx.Client(base_url=server.url, timeout=10) as client:
            token = _token(client, PRESS_APPID)
            urls = [p["url"] for p in server.truth(platforms=["wechat"])["posts"][:5]]
            responses = [client.post("/wechat-api/cgi-bin/freepublish/batchget", params={"access_token": token},
                                     json={"offset": 0, "count": 20}),
                         client.post("/wechat-api/datacube/getusersummary", params={"access_token": token},
                                     json={"begin_date": "2016-03-25", "end_date": "2016-03-31"}),
                         client.get(f"/rsshub/wechat/mp/homepage/{BRIDGED[0]}/1"),
                         *(client.get(url) for url in urls)]
            return [token.encode()] + [r.content.replace(server.url.encode(), b"ROOT") for r in responses]

    first = snapshot(21)
    assert snapshot(21) == first
    assert snapshot(22) != first


def test_a_token_killed_by_the_hostile_profile_stays_dead() -> None:
    desk = TokenDesk(seed=3)
    token, _ = desk.issue("wx1", "token", START)
    results = [desk.check(token, START, hostile=True) for _ in range(20)]
    first_dead = next(i for i, (appid, _) in enumerate(results) if appid is None)
    assert 3 <= first_dead <= 12 and all(appid == "wx1" for appid, _ in results[:first_dead])
    codes = {code for _, code in results[first_dead:]}
    assert len(codes) == 1 and codes <= {40001, 42001}
    fresh, _ = desk.issue("wx1", "token", START)
    assert desk.check(fresh, START, hostile=True) == ("wx1", 0)
    calm, _ = desk.issue("wx2", "token", START)
    assert all(desk.check(calm, START, hostile=False) == ("wx2", 0) for _ in range(50))
