"""The inspection's rules on hand-made evidence (pure): the two-week line and its alarm day, what counts
as an update, the interaction evidence of each platform, wording hits, closed accounts, the fix list,
the pass rates and the day's alarms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from govmatrix.config import AccountRegister, InspectionSettings
from govmatrix.matrix.inspection import (
    FAIL,
    NA,
    PASS,
    UNKNOWN,
    Evidence,
    InspectionReport,
    build,
    day_alarms,
    moment_of,
)
from govmatrix.models import Account
from govmatrix.tz import SHANGHAI

RULES = InspectionSettings()
DAY = date(2016, 6, 20)
AT = datetime(2016, 6, 20, 9, 0, tzinfo=SHANGHAI)
CRAWLED = AT - timedelta(hours=1)


def acc(n: int, platform: str = "weibo", **options: Any) -> Account:
    return Account(id=n, platform=platform, native_id=f"{platform}{n}", name=f"账号{n}", department=f"部门{n}",
                   options=options, last_success_at=CRAWLED, cursor={"horizon": "2016-05-01T00:00:00+08:00"})


def post(n: int, when: datetime, kind: str = "original", author: str = "", alerts: list[dict[str, Any]] | None = None,
         account_id: int = 1) -> dict[str, Any]:
    return {"id": n, "native_id": str(n), "kind": kind, "title": "", "text": f"第{n}条", "url": f"u{n}", "author": author,
            "published_at": when, "account_id": account_id, "alerts": alerts or [], "dismissed": set()}


def days_ago(days: int, hour: int = 23) -> datetime:
    return datetime.combine(DAY - timedelta(days=days), datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=hour)


def report(accounts: list[Account], *, last: dict[int, dict[str, Any] | None] | None = None,
           comments: list[dict[str, Any]] | None = None, sessions: list[dict[str, Any]] | None = None,
           questions: list[dict[str, Any]] | None = None, alerted: list[dict[str, Any]] | None = None,
           ledgers: dict[tuple[str, str], AccountRegister | None] | None = None, at: datetime = AT,
           rules: InspectionSettings = RULES, wording: bool = True) -> InspectionReport:
    evidence = Evidence(last or {}, comments or [], sessions or [], questions or [], alerted or [])
    return build(accounts, ledgers or {}, evidence, rules, at, SHANGHAI, wording_checked=wording)


def one(r: InspectionReport, n: int = 1) -> Any:
    return next(a for a in r.accounts if a.account.id == n)


@pytest.mark.parametrize(("silent", "status", "left"), [(0, PASS, 14), (10, PASS, 4), (13, PASS, 1), (14, FAIL, 0),
                                                         (15, FAIL, -1), (100, FAIL, -86)])
def test_the_two_week_line_counts_calendar_days_in_the_platforms_zone(silent: int, status: str, left: int) -> None:
    # 23:00 +08:00 is 15:00 UTC of the same day; the day of the update is its local day
    r = one(report([acc(1)], last={1: post(1, days_ago(silent).astimezone(UTC))}))
    assert r.verdicts["updates"].status == status and r.updates.days_since == silent
    assert r.days_left(DAY) == left
    assert r.updates.crosses_on == DAY - timedelta(days=silent) + timedelta(days=14)
    assert r.updates.alarm_on == r.updates.crosses_on - timedelta(days=4)


def test_without_a_stored_update_the_silence_is_a_lower_bound_from_the_horizon() -> None:
    r = one(report([acc(1)], last={1: None}))
    assert r.updates.days_since is None and r.updates.at_least == (DAY - date(2016, 5, 1)).days
    assert r.verdicts["updates"].status == FAIL and "至少50天" in r.verdicts["updates"].reason
    fresh = acc(2)
    fresh.cursor = {"horizon": "2016-06-15T00:00:00+08:00"}
    assert one(report([fresh], last={2: None}), 2).verdicts["updates"].status == UNKNOWN  # crawled less than 2 weeks


def test_stale_or_missing_crawls_prove_no_silence() -> None:
    never = acc(1)
    never.last_success_at = None
    assert one(report([never], last={1: None})).verdicts["updates"].status == UNKNOWN
    stale = acc(1)
    stale.last_success_at = AT - timedelta(days=3)
    verdict = one(report([stale], last={1: post(1, days_ago(20))})).verdicts["updates"]
    assert verdict.status == UNKNOWN and "数据不是最新" in verdict.reason
    recent = one(report([stale], last={1: post(1, days_ago(2))})).verdicts["updates"]
    assert recent.status == PASS  # an update inside the window needs no fresh crawl


def _comment(cid: str, when: datetime, *, by_account: bool = False, reply_to: str | None = None,
             account_id: int = 1) -> dict[str, Any]:
    return {"account_id": account_id, "native_id": cid, "post_native_id": "p", "root_native_id": None,
            "reply_to": reply_to, "by_account": by_account, "author": "网友", "text": "请问", "created_at": when,
            "post_published_at": when, "post_url": "https://m.weibo.cn/detail/p"}


def test_weibo_interaction_is_a_reply_to_a_citizen() -> None:
    asked = days_ago(3, 9)
    answered = [_comment("c1", asked), _comment("r1", asked + timedelta(hours=2), by_account=True, reply_to="c1")]
    v = one(report([acc(1)], comments=answered)).verdicts["interaction"]
    assert v.status == PASS and v.evidence["answered"] == 1 and v.evidence["median_delay"] == 7200
    own_note = [_comment("c1", asked), _comment("n1", asked, by_account=True)]  # its own root answers nobody
    v = one(report([acc(1)], comments=own_note)).verdicts["interaction"]
    assert v.status == FAIL and v.evidence["unanswered"]["native_id"] == "c1"
    assert one(report([acc(1)])).verdicts["interaction"].status == UNKNOWN  # no comments: no evidence either way
    off = one(report([acc(1, comments=False)], comments=answered)).verdicts["interaction"]
    assert off.status == UNKNOWN and "comments = false" in off.reason


def test_wechat_interaction_is_declared_never_guessed() -> None:
    rows = report([acc(1, "wechat", interaction=True), acc(2, "wechat", interaction=False), acc(3, "wechat")])
    assert [one(rows, n).verdicts["interaction"].status for n in (1, 2, 3)] == [PASS, FAIL, UNKNOWN]
    assert "不提供公开证据" in one(rows, 1).verdicts["interaction"].reason
    assert "不提供公开证据" in one(rows, 3).verdicts["interaction"].reason


def _session(account_id: int, start: datetime) -> dict[str, Any]:
    return {"account_id": account_id, "native_id": "t1", "title": "网上在线交流", "url": "u", "start_at": start,
            "end_at": start + timedelta(hours=1)}


def _question(account_id: int, start: datetime, asked: datetime, answered: datetime | None) -> dict[str, Any]:
    return {"account_id": account_id, "session_id": 1, "title": "网上在线交流", "url": "u", "start_at": start,
            "end_at": start + timedelta(hours=1), "native_id": f"q{asked.timestamp()}", "author": "网友", "text": "问题",
            "asked_at": asked, "answered_at": answered}


def test_forum_interaction_needs_a_session_in_the_period_and_answers() -> None:
    start = days_ago(10, 9)
    q = [_question(1, start, start + timedelta(minutes=5), start + timedelta(minutes=9)),
         _question(1, start, start + timedelta(minutes=7), None)]
    held = one(report([acc(1, "forum")], sessions=[_session(1, start)], questions=q)).verdicts["interaction"]
    assert held.status == PASS and held.evidence["overdue"] == 1 and "1个超过5天未回复" in held.reason
    none = [_question(1, start, start + timedelta(minutes=5), None)]
    silent = one(report([acc(1, "forum")], sessions=[_session(1, start)], questions=none)).verdicts["interaction"]
    assert silent.status == FAIL and "均未回复" in silent.reason
    later = [_question(1, start, start + timedelta(minutes=5), AT + timedelta(hours=1))]  # answered after the moment
    assert one(report([acc(1, "forum")], sessions=[_session(1, start)], questions=later)
               ).verdicts["interaction"].status == FAIL
    weekly = one(report([acc(1, "forum", frequency="weekly")], sessions=[_session(1, start)], questions=q))
    assert weekly.verdicts["interaction"].status == FAIL and "近7天未开展" in weekly.verdicts["interaction"].reason


def test_forum_updates_are_the_departments_own_posts() -> None:
    # the store answers with the scope it is given; here: the scope asks for the speakers' posts only
    from govmatrix.matrix.inspection import update_scope

    scope = update_scope(acc(1, "forum", speakers=["局长", "办公室"]), RULES)
    assert scope.authors == ("局长", "办公室") and "reply" in scope.kinds
    assert update_scope(acc(2, "forum"), RULES).authors == ("forum2",)  # default: the account's own forum user
    originals = update_scope(acc(3), InspectionSettings(updates="originals"))
    assert originals.authors is None and set(originals.kinds) == {"original", "article", "thread"}


def test_wording_hits_fail_the_security_item_unless_dismissed() -> None:
    hit = {"rule": "wording:confusion", "span": "警钟常鸣", "suggestion": "警钟长鸣", "key": "confusion:警钟常鸣"}
    other = {"rule": "食品安全", "severity": "high"}
    alerted = [post(7, days_ago(30), alerts=[hit, other])]
    v = one(report([acc(1)], alerted=alerted)).verdicts["security"]
    assert v.status == FAIL and "警钟常鸣" in v.reason and v.evidence["hits"][0]["suggestion"] == "警钟长鸣"
    alerted[0]["dismissed"] = {"confusion:警钟常鸣"}
    assert one(report([acc(1)], alerted=alerted)).verdicts["security"].status == PASS
    assert one(report([acc(1)], wording=False)).verdicts["security"].status == UNKNOWN
    citizen = [post(8, days_ago(2), author="网友", alerts=[hit])]  # on a board, a citizen's post is not the department's
    forum = acc(1, "forum")
    assert one(report([forum], alerted=citizen)).verdicts["security"].status == PASS


def test_a_closed_account_is_not_inspected_and_left_out_of_the_rates() -> None:
    ledgers = {("weibo", "weibo1"): AccountRegister(opened=date(2014, 1, 1), closed=date(2016, 6, 1)),
               ("weibo", "weibo2"): AccountRegister(opened=date(2014, 1, 1), closed=date(2016, 7, 1))}
    r = report([acc(1), acc(2)], last={1: None, 2: post(2, days_ago(1))}, ledgers=ledgers)
    assert one(r, 1).overall == "closed" and all(v.status == NA for v in one(r, 1).verdicts.values())
    assert one(r, 2).closed_on is None  # closing in the future: still inspected
    assert (r.total.inspected, r.total.passed) == (1, 0)  # acc 2 has no comments: interaction unknown


def test_rates_fix_list_and_silent_lists() -> None:
    accounts = [acc(1), acc(2), acc(3, "wechat", interaction=True), acc(4, "feeds")]
    last = {1: post(1, days_ago(100)), 2: post(2, days_ago(12)), 3: post(3, days_ago(1)), 4: post(4, days_ago(20))}
    answered = [_comment("c", days_ago(1), account_id=2), _comment("r", days_ago(1), by_account=True, reply_to="c",
                                                                   account_id=2)]
    r = report(accounts, last=last, comments=answered)
    assert [x.account.id for x in r.silent[10]] == [1, 4, 2] and [x.account.id for x in r.silent[90]] == [1]
    assert one(r, 3).overall == PASS and one(r, 4).verdicts["interaction"].status == NA
    assert one(r, 2).overall == PASS and one(r, 4).overall == FAIL
    weibo = next(x for x in r.platforms if x.name == "weibo")
    assert (weibo.inspected, weibo.passed, weibo.failed, weibo.pending) == (2, 1, 1, 0) and weibo.rate == 50.0
    kinds = [(f.priority, f.account.id, f.item) for f in r.fixes]
    assert kinds[0] == (2, 1, "updates") and (2, 4, "updates") in kinds  # the longest silence first
    assert (4, 2, "updates") in kinds  # 2 days before the line
    assert (3, 1, "interaction") not in kinds and (5, 1, "interaction") in kinds  # unknown, not failed


def test_day_alarms_are_raised_once_and_keyed_to_what_they_are_about() -> None:
    accounts = [acc(1), acc(2), acc(3, "wechat", interaction=False)]
    last = {1: post(1, days_ago(10)), 2: post(2, days_ago(14)), 3: post(3, days_ago(1))}
    today = report(accounts, last=last)
    alarms = {(a["account_id"], a["kind"]): a for a in day_alarms(today)}
    warning = alarms[(1, "update_warning")]
    assert warning["key"] == f"update_warning:{(DAY - timedelta(days=10)).isoformat()}" and warning["day"] == DAY
    assert "2016-06-24起将超过两周未更新" in warning["message"]
    assert (2, "update_lapsed") in alarms and (2, "update_warning") not in alarms
    assert (3, "interaction_fail") in alarms  # no earlier report: raised on the first day seen failing
    yesterday = report(accounts, last=last, at=AT - timedelta(days=1))
    again = {(a["account_id"], a["kind"]) for a in day_alarms(today, yesterday, frozenset({(3, "interaction_fail")}))}
    assert (3, "interaction_fail") not in again  # it failed yesterday too, and was raised then
    hundred = report([acc(1)], last={1: post(1, days_ago(100))})
    assert {a["kind"] for a in day_alarms(hundred)} == {"update_lapsed", "silent_90"}


def test_the_check_moment_of_a_day() -> None:
    assert moment_of(DAY, AT, SHANGHAI) == AT  # today: now
    assert moment_of(DAY - timedelta(days=2), AT, SHANGHAI) == datetime(2016, 6, 19, tzinfo=SHANGHAI)
