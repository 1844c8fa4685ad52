"""The inspection against the sandbox's truth: the city crawled once a day for eight days; on every day each
veto item of every account, the silent lists, the register and the alarms raised that day equal what the
sandbox's own generation data gives, computed here from the truth alone (its posts, comments and
exchanges, and the settings file's declarations), not by the product's functions.

The city holds the cases on purpose (sandbox/city.py): departments silent for 8, 13, 15 and 100 days at
the start, a Weibo account that never answers a comment, a board whose department never answers a
question, and a hacked site entry with a gambling link two days after the start.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from govmatrix.bootstrap import open_repo
from govmatrix.cli import main
from govmatrix.config import Settings, load_settings
from govmatrix.matrix.inspection import InspectionReport, inspection_report, raise_day_alarms
from govmatrix.matrix.register import register_report
from govmatrix.pipelines.base import REGISTRY as PIPELINES
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.sandbox.feeds_world import SEEDED_LINK
from govmatrix.tz import SHANGHAI
from tests.conftest import SANDBOX_SECRETS

from .conftest import sandbox_settings

START = datetime(2016, 6, 1, 9, 0, tzinfo=SHANGHAI)
DAYS = 8
WINDOW, ALARM, COMMENT_DAYS, QUESTION_DAYS, UNANSWERED = 14, 4, 14, 90, 5  # the [inspection] defaults
WORDING = "wording" in PIPELINES  # the wording check (pipelines/wording.py), written elsewhere
STATISTICS, ARCHIVES, AUDIT, URBAN = "5390127745", "5276648103", "5412093387", "5689023351"  # 13, 100, 15, 8 days
NEVER_REPLIES, NEVER_ANSWERS, HACKED = "5987234410", "菏泽物价", "hzmd-site"


@dataclass
class City:
    settings: Settings
    truth: dict[str, Any]
    comments: list[dict[str, Any]]
    moments: list[datetime]
    reports: list[InspectionReport]
    raised: list[set[tuple[str, str]]]  # per day: (native id, alarm key) raised that day
    csv_day: date
    csv_rows: dict[str, list[str]]
    status: str


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    tmp = tmp_path_factory.mktemp("inspection")
    with pytest.MonkeyPatch.context() as env, SandboxServer(SandboxConfig(seed=2, start=START)) as sandbox:
        for name, value in SANDBOX_SECRETS.items():
            env.setenv(name, value)
        env.delenv("GOVMATRIX_DATABASE_URL", raising=False)
        config = sandbox_settings(tmp, sandbox.url, horizon_days=130, comments=True)
        text = config.read_text(encoding="utf-8").replace('url = "sqlite:///govmatrix.db"',
                                                          f'url = "sqlite:///{tmp / "i.db"}"')
        # the whole history on every platform (the 100-day silence included), every comment every day
        text = re.sub(r"(?m)^(\[platforms\.(wechat|forum|feeds)\])$", r"\1\nhorizon_days = 130", text)
        text = text.replace("[platforms.weibo]", "[platforms.weibo]\ncomment_requests = 100000")
        if WORDING:
            text = text.replace('order = ["clean", "dedup", "alerts"]', 'order = ["clean", "dedup", "alerts", "wording"]')
        config.write_text(text, encoding="utf-8")
        assert main(["--config", str(config), "init"]) == 0
        settings = load_settings(config)
        moments, reports, raised = [], [], []
        for day in range(DAYS):
            if day:
                httpx.post(f"{sandbox.url}/_sandbox/clock", json={"advance_seconds": 86_400}).raise_for_status()
            now = sandbox.state.now
            assert main(["--config", str(config), "--now", now.isoformat(), "crawl", "--all"]) == 0
            repo = open_repo(settings)
            try:
                reports.append(inspection_report(repo, settings, now))
                native = {a.id: a.native_id for a in repo.accounts.find()}
                raised.append({(native[a["account_id"]], a["key"]) for a in raise_day_alarms(repo, settings, now)})
            finally:
                repo.close()
            moments.append(now)
        truth = sandbox.truth(since=START - timedelta(days=130))
        comments = sandbox.truth(platforms=["weibo"], since=START - timedelta(days=COMMENT_DAYS + 8),
                                 comments=True)["comments"]
        csv_day = (START + timedelta(days=3)).date()
        out = tmp / "inspection.csv"
        assert main(["--config", str(config), "--now", moments[-1].isoformat(), "report", "inspection",
                     "--date", csv_day.isoformat(), "--format", "csv", "--out", str(out)]) == 0
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        start = rows.index(next(r for r in rows if r and r[0] == "部门" and "结论" in r))
        end = next(i for i in range(start, len(rows)) if not rows[i])
        table = {r[1]: r for r in rows[start + 1:end]}
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(["--config", str(config), "--now", moments[-1].isoformat(), "status"]) == 0
    return City(settings, truth, comments, moments, reports, raised, csv_day, table, buffer.getvalue())


# -- the truth, read independently ------------------------------------------------------------------

def local_day(when: datetime) -> date:
    return when.astimezone(SHANGHAI).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


def closed(settings: Settings, platform: str, native_id: str, day: date) -> bool:
    ledger = settings.account(platform, native_id).ledger
    return ledger is not None and any(d is not None and d <= day for d in (ledger.closed, ledger.cancelled))


def own_posts(city: City, platform: str, native_id: str) -> list[datetime]:
    """When the account posted (a forum board: when its department's user did)."""
    return sorted(datetime.fromisoformat(p["published_at"]) for p in city.truth["posts"]
                  if p["platform"] == platform and p["account"] == native_id
                  and (platform != "forum" or p["author"] == native_id))


def last_update(city: City, platform: str, native_id: str, at: datetime) -> datetime | None:
    return max((t for t in own_posts(city, platform, native_id) if t <= at), default=None)


def expected_updates(city: City, platform: str, native_id: str, at: datetime) -> tuple[str, int]:
    last = last_update(city, platform, native_id, at)
    assert last is not None, f"{platform} {native_id} posted nothing in the world's history"
    days = (local_day(at) - local_day(last)).days
    return ("pass" if days < WINDOW else "fail"), days


def weibo_evidence(city: City, uid: str, at: datetime) -> tuple[int, int]:
    """The citizens' comments on the account's posts of the window as of ``at``, and how many it answered."""
    since = day_start(local_day(at) - timedelta(days=COMMENT_DAYS - 1))
    posts = {p["native_id"] for p in city.truth["posts"] if p["platform"] == "weibo" and p["account"] == uid
             and since <= datetime.fromisoformat(p["published_at"]) <= at}
    seen = [c for c in city.comments if c["post_native_id"] in posts and datetime.fromisoformat(c["created_at"]) <= at]
    citizens = {c["native_id"] for c in seen if not c["by_account"]}
    answered = {c["reply_to"] for c in seen if c["by_account"]} & citizens
    return len(citizens), len(answered)


def expected_weibo(city: City, uid: str, at: datetime) -> str:
    citizens, answered = weibo_evidence(city, uid, at)
    return "pass" if answered else "fail" if citizens else "unknown"


def expected_forum(city: City, user: str, frequency: str, at: datetime) -> str:
    day = local_day(at)
    period = 7 if frequency == "weekly" else 31
    sessions = [x for x in city.truth["exchanges"] if x["account"] == user]
    held = [x for x in sessions if day_start(day - timedelta(days=period - 1)) <= datetime.fromisoformat(x["start"]) <= at]
    since = day_start(day - timedelta(days=QUESTION_DAYS - 1))
    asked = [q for x in sessions if datetime.fromisoformat(x["start"]) >= since for q in x["questions"]
             if datetime.fromisoformat(q["asked_at"]) <= at]
    answered = [q for q in asked if q["answered_at"] and datetime.fromisoformat(q["answered_at"]) <= at]
    overdue = [q for q in asked if q not in answered
               and datetime.fromisoformat(q["asked_at"]) <= at - timedelta(days=UNANSWERED)]
    return "fail" if not held or (overdue and not answered) else "pass"


def expected_interaction(city: City, platform: str, native_id: str, at: datetime) -> str:
    options = city.settings.account(platform, native_id).options
    if platform == "weibo":
        return expected_weibo(city, native_id, at)
    if platform == "forum":
        return expected_forum(city, native_id, options.frequency, at)
    if platform == "wechat":
        return {True: "pass", False: "fail", None: "unknown"}[options.interaction]
    return "na"


def expected_alarms(city: City) -> list[set[tuple[str, str]]]:
    """Per day, the alarms the truth calls for that were not due on an earlier day of the run."""
    out, done = [], set()
    for k, at in enumerate(city.moments):
        day, due = local_day(at), set()
        for _, acc in city.settings.accounts():
            if closed(city.settings, acc.platform, acc.id, day):
                continue
            status, days = expected_updates(city, acc.platform, acc.id, at)
            since = local_day(last_update(city, acc.platform, acc.id, at)).isoformat()  # type: ignore[arg-type]
            if WINDOW - ALARM <= days < WINDOW:
                due.add((acc.id, f"update_warning:{since}"))
            if status == "fail":
                due.add((acc.id, f"update_lapsed:{since}"))
                due |= {(acc.id, f"silent_{n}:{since}") for n in (90, 365) if days >= n}
            failing = expected_interaction(city, acc.platform, acc.id, at) == "fail"
            before = expected_interaction(city, acc.platform, acc.id, at - timedelta(days=1)) == "fail"
            if failing and (k == 0 or not before):
                due.add((acc.id, f"interaction_fail:{day}"))
        fresh = {x for x in due if x not in done or x[1].startswith("interaction_fail")}
        out.append(fresh)
        done |= due
    return out


def security_alarms(raised: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The wording alarms (``security_hit:<post id>:<hit>``): the store's post id is the product's, so
    they are checked apart, by account and the link they name."""
    return {x for x in raised if x[1].startswith("security_hit:")}


# -- the checks ----------------------------------------------------------------------------------------

def rows_of(report: InspectionReport) -> dict[tuple[str, str], Any]:
    return {(r.account.platform, r.account.native_id): r for r in report.accounts}


def test_every_veto_item_of_every_account_on_every_day_equals_the_truth(city: City) -> None:
    checked = 0
    for at, report in zip(city.moments, city.reports, strict=True):
        rows = rows_of(report)
        assert len(rows) == len(city.settings.accounts())
        for (platform, native_id), r in rows.items():
            if closed(city.settings, platform, native_id, local_day(at)):
                assert r.overall == "closed" and {v.status for v in r.verdicts.values()} == {"na"}
                continue
            status, days = expected_updates(city, platform, native_id, at)
            assert (r.verdicts["updates"].status, r.updates.days_since) == (status, days), (native_id, at)
            assert r.updates.crosses_on == local_day(last_update(city, platform, native_id, at)) + timedelta(days=WINDOW)
            assert r.verdicts["interaction"].status == expected_interaction(city, platform, native_id, at), \
                (native_id, at, r.verdicts["interaction"].reason)
            if platform == "weibo":  # every comment and reply read, hotFlowChild's included
                facts = r.verdicts["interaction"].evidence
                assert (facts["comments"], facts["answered"]) == weibo_evidence(city, native_id, at), (native_id, at)
            if not WORDING:
                assert r.verdicts["security"].status == "unknown"
            checked += 1
    assert checked > 40 * DAYS


def test_the_planted_cases_come_out_as_planted(city: City) -> None:
    first, later = rows_of(city.reports[0]), [rows_of(r) for r in city.reports]
    assert first[("weibo", STATISTICS)].updates.days_since == 13 and first[("weibo", STATISTICS)].overall != "fail"
    assert later[1][("weibo", STATISTICS)].verdicts["updates"].status == "fail"  # day 14: over the line
    assert first[("weibo", AUDIT)].verdicts["updates"].status == "fail" and first[("weibo", AUDIT)].updates.days_since == 15
    assert first[("weibo", ARCHIVES)].updates.days_since == 100
    assert [r.account.native_id for r in city.reports[0].silent[90]] == [ARCHIVES]
    assert later[5][("weibo", URBAN)].verdicts["updates"].status == "pass"  # 13 days on day 5 ...
    assert later[6][("weibo", URBAN)].verdicts["updates"].status == "fail"  # ... 14 on day 6
    assert all(r[("weibo", NEVER_REPLIES)].verdicts["interaction"].status == "fail" for r in later)
    board = [r[("forum", NEVER_ANSWERS)].verdicts["interaction"] for r in later]
    assert all(v.status == "fail" for v in board) and any("均未回复" in v.reason for v in board)
    assert any(r[("weibo", "2810374651")].verdicts["interaction"].status == "pass" for r in later)
    assert first[("wechat", "MzI0NTUxMzg2OA==")].verdicts["interaction"].status == "fail"  # declared off


def test_alarms_are_raised_on_the_right_day(city: City) -> None:
    expected = expected_alarms(city)
    assert [r - security_alarms(r) for r in city.raised] == expected
    if WORDING:  # the hacked entry's link: raised once, on the first day it is published by
        published = datetime.fromisoformat(next(p["published_at"] for p in city.truth["posts"]
                                                if p.get("seeded") == "forbidden_link"))
        first = next(k for k, at in enumerate(city.moments) if at >= published)
        hits = [(k, x) for k, r in enumerate(city.raised) for x in security_alarms(r)]
        assert [(k, native) for k, (native, _) in hits] == [(first, HACKED)]
        assert SEEDED_LINK in hits[0][1][1]
    by_account: dict[str, dict[int, set[str]]] = defaultdict(dict)
    for k, raised in enumerate(city.raised):
        for native, key in raised:
            by_account[native].setdefault(k, set()).add(key.split(":")[0])
    assert by_account[STATISTICS][0] == {"update_warning"} and "update_lapsed" in by_account[STATISTICS][1]
    assert by_account[URBAN][2] == {"update_warning"} and "update_lapsed" in by_account[URBAN][6]
    assert 3 not in by_account[URBAN] and 0 not in by_account[URBAN]  # nothing twice, nothing early
    assert {"update_lapsed", "silent_90"} <= by_account[ARCHIVES][0]
    assert "inspection alarms" in city.status and "菏泽统计" in city.status


def test_the_register_lists_the_unregistered_and_the_long_silent(city: City) -> None:
    settings = city.settings
    repo = open_repo(settings)
    try:
        register = register_report(repo, settings, city.moments[-1])
    finally:
        repo.close()
    day = local_day(city.moments[-1])
    unfiled = {acc.id for _, acc in settings.accounts() if (acc.ledger is None or acc.ledger.opened is None)
               and own_posts(city, acc.platform, acc.id)}
    assert {x.account.native_id for x in register.unregistered} == unfiled and unfiled
    silent = {acc.id for _, acc in settings.accounts() if acc.ledger and acc.ledger.opened
              and not closed(settings, acc.platform, acc.id, day)
              and expected_updates(city, acc.platform, acc.id, city.moments[-1])[1] >= 90}
    assert {x.account.native_id for x in register.silent} == silent == {ARCHIVES}
    status = {x.account.native_id: x.status for x in register.lines}
    assert status["5870012364"] == status["5823301746"] == "closed" and status[ARCHIVES] == "sleeping"
    lines = {x.account.native_id: x for x in register.lines}
    assert any("未登记停更公告" in i for i in lines["5823301746"].issues)  # closed without a 停更公告


def test_a_past_day_in_the_report_file_equals_the_truth_of_that_day(city: City) -> None:
    at = day_start(city.csv_day + timedelta(days=1))  # the end of that day
    words = {"合格": "pass", "不合格": "fail", "待核实": "unknown", "不适用": "na"}
    names = [a.name for _, a in city.settings.accounts()]
    checked = 0
    for _, acc in city.settings.accounts():  # columns: 部门 账号 平台 结论 安全 内容不更新 … 互动回应差 说明
        if names.count(acc.name) > 1 or closed(city.settings, acc.platform, acc.id, city.csv_day):
            continue
        row = city.csv_rows[acc.name]
        assert words[row[5]] == expected_updates(city, acc.platform, acc.id, at)[0], acc.name
        assert words[row[9]] == expected_interaction(city, acc.platform, acc.id, at), acc.name
        checked += 1
    assert checked > 20


def test_the_hacked_entry_is_stored_with_its_link(city: City) -> None:
    seeded = [p for p in city.truth["posts"] if p.get("seeded") == "forbidden_link"]
    assert [p["account"] for p in seeded] == [HACKED] and SEEDED_LINK in seeded[0]["text"]
    repo = open_repo(city.settings)
    try:
        stored = [p for batch in repo.posts.iter_stored(platform="feeds") for _, _, p in batch if SEEDED_LINK in p.text]
    finally:
        repo.close()
    assert len(stored) == 1
    published = datetime.fromisoformat(seeded[0]["published_at"])
    for at, report in zip(city.moments, city.reports, strict=True):
        security = rows_of(report)[("feeds", HACKED)].verdicts["security"]
        if not WORDING:
            assert security.status == "unknown" and "wording" in security.reason
        else:  # the wording check is in the tree: the link fails the account from the day it is published
            assert (security.status == "fail") == (at >= published), (at, security.reason)
