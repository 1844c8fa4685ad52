"""The Discuz! parser against hand-made pages in tests/fixtures/forum/handmade.

The pages were written by hand in the shape the real templates render. The sandbox and its truth
were not used for them. The templates read:

* X3.4: ``codersclub/DiscuzX`` HEAD c555a4fa (2023-05-21), ``upload/template/default/forum/``
  ``forumdisplay.htm``, ``forumdisplay_list.htm``, ``viewthread.htm``, ``viewthread_node.htm``
  (``<div id="favatarPID" class="pls cl favatar">`` since commit bb9e1f39, 2022-02-08),
  ``viewthread_node_body.htm``, ``discuzcode.htm`` (``tpl_quote``, ``attachinpost``),
  ``common/showmessage.htm``, plus ``source/function/function_discuzcode.php``,
  ``function_core.php`` (``dgmdate``, ``cutstr``), ``source/class/helper/helper_page.php``
  (``multi``), ``source/include/post/post_newreply.php`` (the ``[quote]`` of a reply).
* X3.2: ``branchzero/discuz-x32-php7`` commit 867f0ba ("Discuz_X3.2_SC_UTF8 20150609"), the same
  paths without ``upload/`` (``<div id="favatarPID" class="pls favatar">``).
* X2: ``langyo/docker_discuz_x2`` (``DISCUZ_VERSION 'X2'``, release 20130201),
  ``upload/template/default/forum/viewthread.htm`` and ``viewthread_node.htm``. This is the only
  template found without a ``favatar`` wrapper: ``td.pls`` holds ``div.pi > div.authi`` directly.
  Every X3.x template read (X3 20130620, X3.1, X3.2, X3.3, X3.4) has the wrapper.

The expected ``*.expected.json`` were worked out from the HTML, not by running the parser. The
rules used for a post's ``text`` (the quote taken out) are:

* ``<br>`` ends a line.
* The start and end of a block element (p, div, li, ul, blockquote, tr, headings) end the current
  line unless it is empty.
* Whitespace in the source, line feeds included, is a space and never a line break.
* Content hidden with ``display: none`` is not text. This is the attachment's hover tip: file
  name, size, "下载附件", "保存到相册", upload time.
* An image is its ``alt`` text (Discuz smileys have ``alt=""``) and a link is its text.
* Entities are unescaped, each line is stripped and blank lines at both ends are dropped. A blank
  line made by two ``<br>`` in a row stays.

``media`` holds the ``zoomfile`` (the full image; ``file`` is the thumbnail) made absolute
against the page. Every relative time on these pages has its absolute time in ``span@title``, as
``dgmdate()`` renders it. ``now`` below is the moment each page was rendered, which is also the
time in the page footer ("GMT+8, 2024-6-6 10:30").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from govmatrix.crawlers import forum_parse as fp

HANDMADE = Path(__file__).resolve().parent.parent / "fixtures" / "forum" / "handmade"

NOW_2024 = datetime.fromisoformat("2024-06-06T10:30:00+08:00")  # board 菏泽在线 (X3.4), both thread pages and the list
NOW_2016 = datetime.fromisoformat("2016-06-06T10:30:00+08:00")  # boards 曹州社区 (X3.2, GBK) and 郓城在线 (X2)


@dataclass(frozen=True)
class Page:
    name: str  # file name without .html
    kind: str  # "list", "thread" or "message"
    content_type: str | None  # the response header; None: the charset is only in the <meta>
    now: datetime
    requested: int = 1
    tid: str = ""  # thread pages and the thread-page request that got a message
    page_url: str = ""
    template: str = ""

    @property
    def body(self) -> bytes:
        return (HANDMADE / f"{self.name}.html").read_bytes()

    @property
    def expected(self) -> dict[str, Any]:
        return json.loads((HANDMADE / f"{self.name}.expected.json").read_text(encoding="utf-8"))

    def __str__(self) -> str:
        return self.name


PAGES = [
    Page("forumdisplay_x34_utf8_p1", "list", "text/html; charset=utf-8", NOW_2024,
         template="X3.4 forumdisplay_list.htm: announcement row, a sticky, thread types, page 1 of 3"),
    Page("forumdisplay_x32_gbk_p2", "list", None, NOW_2016, requested=2,
         template="X3.2 forumdisplay_list.htm, GBK named in the <meta> only, page 2 of 3"),
    Page("viewthread_x34_utf8_58213_p1", "thread", "text/html; charset=utf-8", NOW_2024, tid="58213",
         page_url="http://bbs.hezeonline.example/forum.php?mod=viewthread&tid=58213&extra=page%3D1",
         template="X3.4 viewthread_node.htm (pls cl favatar), 楼主..5#, quote + lazy attachment, <p> paragraphs"),
    Page("viewthread_x34_utf8_58190_p2", "thread", "text/html; charset=UTF-8", NOW_2024, requested=2, tid="58190",
         page_url="http://bbs.hezeonline.example/forum.php?mod=viewthread&tid=58190&extra=page%3D1&page=2",
         template="X3.4, page 2 of 2: div#tath instead of the counts, absolute times, a [list]"),
    Page("viewthread_x32_gbk_3071_p1", "thread", "text/html; charset=GBK", NOW_2016, tid="3071",
         page_url="http://www.caozhou.example/forum.php?mod=viewthread&tid=3071&extra=page%3D1",
         template="X3.2 viewthread_node.htm (pls favatar), GBK, default floors 1#..6#, a multi-line quote"),
    Page("viewthread_x2_utf8_8842_p1", "thread", "text/html; charset=utf-8", NOW_2016, tid="8842",
         page_url="http://bbs.yuncheng.example/forum.php?mod=viewthread&tid=8842&extra=page%3D1",
         template="X2 viewthread_node.htm: no favatar wrapper, a#thread_subject"),
    Page("message_x34_utf8_gone", "message", "text/html; charset=utf-8", NOW_2024, tid="58299",
         template="X3.4 common/showmessage.htm, alert_error (thread_nonexistence)"),
    Page("message_x32_gbk_login", "message", None, NOW_2016,
         template="X3.2 common/showmessage.htm with login: main_succeed + alert_info (viewperm_login_nopermission)"),
]
LISTS = [p for p in PAGES if p.kind == "list"]
THREADS = [p for p in PAGES if p.kind == "thread"]
MESSAGES = [p for p in PAGES if p.kind == "message"]
POSTS = [pytest.param(page, index, id=f"{page.name}-{post['pid']}")
         for page in THREADS for index, post in enumerate(page.expected["posts"])]


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def shown(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (str, dict, list)) else repr(value)


def differences(where: str, pairs: list[tuple[str, Any, Any]]) -> list[str]:
    """'field: got X, expected Y' for each (field, got, expected) that differs."""
    return [f"{where} {name}:\n    got      {shown(got)}\n    expected {shown(want)}"
            for name, got, want in pairs if got != want]


def parse_thread(page: Page) -> fp.ThreadPage:
    return fp.parse_thread_page(page.body, page.content_type, page.now, account="handmade", tid=page.tid,
                                requested=page.requested, page_url=page.page_url)


def post_text(post: fp.ForumPost) -> str:
    """The readable text of a post: ``text`` when the parser gives it, else the project's reading of ``body``."""
    if hasattr(post, "text"):
        return post.text
    from govmatrix.pipelines.clean import html_to_text

    return html_to_text(post.body)


def media_urls(post: fp.ForumPost) -> list[str]:
    return [item["url"] if isinstance(item, dict) else str(item) for item in post.media]


def test_every_fixture_has_its_expectation_and_the_gbk_pages_are_gbk() -> None:
    names = {path.name.removesuffix(".html") for path in HANDMADE.glob("*.html")}
    assert names == {page.name for page in PAGES}, "fixture files and the PAGES table differ"
    for page in PAGES:
        assert (HANDMADE / f"{page.name}.expected.json").is_file(), f"{page.name}: no .expected.json"
        if "_gbk_" in page.name:
            text = page.body.decode("gbk")  # really GBK: strict decoding works, UTF-8 does not
            with pytest.raises(UnicodeDecodeError):
                page.body.decode("utf-8")
            assert 'content="text/html; charset=gbk"' in text[:400], f"{page.name}: GBK not declared in the <meta>"


@pytest.mark.parametrize("page", LISTS, ids=str)
def test_list_page(page: Page) -> None:
    want = page.expected
    got = fp.parse_list_page(page.body, page.content_type, page.now, account="handmade", requested=page.requested)
    problems = differences(page.name, [("page", got.page, want["page"]), ("pages", got.pages, want["pages"]),
                                       ("tids in order", [t.tid for t in got.threads],
                                        [t["tid"] for t in want["threads"]])])
    by_tid = {t.tid: t for t in got.threads}
    for row in want["threads"]:
        thread = by_tid.get(row["tid"])
        if thread is None:
            continue  # already reported by "tids in order"
        problems += differences(f"{page.name} tid {row['tid']}", [
            ("subject", thread.subject, row["subject"]), ("author", thread.author, row["author"]),
            ("replies", thread.replies, row["replies"]), ("views", thread.views, row["views"]),
            ("sticky", thread.sticky, row["sticky"]), ("created", thread.created, at(row["created"])),
            ("last_post_at", thread.last_post_at, at(row["last_post_at"]))])
    assert not problems, f"{page.template}\n" + "\n".join(problems)


@pytest.mark.parametrize("page", THREADS, ids=str)
def test_thread_page_header(page: Page) -> None:
    want = page.expected
    got = parse_thread(page)
    problems = differences(page.name, [
        ("tid", got.tid, want["tid"]), ("fid", got.fid, want["fid"]), ("subject", got.subject, want["subject"]),
        ("page", got.page, want["page"]), ("pages", got.pages, want["pages"]), ("views", got.views, want["views"]),
        ("replies", got.replies, want["replies"]),
        ("pids in order", [p.pid for p in got.posts], [p["pid"] for p in want["posts"]])])
    assert not problems, f"{page.template}\n" + "\n".join(problems)


@pytest.mark.parametrize(("page", "index"), POSTS)
def test_thread_post(page: Page, index: int) -> None:
    want = page.expected["posts"][index]
    posts = {p.pid: p for p in parse_thread(page).posts}
    assert want["pid"] in posts, f"{page.name}: post {want['pid']} missing; got {sorted(posts)}"
    post = posts[want["pid"]]
    problems = differences(f"{page.name} pid {want['pid']}", [
        ("floor", post.floor, want["floor"]), ("author", post.author, want["author"]),
        ("author_uid", post.author_uid, want["author_uid"]),
        ("published_at", post.published_at, at(want["published_at"])),
        ("text", post_text(post), want["text"]), ("quote", post.quote, want["quote"]),
        ("media", media_urls(post), want["media"])])
    assert not problems, f"{page.template}\n" + "\n".join(problems)


@pytest.mark.parametrize("page", MESSAGES, ids=str)
def test_message_page(page: Page) -> None:
    want = page.expected
    with pytest.raises(fp.DiscuzMessage) as caught:
        if page.tid:  # asked for a thread
            parse_thread(page)
        else:  # asked for a board's list
            fp.parse_list_page(page.body, page.content_type, page.now, account="handmade", requested=page.requested)
    assert want["message"] in str(caught.value), f"{page.name}: message {str(caught.value)!r}"
    assert caught.value.login is want["login"], f"{page.name}: login {caught.value.login}, expected {want['login']}"
