"""Pure parsing of Discuz! X3 pages: the thread list (``mod=forumdisplay``) and thread pages (``mod=viewthread``).

Bytes, the Content-Type header and ``now`` in; dataclasses out. No I/O, no clock.
The charset is decided by ``charset.decode`` (the declared one when the bytes agree, else UTF-8,
else GB18030, ...). Times are read from ``span@title`` (absolute) before the shown text, whose
relative forms are resolved against ``now``. The author is read from the left column of either
template family (X3.4 wraps it in ``div#favatarPID``; older ones do not) or, failing that, from the
post's header. A quoted reply keeps only its new HTML in ``body``; the quote goes to ``quote``.
A post that cannot be read is skipped with a warning; the rest of the page is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

from parsel import Selector, SelectorList

from govmatrix.crawlers.charset import REPLACEMENT, decode
from govmatrix.crawlers.values import parse_chinese_time, parse_count
from govmatrix.errors import ParseError
from govmatrix.pipelines.clean import html_to_text

PLATFORM = "forum"
_PAGE_COUNT = re.compile(r"共\s*(\d+)\s*页")
_ID_NUMBER = re.compile(r"(?:normalthread|stickthread|post)_(\d+)")
_FLOOR_NAMES = {"楼主": 1, "沙发": 2, "板凳": 3, "地板": 4}
_BEFORE_YESTERDAY = re.compile(r"前天\s*(\d{1,2}:\d{2})")
# Words of Discuz's showmessage() that mean "log in or get more rights", not "gone".
_LOGIN_WORDS = ("登录", "权限", "无法进行此操作")
# Per-post ids as an XPath variable: a CSS "#postmessage_123" is translated anew for every post.
_BY_ID = ".//*[@id=$id]"


class DiscuzMessage(ParseError):
    """Discuz answered with a message box (``div#messagetext``) instead of the page asked for.

    ``login`` is True when the message asks for a login or higher rights, False when the board
    or thread is missing, deleted or under moderation.
    """

    def __init__(self, message: str, *, account: str, login: bool) -> None:
        super().__init__(f"forum says: {message}", platform=PLATFORM, account=account)
        self.login = login


@dataclass(frozen=True)
class ListedThread:
    """One row of a thread list."""

    tid: str
    subject: str
    author: str
    replies: int | None
    views: int | None
    sticky: bool
    created: datetime | None  # day precision: the list shows dates only
    last_post_at: datetime | None  # minute precision


@dataclass(frozen=True)
class ListPage:
    """One page of a board's thread list: ``page`` of ``pages``, in the board's order."""

    page: int
    pages: int
    threads: list[ListedThread]


@dataclass(frozen=True)
class ForumPost:
    """One floor of a thread page. ``body`` is the message's HTML as served, without the quote."""

    pid: str
    floor: int
    author: str
    author_uid: str | None
    published_at: datetime
    body: str
    quote: dict[str, str] | None = None  # {"text", "author", "pid"} of the quoted post, as far as known
    media: list[dict[str, str]] = field(default_factory=list)
    damaged: bool = False  # holds bytes that did not decode (replaced)


@dataclass(frozen=True)
class ThreadPage:
    """One page of a thread; ``warnings`` name the posts that could not be read (skipped)."""

    tid: str
    fid: str | None
    subject: str
    page: int
    pages: int
    views: int | None
    replies: int | None
    posts: list[ForumPost]
    warnings: list[str] = field(default_factory=list)


def parse_discuz_time(title: str | None, shown: str, now: datetime) -> datetime | None:
    """A Discuz time: ``span@title`` when present, else the shown text ("3 天前", "前天 08:15", ...)."""
    for candidate in (title, shown):
        text = " ".join((candidate or "").replace("\xa0", " ").replace("发表于", " ").split())
        if not text:
            continue
        days_back = 0
        if text == "半小时前":
            text = "30分钟前"
        elif text == "现在":
            text = "刚刚"
        elif match := _BEFORE_YESTERDAY.fullmatch(text):
            text, days_back = f"昨天 {match[1]}", 1  # parse_chinese_time knows 昨天, not 前天
        value = parse_chinese_time(text, now)
        if value is not None:
            return value - timedelta(days=days_back)
    return None


def _document(body: bytes, content_type: str | None, account: str) -> tuple[Selector, bool]:
    """The page, and whether some of its bytes did not decode."""
    decoded = decode(body, content_type)
    doc = Selector(text=decoded.text, type="html")  # never sniffed as JSON: a JSON body is not a Discuz page
    message = doc.css("#messagetext p::text").get()
    if message is not None:
        message = message.strip()
        raise DiscuzMessage(message, account=account, login=any(word in message for word in _LOGIN_WORDS))
    return doc, decoded.lossy


def _pager(doc: Selector) -> tuple[int | None, int]:
    """(current page, page count) from the first ``div.pg``; (None, 1) without a pager."""
    pager = doc.css("div.pg")
    if not pager:
        return None, 1
    current = pager[0].css("strong::text").get()
    total = _PAGE_COUNT.search(" ".join(pager[0].css("span::attr(title), span::text").getall()))
    pages = int(total[1]) if total else max([int(n) for n in pager[0].css("a::text, strong::text").re(r"\d+")] or [1])
    return (int(current) if current and current.strip().isdigit() else None), pages


def _time_of(node: SelectorList[Selector], now: datetime) -> datetime | None:
    return parse_discuz_time(node.css("span::attr(title)").get(), " ".join(node.xpath(".//text()").getall()), now)


def _count(value: str | None) -> int | None:
    return parse_count(value.strip())[0] if value else None


def parse_list_page(body: bytes, content_type: str | None, now: datetime, *, account: str,
                    requested: int = 1) -> ListPage:
    """One thread-list page. Raises DiscuzMessage for a message page, ParseError for other HTML."""
    doc, _ = _document(body, content_type, account)
    table = doc.css("#threadlisttableid")
    if not table:
        raise ParseError("no thread list (#threadlisttableid) on the board page", platform=PLATFORM, account=account)
    threads = []
    for row in table.css("tbody[id^=normalthread_], tbody[id^=stickthread_]"):
        number = _ID_NUMBER.fullmatch(row.attrib.get("id", ""))
        if number is None:
            continue
        by = row.css("td.by")
        threads.append(ListedThread(
            tid=number[1], subject=" ".join(row.css("a.xst ::text").getall()).strip(),
            author=(by[:1].css("cite a::text").get() or "").strip(),
            replies=_count(row.css("td.num a::text").get()), views=_count(row.css("td.num em::text").get()),
            sticky=row.attrib["id"].startswith("stickthread_"),
            created=_time_of(by[:1].css("em"), now), last_post_at=_time_of(by[1:2].css("em"), now)))
    current, pages = _pager(doc)
    return ListPage(page=current or requested, pages=pages, threads=threads)


def _floor(node: Selector, pid: str, fallback: int) -> int:
    label = " ".join(node.xpath(_BY_ID + "//text()", id=f"postnum{pid}").getall()).replace("#", "").strip()
    if label.isdigit():
        return int(label)
    return _FLOOR_NAMES.get(label, fallback)


def _quote(message: Selector) -> dict[str, str] | None:
    """The quoted part of a message, removed from it: its text and, when linked, author and pid."""
    blocks = message.css("div.quote") or message.css("blockquote")
    if not blocks:
        return None
    block = blocks[0]
    link = block.css("a[href*='goto=findpost']")
    lines = html_to_text(block.get()).splitlines()
    quote: dict[str, str] = {}
    if link:
        query = parse_qs(urlsplit(link.attrib.get("href", "")).query)
        quote["pid"] = query.get("pid", [""])[0]
        header = " ".join(link.xpath(".//text()").getall()).strip()
        quote["author"] = header.split(" 发表于 ")[0].strip()
        if lines and lines[0].strip() == header:
            lines = lines[1:]
    quote["text"] = "\n".join(lines).strip()
    blocks.drop()
    return {k: v for k, v in quote.items() if v or k == "text"}


def _media(message: Selector, page_url: str) -> list[dict[str, str]]:
    """Attachment images: Discuz lazy-loads them, the real address is in ``file`` or ``zoomfile``."""
    found = []
    for img in message.css("img[file], img[zoomfile]"):
        found.append({"type": "image", "url": urljoin(page_url, img.attrib.get("zoomfile") or img.attrib["file"])})
    return found


# The author's name: the left column (X3.4 wraps it in div#favatarPID.pls.favatar, older templates
# put div.pi straight in td.pls), else the post header (authoronleft = 0).
_AUTHOR_LINKS = ("div.favatar div.authi a.xw1", "td.pls div.authi a.xw1", "div.pls div.authi a.xw1",
                 "td.pls div.authi a[href*='uid=']", "div.pti div.authi a.xi2", "div.pti div.authi a[href*='uid=']")


def _author(node: Selector) -> SelectorList[Selector] | None:
    for query in _AUTHOR_LINKS:
        found = node.css(query)
        if found:
            return found
    return None


def _post(node: Selector, pid: str, fallback_floor: int, now: datetime, page_url: str, account: str,
          lossy: bool) -> tuple[ForumPost, str | None]:
    """One floor and a warning about it, if any; ParseError when it cannot be read at all."""
    published = _time_of(node.xpath(_BY_ID, id=f"authorposton{pid}"), now)
    if published is None:
        raise ParseError(f"post {pid}: no readable time", platform=PLATFORM, account=account)
    author_link = _author(node)
    author = " ".join(author_link.xpath(".//text()").getall()).strip() if author_link else ""
    uid = re.search(r"uid=(\d+)", author_link.attrib.get("href", "")) if author_link else None
    found = node.xpath(_BY_ID, id=f"postmessage_{pid}")
    quote: dict[str, str] | None = None
    media: list[dict[str, str]] = []
    if found:
        quote = _quote(found[0])
        media = _media(found[0], page_url)
        inner = "".join(found[0].xpath("node()").getall())
    else:  # banned or hidden post: Discuz shows a div.locked notice instead of the body
        inner = node.css("div.locked").get() or ""
    post = ForumPost(pid=pid, floor=_floor(node, pid, fallback_floor), author=author,
                     author_uid=uid[1] if uid else None, published_at=published, body=inner.strip(), quote=quote,
                     media=media, damaged=lossy and REPLACEMENT in inner)
    return post, None if author else f"post {pid}: no readable author"


def _board_of(doc: Selector) -> str | None:
    """The thread's board: the last board in the breadcrumbs (``#pt``), else the back-to-list link."""
    crumbs = doc.css("#pt a[href*='mod=forumdisplay']::attr(href)").re(r"fid=(\d+)")
    return crumbs[-1] if crumbs else doc.css("a[href*='mod=forumdisplay']::attr(href)").re_first(r"fid=(\d+)")


def parse_thread_page(body: bytes, content_type: str | None, now: datetime, *, account: str, tid: str,
                      requested: int = 1, page_url: str = "", per_page: int = 10) -> ThreadPage:
    """One thread page. Raises DiscuzMessage for a message page, ParseError for other HTML."""
    doc, lossy = _document(body, content_type, account)
    nodes = doc.xpath("//div[@id='postlist']/div[starts-with(@id, 'post_')]")
    if not doc.css("#postlist") or not nodes:
        raise ParseError(f"thread {tid}: no posts (#postlist) on the page", platform=PLATFORM, account=account)
    current, pages = _pager(doc)
    page = current or requested
    posts, warnings = [], []
    for index, node in enumerate(nodes):
        number = _ID_NUMBER.fullmatch(node.attrib.get("id", ""))
        if number is None:
            continue
        try:
            post, warning = _post(node, number[1], (page - 1) * per_page + index + 1, now, page_url, account, lossy)
        except ParseError as exc:  # one unreadable floor is skipped, the page is kept
            warnings.append(exc.reason)
            continue
        posts.append(post)
        warnings += [warning] if warning else []
    counts = [_count(v) for v in doc.css("td.pls div.hm span.xi1::text").getall()]
    board = _board_of(doc)
    return ThreadPage(tid=tid, fid=board, subject=" ".join(doc.css("#thread_subject ::text").getall()).strip(),
                      page=page, pages=pages, views=counts[0] if counts else None,
                      replies=counts[1] if len(counts) > 1 else None, posts=posts, warnings=warnings)
