"""Platform-neutral text helpers: HTML to plain text, HTML sanitising, display counts and times.

The plain-text rules are shared with the sandbox's truth, so both sides read a post the same way:
``<br>`` is a line break, an image (an emoji) is its ``alt`` text, a link is its text, entities are
unescaped, every other tag is dropped, each line is stripped and blank lines at both ends go.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser

import nh3

from govmatrix.clock import SHANGHAI

# Tags whose content is never readable text.
_HIDDEN_TAGS = frozenset({"script", "style", "template"})

_SAFE_TAGS = frozenset(
    {"a", "br", "p", "img", "span", "strong", "em", "b", "i", "u", "s", "blockquote",
     "ul", "ol", "li", "pre", "code", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "sub", "sup"}
)
_SAFE_ATTRIBUTES = {"a": {"href", "title"}, "img": {"alt", "src"}}

_UNITS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}

_AGO = re.compile(r"(\d+)\s*(秒|分钟|小时|天)前")
_AGO_UNITS = {"秒": "seconds", "分钟": "minutes", "小时": "hours", "天": "days"}
_DAY_WORD = re.compile(r"(今天|昨天)\s*(\d{1,2}):(\d{2})")
_MONTH_DAY = re.compile(r"(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?")
_FULL_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


class _TextCollector(HTMLParser):
    """Collects the readable text of an HTML fragment according to the module's rules."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden_depth += 1
        elif self._hidden_depth:
            return
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "img":
            self.parts.append(dict(attrs).get("alt") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS and self._hidden_depth:
            self._hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Turn an HTML fragment (or plain text) into readable plain text."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = [line.strip() for line in "".join(collector.parts).splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def sanitize_html(html: str) -> str:
    """Keep a safe subset of HTML (text formatting, links, images with alt/src); drop the rest."""
    return nh3.clean(
        html,
        tags=set(_SAFE_TAGS),
        attributes={tag: set(names) for tag, names in _SAFE_ATTRIBUTES.items()},
        clean_content_tags=set(_HIDDEN_TAGS),
    )


def parse_count(value: int | str | None) -> tuple[int | None, bool]:
    """Read a displayed count: ``(number, is_lower_bound)``.

    Accepts ints, numeric strings ("1,369"), "28.1万", "100万+", "1.2亿" and "1亿+". A trailing "+"
    means the platform only shows a lower bound. Missing, empty or unreadable values give
    ``(None, False)``: a count is never worth failing a whole page for.
    """
    if value is None or isinstance(value, bool):
        return None, False
    if isinstance(value, int):
        return value, False
    text = value.strip().replace(",", "")
    lower_bound = text.endswith("+")
    text = text.rstrip("+").strip()
    multiplier = _UNITS.get(text[-1:], Decimal(1))
    if multiplier != 1:
        text = text[:-1].strip()
    try:
        number = Decimal(text) * multiplier
    except InvalidOperation:
        return None, False
    if not number.is_finite():
        return None, False
    return int(number), lower_bound


def _month_day(match: re.Match[str], local_now: datetime) -> datetime:
    """An "MM-DD" date lies in the current year, or in the previous one when it would be in the future."""
    month, day = int(match[1]), int(match[2])
    clock = time(int(match[3] or 0), int(match[4] or 0))
    try:
        value = datetime.combine(date(local_now.year, month, day), clock, tzinfo=local_now.tzinfo)
    except ValueError:  # 02-29 outside a leap year can only be from an earlier year
        value = None
    if value is None or value.date() > local_now.date():
        value = datetime.combine(date(local_now.year - 1, month, day), clock, tzinfo=local_now.tzinfo)
    return value


def parse_chinese_time(value: str, now: datetime, tz: tzinfo = SHANGHAI) -> datetime | None:
    """Read the short and relative times Chinese sites show, in ``tz``; None for any other form.

    Forms: "刚刚", "N秒前", "N分钟前", "N小时前", "N天前", "今天 HH:MM", "昨天 HH:MM", "MM-DD"
    (optionally with " HH:MM"), "YYYY-MM-DD" and "YYYY-MM-DD HH:MM(:SS)". Relative forms are
    resolved against ``now`` (timezone-aware) seen in ``tz``. Impossible dates raise ValueError.
    """
    text = value.strip()
    local_now = now.astimezone(tz)
    if text == "刚刚":
        return local_now
    if match := _AGO.fullmatch(text):
        return local_now - timedelta(**{_AGO_UNITS[match[2]]: int(match[1])})
    if match := _DAY_WORD.fullmatch(text):
        calendar_day = local_now.date() - timedelta(days=1 if match[1] == "昨天" else 0)
        return datetime.combine(calendar_day, time(int(match[2]), int(match[3])), tzinfo=tz)
    if match := _MONTH_DAY.fullmatch(text):
        return _month_day(match, local_now)
    if match := _FULL_DATE.fullmatch(text):
        year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    return None
