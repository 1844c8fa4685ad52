"""The three veto items of one account, each from the evidence its platform gives (pure): the rules are
told in matrix/inspection.py, which builds the report from these."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from govmatrix.config import InspectionSettings
from govmatrix.crawlers.incremental import CURSOR_KEY
from govmatrix.models import ARTICLE, KINDS, ORIGINAL, THREAD, Account
from govmatrix.storage.inspection import UpdateScope

PASS, FAIL, UNKNOWN, NA = "pass", "fail", "unknown", "na"
ITEMS = ("security", "updates", "interaction")
ITEM_NAMES = {"security": "安全、泄密事故等严重问题", "updates": "内容不更新", "interaction": "互动回应差"}
STATUS_NAMES = {PASS: "合格", FAIL: "不合格", UNKNOWN: "待核实", NA: "不适用", "closed": "已关停"}
ORIGINAL_KINDS = (ORIGINAL, ARTICLE, THREAD)
FORUM_PERIOD = {"weekly": 7, "monthly": 31}  # days a session must fall in, by the board's required frequency
WORDING_RULE = "wording:"
FRESH_CRAWL = timedelta(hours=36)  # an account crawled longer ago than this proves no silence


@dataclass(frozen=True)
class Verdict:
    """One veto item of one account: its status, why (one line, Chinese), and what it rests on."""

    item: str
    status: str
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateStatus:
    """An account's updates as of day D. ``days_since`` counts the days from its last update's day to D;
    without an update stored, ``at_least`` is how long it has been silent for sure (since the start of
    what was crawled)."""

    last: dict[str, Any] | None  # the post: id, native_id, kind, title, text, url, author, published_at
    days_since: int | None
    at_least: int | None
    crosses_on: date | None  # the first day without an update in the window
    alarm_on: date | None  # alarm_days before that

    @property
    def silent_days(self) -> int | None:
        """Days without an update for sure (exact, or the lower bound)."""
        return self.days_since if self.days_since is not None else self.at_least


@dataclass
class Evidence:
    """Everything ``build`` needs, as read from the store."""

    last: dict[int, dict[str, Any] | None]
    comments: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    questions: list[dict[str, Any]]
    alerted: list[dict[str, Any]]


def day_start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def moment_of(day: date, now: datetime, tz: tzinfo) -> datetime:
    """The check moment of a report "as of day D": the end of D, or ``now`` while D is not over."""
    return min(day_start(day + timedelta(days=1), tz), now)


def update_scope(account: Account, rules: InspectionSettings) -> UpdateScope:
    kinds = KINDS if rules.updates == "all" else ORIGINAL_KINDS
    authors = tuple(account.options.get("speakers") or [account.native_id]) if account.platform == "forum" else None
    return UpdateScope(account.id, tuple(kinds), authors)


# -- the items ------------------------------------------------------------------------------

def _local(value: datetime, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def updates_status(account: Account, last: dict[str, Any] | None, rules: InspectionSettings, day: date,
                   tz: tzinfo) -> UpdateStatus:
    if last is not None:
        last_day = last["published_at"].astimezone(tz).date()
        crosses = last_day + timedelta(days=rules.window_days)
        return UpdateStatus(last, (day - last_day).days, None, crosses, crosses - timedelta(days=rules.alarm_days))
    horizon = account.cursor.get(CURSOR_KEY)
    at_least = (day - datetime.fromisoformat(horizon).astimezone(tz).date()).days if horizon else None
    return UpdateStatus(None, None, at_least, None, None)


def updates_verdict(account: Account, status: UpdateStatus, rules: InspectionSettings, at: datetime,
                    tz: tzinfo) -> Verdict:
    window = rules.window_days
    crawled = account.last_success_at
    if status.days_since is not None and status.days_since < window:
        assert status.last is not None
        return Verdict("updates", PASS, f"最近更新 {_local(status.last['published_at'], tz)}（{status.days_since}天前）",
                       {"last": status.last})
    if crawled is None:
        return Verdict("updates", UNKNOWN, "从未成功采集，无法判定是否更新")
    if crawled < at - FRESH_CRAWL:
        return Verdict("updates", UNKNOWN, f"数据不是最新（最近一次成功采集 {_local(crawled, tz)}），无法判定",
                       {"last": status.last})
    if status.days_since is not None:
        assert status.last is not None
        return Verdict("updates", FAIL, f"监测时间点前{window}天内无更新：已{status.days_since}天未更新（最近更新 "
                       f"{_local(status.last['published_at'], tz)}）", {"last": status.last})
    if status.at_least is not None and status.at_least >= window:
        return Verdict("updates", FAIL, f"监测时间点前{window}天内无更新：自采集起点以来无更新（至少{status.at_least}天）")
    return Verdict("updates", UNKNOWN, "采集起点以来无更新，但采集时间不足两周，无法判定")


def weibo_interaction(account: Account, comments: Sequence[dict[str, Any]], rules: InspectionSettings) -> Verdict:
    days = rules.interaction_days
    if account.options.get("comments") is False:
        return Verdict("interaction", UNKNOWN, "未读取评论（设置 comments = false），无互动证据")
    citizens = {c["native_id"]: c for c in comments if not c["by_account"]}
    replies = sorted((c for c in comments if c["by_account"] and c["reply_to"] in citizens),
                     key=lambda c: c["created_at"])
    first_reply: dict[str, datetime] = {}
    for reply in replies:
        first_reply.setdefault(reply["reply_to"], reply["created_at"])
    delays = [(when - citizens[cid]["created_at"]).total_seconds() for cid, when in first_reply.items()]
    facts: dict[str, Any] = {"comments": len(citizens), "answered": len(first_reply),
                             "median_delay": statistics.median(delays) if delays else None,
                             "last_reply": replies[-1] if replies else None}
    if first_reply:
        median = facts["median_delay"] / 3600
        return Verdict("interaction", PASS, f"近{days}天发文网民评论{len(citizens)}条，已回复{len(first_reply)}条"
                       f"（回复时长中位数{median:.1f}小时）", facts)
    if citizens:
        oldest = min(citizens.values(), key=lambda c: c["created_at"])
        return Verdict("interaction", FAIL, f"近{days}天发文网民评论{len(citizens)}条，均未回复",
                       facts | {"unanswered": oldest})
    return Verdict("interaction", UNKNOWN, f"近{days}天发文未读到网民评论，无互动证据", facts)


def forum_interaction(account: Account, sessions: Sequence[dict[str, Any]], questions: Sequence[dict[str, Any]],
                      rules: InspectionSettings, at: datetime, tz: tzinfo) -> Verdict:
    from govmatrix.matrix.exchange_record import required_frequency

    frequency = required_frequency(account)
    period = FORUM_PERIOD.get(frequency, FORUM_PERIOD["monthly"])
    day = at.astimezone(tz).date()
    held = [s for s in sessions if s["start_at"] <= at and s["start_at"] >= day_start(day - timedelta(days=period - 1), tz)]
    since = day_start(day - timedelta(days=rules.question_days - 1), tz)
    asked = [q for q in questions if since <= q["start_at"] and q["asked_at"] <= at]
    answered = [q for q in asked if q["answered_at"] is not None and q["answered_at"] <= at]
    overdue = [q for q in asked if (q["answered_at"] is None or q["answered_at"] > at)
               and q["asked_at"] <= at - timedelta(days=rules.unanswered_days)]
    facts: dict[str, Any] = {"sessions": len(held), "questions": len(asked), "answered": len(answered),
                             "overdue": len(overdue), "last_session": max(
                                 (s for s in sessions if s["start_at"] <= at), key=lambda s: s["start_at"], default=None),
                             "unanswered": overdue[0] if overdue else None}
    if account.last_success_at is None:
        return Verdict("interaction", UNKNOWN, "从未成功采集论坛版块，无法判定", facts)
    required = "每周" if frequency == "weekly" else "每月"
    if not held:
        return Verdict("interaction", FAIL, f"近{period}天未开展网上在线交流（要求{required}一次）", facts)
    if overdue and not answered:
        return Verdict("interaction", FAIL, f"近{rules.question_days}天网民提问{len(asked)}个，均未回复", facts)
    late = f"，{len(overdue)}个超过{rules.unanswered_days}天未回复" if overdue else ""
    return Verdict("interaction", PASS, f"近{period}天开展在线交流{len(held)}次；近{rules.question_days}天提问"
                   f"{len(asked)}个，已回复{len(answered)}个{late}", facts)


def wechat_interaction(account: Account) -> Verdict:
    declared = account.options.get("interaction")
    if declared is True:
        return Verdict("interaction", PASS, "设置中声明已开通自定义菜单/留言功能（微信接口不提供公开证据，未经核验）",
                       {"declared": True})
    if declared is False:
        return Verdict("interaction", FAIL, "设置中声明未开通留言/消息互动功能（未提供有效互动功能）", {"declared": False})
    return Verdict("interaction", UNKNOWN, "未声明菜单/留言功能：微信接口不提供公开证据，请核实后在设置中写明 interaction",
                   {"declared": None})


def interaction_verdict(account: Account, evidence: Evidence, rules: InspectionSettings, at: datetime,
                        tz: tzinfo) -> Verdict:
    if account.platform == "weibo":
        return weibo_interaction(account, [c for c in evidence.comments if c["account_id"] == account.id], rules)
    if account.platform == "forum":
        return forum_interaction(account, [s for s in evidence.sessions if s["account_id"] == account.id],
                                 [q for q in evidence.questions if q["account_id"] == account.id], rules, at, tz)
    if account.platform == "wechat":
        return wechat_interaction(account)
    if account.platform == "feeds":
        return Verdict("interaction", NA, "网站：互动回应按政府网站指标检查，本系统不采集其留言栏目")
    return Verdict("interaction", UNKNOWN, f"{account.platform}：本系统不采集该平台的互动证据")


def wording_hits(posts: Sequence[dict[str, Any]], authors: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """The undismissed wording hits on the account's own posts: each hit with its post."""
    hits = []
    for post in posts:
        if authors is not None and post["author"] not in authors:
            continue
        for alert in post["alerts"] or []:
            rule = str(alert.get("rule") or "")
            if rule.startswith(WORDING_RULE) and str(alert.get("key") or "") not in post["dismissed"]:
                hits.append({"post": post, "list": rule[len(WORDING_RULE):], "span": alert.get("span"),
                             "suggestion": alert.get("suggestion"), "key": alert.get("key")})
    return hits


def security_verdict(account: Account, evidence: Evidence, rules: InspectionSettings, checked: bool) -> Verdict:
    if not checked:
        return Verdict("security", UNKNOWN, "错敏词与违规内容检查未启用（[pipelines] order 未含 wording）")
    scope = update_scope(account, rules)
    hits = wording_hits([p for p in evidence.alerted if p["account_id"] == account.id], scope.authors)
    if hits:
        first = hits[0]
        return Verdict("security", FAIL, f"近{rules.content_days}天发文有{len(hits)}处错敏或违规内容未处理"
                       f"（{first['list']}：{first['span']}）", {"hits": hits})
    return Verdict("security", PASS, f"近{rules.content_days}天发文未发现严重表述错误、违规内容或链接", {"hits": []})


