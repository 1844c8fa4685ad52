"""Parse tests of Discuz! X3 list and thread pages, from the fixtures in tests/fixtures/forum.

The ``forumdisplay_*`` and ``viewthread_*`` pages (GBK declared in header and meta, UTF-8, and GBK
with no charset anywhere) were served by the sandbox (seed 1, clock 2016-05-26 15:50 +08:00);
``truth.json`` is that sandbox's ground truth for them, so the expected values do not come from the
parser under test. ``viewthread_variants.html`` and ``message_login.html`` are written by hand in
the shape of the stock X3.4 templates (author on the right, numbered floors, times without a title,
a quote without its link, a banned post, a lazy attachment image, a GBK login message).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govmatrix.crawlers import forum_parse as fp
from govmatrix.crawlers.charset import declared_charset, decode
from govmatrix.crawlers.forum import thread_posts as raw_thread_posts
from govmatrix.errors import ParseError
from govmatrix.models import REPLY, THREAD, Post
from govmatrix.pipelines.clean import CleanPipeline, html_to_text, sanitize_html
from govmatrix.tz import SHANGHAI

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "forum"
HEADERS: dict[str, str] = json.loads((FIXTURES / "headers.json").read_text(encoding="utf-8"))
TRUTH: dict[str, Any] = json.loads((FIXTURES / "truth.json").read_text(encoding="utf-8"))
NOW = datetime.fromisoformat(TRUTH["now"])
BASE = "https://bbs.example.cn"


def thread_posts(pages: list[fp.ThreadPage], *, base_url: str) -> list[Post]:
    """The thread's posts as the clean pipeline leaves them."""
    posts = raw_thread_posts(pages, base_url=base_url)
    CleanPipeline().process_batch(posts)
    return posts


def page(name: str) -> tuple[bytes, str]:
    return (FIXTURES / name).read_bytes(), HEADERS[name]


def thread_pages(stem: str) -> list[fp.ThreadPage]:
    names = sorted(n for n in HEADERS if n.startswith(stem + "_p"))
    tid = str(TRUTH["exchanges"][["viewthread_gbk", "viewthread_utf8", "viewthread_nocharset"].index(stem)]["tid"])
    pages = []
    for number, name in enumerate(names, start=1):
        body, ctype = page(name)
        pages.append(fp.parse_thread_page(body, ctype, NOW, account="test", tid=tid, requested=number))
    return pages


@pytest.mark.parametrize(("name", "codec"), [
    ("forumdisplay_gbk.html", "gb18030"),
    ("forumdisplay_utf8.html", "utf-8"),
    ("forumdisplay_nocharset.html", "gb18030"),  # detected
    ("viewthread_variants.html", "utf-8"),  # from the <meta>
    ("message_login.html", "gb18030"),  # GBK named in the <meta> only
])
def test_the_charset_comes_from_header_meta_or_detection(name: str, codec: str) -> None:
    decoded = decode(*page(name))
    assert (decoded.codec, decoded.lossy) == (codec, False)
    assert "\ufffd" not in decoded.text
    assert "论坛" in decoded.text


def test_the_header_wins_over_the_meta_and_gbk_reads_as_gb18030() -> None:
    body = b'<meta http-equiv="Content-Type" content="text/html; charset=gbk" />' + "𠀀".encode("gb18030")
    assert declared_charset(body, "text/html; charset=UTF-8") == "UTF-8"
    assert declared_charset(body, "text/html") == "gbk"
    assert decode(body, "text/html").text.endswith("𠀀")  # only GB18030 has this character


@pytest.mark.parametrize("name", ["forumdisplay_gbk.html", "forumdisplay_utf8.html", "forumdisplay_nocharset.html"])
def test_list_pages_give_reply_counts_and_last_posts_of_the_truth(name: str) -> None:
    listing = fp.parse_list_page(*page(name), NOW, account="test")
    assert (listing.page, len(listing.threads)) == (1, 20)
    assert listing.pages > 1
    for thread in listing.threads:
        truth = TRUTH["threads"][thread.tid]
        assert thread.replies == truth["posts"] - 1
        assert thread.last_post_at == datetime.fromisoformat(truth["last"]).replace(second=0)
        assert thread.created == datetime.fromisoformat(truth["first"]).replace(hour=0, minute=0, second=0)
        assert thread.sticky == thread.subject.startswith("【置顶】")
        assert thread.subject and thread.author
    ordinary = [t.last_post_at for t in listing.threads if not t.sticky and t.last_post_at is not None]
    assert ordinary == sorted(ordinary, reverse=True)  # last post first


def _record(post: Any) -> dict[str, Any]:
    quote = post.extra.get("quote")
    return {"native_id": post.native_id, "kind": post.kind, "title": post.title, "text": post.text,
            "published_at": post.published_at.isoformat(), "url": post.url.removeprefix(BASE),
            "parent_native_id": post.parent_native_id, "comments": post.comments, "reads": post.reads,
            "floor": post.extra["floor"], "author": post.author, "tid": int(post.extra["tid"]),
            "quote_pid": int(quote["pid"]) if quote else None}


@pytest.mark.parametrize("stem", ["viewthread_gbk", "viewthread_utf8", "viewthread_nocharset"])
def test_every_post_of_a_thread_equals_the_truth(stem: str) -> None:
    pages = thread_pages(stem)
    assert [p.page for p in pages] == list(range(1, pages[0].pages + 1))
    posts = thread_posts(pages, base_url=BASE + "/forum")
    tid = int(pages[0].tid)
    keys = ("native_id", "kind", "title", "text", "published_at", "url", "parent_native_id", "comments", "reads",
            "floor", "author", "tid", "quote_pid")
    expected = [{k: p[k] for k in keys} for p in TRUTH["posts"] if p["tid"] == tid]
    assert [_record(p) for p in posts] == expected
    assert any(p.extra.get("quote") for p in posts)  # the fixture does hold quoted replies


def test_relative_times_are_read_from_the_span_title() -> None:
    [first] = thread_pages("viewthread_gbk")[:1]
    shown = [p.published_at for p in first.posts]
    assert shown[0] == datetime(2016, 5, 26, 15, 0, tzinfo=SHANGHAI)  # shown as "半小时前"
    assert all(NOW - timedelta(hours=1) <= t <= NOW for t in shown)


def test_a_quoted_reply_keeps_only_its_new_text() -> None:
    posts = thread_posts(thread_pages("viewthread_utf8"), base_url=BASE)
    by_id = {p.native_id: p for p in posts}
    quoting = next(p for p in posts if p.extra.get("quote"))
    quote = quoting.extra["quote"]
    quoted = by_id[quote["pid"]]
    assert quote["author"] == quoted.author
    assert quote["text"] and quote["text"] not in quoting.text
    assert quoted.text.replace("\n", " ").startswith(quote["text"].removesuffix(" ...").replace("\n", " "))


def test_stock_template_variants() -> None:
    body, ctype = page("viewthread_variants.html")
    now = datetime(2024, 5, 23, 12, 0, tzinfo=SHANGHAI)
    url = "https://bbs.example.cn/forum.php?mod=viewthread&tid=556677&page=2"
    parsed = fp.parse_thread_page(body, ctype, now, account="test", tid="556677", requested=2, page_url=url)
    assert (parsed.page, parsed.pages, parsed.fid, parsed.subject) == (2, 3, "42", "关于中华路路灯的问题")
    first, answer, chat, banned = parsed.posts
    assert [p.pid for p in parsed.posts] == ["9001", "9002", "9003", "9004"]
    assert [p.floor for p in parsed.posts] == [11, 12, 13, 14]
    assert [p.author for p in parsed.posts] == ["市民张三", "健康菏泽", "单县老王", "曹州网友"]
    assert first.author_uid == "10021"
    assert first.published_at == datetime(2024, 5, 20, 10, 20, 30, tzinfo=SHANGHAI)  # title, not "3 天前"
    assert answer.published_at == datetime(2024, 5, 21, 8, 15, tzinfo=SHANGHAI)  # "前天 08:15"
    assert chat.published_at == datetime(2024, 5, 23, 11, 30, tzinfo=SHANGHAI)  # "半小时前"
    assert html_to_text(first.body) == "中华路与长江路路口的路灯已经坏了一周，晚上很黑。\n请问什么时候能修好？"
    assert answer.quote == {"pid": "9001", "author": "市民张三",
                            "text": "中华路与长江路路口的路灯已经坏了一周，晚上很黑。 ..."}
    assert html_to_text(answer.body) == "您好，已转交市城管局路灯管理所。\n请留意后续回复。\n现场照片"
    assert "blockquote" not in sanitize_html(answer.body) and "路灯管理所" in sanitize_html(answer.body)
    assert answer.media == [{"type": "image", "url": "https://bbs.example.cn/data/attachment/forum/202405/21/lamp.jpg"}]
    assert chat.quote == {"text": "楼上说得对"}
    assert html_to_text(chat.body) == "顶一下 & 关注"
    assert html_to_text(banned.body) == "提示: 作者被禁止或删除 内容自动屏蔽"


def test_replies_hang_from_the_first_floor_and_pages_are_merged_once() -> None:
    pages = thread_pages("viewthread_nocharset")
    posts = thread_posts(pages + pages[1:2], base_url=BASE)
    ids = [p.native_id for p in posts]
    assert len(ids) == len(set(ids)) == sum(len(p.posts) for p in pages)
    assert posts[0].kind == THREAD and posts[0].parent_native_id is None
    assert {p.kind for p in posts[1:]} == {REPLY}
    assert {p.parent_native_id for p in posts[1:]} == {posts[0].native_id}


def test_message_pages_say_gone_or_login() -> None:
    with pytest.raises(fp.DiscuzMessage, match="指定的主题不存在") as gone:
        fp.parse_thread_page(*page("message_gone.html"), NOW, account="test", tid="1")
    assert gone.value.login is False
    with pytest.raises(fp.DiscuzMessage, match="没有权限访问该版块") as login:
        fp.parse_list_page(*page("message_login.html"), NOW, account="test")
    assert login.value.login is True
    assert str(login.value).startswith("forum test: ")


@pytest.mark.parametrize("body", [b"<html><body><p>\xe9\xa2\x91\xe7\xb9\x81\xe5\x88\xb7\xe6\x96\xb0</p></body></html>",
                                  b"", b"{\"Variables\": {}}"])
def test_pages_of_another_shape_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError, match="^forum test: "):
        fp.parse_list_page(body, "text/html", NOW, account="test")
    with pytest.raises(ParseError, match="^forum test: "):
        fp.parse_thread_page(body, "text/html", NOW, account="test", tid="1")


@pytest.mark.parametrize(("title", "shown", "expected"), [
    ("2016-5-20 10:20:30", "3\xa0天前", datetime(2016, 5, 20, 10, 20, 30)),
    (None, "发表于 2016-5-20 10:20:30", datetime(2016, 5, 20, 10, 20, 30)),
    (None, "2016-5-20", datetime(2016, 5, 20)),
    (None, "刚刚", datetime(2016, 5, 26, 15, 50)),
    (None, "现在", datetime(2016, 5, 26, 15, 50)),
    (None, "12\xa0秒前", datetime(2016, 5, 26, 15, 49, 48)),
    (None, "半小时前", datetime(2016, 5, 26, 15, 20)),
    (None, "5 分钟前", datetime(2016, 5, 26, 15, 45)),
    (None, "2\xa0小时前", datetime(2016, 5, 26, 13, 50)),
    (None, "昨天\xa008:15", datetime(2016, 5, 25, 8, 15)),
    (None, "前天 23:59", datetime(2016, 5, 24, 23, 59)),
    (None, "4\xa0天前", datetime(2016, 5, 22, 15, 50)),
    ("", "不是时间", None),
])
def test_discuz_time_forms(title: str | None, shown: str, expected: datetime | None) -> None:
    value = fp.parse_discuz_time(title, shown, NOW)
    assert value == (expected.replace(tzinfo=SHANGHAI) if expected else None)
