"""The account register (台账): every account with what the settings file says of it and what is observed.

Declared (the account's ``register`` table, config.AccountRegister): 运维人员, 更新频率 and the
lifecycle as filed in the 全国政务新媒体信息报送系统: 开设, 变更, 关停, 注销, and the 停更公告 a closing
needs. Observed (the store, through the inspection's update status): the last update, the updates of
the last 30 days, the last successful crawl. The status as of day D: ``closed`` (关停 or 注销 on or
before D), ``sleeping`` (silent ``sleeping_days`` or more), ``active``.

Listed apart: accounts found posting but not registered (no ``opened`` date filed), registered
accounts silent beyond ``sleeping_days`` (3 months), and the lifecycle problems: a closing without
a 停更公告, posts after the closing day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from govmatrix.config import AccountRegister, Settings
from govmatrix.matrix.inspection import InspectionReport, day_start, inspection_report, update_scope
from govmatrix.models import Account
from govmatrix.storage.repo import Repo

STATUS_NAMES = {"active": "正常", "sleeping": "睡眠", "closed": "已关停"}
OBSERVED_DAYS = 30


@dataclass
class RegisterLine:
    account: Account
    ledger: AccountRegister | None
    status: str  # active | sleeping | closed
    last_update: datetime | None
    silent_days: int | None  # exact, or at least (see ``silent_exact``)
    silent_exact: bool
    recent_updates: int  # updates of the last OBSERVED_DAYS days
    issues: list[str] = field(default_factory=list)

    @property
    def registered(self) -> bool:
        return self.ledger is not None and self.ledger.opened is not None


@dataclass
class Register:
    day: date
    lines: list[RegisterLine]
    unregistered: list[RegisterLine]  # found posting, not filed
    silent: list[RegisterLine]  # filed, not closed, silent beyond sleeping_days
    issues: list[RegisterLine]  # lifecycle problems


def build(report: InspectionReport, ledgers: Mapping[tuple[str, str], AccountRegister | None],
          recent: Mapping[int, int], sleeping_days: int) -> Register:
    """The register as of the report's day (pure): its accounts, their ledgers, their recent update counts."""
    lines = []
    for r in report.accounts:
        ledger = ledgers.get((r.account.platform, r.account.native_id))
        silent = r.updates.silent_days
        status = "closed" if r.closed_on else "sleeping" if (silent or 0) >= sleeping_days else "active"
        last = r.updates.last["published_at"] if r.updates.last else None
        line = RegisterLine(r.account, ledger, status, last, silent, r.updates.days_since is not None,
                            recent.get(r.account.id, 0))
        closing = ledger.closed or ledger.cancelled if ledger else None
        if ledger is not None and closing is not None and not ledger.closing_notice:
            line.issues.append(f"关停（{closing}）未登记停更公告")
        if closing is not None and last is not None and last.astimezone(report.tz).date() > closing:
            line.issues.append(f"关停（{closing}）后仍有发布（{last.astimezone(report.tz):%Y-%m-%d}）")
        if not line.registered and last is not None:
            line.issues.append("未备案：发现在发布但未登记开设")
        lines.append(line)
    lines.sort(key=lambda x: (x.account.department, x.account.platform, x.account.name))
    return Register(report.day, lines, [x for x in lines if not x.registered and x.last_update is not None],
                    sorted((x for x in lines if x.registered and x.status == "sleeping"),
                           key=lambda x: -(x.silent_days or 0)),
                    [x for x in lines if any("关停" in i for i in x.issues)])


def register_report(repo: Repo, settings: Settings, at: datetime,
                    report: InspectionReport | None = None) -> Register:
    """The register as of ``at`` (its local day), read through the repo."""
    report = report or inspection_report(repo, settings, at)
    ledgers = {(acc.platform, acc.id): acc.ledger for _, acc in settings.accounts()}
    since = day_start(report.day - timedelta(days=OBSERVED_DAYS - 1), settings.tz)
    scopes = [update_scope(r.account, settings.inspection) for r in report.accounts]
    return build(report, ledgers, repo.inspection.update_counts(scopes, since, at), settings.inspection.sleeping_days)


def lifecycle(ledger: AccountRegister | None) -> Sequence[tuple[str, date | None]]:
    """The filed lifecycle dates, in order: 开设, 变更, 关停, 注销."""
    if ledger is None:
        return [("开设", None), ("变更", None), ("关停", None), ("注销", None)]
    return [("开设", ledger.opened), ("变更", ledger.changed), ("关停", ledger.closed), ("注销", ledger.cancelled)]
