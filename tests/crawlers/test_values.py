"""Readings of what Chinese sites display: counts and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from govmatrix.crawlers.values import parse_chinese_time, parse_count
from govmatrix.tz import SHANGHAI


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, (0, False)),
        (28311, (28311, False)),
        ("1369", (1369, False)),
        (" 1,024 ", (1024, False)),
        ("28.1万", (281000, False)),
        ("105.9万", (1059000, False)),
        ("1037.4万", (10374000, False)),
        ("100万+", (1000000, True)),
        ("1.5万+", (15000, True)),
        ("1.2亿", (120000000, False)),
        ("1亿+", (100000000, True)),
        ("", (None, False)),
        (None, (None, False)),
        ("暂无", (None, False)),
        ("NaN", (None, False)),
    ],
)
def test_parse_count(value: int | str | None, expected: tuple[int | None, bool]) -> None:
    assert parse_count(value) == expected


def test_parse_count_decimal_arithmetic_is_exact() -> None:
    # With binary floats int(1.13 * 10000) is 11299 and int(2.3 * 1e8) is 229999999.
    assert parse_count("1.13万") == (11300, False)
    assert parse_count("2.3亿") == (230000000, False)
    for hundredths in range(1, 100000):
        assert parse_count(f"{hundredths // 100}.{hundredths % 100:02d}万") == (hundredths * 100, False)
    for tenths in range(1, 10000):
        assert parse_count(f"{tenths // 10}.{tenths % 10}亿+") == (tenths * 10_000_000, True)


NOW = datetime(2024, 7, 3, 10, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("刚刚", NOW),
        ("8秒前", NOW - timedelta(seconds=8)),
        ("5分钟前", NOW - timedelta(minutes=5)),
        ("3小时前", NOW - timedelta(hours=3)),
        ("2天前", NOW - timedelta(days=2)),
        ("今天 08:05", datetime(2024, 7, 3, 8, 5, tzinfo=SHANGHAI)),
        ("今天06:09", datetime(2024, 7, 3, 6, 9, tzinfo=SHANGHAI)),
        ("昨天 23:59", datetime(2024, 7, 2, 23, 59, tzinfo=SHANGHAI)),
        ("06-14", datetime(2024, 6, 14, tzinfo=SHANGHAI)),
        ("07-03", datetime(2024, 7, 3, tzinfo=SHANGHAI)),
        ("07-04", datetime(2023, 7, 4, tzinfo=SHANGHAI)),
        ("06-14 21:30", datetime(2024, 6, 14, 21, 30, tzinfo=SHANGHAI)),
        ("2019-06-14", datetime(2019, 6, 14, tzinfo=SHANGHAI)),
        ("2019-6-4 10:48", datetime(2019, 6, 4, 10, 48, tzinfo=SHANGHAI)),
        ("2019-06-14 10:48:09", datetime(2019, 6, 14, 10, 48, 9, tzinfo=SHANGHAI)),
    ],
)
def test_parse_chinese_time_forms(value: str, expected: datetime) -> None:
    parsed = parse_chinese_time(value, NOW)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=8)


def test_parse_chinese_time_reads_calendar_forms_in_the_given_zone() -> None:
    now = datetime(2024, 7, 3, 1, 0, tzinfo=UTC)
    assert parse_chinese_time("昨天 10:00", now, UTC) == datetime(2024, 7, 2, 10, 0, tzinfo=UTC)
    # The same instant is already the 3rd in Shanghai but still the 2nd in New York time.
    new_york = timezone(timedelta(hours=-4))
    assert parse_chinese_time("今天 10:00", now, new_york) == datetime(2024, 7, 2, 10, 0, tzinfo=new_york)


@pytest.mark.parametrize("value", ["", "三分钟前", "上午 10:00", "2024/07/03", "Fri Jan 15 08:36:13 +0800 2021"])
def test_parse_chinese_time_unknown_forms(value: str) -> None:
    assert parse_chinese_time(value, NOW) is None


@pytest.mark.parametrize("value", ["13-01", "2024-02-30", "昨天 25:00"])
def test_parse_chinese_time_impossible_dates(value: str) -> None:
    with pytest.raises(ValueError):
        parse_chinese_time(value, NOW)
