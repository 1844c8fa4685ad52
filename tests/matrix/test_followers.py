"""Follower statistics from snapshot rows: series with gaps, lower bounds, growth, weeks, totals, rankings."""

from __future__ import annotations

from datetime import date, timedelta

from govmatrix.matrix.followers import build, daily_rates, ranks
from govmatrix.matrix.period import Month
from govmatrix.models import Account

JULY = Month(2016, 7)


def account(i: int, platform: str = "weibo", department: str = "市新闻办") -> Account:
    return Account(id=i, platform=platform, native_id=str(i), name=f"账号{i}", department=department)


def row(i: int, day: date, followers: int | None, source: str = "profile", lower: bool = False,
        extra: dict | None = None) -> dict:
    return {"account_id": i, "day": day, "source": source, "followers": followers, "followers_lower_bound": lower,
            "extra": extra or {}}


def test_series_carries_gaps_forward_and_growth_starts_on_the_eve() -> None:
    rows = [row(1, date(2016, 6, 20), 1000), row(1, date(2016, 7, 3), 1030), row(1, date(2016, 7, 31), 1100)]
    [a] = build([account(1)], rows, JULY).accounts
    assert len(a.series) == 31
    assert a.series[0].followers == 1000 and a.series[0].carried  # 6-20 carried into July
    assert a.series[2].followers == 1030 and not a.series[2].carried
    assert a.gaps == 29
    assert (a.month.start, a.month.end, a.month.growth, a.month.growth_pct) == (1000, 1100, 100, 10.0)
    rates = daily_rates(a.series)
    assert rates[0] is None and rates[2] == 30 and rates[3] == 0 and sum(r or 0 for r in rates) == 100
    # weeks, Monday first: 7-1..7-3 (Fri-Sun), 7-4..7-10, ..., 7-25..7-31
    assert [w for w, _g in a.weeks] == [date(2016, 7, 1), date(2016, 7, 4), date(2016, 7, 11), date(2016, 7, 18),
                                        date(2016, 7, 25)]
    assert [g.growth for _w, g in a.weeks] == [30, 0, 0, 0, 70]


def test_an_account_that_starts_inside_the_month_and_one_without_readings() -> None:
    rows = [row(1, date(2016, 7, 10), 500), row(1, date(2016, 7, 20), 450)]
    report = build([account(1), account(2)], rows, JULY)
    first, silent = report.accounts
    assert first.series[8].followers is None and first.month.start == 500 and first.month.growth == -50
    assert first.month.growth_pct == -10.0 and [a.account.id for a in report.losing()] == [1]
    assert silent.month.end is None and silent.month.note == "no reading"
    assert report.matrix.accounts == 2 and report.matrix.without_data == 1 and report.matrix.followers == 450


def test_lower_bounds_stay_bounds_and_datacube_gives_new_and_lost() -> None:
    days = [date(2016, 7, 1) + timedelta(days=d) for d in range(31)]
    rows = [row(1, date(2016, 6, 30), 1_000_000, lower=True), row(1, date(2016, 7, 31), 1_000_000, lower=True),
            *[row(2, d, 2000 + 3 * n, "datacube") for n, d in enumerate(days)],
            row(2, date(2016, 6, 30), 1997, "datacube"),
            *[row(2, d, None, "datacube_flow", extra={"new_user": 5, "cancel_user": 2}) for d in days]]
    report = build([account(1), account(2, "wechat")], rows, JULY)
    bound, owned = report.accounts
    assert bound.month.end == 1_000_000 and bound.month.lower_bound and bound.month.growth is None
    assert bound.month.note == "a count is a lower bound"
    assert (owned.month.growth, owned.month.new, owned.month.lost) == (93, 155, 62)
    assert report.matrix.lower_bound and report.matrix.growth is None
    assert [t.name for t in report.platforms] == ["weibo", "wechat"]


def test_datacube_wins_over_a_profile_reading_of_the_same_day() -> None:
    rows = [row(1, date(2016, 7, 1), 90, "profile"), row(1, date(2016, 7, 1), 100, "datacube")]
    [a] = build([account(1, "wechat")], rows, JULY).accounts
    assert a.series[0].followers == 100


def test_totals_and_rankings() -> None:
    rows = [row(i, date(2016, 6, 30), base) for i, base in ((1, 100), (2, 5000), (3, 800), (4, 100))]
    rows += [row(i, date(2016, 7, 31), end) for i, end in ((1, 300), (2, 5100), (3, 700), (4, 300))]
    accounts = [account(1), account(2, department="市卫计委"), account(3, "wechat"), account(4, department="市卫计委")]
    report = build(accounts, rows, JULY)
    assert [a.account.id for a in report.by_size()] == [2, 3, 1, 4]
    assert [a.account.id for a in report.by_growth()] == [1, 4, 2, 3]
    assert [a.account.id for a in report.by_growth(pct=True)] == [1, 4, 2, 3]
    assert [a.account.id for a in report.by_size("wechat")] == [3]
    assert ranks([200, 200, 100, -100]) == [1, 1, 3, 4]
    depts = {t.name: (t.followers, t.growth, t.accounts) for t in report.departments}
    assert depts == {"市卫计委": (5400, 300, 2), "市新闻办": (1000, 100, 2)}
    assert (report.matrix.followers, report.matrix.growth) == (6400, 400)
