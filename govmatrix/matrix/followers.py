"""Follower statistics: a daily series per account, growth, department and matrix totals, rankings.

Inputs are the stored snapshots: the Weibo profile's ``followers_count`` (source ``profile``, read
whenever the account is crawled; "100万+" is stored as a lower bound) and, for owned WeChat
accounts, datacube's daily ``cumulate_user`` (source ``datacube``) with the day's new and
cancelled followers (``datacube_flow``). Platforms give no history (a count cannot be computed
after the fact), so a day without a reading carries the last earlier one forward, marked
``carried``; before the first reading there is no value.

Three growth measures, as CrowdTangle separates them: **growth** is the change since the period
start (the count at the end of the day before it, or the first reading inside it), **growth rate**
the day-over-day change (it can be negative), **growth %** the growth as a share of the start count,
for comparing accounts of different sizes. A figure that involves a lower bound is not computed
(None) and the record says why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from govmatrix.matrix.period import Month
from govmatrix.models import Account
from govmatrix.storage.repo import Repo

TOTAL_SOURCES = ("datacube", "profile")  # the sources of a total, the more exact first
FLOW_SOURCE = "datacube_flow"
FOLLOWED = ("weibo", "wechat")  # the platforms that have followers (a forum or a site has none)


@dataclass(frozen=True)
class Day:
    day: date
    followers: int | None  # None before the account's first reading
    lower_bound: bool = False  # the platform showed "100万+"
    carried: bool = False  # no reading on this day: the last earlier one
    new: int | None = None  # WeChat: the day's new followers
    lost: int | None = None  # WeChat: the day's cancelled followers


@dataclass(frozen=True)
class Growth:
    start: int | None
    end: int | None
    growth: int | None
    growth_pct: float | None
    new: int | None
    lost: int | None
    lower_bound: bool  # the end count is a lower bound
    note: str = ""  # why a figure is missing


@dataclass
class AccountFollowers:
    account: Account
    series: list[Day]
    month: Growth
    weeks: list[tuple[date, Growth]] = field(default_factory=list)

    @property
    def gaps(self) -> int:
        """Days of the period without a reading of their own."""
        return sum(d.carried or d.followers is None for d in self.series)


@dataclass(frozen=True)
class Total:
    name: str
    followers: int
    lower_bound: bool  # some account's count is a lower bound: the total is at least this
    growth: int | None
    accounts: int
    without_data: int


@dataclass
class FollowerReport:
    month: Month
    accounts: list[AccountFollowers]
    departments: list[Total]
    platforms: list[Total]
    matrix: Total

    def by_size(self, platform: str | None = None) -> list[AccountFollowers]:
        rows = [a for a in self.accounts if a.month.end is not None and platform in (None, a.account.platform)]
        return sorted(rows, key=lambda a: (-(a.month.end or 0), a.account.name))

    def by_growth(self, platform: str | None = None, pct: bool = False) -> list[AccountFollowers]:
        def value(a: AccountFollowers) -> float | None:
            return a.month.growth_pct if pct else a.month.growth
        rows = [a for a in self.accounts if value(a) is not None and platform in (None, a.account.platform)]
        return sorted(rows, key=lambda a: (-(value(a) or 0), a.account.name))

    def losing(self) -> list[AccountFollowers]:
        """Accounts that lost followers over the month, the biggest loss first."""
        return sorted((a for a in self.accounts if (a.month.growth or 0) < 0), key=lambda a: a.month.growth or 0)


def ranks(values: Sequence[float | int | None]) -> list[int]:
    """Competition ranks of values already sorted best first: 1, 2, 2, 4."""
    out: list[int] = []
    for i, value in enumerate(values):
        out.append(out[-1] if i and value == values[i - 1] else i + 1)
    return out


def daily_series(rows: Iterable[dict[str, Any]], first: date, last: date) -> list[Day]:
    """One account's days [first, last] from its snapshot rows (``SnapshotStore.between``)."""
    totals: dict[date, tuple[int, bool]] = {}
    flows: dict[date, dict[str, Any]] = {}
    carry: tuple[int, bool] | None = None
    for source in reversed(TOTAL_SOURCES):  # the more exact source overwrites
        for row in rows:
            if row["source"] == source and row["followers"] is not None:
                value = (int(row["followers"]), bool(row["followers_lower_bound"]))
                if row["day"] < first:
                    carry = value
                else:
                    totals[row["day"]] = value
    for row in rows:
        if row["source"] == FLOW_SOURCE and row["day"] >= first:
            flows[row["day"]] = row["extra"] or {}
    out: list[Day] = []
    day = first
    while day <= last:
        flow = flows.get(day, {})
        new, lost = _count(flow.get("new_user")), _count(flow.get("cancel_user"))
        if day in totals:
            carry = totals[day]
            out.append(Day(day, carry[0], carry[1], False, new, lost))
        else:
            out.append(Day(day, carry[0] if carry else None, carry[1] if carry else False, carry is not None, new, lost))
        day += timedelta(days=1)
    return out


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def growth(days: Sequence[Day], before: Day | None = None) -> Growth:
    """Growth over ``days``; ``before`` is the day before them (its count is the start)."""
    known = [d for d in days if d.followers is not None]
    if not known:
        return Growth(None, None, None, None, None, None, False, "no reading")
    start_day = before if before is not None and before.followers is not None else known[0]
    end_day = known[-1]
    news = [d.new for d in days if d.new is not None]
    losts = [d.lost for d in days if d.lost is not None]
    new = sum(news) if news else None
    lost = sum(losts) if losts else None
    if start_day.lower_bound or end_day.lower_bound:
        return Growth(start_day.followers, end_day.followers, None, None, new, lost, end_day.lower_bound,
                      "a count is a lower bound")
    start, end = start_day.followers or 0, end_day.followers or 0
    pct = (end - start) / start * 100 if start else None
    return Growth(start, end, end - start, pct, new, lost, False, "" if start else "no start count")


def daily_rates(series: Sequence[Day]) -> list[int | None]:
    """Day-over-day change (CrowdTangle's growth rate); None where a day or its eve is unknown or a bound."""
    out: list[int | None] = []
    for before, day in zip([None, *series[:-1]], series, strict=True):
        ok = before is not None and before.followers is not None and day.followers is not None
        out.append(None if not ok or day.lower_bound or before.lower_bound  # type: ignore[union-attr]
                   else day.followers - before.followers)  # type: ignore[operator,union-attr]
    return out


def weekly(series: Sequence[Day], before: Day | None) -> list[tuple[date, Growth]]:
    """Growth per calendar week (Monday first) of the period, weeks cut at its ends."""
    out: list[tuple[date, Growth]] = []
    start = 0
    for i in range(len(series)):
        if i + 1 == len(series) or series[i + 1].day.weekday() == 0:
            eve = series[start - 1] if start else before
            out.append((series[start].day, growth(series[start : i + 1], eve)))
            start = i + 1
    return out


def build(accounts: Sequence[Account], rows: Sequence[dict[str, Any]], month: Month) -> FollowerReport:
    """The month's statistics (pure) from the accounts and their snapshot rows for the month and its eve."""
    by_account: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_account[row["account_id"]].append(row)
    followed: list[AccountFollowers] = []
    for account in accounts:
        if account.platform not in FOLLOWED:
            continue
        eve, *series = daily_series(by_account.get(account.id, []), month.first - timedelta(days=1), month.last)
        before = eve if eve.followers is not None else None
        followed.append(AccountFollowers(account, series, growth(series, before), weekly(series, before)))
    return FollowerReport(month, followed, _totals(followed, lambda a: a.account.department or "-"),
                          _totals(followed, lambda a: a.account.platform),
                          _totals(followed, lambda a: "矩阵合计")[0] if followed else Total("矩阵合计", 0, False, 0, 0, 0))


def _totals(stats: Sequence[AccountFollowers], key: Any) -> list[Total]:
    groups: dict[str, list[AccountFollowers]] = defaultdict(list)
    for a in stats:
        groups[key(a)].append(a)
    out = []
    for name, members in groups.items():
        counted = [a for a in members if a.month.end is not None]
        growths = [a.month.growth for a in counted]
        out.append(Total(name, sum(a.month.end or 0 for a in counted), any(a.month.lower_bound for a in counted),
                         None if any(g is None for g in growths) else sum(g or 0 for g in growths),
                         len(members), len(members) - len(counted)))
    return sorted(out, key=lambda t: (-t.followers, t.name))


def followers_report(repo: Repo, month: Month) -> FollowerReport:
    """The month's follower statistics of every followed account (Weibo and WeChat) that is enabled
    or has a reading in the month."""
    eve = month.first - timedelta(days=1)
    rows = repo.snapshots.between(eve, month.last, (*TOTAL_SOURCES, FLOW_SOURCE))
    read = {row["account_id"] for row in rows if row["day"] >= month.first}
    return build([a for a in repo.accounts.find() if a.enabled or a.id in read], rows, month)
