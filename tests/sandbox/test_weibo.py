"""The simulated m.weibo.cn, fetched over HTTP and checked against shared/reference/weibo.md and the truth."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from govmatrix.crawlers import weibo_parse as wbp
from govmatrix.crawlers.values import parse_count
from govmatrix.pipelines.clean import html_to_text
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.sandbox.weibo_posts import bid_to_mid, mid_to_bid
from govmatrix.tz import SHANGHAI

START = datetime(2016, 4, 1, 9, 30, tzinfo=SHANGHAI)
PRESS = "2810374651"  # 菏泽发布
LEGACY = "5602318845"  # 菏泽林业: pre-2021 relative created_at forms
LEGACY_ACCOUNTS = {LEGACY, "5640092183"}  # and 菏泽消协
PINNED_TWO = PRESS
NO_TABS = "5823301746"  # 菏泽质监
PICS_MAP = "2987610034"  # 菏泽旅游
STANDARD_TIME = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} \+0800 \d{4}")
LEGACY_TIME = re.compile(r"刚刚|\d+分钟前|\d+小时前|昨天 \d{2}:\d{2}|\d{2}-\d{2}|\d{4}-\d{2}-\d{2}")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=11, start=START)) as server:
        yield server


@pytest.fixture(scope="module")
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url("weibo"), timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def truth(sandbox: SandboxServer) -> dict[str, Any]:
    return httpx.get(f"{sandbox.url}/_sandbox/truth", params={"platform": "weibo"}, timeout=30).json()


@pytest.fixture(scope="module")
def crawled(sandbox: SandboxServer, client: httpx.Client) -> dict[str, list[dict[str, Any]]]:
    """Every card of every account, paging with since_id until the list ends."""
    return {uid: list(_cards(client, uid)) for uid in sandbox.platforms["weibo"].posts.by_uid}


def _get(client: httpx.Client, path: str, **params: str) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


def _cards(client: httpx.Client, uid: str) -> Iterator[dict[str, Any]]:
    since_id: str | None = None
    for _ in range(500):
        params = {"type": "uid", "value": uid, "containerid": f"107603{uid}"}
        page = _get(client, "/api/container/getIndex", **params, **({"since_id": since_id} if since_id else {}))
        if page["ok"] == 0:
            assert page == {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
            return
        info = page["data"]["cardlistInfo"]
        assert info["containerid"] == f"107603{uid}" and isinstance(info["total"], int)
        for card in page["data"]["cards"]:
            yield from (card["card_group"] if card["card_type"] == 11 else [card])
        if "since_id" not in info:
            # Past the last page the API answers ok:0.
            last = page["data"]["cards"][-1]
            last = last["card_group"][-1] if last["card_type"] == 11 else last
            assert _get(client, "/api/container/getIndex", **params, since_id=str(int(last["mblog"]["id"]) - 1))[
                "ok"] == 0
            return
        assert isinstance(info["since_id"], int)
        since_id = str(info["since_id"])
    raise AssertionError("the timeline never ended")


def _truth_posts(truth: dict[str, Any], uid: str) -> dict[str, dict[str, Any]]:
    return {p["native_id"]: p for p in truth["posts"] if p["account"] == uid}


def test_profile_has_the_reference_shape(client: httpx.Client, truth: dict[str, Any]) -> None:
    data = _get(client, "/api/container/getIndex", type="uid", value=PRESS)
    assert data["ok"] == 1
    user = data["data"]["userInfo"]
    for key, kind in (("id", int), ("screen_name", str), ("statuses_count", int), ("verified", bool),
                      ("verified_type", int), ("verified_reason", str), ("description", str), ("follow_count", int),
                      ("profile_image_url", str), ("avatar_hd", str), ("gender", str)):
        assert isinstance(user[key], kind), key
    assert user["screen_name"] == "菏泽发布" and user["verified_type"] == 1
    today = [f for f in truth["followers"] if f["account"] == PRESS][-1]
    assert today["day"] == "2016-04-01" and today["followers"] > 280_000
    assert user["followers_count"] == user["followers_count_str"] == today["shown"]
    assert re.fullmatch(r"\d+\.\d万", user["followers_count"])
    followers, lower_bound = parse_count(user["followers_count"])
    assert followers is not None and 0 <= today["followers"] - followers < 1000 and not lower_bound
    tabs = {t["tab_type"]: t for t in data["data"]["tabsInfo"]["tabs"]}
    assert tabs["weibo"]["containerid"] == f"107603{PRESS}" and tabs["weibo"]["apipath"] == "/profile/statuses"
    by_containerid = _get(client, "/api/container/getIndex", containerid=f"100505{PRESS}")
    assert by_containerid == data


def test_small_accounts_show_exact_followers_and_drift_without_tabs(client: httpx.Client,
                                                                    truth: dict[str, Any]) -> None:
    data = _get(client, "/api/container/getIndex", type="uid", value=NO_TABS)["data"]
    assert "tabsInfo" not in data
    today = [f for f in truth["followers"] if f["account"] == NO_TABS][-1]
    assert data["userInfo"]["followers_count"] == today["followers"] and "followers_count_str" not in data["userInfo"]


def test_unknown_accounts_and_posts_answer_ok_0(client: httpx.Client) -> None:
    empty = {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
    assert _get(client, "/api/container/getIndex", type="uid", value="1234567890") == empty
    assert _get(client, "/api/container/getIndex", containerid="1076031234567890") == empty
    assert _get(client, "/statuses/extend", id="4000000000000000")["ok"] == 0
    assert _get(client, "/statuses/show", id="Zz9")["ok"] == 0


def test_paging_to_the_end_serves_exactly_the_truth(crawled: dict[str, list[dict[str, Any]]],
                                                    truth: dict[str, Any]) -> None:
    assert sum(len(cards) for cards in crawled.values()) > 1000
    for uid, cards in crawled.items():
        expected = _truth_posts(truth, uid)
        served = [card["mblog"]["id"] for card in cards]
        assert set(served) == set(expected), uid
        pinned = {mid for mid, post in expected.items() if post["pinned"]}
        # A pinned post shows at the top and again at its own place in the timeline.
        assert len(served) == len(expected) + len(pinned), uid
        ordinary = [mid for mid in served[len(pinned):]]
        assert ordinary == sorted(ordinary, key=int, reverse=True), uid


def test_cards_have_the_reference_fields(crawled: dict[str, list[dict[str, Any]]]) -> None:
    for uid, cards in crawled.items():
        for card in cards:
            assert card["card_type"] == 9
            m = card["mblog"]
            assert m["id"] == m["idstr"] == m["mid"] and m["id"].isdigit()
            assert card["itemid"] == f"107603{uid}_-_{m['id']}"
            assert f"mblogid={mid_to_bid(int(m['id']))}" in card["scheme"]
            assert m["bid"] in ("", mid_to_bid(int(m["id"])))
            assert bid_to_mid(mid_to_bid(int(m["id"]))) == int(m["id"])
            assert m["user"]["id"] == int(uid)
            for key in ("reposts_count", "comments_count", "attitudes_count"):
                assert isinstance(m[key], int) or m[key] == "100万+"
            assert isinstance(m["isLongText"], bool) and isinstance(m["pic_num"], int)
            assert (LEGACY_TIME if uid in LEGACY_ACCOUNTS else STANDARD_TIME).fullmatch(m["created_at"]), m["created_at"]


def test_pinned_posts_and_card_groups(crawled: dict[str, list[dict[str, Any]]], client: httpx.Client,
                                      truth: dict[str, Any]) -> None:
    first = _get(client, "/api/container/getIndex", containerid=f"107603{PRESS}")["data"]["cards"]
    assert first[0]["card_type"] == 11 and first[0]["card_group"][0]["card_type"] == 9
    top = [first[0]["card_group"][0], first[1]]
    for card in top:  # 菏泽发布 pins two posts and shows every marker
        assert card["profile_type_id"].startswith("proweibotop")
        assert card["mblog"]["mblogtype"] == 2 and card["mblog"]["isTop"] == 1
        assert card["mblog"]["title"]["text"] == "置顶"
    ordinary = first[2]["mblog"]
    assert ordinary["mblogtype"] == 0 and "isTop" not in ordinary
    assert parse_time(top[0]["mblog"]) < parse_time(ordinary) - timedelta(days=30)  # old posts, shown first
    pinned = {mid for mid, p in _truth_posts(truth, PRESS).items() if p["pinned"]}
    assert {c["mblog"]["id"] for c in top} == pinned
    # The parser of the real crawler sees them as pinned too.
    page = wbp.parse_timeline(_get(client, "/api/container/getIndex", containerid=f"107603{PRESS}")["data"],
                             uid=PRESS, now=START)
    assert set(page.pinned_ids) == pinned


def test_texts_times_counts_and_media_equal_the_truth(crawled: dict[str, list[dict[str, Any]]],
                                                      truth: dict[str, Any]) -> None:
    checked = 0
    for uid, cards in crawled.items():
        expected = _truth_posts(truth, uid)
        for card in cards:
            m, post = card["mblog"], expected[card["mblog"]["id"]]
            published = datetime.fromisoformat(post["published_at"])
            if uid in LEGACY_ACCOUNTS:
                assert abs(wbp.parse_created_at(m["created_at"], START) - published) < timedelta(days=1)
            else:
                assert wbp.parse_created_at(m["created_at"], START) == published
            if not m["isLongText"]:
                assert html_to_text(m["text"]) == post["text"]
            assert [parse_count(m[k])[0] for k in ("reposts_count", "comments_count", "attitudes_count")] == [
                post["reposts"] if m["reposts_count"] != "100万+" else 1_000_000,
                post["comments"] if m["comments_count"] != "100万+" else 1_000_000,
                post["likes"] if m["attitudes_count"] != "100万+" else 1_000_000]
            pics = m.get("pics") or []
            pics = list(pics.values()) if isinstance(pics, dict) else pics
            images = [media["url"] for media in post["media"] if media["type"] == "image"]
            assert [p["large"]["url"] for p in pics] == images[:9] and m["pic_num"] == len(images)
            checked += 1
    assert checked > 1000


def test_pictures_can_come_as_an_object(crawled: dict[str, list[dict[str, Any]]]) -> None:
    with_pics = [c["mblog"]["pics"] for c in crawled[PICS_MAP] if c["mblog"].get("pics")]
    assert with_pics and all(isinstance(p, dict) and "0" in p for p in with_pics)
    elsewhere = [c["mblog"]["pics"] for c in crawled[PRESS] if c["mblog"].get("pics")]
    assert elsewhere and all(isinstance(p, list) for p in elsewhere)


def test_long_posts_are_cut_and_served_in_full(crawled: dict[str, list[dict[str, Any]]], client: httpx.Client,
                                                truth: dict[str, Any]) -> None:
    long_cards = [(uid, c["mblog"]) for uid, cards in crawled.items() for c in cards if c["mblog"]["isLongText"]]
    assert len(long_cards) > 20
    for uid, m in long_cards[:40]:
        post = _truth_posts(truth, uid)[m["id"]]
        assert m["text"].endswith(f'...<a href="/status/{m["id"]}">全文</a>') and m["textLength"] > 140
        assert len(html_to_text(m["text"])) < len(post["text"])
        extend = _get(client, "/statuses/extend", id=m["id"])
        assert extend["ok"] == 1 and extend["data"]["ok"] == 1
        assert html_to_text(extend["data"]["longTextContent"]) == post["text"]
        show = _get(client, "/statuses/show", id=m["bid"] or mid_to_bid(int(m["id"])))["data"]
        assert show["id"] == m["id"] and STANDARD_TIME.fullmatch(show["created_at"])
        # statuses/show breaks lines with "\n" where the list API writes <br /> (the crawler reads both so)
        assert html_to_text(show["longText"]["longTextContent"].replace("\n", "<br />")) == post["text"]
        detail = client.get(f"/detail/{m['id']}").text
        rendered = re.search(r"var \$render_data = (\[.*?\])\[0\]", detail, re.S)
        assert rendered and json.loads(rendered[1])[0]["status"]["id"] == m["id"]


def test_retweets_and_deleted_originals(crawled: dict[str, list[dict[str, Any]]], truth: dict[str, Any]) -> None:
    deleted = visible = 0
    for uid, cards in crawled.items():
        expected = _truth_posts(truth, uid)
        for card in cards:
            m = card["mblog"]
            post = expected[m["id"]]
            if "retweeted_status" not in m:
                assert post["kind"] == "original" and post["parent_native_id"] is None
                continue
            original = m["retweeted_status"]
            assert post["kind"] == "repost" and post["parent_native_id"] == original["id"]
            if original["user"] is None:
                deleted += 1
                assert post["original"] == {"native_id": original["id"], "deleted": True}
                assert "抱歉" in original["text"] and original["bid"] == ""
                assert m["bid"] == "" and "mblogid=" in card["scheme"]  # recover the bid from the scheme
            else:
                visible += 1
                parsed = wbp.parse_mblog(m, now=START, uid=uid, scheme=card["scheme"])
                assert parsed.extra["original"]["author"] == post["original"]["author"]
                if not original["isLongText"]:
                    assert parsed.extra["original"]["text"] == post["original"]["text"]
    assert deleted > 5 and visible > 20


def test_press_releases_are_cross_posted_with_edits(truth: dict[str, Any]) -> None:
    releases = [p for p in truth["posts"] if p["press_release"]]
    variants = {p["variant"] for p in releases}
    assert variants == {"release", "retweet", "prefixed", "short", "traditional", "hashtag", "teaser", "sourced",
                        "punctuated"}
    by_key: dict[str, set[str]] = {}
    for post in releases:
        by_key.setdefault(post["press_release"], set()).add(post["account"])
    assert max(len(accounts) for accounts in by_key.values()) >= 4
    prefixed = next(p for p in releases if p["variant"] == "prefixed")
    assert prefixed["text"].startswith("【菏泽发布】")
    traditional = next(p for p in releases if p["variant"] == "traditional")
    assert any(ch in traditional["text"] for ch in "發們區後們會與時")
    assert next(p for p in releases if p["variant"] == "hashtag")["text"].startswith("#菏泽#")
    assert "全文" in next(p for p in releases if p["variant"] == "teaser")["text"]
    assert "来源" in next(p for p in releases if p["variant"] == "sourced")["text"]


def test_legacy_accounts_show_relative_times(client: httpx.Client, crawled: dict[str, list[dict[str, Any]]]) -> None:
    forms = {re.sub(r"\d", "N", c["mblog"]["created_at"]) for c in crawled[LEGACY]}
    assert "NNNN-NN-NN" in forms and "NN-NN" in forms  # last year's and this year's dates
    show = _get(client, "/statuses/show", id=crawled[LEGACY][0]["mblog"]["id"])["data"]
    assert STANDARD_TIME.fullmatch(show["created_at"])  # statuses/show always has the exact time


def test_the_whole_first_page_parses_with_the_crawler(client: httpx.Client, truth: dict[str, Any]) -> None:
    for uid in (PRESS, LEGACY, PICS_MAP, NO_TABS):
        data = _get(client, "/api/container/getIndex", containerid=f"107603{uid}")
        if data["ok"] == 0:
            continue
        page = wbp.parse_timeline(data["data"], uid=uid, now=START)
        expected = _truth_posts(truth, uid)
        for post in page.posts:
            assert post.native_id in expected
            assert post.kind == expected[post.native_id]["kind"]


def parse_time(mblog: dict[str, Any]) -> datetime:
    return wbp.parse_created_at(mblog["created_at"], START)
