"""Parse tests of the Weibo payloads, from the real-shape fixtures in tests/fixtures/weibo."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govmatrix.crawlers.weibo_parse import (
    apply_long_text,
    is_end_of_list,
    parse_created_at,
    parse_envelope,
    parse_long_text,
    parse_mblog,
    parse_open_envelope,
    parse_open_timeline,
    parse_open_user,
    parse_profile,
    parse_show,
    parse_timeline,
)
from govmatrix.errors import FetchError, LoginRequired, ParseError, RateLimited
from govmatrix.models import FollowerSnapshot, Post
from govmatrix.pipelines.clean import CleanPipeline
from govmatrix.tz import SHANGHAI

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "weibo"
UID = "5512345678"
NOW = datetime(2024, 7, 3, 10, 0, tzinfo=SHANGHAI)


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def expected(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))


def data(name: str) -> dict[str, Any]:
    return parse_envelope(body(name), uid=UID)


def cleaned(post: Post) -> Post:
    """The post as the clean pipeline leaves it (parsers give the body as served)."""
    CleanPipeline().process(post)
    return post


def post_record(post: Post) -> dict[str, Any]:
    record = dataclasses.asdict(cleaned(post))
    for name in ("raw", "body", "text_norm", "flags", "alerts", "minhash", "digest"):
        del record[name]
    record["published_at"] = post.published_at.isoformat()
    return record


def snapshot_record(snapshot: FollowerSnapshot) -> dict[str, Any]:
    record = dataclasses.asdict(snapshot)
    record["taken_at"] = snapshot.taken_at.isoformat()
    return record


def page_record(name: str, now: datetime) -> dict[str, Any]:
    page = parse_timeline(data(name), uid=UID, now=now)
    return {
        "since_id": page.since_id,
        "pinned_ids": page.pinned_ids,
        "long_text_ids": page.long_text_ids,
        "posts": [post_record(post) for post in page.posts],
    }


# ---- created_at ------------------------------------------------------------------------------------


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("value", "now", "expected_time"),
    [
        ("刚刚", NOW, NOW),
        ("12秒前", NOW, NOW - timedelta(seconds=12)),
        ("5分钟前", NOW, NOW - timedelta(minutes=5)),
        ("3小时前", NOW, NOW - timedelta(hours=3)),
        ("今天 08:05", NOW, shanghai(2024, 7, 3, 8, 5)),
        ("昨天 21:47", NOW, shanghai(2024, 7, 2, 21, 47)),
        ("06-14", NOW, shanghai(2024, 6, 14)),
        ("2019-06-14", NOW, shanghai(2019, 6, 14)),
        ("2019-06-14 10:48", NOW, shanghai(2019, 6, 14, 10, 48)),
        ("2019-06-14 10:48:09", NOW, shanghai(2019, 6, 14, 10, 48, 9)),
        # Across midnight: 00:30 in Shanghai is still the previous day in UTC.
        ("昨天 23:50", datetime(2024, 7, 2, 16, 30, tzinfo=UTC), shanghai(2024, 7, 2, 23, 50)),
        ("今天 00:10", datetime(2024, 7, 2, 16, 30, tzinfo=UTC), shanghai(2024, 7, 3, 0, 10)),
        ("1小时前", datetime(2024, 7, 2, 16, 30, tzinfo=UTC), shanghai(2024, 7, 2, 23, 30)),
        # Across a year boundary.
        ("昨天 23:50", shanghai(2025, 1, 1, 0, 30), shanghai(2024, 12, 31, 23, 50)),
        ("12-31", shanghai(2025, 1, 1, 0, 30), shanghai(2024, 12, 31)),
        ("01-01", shanghai(2025, 1, 1, 0, 30), shanghai(2025, 1, 1)),
        ("12-31", datetime(2024, 12, 31, 16, 30, tzinfo=UTC), shanghai(2024, 12, 31)),
        ("01-02", datetime(2024, 12, 31, 16, 30, tzinfo=UTC), shanghai(2024, 1, 2)),
        ("02-29", shanghai(2025, 3, 1, 9, 0), shanghai(2024, 2, 29)),
    ],
)
def test_created_at_short_and_relative_forms(value: str, now: datetime, expected_time: datetime) -> None:
    parsed = parse_created_at(value, now)
    assert parsed == expected_time
    assert parsed.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("value", "expected_time", "offset_hours"),
    [
        ("Fri Jan 15 08:36:13 +0800 2021", shanghai(2021, 1, 15, 8, 36, 13), 8),
        ("Tue May 31 17:46:55 +0800 2011", shanghai(2011, 5, 31, 17, 46, 55), 8),
        ("Sat Dec 23 17:12:54 -0530 2023", datetime(2023, 12, 23, 22, 42, 54, tzinfo=UTC), -5.5),
        ("Mon Jan 1 00:00:00 +0000 2024", datetime(2024, 1, 1, tzinfo=UTC), 0),
    ],
)
def test_created_at_full_form_keeps_its_own_offset(value: str, expected_time: datetime, offset_hours: float) -> None:
    parsed = parse_created_at(value, NOW)
    assert parsed == expected_time
    assert parsed.utcoffset() == timedelta(hours=offset_hours)


@pytest.mark.parametrize(
    "value", ["", "很久以前", "2024/07/03", "Fri Foo 15 08:36:13 +0800 2021", "13-01", "2023-02-29", "15.01.2021"]
)
def test_created_at_unknown_or_impossible_raises(value: str) -> None:
    with pytest.raises(ParseError, match=r"^weibo: .*created_at"):
        parse_created_at(value, NOW)


# ---- envelopes ---------------------------------------------------------------------------------------


def test_envelope_returns_data() -> None:
    assert set(data("timeline_first_page")) >= {"cardlistInfo", "cards"}


@pytest.mark.parametrize(
    "raw",
    [body("end_page"), b'{"ok": 0, "msg": "", "data": {"cards": []}}'],
)
def test_envelope_end_of_list(raw: bytes) -> None:
    end = parse_envelope(raw, uid=UID)
    assert is_end_of_list(end)
    page = parse_timeline(end, uid=UID, now=NOW)
    assert page.posts == [] and page.is_last
    with pytest.raises(FetchError, match=rf"^weibo {UID}: no such account"):
        parse_profile(end, NOW, uid=UID)


def test_envelope_captcha_is_login_required() -> None:
    with pytest.raises(LoginRequired) as caught:
        parse_envelope(body("captcha"), uid=UID)
    message = str(caught.value)
    assert message.startswith(f"weibo {UID}: ")
    assert "https://m.weibo.cn/captcha?scene=limit&referer=/" in message


def test_envelope_other_failure_is_fetch_error() -> None:
    with pytest.raises(FetchError) as caught:
        parse_envelope(body("bad_request"), uid=UID)
    assert isinstance(caught.value, FetchError) and not isinstance(caught.value, LoginRequired | RateLimited)
    assert str(caught.value).startswith(f"weibo {UID}: ") and "100007" in str(caught.value)


@pytest.mark.parametrize(
    "raw",
    [
        body("timeline_truncated"),
        b"",
        b"<html><body>432</body></html>",
        b"[1, 2]",
        b'{"ok": 1}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_envelope_malformed_is_parse_error(raw: bytes) -> None:
    with pytest.raises(ParseError, match=rf"^weibo {UID}: "):
        parse_envelope(raw, uid=UID)


def test_open_envelope() -> None:
    assert parse_open_envelope(body("open_users_show"), uid=UID)["idstr"] == UID
    with pytest.raises(LoginRequired, match="21332"):
        parse_open_envelope(body("open_error_token"), uid=UID)
    with pytest.raises(RateLimited, match=rf"^weibo {UID}: .*10023"):
        parse_open_envelope(b'{"error_code": 10023, "error": "User requests out of rate limit!"}', uid=UID)
    with pytest.raises(FetchError) as caught:
        parse_open_envelope(b'{"error_code": 20101, "error": "target weibo does not exist!"}', uid=UID)
    assert isinstance(caught.value, FetchError) and not isinstance(caught.value, LoginRequired | RateLimited)


# ---- profile -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["profile_int", "profile_wan"])
def test_profile(name: str) -> None:
    snapshot, profile = parse_profile(parse_envelope(body(name), uid=""), NOW)
    assert {"snapshot": snapshot_record(snapshot), "profile": profile} == expected(name)


def test_profile_lower_bound_and_string_counts() -> None:
    payload = data("profile_wan")
    payload["userInfo"].update(followers_count="100万+", follow_count="1,024", statuses_count="1.2万")
    snapshot, _ = parse_profile(payload, NOW, uid=UID)
    assert (snapshot.followers, snapshot.followers_lower_bound) == (1_000_000, True)
    assert (snapshot.following, snapshot.posts_count) == (1024, 12000)


def test_profile_without_user_info_is_parse_error() -> None:
    with pytest.raises(ParseError, match=rf"^weibo {UID}: profile without userInfo"):
        parse_profile({"tabsInfo": {}}, NOW, uid=UID)


# ---- timeline ----------------------------------------------------------------------------------------


def test_timeline_first_page() -> None:
    assert page_record("timeline_first_page", NOW) == expected("timeline_first_page")


def test_timeline_first_page_details() -> None:
    payload = data("timeline_first_page")
    page = parse_timeline(payload, uid=UID, now=NOW)
    page.posts = [cleaned(post) for post in page.posts]
    # The group's first card and the isTop post are pinned; the card_type 31 search card is no post.
    assert page.pinned_ids == ["4990000000000001", "4871234567890123"]
    assert [post.extra["pinned"] for post in page.posts] == [True, True, False, False, False, False]
    assert page.since_id == "5049400000000000" and not page.is_last
    long_post = page.posts[2]
    assert long_post.text == "汛期将至，感谢@示例市应急管理局 连夜巡查\n防汛提示如下：[赞]"
    assert "全文" not in long_post.html and "<br>" in long_post.html
    assert (long_post.reposts, long_post.likes, long_post.extra["lower_bound_counts"]) == (1_000_000, 12000, ["reposts"])
    assert long_post.raw is payload["cards"][2]["mblog"]
    deleted = page.posts[3]
    assert (deleted.kind, deleted.parent_native_id) == ("repost", "5049630011122233")
    assert deleted.extra["original"] == {"native_id": "5049630011122233", "deleted": True}
    assert deleted.extra["bid"] == "P1aBcDeFg"  # empty bid recovered from the card's scheme
    assert page.posts[4].extra["original"]["author"] == "示例市公安局"
    assert [item["url"][-12:] for item in page.posts[5].media] == ["401e0qa1.jpg", "401e0qa2.jpg", "401e0qa3.jpg"]


def test_timeline_group_rule_only_on_the_first_page() -> None:
    page = parse_timeline(data("timeline_first_page"), uid=UID, now=NOW, first_page=False)
    assert page.pinned_ids == ["4871234567890123"]
    assert page.posts[0].native_id == "4990000000000001" and not page.posts[0].extra["pinned"]


def test_timeline_pinned_markers_at_most_two() -> None:
    page = parse_timeline(data("timeline_pinned_markers"), uid=UID, now=NOW)
    assert page.pinned_ids == ["5060000000000001", "5060000000000002"]
    assert [post.extra["pinned"] for post in page.posts] == [True, True, False, False]
    assert page.since_id == "5069999999999999"


@pytest.mark.parametrize("index", [0, 1, 2], ids=["title-置顶", "proweibotop", "mblogtype-2"])
def test_timeline_each_pinned_marker_alone(index: int) -> None:
    payload = data("timeline_pinned_markers")
    ordinary = payload["cards"][3]
    payload["cards"] = [payload["cards"][index], ordinary]
    page = parse_timeline(payload, uid=UID, now=NOW)
    assert page.pinned_ids == [page.posts[0].native_id]
    assert not page.posts[1].extra["pinned"]


def test_timeline_legacy_forms_and_string_counts() -> None:
    legacy_now = datetime(2019, 6, 26, 16, 20, tzinfo=UTC)  # 2019-06-27 00:20 in Shanghai
    assert page_record("timeline_legacy", legacy_now) == expected("timeline_legacy")


def test_timeline_no_long_text_fetch_for_a_deleted_original() -> None:
    payload = data("timeline_first_page")
    payload["cards"][3]["mblog"]["retweeted_status"]["isLongText"] = True
    page = parse_timeline(payload, uid=UID, now=NOW)
    assert page.long_text_ids == ["5051112223334445", "5049600000000001"]


def test_timeline_post_repeated_in_group_is_kept_once() -> None:
    payload = data("timeline_first_page")
    payload["cards"].append(copy.deepcopy(payload["cards"][0]["card_group"][0]))
    page = parse_timeline(payload, uid=UID, now=NOW)
    assert [post.native_id for post in page.posts].count("4990000000000001") == 1


def test_timeline_pictures_object_map_is_ordered_numerically() -> None:
    mblog = data("timeline_first_page")["cards"][5]["mblog"]
    first, second, third = (mblog["pics"][key] for key in ("0", "1", "2"))
    mblog["pics"] = {"10": third, "2": second, "0": first}
    urls = [item["url"] for item in parse_mblog(mblog, now=NOW).media]
    assert urls == [pic["large"]["url"] for pic in (first, second, third)]


@pytest.mark.parametrize("since_id", [None, 0, "", "0"])
def test_timeline_last_page(since_id: object) -> None:
    payload = data("timeline_pinned_markers")
    payload["cardlistInfo"]["since_id"] = since_id
    assert parse_timeline(payload, uid=UID, now=NOW).is_last


def test_an_unreadable_card_is_skipped_with_a_warning_naming_the_post() -> None:
    payload = data("timeline_pinned_markers")
    payload["cards"][3]["mblog"]["created_at"] = "sometime"
    for key in ("id", "idstr", "mid"):
        payload["cards"][2]["mblog"].pop(key, None)
    page = parse_timeline(payload, uid=UID, now=NOW)
    whole = parse_timeline(data("timeline_pinned_markers"), uid=UID, now=NOW)
    assert len(page.posts) == len(whole.posts) - 2
    assert [post.native_id for post in page.posts] == ["5060000000000001", "5060000000000002"]
    assert page.warnings[0] == "post without an id"
    assert page.warnings[1].startswith("post 5070000000000004: ") and "'sometime'" in page.warnings[1]
    with pytest.raises(ParseError, match=rf"^weibo {UID}: timeline page without a cards list"):
        parse_timeline({"cardlistInfo": {}}, uid=UID, now=NOW)


# ---- long text ---------------------------------------------------------------------------------------


def first_page_post(index: int) -> Post:
    return parse_timeline(data("timeline_first_page"), uid=UID, now=NOW).posts[index]


def full_text(post: Post) -> Post:
    return cleaned(dataclasses.replace(post))


def test_long_text_from_extend_replaces_the_truncated_post() -> None:
    post = first_page_post(2)
    full = cleaned(apply_long_text(post, parse_long_text(data("statuses_extend"))))
    assert full.text == (
        "汛期将至，感谢@示例市应急管理局 连夜巡查\n防汛提示如下：[赞]\n一、关注预警信息；\n"
        "二、远离河道、低洼地带；\n三、遇险拨打 119 & 110。"
    )
    assert full.html.count("<br>") == 4 and 'alt="[赞]"' in full.html
    assert (full.native_id, full.published_at, full.media, full.reposts) == (
        post.native_id, post.published_at, post.media, post.reposts,
    )
    assert post.body != full.body  # the original object is left untouched


def test_long_text_for_a_retweeted_original() -> None:
    post = first_page_post(4)
    full = apply_long_text(post, parse_long_text(data("statuses_show")), mid="5049600000000001")
    assert full.extra["original"]["text"].endswith("三、不到无安全设施、无救护人员的水域游泳。")
    assert full.extra["original"]["author"] == "示例市公安局"
    assert full.body == post.body
    assert post.extra["original"]["text"].endswith("二、不在无家长带领的情况下游泳")


def test_long_text_refuses_a_foreign_or_deleted_original() -> None:
    with pytest.raises(ValueError):
        apply_long_text(first_page_post(4), "全文", mid="1")
    with pytest.raises(ValueError):
        apply_long_text(first_page_post(3), "全文", mid="5049630011122233")


def test_show_gives_the_full_post() -> None:
    post = cleaned(parse_show(data("statuses_show"), now=NOW, uid=UID))
    assert post.native_id == "5049600000000001"
    assert post.published_at == shanghai(2024, 6, 29, 18, 30)
    assert post.text.splitlines()[-1] == "三、不到无安全设施、无救护人员的水域游泳。"
    assert post.author == "示例市公安局"


def test_long_text_fallbacks() -> None:
    show = data("statuses_show")
    del show["longText"]
    # A show answer without longText falls back to its (truncated) text; the 全文 link is dropped on apply.
    fallback = parse_long_text(show)
    assert fallback == show["text"]
    applied = cleaned(apply_long_text(parse_mblog(show, now=NOW), fallback))
    assert applied.text.endswith("二、不在无家长带领的情况下游泳") and "全文" not in applied.html
    with pytest.raises(ParseError, match=rf"^weibo {UID}: long-text answer"):
        parse_long_text({"ok": 1, "reposts_count": 0}, uid=UID)


# ---- Open API ----------------------------------------------------------------------------------------


def test_open_user() -> None:
    snapshot = parse_open_user(json.loads(body("open_users_show")), NOW)
    assert snapshot_record(snapshot) == expected("open_users_show")


def test_open_timeline() -> None:
    page = parse_open_timeline(json.loads(body("open_user_timeline")), NOW, uid=UID)
    assert [post_record(post) for post in page.posts] == expected("open_user_timeline")


def test_open_timeline_without_statuses_is_parse_error() -> None:
    with pytest.raises(ParseError, match=rf"^weibo {UID}: "):
        parse_open_timeline({"total_number": 0}, NOW, uid=UID)
