"""The online-exchange record per department per month, and running totals since a start day.

Each forum account is a department's presence on the board. Its required frequency is the
account's ``frequency`` option: ``monthly`` (one session in the month) or ``weekly`` (one session in
every Monday-to-Sunday week that starts in the month). A department that held fewer than required
has missed; missed departments come first. Figures per month: sessions held, questions, answered,
answer rate, median and maximum answer delay, late answers (after the session ended), suggestions.
Running totals ("共回答网友提问1900余个，收集意见建议270余条") count every session from the start day
to the end of the month.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from govmatrix.matrix.period import Month
from govmatrix.models import Account
from govmatrix.storage.repo import Repo


@dataclass(frozen=True)
class Totals:
    sessions: int = 0
    questions: int = 0
    answered: int = 0
    late: int = 0
    suggestions: int = 0

    @property
    def unanswered(self) -> int:
        return self.questions - self.answered

    @property
    def answer_rate(self) -> float | None:
        """Answered questions in % (None without questions)."""
        return round(self.answered / self.questions * 100, 1) if self.questions else None


@dataclass
class DepartmentMonth:
    account: Account
    frequency: str
    required: int
    month: Totals
    since_start: Totals
    median_delay: float | None  # seconds, over the month's answered questions
    max_delay: float | None
    missed_weeks: list[date] = field(default_factory=list)  # weekly: the Mondays of weeks without a session
    sessions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def missed(self) -> bool:
        return self.month.sessions < self.required or bool(self.missed_weeks)


@dataclass
class ExchangeReport:
    month: Month
    since: date | None
    departments: list[DepartmentMonth]  # missed first

    @property
    def total(self) -> Totals:
        """The month's figures of every department together."""
        return Totals(*(sum(getattr(d.month, f.name) for d in self.departments) for f in fields(Totals)))


def week_starts(month: Month) -> list[date]:
    """The Mondays in the month: the weeks a weekly department must hold a session in."""
    first = month.first + timedelta(days=-month.first.weekday() % 7)
    return [first + timedelta(weeks=i) for i in range(6) if (first + timedelta(weeks=i)).month == month.month]


def required_frequency(account: Account) -> str:
    """The account's ``frequency`` option; stored options leave defaults out, so the default is the
    platform's options model's own."""
    from govmatrix.crawlers.base import crawler_class

    default = crawler_class(account.platform).options_model.model_fields["frequency"].default
    return str(account.options.get("frequency", default))


def _by_account(rows: Sequence[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row["account_id"]].append(row)
    return out


def _totals(sessions: Sequence[dict[str, Any]]) -> Totals:
    return Totals(len(sessions), sum(s["questions"] for s in sessions), sum(s["answered"] for s in sessions),
                  sum(s["late"] for s in sessions), sum(s["suggestions"] for s in sessions))


def department_month(account: Account, month: Month, tz: tzinfo, sessions: Sequence[dict[str, Any]],
                     earlier: Sequence[dict[str, Any]], delays: Sequence[float],
                     last_week: Sequence[dict[str, Any]] = ()) -> DepartmentMonth:
    """One forum account's month (pure): its sessions of the month, those since the start day before
    the month, the month's answer delays in seconds, and its sessions in the days after the month
    that still belong to the month's last week."""
    frequency = required_frequency(account)
    weeks = week_starts(month)
    missed_weeks: list[date] = []
    if frequency == "weekly":
        held_days = {s["start_at"].astimezone(tz).date() for s in [*sessions, *last_week]}
        missed_weeks = [w for w in weeks if not any(w <= d < w + timedelta(days=7) for d in held_days)]
    return DepartmentMonth(
        account, frequency, len(weeks) if frequency == "weekly" else 1, _totals(sessions),
        _totals([*earlier, *sessions]), statistics.median(delays) if delays else None,
        max(delays) if delays else None, missed_weeks, list(sessions))


def build(accounts: Sequence[Account], month: Month, tz: tzinfo, sessions: Sequence[dict[str, Any]],
          earlier: Sequence[dict[str, Any]], questions: Sequence[dict[str, Any]], since: date | None,
          after: Sequence[dict[str, Any]] = ()) -> ExchangeReport:
    """The month's record (pure) from the forum accounts, the month's sessions, the sessions since
    the start day before it, the month's question rows and the sessions of the six days after it."""
    held, before, spill = _by_account(sessions), _by_account(earlier), _by_account(after)
    delays = {aid: [float(q["answer_delay"]) for q in qs if q["answer_delay"] is not None]
              for aid, qs in _by_account(questions).items()}
    rows = [department_month(a, month, tz, held.get(a.id, []), before.get(a.id, []), delays.get(a.id, []),
                             spill.get(a.id, [])) for a in accounts]
    rows.sort(key=lambda r: (not r.missed, r.account.department, r.account.name))
    return ExchangeReport(month, since, rows)


def exchange_report(repo: Repo, month: Month, tz: tzinfo, since: date | None = None) -> ExchangeReport:
    """The month's record of every enabled forum account (and of any that held a session in the month)."""
    start, end = month.bounds(tz)
    sessions = repo.exchanges.sessions(since=start, until=end)
    first = datetime.combine(since, time(), tzinfo=tz) if since else None
    earlier = repo.exchanges.sessions(since=first, until=start)
    held = {s["account_id"] for s in sessions}
    accounts = [a for a in repo.accounts.find(platform="forum") if a.enabled or a.id in held]
    after = repo.exchanges.sessions(since=end, until=end + timedelta(days=6))
    return build(accounts, month, tz, sessions, earlier, repo.exchanges.question_rows(start, end), since, after)
