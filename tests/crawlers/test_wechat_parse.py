"""Parse tests of the WeChat payloads, from the real-shape fixtures in tests/fixtures/wechat."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from govmatrix.crawlers.feeds_parse import FeedEntry, parse_feed
from govmatrix.crawlers.wechat_parse import (
    DATACUBE_SPAN,
    DatacubeDays,
    TokenRejected,
    article_native_id,
    bridge_post,
    covered_day,
    datacube_windows,
    follower_snapshots,
    msgid_of,
    page_url,
    parse_api,
    parse_article_page,
    parse_article_total,
    parse_batchget,
    parse_cumulate,
    parse_summary,
    parse_token,
    seconds_until_midnight,
    yesterday,
)
from govmatrix.errors import FetchError, LoginRequired, ParseError, RateLimited
from govmatrix.models import ARTICLE, Post
from govmatrix.pipelines.clean import CleanPipeline
from govmatrix.tz import SHANGHAI

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "wechat"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=SHANGHAI)
ACCOUNT = "gh_hzfb0530"
PAGE_URL = "https://mp.weixin.qq.com/s/Jx0dT8lR2vN6bQ4mH7kP1w"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def api(name: str) -> dict[str, Any]:
    return parse_api(raw(name), account=ACCOUNT, now=NOW)


def cleaned(post: Post) -> Post:
    CleanPipeline().process(post)
    return post


# -- API envelopes and errors ---------------------------------------------------------------------------

def test_token_answer() -> None:
    token, expires_in = parse_token(api("stable_token.json"), account=ACCOUNT)
    assert token.startswith("86_") and expires_in == 7200


def test_token_answer_without_token_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_token({"expires_in": 7200}, account=ACCOUNT)


@pytest.mark.parametrize("name", ["error_40001.json", "error_42001.json"])
def test_refused_token_asks_for_a_refresh(name: str) -> None:
    with pytest.raises(TokenRejected, match=rf"^wechat {ACCOUNT}: API error 4\d001: "):
        api(name)


def test_daily_quota_waits_until_the_next_local_midnight() -> None:
    with pytest.raises(RateLimited) as caught:
        api("error_45009.json")
    assert caught.value.retry_after == 12 * 3600  # NOW is noon in Shanghai
    assert "45009" in str(caught.value) and str(caught.value).startswith(f"wechat {ACCOUNT}: ")


def test_midnight_is_local_whatever_the_zone_of_now() -> None:
    assert seconds_until_midnight(datetime(2024, 6, 1, 15, 30, tzinfo=UTC)) == 30 * 60  # 23:30 in Shanghai


@pytest.mark.parametrize("name", ["error_40164.json", "error_48001.json"])
def test_credential_and_permission_errors_need_a_human(name: str) -> None:
    with pytest.raises(LoginRequired) as caught:
        api(name)
    assert not isinstance(caught.value, TokenRejected)


def test_other_errors_are_fetch_errors() -> None:
    with pytest.raises(FetchError) as caught:
        api("error_61501.json")
    assert type(caught.value) is FetchError and "API error 61501: date range error" in str(caught.value)


def test_truncated_json_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="malformed or truncated JSON"):
        parse_api(raw("batchget.json")[:500], account=ACCOUNT, now=NOW)


# -- freepublish/batchget -------------------------------------------------------------------------------

def test_batchget_articles() -> None:
    page = parse_batchget(api("batchget.json"), account=ACCOUNT)
    aid = "Qb3n0l8aXy7Y0Z1uVxK4yWgZs8yQ1dF2h3J4k5L6m7N"
    assert [p.native_id for p in page.posts] == [f"{aid}_1", f"{aid}_3",  # index 2 is deleted
                                                 "Pz9m8L7kJ6hG5fD4sA3qW2eR1tY0uI9oP8lK7jH6gF5_1"]
    assert (page.item_count, page.total_count) == (2, 137)
    first = cleaned(page.posts[0])
    assert first.published_at == datetime.fromtimestamp(1717040000, UTC)
    assert (first.title, first.author, first.kind) == ("菏泽市2024年城区道路改造工程进展情况的通报", "市住建局", ARTICLE)
    assert first.text == ("近日，有市民在论坛咨询城区道路改造进度，现将有关情况通报如下。\n一、中华路改造工程已完成路面铺设\xa0，预计6月底通车；\n"
                          "二、人民路&长江路交叉口改造正在施工。")  # each <p> a line; the 来源 footer goes
    image = "https://mmbiz.qpic.cn/mmbiz_jpg/aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9rS1tU3v/640?wx_fmt=jpeg"
    assert first.media == [{"type": "image", "url": image}]
    assert f'<img src="{image}">' in first.html
    assert "data-src" not in first.html and "style" not in first.html
    assert first.url.startswith("http://mp.weixin.qq.com/s?__biz=MzA4MjQxNjQzMA==&mid=2768628484&idx=1")
    assert first.extra["digest"].startswith("近日，有市民") and first.extra["cover"].startswith("http://mmbiz")
    assert page.posts[1].extra["source_url"] == "https://www.heze.gov.cn/art/2024/5/29/art_1_1.html"


def test_empty_batchget() -> None:
    page = parse_batchget(api("batchget_empty.json"), account=ACCOUNT)
    assert page.posts == [] and page.item_count == 0 and page.total_count == 0


def test_batchget_item_without_update_time_is_a_parse_error() -> None:
    data = api("batchget.json")
    del data["item"][0]["update_time"]
    with pytest.raises(ParseError, match="update_time"):
        parse_batchget(data, account=ACCOUNT)


# -- datacube ---------------------------------------------------------------------------------------------

WEEK = (date(2024, 5, 20), date(2024, 5, 26))


def test_cumulate_and_summary_rows() -> None:
    days = DatacubeDays()
    assert parse_cumulate(api("getusercumulate.json"), account=ACCOUNT, window=WEEK, days=days) == 7
    assert len(days.values) == 7 and days.values[date(2024, 5, 20)] == 120564
    assert days.values[date(2024, 5, 26)] == 121133 and days.warnings == []
    flows = DatacubeDays()
    parse_summary(api("getusersummary.json"), account=ACCOUNT, window=WEEK, days=flows)
    assert flows.values == {date(2024, 5, 20): (3 + 6 + 149, 5 + 1 + 1), date(2024, 5, 21): (2 + 4 + 160, 9 + 0 + 10)}


def row(day: str, total: object, source: int = 0) -> dict[str, object]:
    return {"ref_date": day, "user_source": source, "cumulate_user": total}


def test_invalid_days_are_skipped_with_a_warning_and_the_good_ones_kept() -> None:
    days = DatacubeDays()
    answer = {"list": [row("2024-05-20", 1000), row("2024-05-21", 1004), row("2024-05-21", 5),  # given twice
                       row("2016-01-01", 7), row("2099-01-01", 9),  # outside the window asked
                       row("2024-05-22", "1010"), row("2024-05-23", "很多"), {"user_source": 0, "cumulate_user": 1},
                       row("2024-05-24", 1015, source=1)]}
    assert parse_cumulate(answer, account=ACCOUNT, window=WEEK, days=days) == 6  # rows inside the window
    assert days.values == {date(2024, 5, 20): 1000, date(2024, 5, 22): 1010}
    assert len(days.warnings) == 5
    assert any("2024-05-21 given twice (1004 and 5), dropped" in w for w in days.warnings)
    assert any("outside the window" in w and "2099-01-01" in w for w in days.warnings)


def test_a_datacube_row_without_a_date_is_skipped() -> None:
    days = DatacubeDays()
    parse_cumulate({"list": [{"user_source": 0, "cumulate_user": 1}]}, account=ACCOUNT, window=WEEK, days=days)
    assert days.values == {} and "ref_date" in days.warnings[0]
    with pytest.raises(ParseError, match="without a list"):
        parse_cumulate({"errcode": 0}, account=ACCOUNT, window=WEEK, days=days)


def test_errcode_as_a_string_is_the_same_code() -> None:
    with pytest.raises(TokenRejected):
        parse_api(b'{"errcode": "40001", "errmsg": "invalid credential"}', account=ACCOUNT, now=NOW)
    assert parse_api(b'{"errcode": "0", "list": []}', account=ACCOUNT, now=NOW) == {"errcode": "0", "list": []}


def test_json_nested_too_deep_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_api(b"[" * 100_000 + b"]" * 100_000, account=ACCOUNT, now=NOW)


def test_snapshots_one_per_day_at_the_end_of_the_day() -> None:
    totals, flows = DatacubeDays(), DatacubeDays()
    parse_cumulate(api("getusercumulate.json"), account=ACCOUNT, window=WEEK, days=totals)
    parse_summary(api("getusersummary.json"), account=ACCOUNT, window=WEEK, days=flows)
    snapshots = follower_snapshots(totals.values, flows.values)
    counts = [s for s in snapshots if s.source == "datacube"]
    assert [s.followers for s in counts] == [totals.values[d] for d in sorted(totals.values)]
    assert counts[0].taken_at == datetime.combine(date(2024, 5, 20), time(23, 59, 59), tzinfo=SHANGHAI)
    assert [s.day(SHANGHAI) for s in counts] == sorted(totals.values)
    moves = [s for s in snapshots if s.source == "datacube_flow"]
    assert [(s.day(SHANGHAI), s.followers, s.extra) for s in moves] == [
        (date(2024, 5, 20), None, {"new_user": 158, "cancel_user": 7}),
        (date(2024, 5, 21), None, {"new_user": 166, "cancel_user": 19})]


def test_ninety_days_fit_in_thirteen_windows_of_at_most_seven_days() -> None:
    last = date(2024, 5, 31)
    first = last - timedelta(days=89)
    windows = datacube_windows(first, last)
    assert len(windows) == 13
    assert windows[0][0] == first and windows[-1][1] == last
    assert all(0 <= (end - begin).days < DATACUBE_SPAN for begin, end in windows)
    assert all(nxt[0] == prev[1] + timedelta(days=1) for prev, nxt in zip(windows, windows[1:], strict=False))
    assert datacube_windows(last + timedelta(days=1), last) == []
    assert datacube_windows(date(2010, 1, 1), date(2014, 12, 3)) == [(date(2014, 12, 1), date(2014, 12, 3))]


def test_yesterday_is_local() -> None:
    assert yesterday(datetime(2024, 5, 31, 17, 0, tzinfo=UTC)) == date(2024, 5, 31)  # 01:00 on June 1st locally


def test_covered_day_never_passes_an_empty_answer_or_yesterday() -> None:
    last = date(2024, 5, 31)
    windows = datacube_windows(date(2024, 5, 11), last)  # 11-17, 18-24, 25-31
    resume = date(2024, 5, 11)
    assert covered_day([(windows[0], 7)], last, resume) == date(2024, 5, 17)  # a past window is final
    assert covered_day([(w, 7) for w in windows], last, resume) == date(2024, 5, 24)  # yesterday may not be ready
    assert covered_day([(windows[0], 7), (windows[1], 0), (windows[2], 7)], last, resume) == date(2024, 5, 17)
    assert covered_day([(windows[0], 0)], last, resume) == date(2024, 5, 10)  # nothing covered
    assert covered_day([], last, resume) == date(2024, 5, 10)


# -- the article page ------------------------------------------------------------------------------------

def test_article_page() -> None:
    page = parse_article_page(raw("article_page.html"), url=PAGE_URL, account=ACCOUNT)
    assert (page.title, page.author, page.account_name) == ("第33届菏泽牡丹文化旅游节开幕", "市牡丹办", "菏泽农业")
    assert page.published_at == datetime.fromtimestamp(1713009660, SHANGHAI)
    assert page.publish_day == date(2024, 4, 13) and page.unavailable == ""
    assert page.digest == "4月13日，菏泽市第33届牡丹文化旅游节在曹州牡丹园开幕。"
    assert 'id="js_content"' in page.content and "var ct" not in page.content


def test_window_ct_form_and_day_only_fallback() -> None:
    page = raw("article_page.html").decode()
    window_form = page.replace('var ct = "1713009660";', "window.ct = '1713009660' || '';")
    assert parse_article_page(window_form.encode(), url=PAGE_URL, account=ACCOUNT).published_at == \
        datetime.fromtimestamp(1713009660, SHANGHAI)
    day_only = parse_article_page(page.replace('var ct = "1713009660";', "").encode(), url=PAGE_URL, account=ACCOUNT)
    assert day_only.published_at is None and day_only.publish_day == date(2024, 4, 13)


def test_deleted_article() -> None:
    page = parse_article_page(raw("article_deleted.html"), url=PAGE_URL, account=ACCOUNT)
    assert page.unavailable == "该内容已被发布者删除"


def test_waf_page_and_captcha_redirect_are_rate_limits() -> None:
    with pytest.raises(RateLimited, match="环境异常"):
        parse_article_page(raw("article_captcha.html"), url=PAGE_URL, account=ACCOUNT)
    with pytest.raises(RateLimited):
        parse_article_page(raw("article_page.html"), url="https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?x=1",
                           account=ACCOUNT)


def test_an_article_about_an_environment_anomaly_is_not_a_waf_page() -> None:
    page = raw("article_page.html").decode().replace("开幕当天", "监测发现环境异常后，开幕当天")
    assert "环境异常" in parse_article_page(page.encode(), url=PAGE_URL, account=ACCOUNT).content


def test_a_page_cut_short_is_a_parse_error() -> None:
    body = raw("article_page.html")
    with pytest.raises(ParseError, match="cut short"):
        parse_article_page(body[: len(body) // 2], url=PAGE_URL, account=ACCOUNT)


# -- links and bridge posts --------------------------------------------------------------------------------

@pytest.mark.parametrize(("link", "native_id"), [
    ("https://mp.weixin.qq.com/s/Jx0dT8lR2vN6bQ4mH7kP1w", "Jx0dT8lR2vN6bQ4mH7kP1w"),
    ("http://127.0.0.1:8700/mp/s/Jx0dT8lR2vN6bQ4mH7kP1w", "Jx0dT8lR2vN6bQ4mH7kP1w"),
    ("http://mp.weixin.qq.com/s?__biz=MzI0NTUxMzg2OA==&mid=2247484117&idx=2&sn=8e7d&chksm=8e7d#rd",
     "MzI0NTUxMzg2OA==_2247484117_2"),
    ("http://mp.weixin.qq.com/s?__biz=MzI0NTUxMzg2OA==&appmsgid=2247484117&itemidx=1&sign=ab",
     "MzI0NTUxMzg2OA==_2247484117_1"),
    ("https://example.org/wechat/article-1", "https://example.org/wechat/article-1"),
])
def test_article_native_id(link: str, native_id: str) -> None:
    assert article_native_id(link) == native_id


def test_page_url_moves_mp_links_to_the_configured_host() -> None:
    assert page_url("https://mp.weixin.qq.com/s/abc", "http://127.0.0.1:8700/mp") == "http://127.0.0.1:8700/mp/s/abc"
    assert page_url("http://mp.weixin.qq.com/s?__biz=X&mid=1#rd", "https://mp.weixin.qq.com") == \
        "https://mp.weixin.qq.com/s?__biz=X&mid=1"
    assert page_url("http://127.0.0.1:9/mp/s/abc", "https://mp.weixin.qq.com") == "http://127.0.0.1:9/mp/s/abc"


def bridge_entries() -> list[FeedEntry]:
    return parse_feed(raw("bridge_rsshub.xml"), content_type="application/xml").entries


def test_bridge_post_takes_body_time_and_images_from_the_page() -> None:
    entry = bridge_entries()[0]
    page = parse_article_page(raw("article_page.html"), url=PAGE_URL, account=ACCOUNT)
    post = cleaned(bridge_post(entry, page, native_id="Jx0dT8lR2vN6bQ4mH7kP1w", account=ACCOUNT))
    assert post.published_at == datetime.fromtimestamp(1713009660, SHANGHAI)  # not the bridge's 12:01 GMT
    assert post.text == ("4月13日，菏泽市第33届牡丹文化旅游节在曹州牡丹园开幕。\n本届牡丹节以“牡丹花开\xa0香飘世界”为主题，"
                         "持续至5月10日。\n开幕当天共接待游客<10万>人次。")  # image paragraphs hold no text; no 来源 footer
    assert [m["url"].rsplit("/", 2)[-2][:6] for m in post.media] == ["Hk3Lm5", "Zy8Xw7"]
    assert "data:image/gif" not in post.html and "visibility" not in post.html
    assert (post.title, post.author, post.url, post.kind) == ("第33届菏泽牡丹文化旅游节开幕", "市牡丹办", PAGE_URL, ARTICLE)
    assert post.extra["account_name"] == "菏泽农业"


def test_bridge_post_without_a_page_keeps_the_entry() -> None:
    entry = bridge_entries()[2]
    post = cleaned(bridge_post(entry, None, native_id="n", account=ACCOUNT))
    assert post.published_at == datetime(2024, 4, 12, 1, 30, tzinfo=UTC)
    assert post.text == "当前小麦进入抽穗扬花期，\n各地要抓好“一喷三防”。"
    assert post.media == [{"type": "image", "url": "https://mmbiz.qpic.cn/mmbiz_jpg/Mn4Op6Qr8St0Uv2Wx4Yz6Ab8Cd0Ef2/640?wx_fmt=jpeg"}]


def test_bridge_post_without_any_date_is_a_parse_error() -> None:
    entry = FeedEntry(key="k", title="t", link="", content="x")
    with pytest.raises(ParseError, match="no date"):
        bridge_post(entry, None, native_id="n", account=ACCOUNT)


def test_getarticletotal_takes_each_articles_last_day_and_skips_bad_rows() -> None:
    # hand-written from the documented fields (reference: WeChat datacube getarticletotal)
    data = json.loads((FIXTURES / "datacube_getarticletotal.json").read_text(encoding="utf-8"))
    stats, warnings = parse_article_total(data, account="gh_test", day=date(2024, 5, 20))
    assert [(s.msgid, s.stat_date, s.reads, s.shares, s.favorites) for s in stats] == [
        ("2247483654_1", date(2024, 5, 21), 2704, 141, 18),  # cumulative: the later details row
        ("2247483654_2", date(2024, 5, 20), 356, 9, 1),  # numbers sent as strings
    ]
    assert len(warnings) == 3  # another day's row, a row without details, a negative count
    with pytest.raises(ParseError, match="getarticletotal: answer without a list"):
        parse_article_total({"errcode": 0}, account="gh_test", day=date(2024, 5, 20))


def test_an_articles_msgid_is_the_mid_and_idx_of_its_permanent_link() -> None:
    url = "http://mp.weixin.qq.com/s?__biz=MzA5NjQ0MTY0Mw==&mid=2247483654&idx=2&sn=3b2d#rd"
    assert msgid_of(url) == "2247483654_2"
    assert msgid_of("https://mp.weixin.qq.com/s/AbCdEf") is None
