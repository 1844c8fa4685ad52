"""Pure parsing of Sina Weibo payloads: the m.weibo.cn container API and the Open API.

No I/O and no clock: ``now`` is always a parameter. Errors start with ``weibo <uid>:``.
For the ``ok:0`` "这里还没有内容" answer ``parse_envelope`` returns ``{"end_of_list": True,
"cards": []}`` (test it with ``is_end_of_list``), which ``parse_timeline`` reads as an empty last page.
The comments of a post (``comments/hotflow``, ``comments/hotFlowChild``) are read by
``parse_comment_envelope``, ``parse_hotflow``, ``parse_child_flow`` and ``link_replies``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from govmatrix.crawlers.values import parse_chinese_time, parse_count
from govmatrix.errors import FetchError, LoginRequired, ParseError, RateLimited
from govmatrix.models import REPOST, Comment, FollowerSnapshot, Post
from govmatrix.pipelines.clean import html_to_text

PLATFORM = "weibo"
DETAIL_URL = "https://m.weibo.cn/detail/{}"
MAX_PINNED = 2  # Weibo lets an account pin at most two posts
END_OF_LIST = "end_of_list"
_EMPTY_MESSAGE = "这里还没有内容"
# The "...全文" link that ends a truncated post in the list APIs.
_MORE_LINK = re.compile(r"\s*(?:\.\.\.|…)?\s*<a\b[^>]*>\s*全文\s*</a>\s*$")
_COUNT_FIELDS = (("reposts", "reposts_count"), ("comments", "comments_count"), ("likes", "attitudes_count"))
_PROFILE_FIELDS = ("screen_name", "verified", "verified_type", "verified_reason", "description")
# Open API error codes: 100xx quota exhausted; 213xx token missing, invalid or expired.
_OPEN_RATE_LIMIT_CODES = frozenset({"10004", "10022", "10023", "10024"})

# "Fri Jan 15 08:36:13 +0800 2021", read by hand: strptime's %a/%b depend on the process locale.
_RFC_TIME = re.compile(r"[A-Za-z]{3} ([A-Za-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})")
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


@dataclass
class TimelinePage:
    """One parsed timeline page.

    ``pinned_ids`` are the native ids of the pinned posts on the page (at most two): they are old
    posts shown first and must neither stop an incremental crawl nor become its high-water mark.
    ``long_text_ids`` are the mids (posts and retweeted originals) whose full text must be fetched.
    ``warnings`` say which cards could not be read (they are skipped, the others kept).
    """

    posts: list[Post]
    since_id: str | None  # cursor of the next page; None when this page is the last one
    pinned_ids: list[str] = field(default_factory=list)
    long_text_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_last(self) -> bool:
        """True when there is no further page to fetch."""
        return self.since_id is None


class Refused(FetchError):
    """Weibo answered, but with ``ok:0`` and an error number (20101: no such post, or hidden)."""


def _parse_error(message: str, uid: str) -> ParseError:
    return ParseError(message, platform=PLATFORM, account=uid)


def _rfc_time(match: re.Match[str]) -> datetime:
    offset = timedelta(hours=int(match[7]), minutes=int(match[8]))
    return datetime(
        int(match[9]), _MONTHS[match[1].title()], int(match[2]), int(match[3]), int(match[4]), int(match[5]),
        tzinfo=timezone(-offset if match[6] == "-" else offset),
    )


def parse_created_at(value: str, now: datetime) -> datetime:
    """Read any Weibo ``created_at`` form as a timezone-aware time.

    "Fri Jan 15 08:36:13 +0800 2021" keeps its own offset; the short and relative forms
    ("刚刚", "N分钟前", "昨天 HH:MM", "MM-DD", "YYYY-MM-DD", ...) are read in Asia/Shanghai against
    ``now`` (see ``parse_chinese_time``). Anything else raises ParseError.
    """
    try:
        if match := _RFC_TIME.fullmatch(value.strip()):
            return _rfc_time(match)
        parsed = parse_chinese_time(value, now)
    except (KeyError, ValueError) as exc:  # unknown month name, impossible date
        raise ParseError(f"impossible created_at {value!r}", platform=PLATFORM) from exc
    if parsed is None:
        raise ParseError(f"unknown created_at form {value!r}", platform=PLATFORM)
    return parsed


def is_exact_time(value: object) -> bool:
    """True for the full "Fri Jan 15 08:36:13 +0800 2021" form; the short and relative forms lose
    the seconds or the whole time of day, and ``statuses/show`` must be asked for the exact one."""
    return isinstance(value, str) and _RFC_TIME.fullmatch(value.strip()) is not None


def _load_object(body: bytes, uid: str) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except ValueError as exc:  # orjson.JSONDecodeError (also for bad UTF-8) is a ValueError
        raise _parse_error(f"malformed or truncated JSON ({exc})", uid) from exc
    if not isinstance(document, dict):
        raise _parse_error(f"expected a JSON object, got {type(document).__name__}", uid)
    return document


def is_end_of_list(data: dict[str, Any]) -> bool:
    """True for the data ``parse_envelope`` returns on an ``ok:0`` "这里还没有内容" answer."""
    return data.get(END_OF_LIST) is True


def parse_envelope(body: bytes, *, uid: str) -> dict[str, Any]:
    """Check an m.weibo.cn response and return its ``data``.

    ``ok:0`` with "这里还没有内容" or no cards (end of list, unknown or closed account) returns
    ``{"end_of_list": True, "cards": []}``; ``ok:-100`` raises LoginRequired naming the captcha
    URL; any other ``ok`` raises FetchError; a body that is not a JSON object raises ParseError.
    """
    document = _load_object(body, uid)
    ok = str(document.get("ok"))
    data = document.get("data")
    if ok == "1":
        if not isinstance(data, dict):
            raise _parse_error("ok:1 without a data object", uid)
        return data
    if ok == "-100":
        url = document.get("url") or "no captcha url"
        raise LoginRequired(f"login or captcha required (ok:-100, {url})", platform=PLATFORM, account=uid)
    message = str(document.get("msg") or "")
    if ok == "0" and (_EMPTY_MESSAGE in message or (isinstance(data, dict) and data.get("cards") == [])):
        return {END_OF_LIST: True, "cards": []}
    errno = document.get("errno", "")
    raise Refused(f"unexpected answer ok:{ok} errno:{errno} msg:{message!r}", platform=PLATFORM, account=uid)


def parse_open_envelope(body: bytes, *, uid: str) -> dict[str, Any]:
    """Check an Open API (api.weibo.com) response and return it; error bodies raise."""
    document = _load_object(body, uid)
    if "error_code" not in document:
        return document
    code = str(document["error_code"])
    message = f"Open API error {code}: {document.get('error', '')}"
    if code in _OPEN_RATE_LIMIT_CODES:
        raise RateLimited(message, platform=PLATFORM, account=uid)
    if code.startswith("213"):
        raise LoginRequired(message, platform=PLATFORM, account=uid)
    raise FetchError(message, platform=PLATFORM, account=uid)


def _profile_fields(user: dict[str, Any]) -> dict[str, Any]:
    return {name: user.get(name) for name in _PROFILE_FIELDS}


def _snapshot(user: dict[str, Any], now: datetime, following_field: str) -> FollowerSnapshot:
    followers, lower_bound = parse_count(user.get("followers_count", user.get("followers_count_str")))
    return FollowerSnapshot(
        taken_at=now,
        followers=followers,
        following=parse_count(user.get(following_field))[0],
        posts_count=parse_count(user.get("statuses_count"))[0],
        followers_lower_bound=lower_bound,
        extra=_profile_fields(user),
    )


def _timeline_containerid(data: dict[str, Any], uid: str) -> str:
    tabs = (data.get("tabsInfo") or {}).get("tabs") or []
    for tab in tabs.values() if isinstance(tabs, dict) else tabs:
        if isinstance(tab, dict) and tab.get("tab_type") == "weibo" and tab.get("containerid"):
            return str(tab["containerid"])
    return f"107603{uid}"


def parse_profile(data: dict[str, Any], now: datetime, *, uid: str = "") -> tuple[FollowerSnapshot, dict[str, Any]]:
    """Read ``data.userInfo`` of a profile container.

    Returns the follower snapshot (its ``extra`` holds the profile fields) and the profile fields
    (screen_name, verified, verified_type, verified_reason, description) plus ``containerid``,
    the timeline container (tab ``weibo`` of ``tabsInfo``, else ``107603<uid>``).
    """
    if is_end_of_list(data):
        raise FetchError("no such account, or it is closed (ok:0, 这里还没有内容)", platform=PLATFORM, account=uid)
    user = data.get("userInfo")
    if not isinstance(user, dict):
        raise _parse_error("profile without userInfo", uid)
    account = uid or str(user.get("id") or "")
    profile = _profile_fields(user) | {"containerid": _timeline_containerid(data, account)}
    return _snapshot(user, now, "follow_count"), profile


def _mblog_id(mblog: dict[str, Any], uid: str) -> str:
    for key in ("idstr", "id", "mid"):
        if mblog.get(key):
            return str(mblog[key])
    raise _parse_error("post without an id", uid)


def _strip_more_link(html: str) -> str:
    return _MORE_LINK.sub("", html)


def _body(html: str) -> str:
    # statuses/show and the Open API break lines with "\n" where the list API writes <br />.
    return html.replace("\n", "<br />")


def _visible_html(mblog: dict[str, Any]) -> str:
    html = str(mblog.get("text") or "")
    return _strip_more_link(html) if mblog.get("isLongText") else html


def _bid(mblog: dict[str, Any], scheme: str) -> str:
    """The short id; an empty ``bid`` is recovered from the card's scheme (``?mblogid=``)."""
    if mblog.get("bid"):
        return str(mblog["bid"])
    return parse_qs(urlsplit(scheme).query).get("mblogid", [""])[0]


def _picture(pic: dict[str, Any]) -> dict[str, Any] | None:
    url = (pic.get("large") or {}).get("url") or pic.get("url")
    if not url:
        return None
    kind = pic.get("type") if pic.get("type") in ("livephoto", "video") else "image"
    item: dict[str, Any] = {"type": kind, "url": url, "pid": pic.get("pid")}
    if pic.get("videoSrc"):
        item["video_url"] = pic["videoSrc"]
    return item


def _media(mblog: dict[str, Any]) -> list[dict[str, Any]]:
    pics = mblog.get("pics")
    if isinstance(pics, dict):  # {"0": {...}, "1": {...}}: order the keys numerically
        pics = [pics[key] for key in sorted(pics, key=lambda key: (len(key), key))]
    if isinstance(pics, list):
        return [item for item in (_picture(pic) for pic in pics if isinstance(pic, dict)) if item]
    # The Open API lists thumbnails only; the large size lives at the same path under /large/.
    thumbnails = [str(pic.get("thumbnail_pic") or "") for pic in mblog.get("pic_urls") or [] if isinstance(pic, dict)]
    return [
        {"type": "image", "url": url.replace("/thumbnail/", "/large/"), "pid": url.rsplit("/", 1)[-1].split(".")[0]}
        for url in thumbnails
        if url
    ]


def _original(retweeted: dict[str, Any], uid: str) -> dict[str, Any]:
    native_id = _mblog_id(retweeted, uid)
    user = retweeted.get("user")
    if not isinstance(user, dict):  # deleted or hidden original: Weibo sends user null
        return {"native_id": native_id, "deleted": True}
    return {"native_id": native_id, "author": user.get("screen_name") or "", "text": html_to_text(_body(_visible_html(retweeted)))}


def _extra(mblog: dict[str, Any], scheme: str, pinned: bool, lower_bounds: list[str]) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "source": html_to_text(str(mblog.get("source") or "")),  # the Open API sends an HTML link
        "region_name": mblog.get("region_name") or "",
        "bid": _bid(mblog, scheme),
        "pinned": pinned,
    }
    if lower_bounds:
        extra["lower_bound_counts"] = lower_bounds
    return extra


def parse_mblog(
    mblog: dict[str, Any], *, now: datetime, uid: str = "", scheme: str = "", pinned: bool = False
) -> Post:
    """Turn one mblog (m.weibo.cn) or status (Open API) into a Post; ``scheme`` is the card's link."""
    native_id = _mblog_id(mblog, uid)
    try:
        published_at = parse_created_at(str(mblog.get("created_at") or ""), now)
    except ParseError as exc:
        raise _parse_error(f"post {native_id}: {exc.reason}", uid) from exc
    counts = {name: parse_count(mblog.get(key)) for name, key in _COUNT_FIELDS}
    html = _visible_html(mblog)
    user = mblog.get("user")
    post = Post(
        platform=PLATFORM, native_id=native_id, published_at=published_at,
        body=_body(html), url=DETAIL_URL.format(native_id),
        author=str(user.get("screen_name") or "") if isinstance(user, dict) else "",
        reposts=counts["reposts"][0], comments=counts["comments"][0], likes=counts["likes"][0],
        media=_media(mblog), raw=mblog,
        extra=_extra(mblog, scheme, pinned, [name for name, (_, lower) in counts.items() if lower]),
    )
    retweeted = mblog.get("retweeted_status")
    if isinstance(retweeted, dict):
        post.kind = REPOST
        post.extra["original"] = _original(retweeted, uid)
        post.parent_native_id = post.extra["original"]["native_id"]
    return post


def _post_cards(cards: list[Any], first_page: bool) -> list[tuple[dict[str, Any], bool]]:
    """Post cards in page order, card_type 11 groups unwrapped, each with "first card of a top group"."""
    found: list[tuple[dict[str, Any], bool]] = []
    for index, card in enumerate(cards):
        if not isinstance(card, dict):
            continue
        if str(card.get("card_type")) == "11":
            group = [inner for inner in card.get("card_group") or [] if isinstance(inner, dict)]
            found.extend((inner, first_page and index == 0 and position == 0) for position, inner in enumerate(group))
        else:
            found.append((card, False))
    return [(card, top) for card, top in found if str(card.get("card_type")) == "9" and isinstance(card.get("mblog"), dict)]


def _has_pin_marker(card: dict[str, Any], mblog: dict[str, Any]) -> bool:
    title = mblog.get("title")
    return (
        bool(mblog.get("isTop"))
        or str(mblog.get("mblogtype")) == "2"
        or (isinstance(title, dict) and title.get("text") == "置顶")
        or str(card.get("profile_type_id") or "").startswith("proweibotop")
    )


def _long_text_ids(mblog: dict[str, Any], uid: str) -> list[str]:
    ids = [_mblog_id(mblog, uid)] if mblog.get("isLongText") else []
    retweeted = mblog.get("retweeted_status")
    if isinstance(retweeted, dict) and isinstance(retweeted.get("user"), dict) and retweeted.get("isLongText"):
        ids.append(_mblog_id(retweeted, uid))
    return ids


def _next_since_id(data: dict[str, Any]) -> str | None:
    value = (data.get("cardlistInfo") or {}).get("since_id")
    return None if value in (None, 0, "", "0") else str(value)


def parse_timeline(data: dict[str, Any], *, uid: str, now: datetime, first_page: bool = True) -> TimelinePage:
    """Parse a timeline container page (``107603<uid>``, ``230413<uid>``) into posts and cursors.

    ``first_page`` enables the "first card of a leading card_type 11 group is pinned" rule.
    """
    cards = data.get("cards")
    if not isinstance(cards, list):
        raise _parse_error("timeline page without a cards list", uid)
    page = TimelinePage(posts=[], since_id=_next_since_id(data))
    seen: set[str] = set()
    for card, top_of_group in _post_cards(cards, first_page):
        mblog = card["mblog"]
        pinned = (top_of_group or _has_pin_marker(card, mblog)) and len(page.pinned_ids) < MAX_PINNED
        try:
            post = parse_mblog(mblog, now=now, uid=uid, scheme=str(card.get("scheme") or ""), pinned=pinned)
            long_ids = _long_text_ids(mblog, uid)
        except ParseError as exc:  # one unreadable card is skipped, the page is kept
            page.warnings.append(exc.reason)
            continue
        if post.native_id in seen:  # a post repeated inside and outside a group
            continue
        seen.add(post.native_id)
        page.posts.append(post)
        page.pinned_ids.extend([post.native_id] if pinned else [])
        page.long_text_ids.extend(mid for mid in long_ids if mid not in page.long_text_ids)
    return page


def parse_long_text(data: dict[str, Any], *, uid: str = "") -> str:
    """The full text HTML from ``statuses/extend`` (``longTextContent``) or ``statuses/show``
    (``longText.longTextContent``, else ``text``)."""
    long_text = data.get("longText")
    for candidate in (
        long_text.get("longTextContent") if isinstance(long_text, dict) else None,
        data.get("longTextContent"),
        data.get("text") if "id" in data else None,  # statuses/show of a post that is not long
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    raise _parse_error("long-text answer without longTextContent", uid)


def apply_long_text(post: Post, full_text_html: str, *, mid: str | None = None) -> Post:
    """A copy of ``post`` with its truncated text replaced by ``full_text_html``.

    ``mid`` selects the retweeted original instead (its text inside ``extra["original"]``);
    None or the post's own id selects the post.
    """
    html = _strip_more_link(full_text_html)  # a statuses/show fallback may still be truncated
    if mid is None or mid == post.native_id:
        return replace(post, body=_body(html))
    original = post.extra.get("original")
    if not isinstance(original, dict) or original.get("native_id") != mid or original.get("deleted"):
        raise ValueError(f"post {post.native_id} has no visible original {mid}")
    return replace(post, extra=post.extra | {"original": original | {"text": html_to_text(_body(html))}})


def parse_show(data: dict[str, Any], *, now: datetime, uid: str = "") -> Post:
    """The Post of a ``statuses/show`` answer, with its full text when the answer carries it."""
    post = parse_mblog(data, now=now, uid=uid)
    long_text = data.get("longText")
    if isinstance(long_text, dict) and long_text.get("longTextContent"):
        post = apply_long_text(post, str(long_text["longTextContent"]))
    return post


def parse_open_user(data: dict[str, Any], now: datetime) -> FollowerSnapshot:
    """Snapshot from Open API ``users/show``; ``extra`` holds the profile fields."""
    if "followers_count" not in data:
        raise _parse_error("users/show answer without followers_count", str(data.get("idstr") or ""))
    return _snapshot(data, now, "friends_count")


def parse_open_timeline(data: dict[str, Any], now: datetime, *, uid: str = "") -> TimelinePage:
    """Posts of an Open API ``statuses/user_timeline`` answer (full text, no long-text fetch)."""
    statuses = data.get("statuses")
    if not isinstance(statuses, list):
        raise _parse_error("user_timeline answer without a statuses list", uid)
    page = TimelinePage(posts=[], since_id=None)
    for status in statuses:
        try:
            page.posts.append(parse_mblog(status, now=now, uid=uid))
        except (ParseError, AttributeError) as exc:  # a status that is not an object, or unreadable
            page.warnings.append(getattr(exc, "reason", f"unreadable status ({exc})"))
    return page


# -- comments (comments/hotflow, comments/hotFlowChild) ----------------------------------------

_REPLY_NAME = re.compile(r"^\s*回复\s*@([^:：\s]+)\s*[:：]")


@dataclass
class CommentPage:
    """One page of a post's comments (``hotflow``) or of a root comment's replies (``hotFlowChild``).

    ``max_id``/``max_id_type`` are the next page's cursor (None: this page is the last one);
    ``partial_roots`` are the roots whose ``total_number`` counts more replies than they carry
    inline (the rest only comes from ``hotFlowChild``); ``warnings`` name the unreadable items.
    """

    comments: list[Comment]
    max_id: str | None
    max_id_type: str = "0"
    partial_roots: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_comment_envelope(body: bytes, *, uid: str) -> dict[str, Any]:
    """Check a comments answer and return it whole (``hotflow`` keeps its page in ``data``,
    ``hotFlowChild`` at the top). ``ok:0`` (no comments, or past the last page: "快来发表你的评论吧")
    returns ``{"end_of_list": True}``; ``ok:-100`` raises LoginRequired; a body that is not a JSON
    object raises ParseError."""
    document = _load_object(body, uid)
    ok = str(document.get("ok"))
    if ok == "1":
        return document
    if ok == "-100":
        url = document.get("url") or "no captcha url"
        raise LoginRequired(f"login or captcha required (ok:-100, {url})", platform=PLATFORM, account=uid)
    if ok == "0" and not document.get("errno"):
        return {END_OF_LIST: True}
    message = str(document.get("msg") or "")
    raise Refused(f"unexpected comments answer ok:{ok} errno:{document.get('errno', '')} msg:{message!r}",
                  platform=PLATFORM, account=uid)


def _cursor(value: object) -> str | None:
    return None if value in (None, 0, "", "0", False) else str(value)


def _comment(item: dict[str, Any], *, uid: str, post_id: str, root: str | None, now: datetime) -> Comment:
    native_id = str(item.get("idstr") or item.get("id") or item.get("mid") or "")
    if not native_id:
        raise _parse_error(f"post {post_id}: a comment without an id", uid)
    try:
        when = parse_created_at(str(item.get("created_at") or ""), now)
    except ParseError as exc:
        raise _parse_error(f"comment {native_id}: {exc.reason}", uid) from exc
    found = item.get("user")
    user: dict[str, Any] = found if isinstance(found, dict) else {}  # a deleted user comes as null
    author_id = str(user.get("idstr") or user.get("id") or "")
    reply_id = item.get("reply_id")
    return Comment(platform=PLATFORM, native_id=native_id, post_native_id=post_id, created_at=when,
                   author=str(user.get("screen_name") or ""), author_id=author_id,
                   text=html_to_text(_body(str(item.get("text") or ""))), root_native_id=root,
                   reply_to=str(reply_id) if reply_id not in (None, "", 0) else root,
                   by_account=bool(uid) and author_id == uid, likes=parse_count(item.get("like_count"))[0])


def _children(item: dict[str, Any]) -> list[dict[str, Any]]:
    inline = item.get("comments")  # a list, or false (sometimes null) when the comment has no replies
    return [c for c in inline if isinstance(c, dict)] if isinstance(inline, list) else []


def parse_hotflow(data: dict[str, Any], *, uid: str, post_id: str, now: datetime) -> CommentPage:
    """The roots of one ``hotflow`` page with their inline replies; ``data`` is the whole answer."""
    inner = data.get("data")
    if not isinstance(inner, dict) or not isinstance(inner.get("data"), list):
        raise _parse_error(f"post {post_id}: comments answer without data.data", uid)
    page = CommentPage([], _cursor(inner.get("max_id")), str(inner.get("max_id_type") or 0))
    for item in inner["data"]:
        if not isinstance(item, dict):
            continue
        try:
            root = _comment(item, uid=uid, post_id=post_id, root=None, now=now)
            replies = [_comment(c, uid=uid, post_id=post_id, root=root.native_id, now=now) for c in _children(item)]
        except ParseError as exc:
            page.warnings.append(exc.reason)
            continue
        page.comments += [root, *replies]
        if (parse_count(item.get("total_number"))[0] or 0) > len(replies):
            page.partial_roots.append(root.native_id)
    return page


def parse_child_flow(data: dict[str, Any], *, uid: str, post_id: str, root_id: str, now: datetime) -> CommentPage:
    """One ``hotFlowChild`` page: the replies under ``root_id`` (the list is the answer's ``data``)."""
    items = data.get("data")
    if not isinstance(items, list):
        raise _parse_error(f"comment {root_id}: replies answer without a data list", uid)
    page = CommentPage([], _cursor(data.get("max_id")), str(data.get("max_id_type") or 0))
    for item in items:
        if not isinstance(item, dict):
            continue
        try:
            page.comments.append(_comment(item, uid=uid, post_id=post_id, root=root_id, now=now))
        except ParseError as exc:
            page.warnings.append(exc.reason)
    return page


def link_replies(comments: list[Comment]) -> list[Comment]:
    """The comments with each 回复@name reply tied to the comment it answers: the latest earlier
    comment of that author in the same thread (its root or a reply under it), when the platform
    gave no ``reply_id``; unresolved ones stay tied to their root."""
    threads: dict[str, list[Comment]] = {}
    for c in sorted(comments, key=lambda c: (c.created_at, c.native_id)):
        threads.setdefault(c.root_native_id or c.native_id, []).append(c)
    out: dict[str, Comment] = {c.native_id: c for c in comments}
    for thread in threads.values():
        for i, c in enumerate(thread):
            match = _REPLY_NAME.match(c.text)
            if c.root_native_id is None or match is None or c.reply_to != c.root_native_id:
                continue
            named = [x for x in thread[:i] if x.author == match[1]]
            if named:
                out[c.native_id] = replace(c, reply_to=named[-1].native_id)
    return [out[c.native_id] for c in comments]
