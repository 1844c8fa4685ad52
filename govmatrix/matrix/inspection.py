"""Inspection readiness: the three single-veto items of 国办秘函〔2019〕19号 for every account, as of a moment.

An account fails outright (单项否决) on any one of them (shared/reference/inspection.md §1.2):

- **security** 「安全、泄密事故等严重问题」: a serious wording error, leaked secrets, or reactionary,
  violent or pornographic content or links. Read from the wording check's hits on the account's own
  posts of the last ``content_days`` (``post.alerts`` with ``rule`` "wording:<list>", pipelines/wording.py),
  less those a reviewer dismissed. Without that pipeline in ``[pipelines] order`` the item is unknown.
- **updates** 「内容不更新」, 「监测时间点前2周内无更新」: as of day D the ``window_days`` (14) calendar days
  D-13 .. D must hold an update. An update is a post of the account in the platform's own time
  (``published_at``, in the display zone); with ``updates = "originals"`` reposts and replies do not
  count; on the forum only the department's own posts (its speakers') count. The account crosses
  the line on the day after its last update plus the window (``crosses_on``), the alarm comes
  ``alarm_days`` before.
- **interaction** 「互动回应差」 (in reports 「未提供有效互动功能」), from the evidence each platform gives:
  Weibo, the comments on the posts published in the last ``interaction_days`` and whether the account
  answered one (pass), answered none (fail) or had none to answer (unknown: no evidence); the forum,
  a session in the required period (7 days for weekly boards, 31 for monthly) and the questions of the
  sessions of the last ``question_days`` (fail when it held none, or answered none of the questions
  older than ``unanswered_days``; overdue questions are listed either way); WeChat, the ``interaction``
  option the account declares (the API gives no public evidence: said so, never guessed); a website's
  interaction is not a new-media item (na).

Each item is ``pass``, ``fail``, ``unknown`` (no evidence: said why) or ``na``; an account is 合格 when
nothing fails and nothing is unknown. An account closed in the register (关停/注销 on or before D) is
not inspected. ``inspection_report`` reads through the repo (no clock: the moment is a parameter);
``build`` is pure. ``day_alarms`` turns a report into the day's alarms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from govmatrix.config import AccountRegister, InspectionSettings, Settings
from govmatrix.matrix.veto_items import (
    FAIL,
    FORUM_PERIOD,
    ITEM_NAMES,
    ITEMS,
    NA,
    PASS,
    STATUS_NAMES,
    UNKNOWN,
    Evidence,
    UpdateStatus,
    Verdict,
    day_start,
    interaction_verdict,
    moment_of,
    security_verdict,
    update_scope,
    updates_status,
    updates_verdict,
)
from govmatrix.models import Account
from govmatrix.storage.repo import Repo

__all__ = ["FAIL", "ITEMS", "ITEM_NAMES", "NA", "PASS", "STATUS_NAMES", "UNKNOWN", "AccountInspection", "Evidence",
           "Fix", "InspectionReport", "Rate", "UpdateStatus", "Verdict", "build", "day_alarms", "day_start",
           "inspection_report", "moment_of", "raise_day_alarms", "update_scope"]

@dataclass
class AccountInspection:
    account: Account
    closed_on: date | None  # 关停 or 注销 on or before D (register): not inspected
    updates: UpdateStatus
    verdicts: dict[str, Verdict]

    @property
    def overall(self) -> str:
        if self.closed_on is not None:
            return "closed"
        statuses = {v.status for v in self.verdicts.values()}
        return FAIL if FAIL in statuses else UNKNOWN if UNKNOWN in statuses else PASS

    def days_left(self, day: date) -> int | None:
        """Days until the account crosses the two-week line (0 or less: crossed)."""
        return (self.updates.crosses_on - day).days if self.updates.crosses_on else None


@dataclass(frozen=True)
class Rate:
    """Accounts inspected in a scope (closed ones left out), and how they came out."""

    name: str
    inspected: int
    passed: int
    failed: int
    pending: int

    @property
    def rate(self) -> float | None:
        """合格率: passed among inspected, in % (None without accounts)."""
        return round(self.passed / self.inspected * 100, 2) if self.inspected else None


@dataclass(frozen=True)
class Fix:
    """One line of the list of what to fix first (priority 1 first)."""

    priority: int
    account: Account
    item: str
    problem: str
    action: str


@dataclass
class InspectionReport:
    day: date
    at: datetime
    tz: tzinfo
    rules: InspectionSettings
    accounts: list[AccountInspection]
    silent: dict[int, list[AccountInspection]]  # threshold days -> accounts silent at least that long, longest first
    platforms: list[Rate]
    total: Rate
    fixes: list[Fix]
    notes: list[str] = field(default_factory=list)


# -- what the repo gives, gathered (the only I/O) ------------------------------------------------

def gather(repo: Repo, accounts: Sequence[Account], rules: InspectionSettings, at: datetime, tz: tzinfo) -> Evidence:
    day = at.astimezone(tz).date()
    first = day_start(day - timedelta(days=max(rules.interaction_days, rules.question_days, rules.content_days,
                                                max(FORUM_PERIOD.values())) - 1), tz)
    weibo = [a.id for a in accounts if a.platform == "weibo"]
    since_comments = day_start(day - timedelta(days=rules.interaction_days - 1), tz)
    return Evidence(
        last=repo.inspection.last_updates([update_scope(a, rules) for a in accounts], at),
        comments=repo.comments.of_posts_published(weibo, since_comments, at, at),
        sessions=repo.inspection.sessions(first, at),
        questions=repo.inspection.questions(first, at),
        alerted=repo.inspection.alerted_posts(day_start(day - timedelta(days=rules.content_days - 1), tz), at))


def inspection_report(repo: Repo, settings: Settings, at: datetime) -> InspectionReport:
    """Every enabled account as of ``at`` (the check moment; its local day is D)."""
    accounts = repo.accounts.find(enabled_only=True)
    ledgers = {(acc.platform, acc.id): acc.ledger for _, acc in settings.accounts()}
    evidence = gather(repo, accounts, settings.inspection, at, settings.tz)
    return build(accounts, ledgers, evidence, settings.inspection, at, settings.tz,
                 wording_checked="wording" in settings.pipelines.order)


# -- the report (pure) -----------------------------------------------------------------------------

def _closed_on(ledger: AccountRegister | None, day: date) -> date | None:
    if ledger is None:
        return None
    ends = [d for d in (ledger.closed, ledger.cancelled) if d is not None and d <= day]
    return min(ends) if ends else None


def inspect_account(account: Account, ledger: AccountRegister | None, evidence: Evidence, rules: InspectionSettings,
                    at: datetime, tz: tzinfo, wording_checked: bool) -> AccountInspection:
    day = at.astimezone(tz).date()
    status = updates_status(account, evidence.last.get(account.id), rules, day, tz)
    closed = _closed_on(ledger, day)
    if closed is not None:
        verdicts = {item: Verdict(item, NA, f"已关停（{closed}），不再检查") for item in ITEMS}
    else:
        verdicts = {"security": security_verdict(account, evidence, rules, wording_checked),
                    "updates": updates_verdict(account, status, rules, at, tz),
                    "interaction": interaction_verdict(account, evidence, rules, at, tz)}
    return AccountInspection(account, closed, status, verdicts)


def rate(name: str, rows: Sequence[AccountInspection]) -> Rate:
    inspected = [r for r in rows if r.overall != "closed"]
    return Rate(name, len(inspected), sum(r.overall == PASS for r in inspected),
                sum(r.overall == FAIL for r in inspected), sum(r.overall == UNKNOWN for r in inspected))


def fixes(rows: Sequence[AccountInspection], rules: InspectionSettings, day: date) -> list[Fix]:
    """What to fix first: security, then silence (longest first), interaction, the accounts about to
    cross the line, then the missing evidence."""
    out: list[Fix] = []
    actions = {"security": "立即核实并删除或更正相关内容，按程序报告",
               "updates": "尽快发布更新；确属无力维护的按程序关停并发布停更公告",
               "interaction": "开通并使用互动功能，及时回复网民留言和提问"}
    for r in rows:
        for item in ITEMS:
            v = r.verdicts[item]
            if v.status == FAIL:
                out.append(Fix((1, 2, 3)[ITEMS.index(item)], r.account, item, v.reason, actions[item]))
            elif v.status == UNKNOWN:
                out.append(Fix(5, r.account, item, v.reason, "补充证据或完善设置后复核"))
        left = r.days_left(day)
        if r.overall != "closed" and r.verdicts["updates"].status == PASS and left is not None \
                and left <= rules.alarm_days:
            out.append(Fix(4, r.account, "updates", f"{left}天后（{r.updates.crosses_on}）将超过两周未更新",
                           "安排近期发布"))
    silence = {r.account.id: -(r.updates.silent_days or 0) for r in rows}
    return sorted(out, key=lambda f: (f.priority, silence.get(f.account.id, 0) if f.priority == 2 else 0,
                                      f.account.department, f.account.name, f.item))


def build(accounts: Sequence[Account], ledgers: Mapping[tuple[str, str], AccountRegister | None], evidence: Evidence,
          rules: InspectionSettings, at: datetime, tz: tzinfo, *, wording_checked: bool) -> InspectionReport:
    """The inspection of ``accounts`` as of ``at`` from what the store gave (pure)."""
    day = at.astimezone(tz).date()
    rows = [inspect_account(a, ledgers.get((a.platform, a.native_id)), evidence, rules, at, tz, wording_checked)
            for a in accounts]
    rows.sort(key=lambda r: ({FAIL: 0, UNKNOWN: 1, PASS: 2, "closed": 3}[r.overall], r.account.department,
                             r.account.platform, r.account.name))
    silent = {n: sorted((r for r in rows if r.overall != "closed" and (r.updates.silent_days or 0) >= n),
                        key=lambda r: -(r.updates.silent_days or 0)) for n in sorted(set(rules.silent_lists))}
    platforms = sorted({r.account.platform for r in rows})
    notes = [] if wording_checked else ["错敏词与违规内容检查（pipelines/wording.py）未在 [pipelines] order 中启用："
                                        "“安全、泄密事故等严重问题”一项无法判定。"]
    return InspectionReport(day, at, tz, rules, rows, silent, [rate(p, [r for r in rows if r.account.platform == p])
                                                               for p in platforms],
                            rate("全部", rows), fixes(rows, rules, day), notes)


# -- the day's alarms (pure) -------------------------------------------------------------------------

def day_alarms(today: InspectionReport, yesterday: InspectionReport | None = None,
               alarmed: frozenset[tuple[int, str]] = frozenset()) -> list[dict[str, Any]]:
    """The alarms ``today`` calls for, each keyed so that raising it again changes nothing:
    ``update_warning`` from the day the account is ``alarm_days`` from the line (once per last
    update), ``update_lapsed`` from the day it crosses it, ``silent_<N>`` when it joins a silent
    list longer than the window, ``interaction_fail`` on the day the item turns to fail (it did not
    fail in ``yesterday``'s report), or the first day it is seen failing (no such alarm of the
    account in ``alarmed``, the (account id, kind) pairs raised before), ``security_hit`` per wording hit."""
    day, rules = today.day, today.rules
    before = {r.account.id: r for r in yesterday.accounts} if yesterday else {}
    out: list[dict[str, Any]] = []

    def alarm(r: AccountInspection, kind: str, key: str, message: str, **details: Any) -> None:
        out.append({"account_id": r.account.id, "day": day, "kind": kind, "key": key,
                    "message": f"{r.account.department} {r.account.name}（{r.account.platform}）：{message}",
                    "details": details})

    for r in today.accounts:
        if r.overall == "closed":
            continue
        u, left = r.updates, r.days_left(day)
        since = u.last["published_at"].astimezone(today.tz).date().isoformat() if u.last else "none"
        if left is not None and 0 < left <= rules.alarm_days:
            alarm(r, "update_warning", f"update_warning:{since}",
                  f"已{u.days_since}天未更新，{u.crosses_on}起将超过两周未更新（单项否决）",
                  last_update=since, crosses_on=str(u.crosses_on))
        if r.verdicts["updates"].status == FAIL:
            alarm(r, "update_lapsed", f"update_lapsed:{since}", r.verdicts["updates"].reason, last_update=since)
        for n in sorted(set(rules.silent_lists)):
            if n > rules.window_days and (u.silent_days or 0) >= n and r.verdicts["updates"].status == FAIL:
                alarm(r, f"silent_{n}", f"silent_{n}:{since}", f"已{u.silent_days}天未更新，列入{n}天未更新名单",
                      last_update=since)
        v = r.verdicts["interaction"]
        previous = before.get(r.account.id)
        turned = previous is None or previous.verdicts["interaction"].status != FAIL
        if v.status == FAIL and (turned or (r.account.id, "interaction_fail") not in alarmed):
            alarm(r, "interaction_fail", f"interaction_fail:{day}", v.reason)
        for hit in r.verdicts["security"].evidence.get("hits", []):
            alarm(r, "security_hit", f"security_hit:{hit['post']['id']}:{hit['key']}",
                  f"{hit['list']}：{hit['span']}" + (f" → {hit['suggestion']}" if hit["suggestion"] else ""),
                  post_id=hit["post"]["id"], url=hit["post"]["url"])
    return out


def raise_day_alarms(repo: Repo, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Compute today's alarms and store those not raised before; returns the new ones."""
    today = inspection_report(repo, settings, now)
    yesterday = inspection_report(repo, settings, now - timedelta(days=1))
    alarms = day_alarms(today, yesterday, frozenset(repo.inspection.alarm_kinds()))
    return repo.inspection.raise_alarms(alarms, now)
