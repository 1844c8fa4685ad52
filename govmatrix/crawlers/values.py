"""Platform-neutral readings of what Chinese sites display: counts ("28.1万", "100万+") and times
("昨天 08:15", "3分钟前", "07-02"). Pure: ``now`` is a parameter."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation

from govmatrix.tz import SHANGHAI

_UNITS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}

_AGO = re.compile(r"(\d+)\s*(秒|分钟|小时|天)前")
_AGO_UNITS = {"秒": "seconds", "分钟": "minutes", "小时": "hours", "天": "days"}
_DAY_WORD = re.compile(r"(今天|昨天)\s*(\d{1,2}):(\d{2})")
_MONTH_DAY = re.compile(r"(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?")
_FULL_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


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
