"""Pure parsing of WeChat payloads: the Official Account API, datacube, the public article page.

No I/O and no clock: ``now`` is a parameter. Errors start with ``wechat <account>:``. API bodies
carry ``errcode`` on failure: a refused token (40001, 40014, 42001) raises TokenRejected so that
the fetch side refreshes it and repeats the call once; 45009 (daily quota) raises RateLimited
until the next local midnight; credential and permission errors raise LoginRequired; the rest
FetchError. The datacube helpers plan 7-day windows (the API's longest span) ending yesterday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import lxml.html
from parsel import Selector

from govmatrix.crawlers.feeds_parse import MAX_NATIVE_ID, FeedEntry, content_key, load_json
from govmatrix.errors import FetchError, LoginRequired, ParseError, RateLimited
from govmatrix.models import ARTICLE, ArticleStats, FollowerSnapshot, Post
from govmatrix.pipelines.clean import html_to_text
from govmatrix.tz import SHANGHAI

PLATFORM = "wechat"
MP_HOST = "mp.weixin.qq.com"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
DAILY_QUOTA, MINUTE_QUOTA = 45009, 45011
# Wrong appid/secret, IP not whitelisted, token or credentials missing, API not granted: a human must act.
CREDENTIAL_ERRORS = frozenset({40013, 40125, 40164, 41001, 41002, 41004, 48001})
DATACUBE_SPAN = 7  # days per datacube call (end_date - begin_date < 7)
DATACUBE_FIRST_DAY = date(2014, 12, 1)  # datacube keeps nothing older
Window = tuple[date, date]

_CT = re.compile(r"""(?:\bvar\s+ct|window\.ct)\s*=\s*["'](\d{9,11})["']""")
_PUBLISH_DAY = re.compile(r"""\bvar\s+publish_time\s*=\s*["'](\d{4}-\d{2}-\d{2})["']""")
_BLOCKED = ("环境异常", "完成验证后即可继续访问")
_PAGE_END = re.compile(r"</html>\s*$", re.IGNORECASE)
_SHORT_LINK = re.compile(r"/s/([A-Za-z0-9_-]+)/?$")


class TokenRejected(LoginRequired):
    """The access token was refused (40001, 40014, 42001): refresh it and repeat the call once."""


def seconds_until_midnight(now: datetime) -> float:
    """Seconds from ``now`` to the next midnight in Asia/Shanghai, when WeChat quotas reset."""
    local = now.astimezone(SHANGHAI)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    return (midnight - local).total_seconds()


def _errcode(value: object) -> int:
    """``errcode`` as a number: some gateways send it as a string ("40001")."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value or "0").strip()
    return int(text) if text.lstrip("-").isdigit() else -1


def parse_api(body: bytes, *, account: str, now: datetime) -> dict[str, Any]:
    """Check an API answer and return it; an ``errcode`` other than 0 raises (see the module doc)."""
    document = load_json(body, platform=PLATFORM, account=account)
    if not isinstance(document, dict):
        raise ParseError(f"expected a JSON object, got {type(document).__name__}", platform=PLATFORM, account=account)
    code = _errcode(document.get("errcode"))
    if code == 0:
        return document
    message = f"API error {code}: {document.get('errmsg', '')}"
    if code in TOKEN_ERRORS:
        raise TokenRejected(message, platform=PLATFORM, account=account)
    if code == DAILY_QUOTA:
        wait = seconds_until_midnight(now)
        raise RateLimited(f"{message}, retry in {wait:.0f} s", platform=PLATFORM, account=account, retry_after=wait)
    if code == MINUTE_QUOTA:
        raise RateLimited(message, platform=PLATFORM, account=account, retry_after=60.0)
    if code in CREDENTIAL_ERRORS:
        raise LoginRequired(message, platform=PLATFORM, account=account)
    raise FetchError(message, platform=PLATFORM, account=account)


def parse_token(data: dict[str, Any], *, account: str) -> tuple[str, int]:
    """``(access_token, expires_in)`` of a ``stable_token`` (or ``token``) answer."""
    token, expires_in = data.get("access_token"), data.get("expires_in")
    if not isinstance(token, str) or not token or not isinstance(expires_in, int):
        raise ParseError("token answer without access_token and expires_in", platform=PLATFORM, account=account)
    return token, expires_in


def article_images(content: str) -> list[dict[str, Any]]:
    """The images of an article body in order: WeChat lazy-loads them, the address is in ``data-src``."""
    if "<img" not in content:
        return []
    root = lxml.html.fragment_fromstring(content, create_parent="div")
    sources = (img.get("data-src") or img.get("src") or "" for img in root.iter("img"))
    return [{"type": "image", "url": url} for url in sources if url.startswith(("http://", "https://"))]


def parse_news_item(item: dict[str, Any], *, article_id: str, index: int, published_at: datetime) -> Post:
    """One ``news_item`` of a published item; its native id is ``<article_id>_<index>`` (index from 1)."""
    content = str(item.get("content") or "")
    extra = {"digest": str(item.get("digest") or ""), "article_id": article_id, "index": index,
             "cover": str(item.get("thumb_url") or ""), "source_url": str(item.get("content_source_url") or ""),
             "msgid": msgid_of(str(item.get("url") or ""))}  # how datacube's article figures name it
    return Post(platform=PLATFORM, native_id=f"{article_id}_{index}", published_at=published_at,
                title=str(item.get("title") or ""), author=str(item.get("author") or ""), body=content,
                url=str(item.get("url") or ""), kind=ARTICLE, media=article_images(content), extra=extra, raw=item)


@dataclass(frozen=True)
class PublishedPage:
    """One ``freepublish/batchget`` page: its articles newest first (deleted ones left out)."""

    posts: list[Post]
    item_count: int
    total_count: int


def _published_item(item: Any, account: str) -> list[Post]:
    if not isinstance(item, dict) or not item.get("article_id") or not isinstance(item.get("update_time"), int):
        raise ParseError("published item without article_id or update_time", platform=PLATFORM, account=account)
    published_at = datetime.fromtimestamp(item["update_time"], SHANGHAI)
    news = (item.get("content") or {}).get("news_item") or []
    return [parse_news_item(news_item, article_id=str(item["article_id"]), index=index, published_at=published_at)
            for index, news_item in enumerate(news, start=1) if not news_item.get("is_deleted")]


def parse_batchget(data: dict[str, Any], *, account: str) -> PublishedPage:
    """The articles of a ``freepublish/batchget`` answer."""
    items = data.get("item")
    if not isinstance(items, list):
        raise ParseError("batchget answer without an item list", platform=PLATFORM, account=account)
    posts = [post for item in items for post in _published_item(item, account)]
    return PublishedPage(posts, int(data.get("item_count") or len(items)), int(data.get("total_count") or 0))


@dataclass
class DatacubeDays:
    """The valid days of datacube answers, and why the others were rejected."""

    values: dict[date, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _ambiguous: set[date] = field(default_factory=set)

    def add(self, day: date, value: Any, endpoint: str) -> None:
        """Keep a day's value; a day given twice with different values is dropped (which one is true?)."""
        if day in self._ambiguous:
            return
        if day in self.values and self.values[day] != value:
            self.warnings.append(f"{endpoint}: {day} given twice ({self.values.pop(day)} and {value}), dropped")
            self._ambiguous.add(day)
            return
        self.values[day] = value


def _count(value: object) -> int | None:
    """A non-negative count, also when sent as a string ("1024")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    text = str(value).strip() if isinstance(value, str) else ""
    return int(text) if text.isdigit() else None


def _rows(data: dict[str, Any], account: str, window: Window, endpoint: str,
          days: DatacubeDays) -> list[tuple[date, dict[str, Any]]]:
    """The rows of a datacube answer with a valid ``ref_date`` inside the window asked for."""
    rows = data.get("list")
    if not isinstance(rows, list):
        raise ParseError(f"{endpoint}: answer without a list", platform=PLATFORM, account=account)
    valid = []
    for row in rows:
        try:
            day = date.fromisoformat(str(row["ref_date"]))
        except (KeyError, TypeError, ValueError):
            days.warnings.append(f"{endpoint}: row without a valid ref_date ({str(row)[:80]}) skipped")
            continue
        if not window[0] <= day <= window[1]:
            days.warnings.append(f"{endpoint}: {day} outside the window {window[0]}..{window[1]} skipped")
            continue
        valid.append((day, row))
    return valid


def parse_cumulate(data: dict[str, Any], *, account: str, window: Window, days: DatacubeDays) -> int:
    """Add the daily follower totals of a ``getusercumulate`` answer (``user_source`` 0 is the total);
    returns how many valid rows it had."""
    rows = _rows(data, account, window, "getusercumulate", days)
    for day, row in rows:
        if _count(row.get("user_source", 0)) not in (0, None):
            continue
        total = _count(row.get("cumulate_user"))
        if total is None:
            days.warnings.append(f"getusercumulate: {day} cumulate_user {row.get('cumulate_user')!r} skipped")
            continue
        days.add(day, total, "getusercumulate")
    return len(rows)


_MSGID = re.compile(r"\d+_\d+")


def parse_article_total(data: dict[str, Any], *, account: str, day: date) -> tuple[list[ArticleStats], list[str]]:
    """The articles of one ``getarticletotal`` day with their last ``details`` row (the figures are
    cumulative); a row that is not one is skipped with a warning."""
    rows = data.get("list")
    if not isinstance(rows, list):
        raise ParseError("getarticletotal: answer without a list", platform=PLATFORM, account=account)
    out, warnings = [], []
    for row in rows:
        try:
            msgid, details = str(row["msgid"]), row["details"]
            if date.fromisoformat(str(row["ref_date"])) != day or not _MSGID.fullmatch(msgid) or not details:
                raise ValueError(row)
            last = max(details, key=lambda d: str(d["stat_date"]))
            figures = [_count(last.get(k)) for k in ("int_page_read_count", "share_count", "add_to_fav_count")]
            if any(f is None for f in figures):
                raise ValueError(row)
            out.append(ArticleStats(msgid, day, str(row.get("title") or ""), date.fromisoformat(str(last["stat_date"])),
                                    *figures))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError, AttributeError):
            warnings.append(f"getarticletotal: {day} row {str(row)[:80]} skipped")
    return out, warnings


def msgid_of(url: str) -> str | None:
    """``<mid>_<idx>`` of an article's permanent link (what datacube calls its msgid)."""
    query = parse_qs(urlsplit(url).query)
    mid, idx = query.get("mid", [""])[0], query.get("idx", [""])[0]
    return f"{mid}_{idx}" if mid.isdigit() and idx.isdigit() else None


def parse_summary(data: dict[str, Any], *, account: str, window: Window, days: DatacubeDays) -> int:
    """Add the daily ``(new_user, cancel_user)`` of a ``getusersummary`` answer, summed over the sources."""
    rows = _rows(data, account, window, "getusersummary", days)
    sums: dict[date, tuple[int, int]] = {}
    for day, row in rows:
        new, cancel = _count(row.get("new_user") or 0), _count(row.get("cancel_user") or 0)
        if new is None or cancel is None:
            days.warnings.append(f"getusersummary: {day} new/cancel {row.get('new_user')!r}/{row.get('cancel_user')!r} "
                                 "skipped")
            continue
        before = sums.get(day, (0, 0))
        sums[day] = (before[0] + new, before[1] + cancel)
    for day, value in sums.items():
        days.add(day, value, "getusersummary")
    return len(rows)


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)


def follower_snapshots(cumulate: dict[date, int], summary: dict[date, tuple[int, int]]) -> list[FollowerSnapshot]:
    """Datacube figures as snapshots taken at the end of their day in Asia/Shanghai: the total
    (source ``datacube``) and the day's new and cancelled followers (source ``datacube_flow``,
    fetched on their own schedule, so they never overwrite a total)."""
    totals = [FollowerSnapshot(taken_at=_end_of(day), followers=n, source="datacube") for day, n in sorted(cumulate.items())]
    flows = [FollowerSnapshot(taken_at=_end_of(day), followers=None, source="datacube_flow",
                              extra={"new_user": new, "cancel_user": cancel})
             for day, (new, cancel) in sorted(summary.items())]
    return totals + flows


def yesterday(now: datetime) -> date:
    """The newest day datacube serves (end_date is at most yesterday, local time)."""
    return now.astimezone(SHANGHAI).date() - timedelta(days=1)


def datacube_windows(first: date, last: date) -> list[Window]:
    """Consecutive windows of at most DATACUBE_SPAN days covering ``first`` .. ``last``, oldest first."""
    windows = []
    first = max(first, DATACUBE_FIRST_DAY)
    while first <= last:
        end = min(first + timedelta(days=DATACUBE_SPAN - 1), last)
        windows.append((first, end))
        first = end + timedelta(days=1)
    return windows


def covered_day(fetched: list[tuple[Window, int]], last: date, resume: date) -> date:
    """The newest day that needs no fetching again, for the cursor (``resume`` - 1 when none).

    Windows are walked oldest first; an empty answer stops the walk (its days are asked again
    next time: an empty answer is no proof that nothing happened). A window ending at ``last``
    (yesterday) stops it too, since WeChat fills in the previous day in the morning.
    """
    covered = resume - timedelta(days=1)
    for (_, end), rows in fetched:
        if rows == 0 or end >= last:
            break
        covered = end
    return covered


@dataclass(frozen=True)
class ArticlePage:
    """What a public article page says. ``unavailable`` holds the message of a deleted article."""

    title: str = ""
    author: str = ""
    account_name: str = ""
    digest: str = ""
    published_at: datetime | None = None  # from ``var ct`` (Unix seconds)
    publish_day: date | None = None  # from ``var publish_time`` (day only)
    content: str = ""  # the HTML of div#js_content as served
    unavailable: str = ""


def _meta(sel: Selector, query: str) -> str:
    return (sel.css(query).attrib.get("content") or "").strip()


def parse_article_page(body: bytes, *, url: str, account: str) -> ArticlePage:
    """Read ``mp.weixin.qq.com/s/...``; a WAF or captcha page raises RateLimited, a cut one ParseError."""
    page = body.decode("utf-8", errors="replace")
    if not _PAGE_END.search(page):  # HTML parsers take half a page without complaint
        raise ParseError("article page cut short (no closing </html>)", platform=PLATFORM, account=account)
    sel = Selector(text=page)
    content = sel.css("#js_content").get()
    # An article may well mention 环境异常: only a page without a body is a WAF page.
    if "captcha" in urlsplit(url).path or (content is None and any(marker in page for marker in _BLOCKED)):
        raise RateLimited("article page blocked (环境异常 / captcha)", platform=PLATFORM, account=account)
    if content is None and not _meta(sel, "meta[property='og:title']"):
        message = html_to_text(sel.css(".weui-msg__title").get() or sel.css("title").get() or "")
        return ArticlePage(unavailable=message[:100] or "no article on the page")
    ct, day = _CT.search(page), _PUBLISH_DAY.search(page)
    return ArticlePage(
        title=_meta(sel, "meta[property='og:title']") or html_to_text(sel.css("#activity-name").get() or ""),
        author=_meta(sel, "meta[name='author']") or html_to_text(sel.css("#js_author_name").get() or ""),
        account_name=html_to_text(sel.css("#js_wx_follow_nickname, .wx_follow_nickname, #js_name").get() or ""),
        digest=_meta(sel, "meta[property='og:description']") or _meta(sel, "meta[name='description']"),
        published_at=datetime.fromtimestamp(int(ct[1]), SHANGHAI) if ct else None,
        publish_day=date.fromisoformat(day[1]) if day else None, content=content or "")


def _first(query: dict[str, list[str]], *names: str) -> str:
    return next((query[name][0] for name in names if query.get(name)), "")


def article_native_id(link: str) -> str:
    """The id of an article from its link: the short-link id, or ``<__biz>_<mid>_<idx>`` of a long link
    (``appmsgid`` and ``itemidx`` are older names of ``mid`` and ``idx``); else the link itself."""
    parts = urlsplit(link)
    if short := _SHORT_LINK.search(parts.path):
        return short[1]
    query = parse_qs(parts.query)
    ids = (_first(query, "__biz"), _first(query, "mid", "appmsgid"), _first(query, "idx", "itemidx"))
    if all(ids):
        return "_".join(ids)
    return link if len(link) <= MAX_NATIVE_ID else content_key(link, "")


def page_url(link: str, article_url: str) -> str:
    """Where to fetch an article: links to mp.weixin.qq.com go to the configured ``article_url``."""
    parts = urlsplit(link)
    if parts.hostname != MP_HOST:
        return link
    return article_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def bridge_post(entry: FeedEntry, page: ArticlePage | None, *, native_id: str, account: str) -> Post:
    """The Post of a bridge-feed entry, completed from its article page when there is one.

    The time is the page's exact ``ct``, else the entry's date, else the page's day; the body is
    ``#js_content``, else the entry's description (often only the digest).
    """
    page = page or ArticlePage()
    day_start = datetime.combine(page.publish_day, time(0), tzinfo=SHANGHAI) if page.publish_day else None
    published_at = page.published_at or entry.published_at or day_start
    if published_at is None:
        raise ParseError(f"article {native_id} has no date", platform=PLATFORM, account=account)
    body = page.content or entry.content
    extra = {"digest": page.digest, "account_name": page.account_name, "via": "bridge"}
    return Post(platform=PLATFORM, native_id=native_id, published_at=published_at,
                title=page.title or entry.title, author=page.author or entry.author, body=body,
                url=entry.link, kind=ARTICLE, media=article_images(body) or entry.media, extra=extra,
                raw={"entry": entry.raw, "content": page.content})
