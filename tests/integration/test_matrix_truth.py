"""A simulated quarter against the sandbox: every follower and exchange figure of the monthly
statistics equals what the sandbox's truth gives, computed here from the truth alone."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from govmatrix.bootstrap import open_repo
from govmatrix.cli import main
from govmatrix.config import load_settings
from govmatrix.crawlers.values import parse_count
from govmatrix.matrix.exchange_record import exchange_report, week_starts
from govmatrix.matrix.followers import followers_report
from govmatrix.matrix.period import Month
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.tz import SHANGHAI
from tests.conftest import SANDBOX_SECRETS

from .conftest import sandbox_settings

START = datetime(2016, 4, 1, 9, 0, tzinfo=SHANGHAI)
QUARTER = (Month(2016, 4), Month(2016, 5), Month(2016, 6))
WEEKS = 13  # crawls every 7 days from 04-01 to 07-01


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The sandbox crawled once a week for a quarter into SQLite; (settings, the truth, the crawl days)."""
    tmp = tmp_path_factory.mktemp("quarter")
    with pytest.MonkeyPatch.context() as env, SandboxServer(SandboxConfig(seed=5, start=START)) as sandbox:
        for name, value in SANDBOX_SECRETS.items():  # a module fixture runs before the autouse one
            env.setenv(name, value)
        env.delenv("GOVMATRIX_DATABASE_URL", raising=False)
        config = sandbox_settings(tmp, sandbox.url)
        text = config.read_text(encoding="utf-8").replace('url = "sqlite:///govmatrix.db"',
                                                          f'url = "sqlite:///{tmp / "q.db"}"')
        config.write_text(text, encoding="utf-8")
        assert main(["--config", str(config), "init"]) == 0
        days = []
        for week in range(WEEKS + 1):
            if week:
                httpx.post(f"{sandbox.url}/_sandbox/clock", json={"advance_seconds": 7 * 86_400}).raise_for_status()
            now = sandbox.state.now
            days.append(now.astimezone(SHANGHAI).date())
            assert main(["--config", str(config), "--now", now.isoformat(), "crawl", "--all"]) == 0
        truth = sandbox.truth(since=START - timedelta(days=60))
        settings = load_settings(config)
    return settings, truth, days


def _weibo_expected(truth: dict[str, Any], crawls: list[date]) -> dict[str, dict[date, int]]:
    """What the store can know of Weibo: the count shown on each crawl day."""
    shown: dict[str, dict[date, int]] = defaultdict(dict)
    for row in truth["followers"]:
        day = date.fromisoformat(row["day"])
        if row["platform"] == "weibo" and day in crawls:
            shown[row["account"]][day] = parse_count(row["shown"])[0]  # type: ignore[assignment]
    return shown


def _value_on(readings: dict[date, int], day: date) -> int | None:
    earlier = [d for d in readings if d <= day]
    return readings[max(earlier)] if earlier else None


def test_followers_of_a_quarter_equal_the_truth(quarter: Any) -> None:
    settings, truth, crawls = quarter
    weibo = _weibo_expected(truth, crawls)
    wechat: dict[str, dict[date, int]] = defaultdict(dict)
    for row in truth["followers"]:
        if row["platform"] == "wechat":
            wechat[row["account"]][date.fromisoformat(row["day"])] = row["followers"]
    repo = open_repo(settings)
    try:
        checked = 0
        for month in QUARTER:
            report = followers_report(repo, month)
            eve = month.first - timedelta(days=1)
            totals: dict[str, int] = defaultdict(int)
            for stats in report.accounts:
                native, platform = stats.account.native_id, stats.account.platform
                readings = weibo.get(native) if platform == "weibo" else wechat.get(native)
                if not readings:
                    assert stats.month.end is None  # a bridged WeChat account: no follower figures at all
                    continue
                expected = [_value_on(readings, d.day) for d in stats.series]
                assert [d.followers for d in stats.series] == expected, native
                assert [d.carried for d in stats.series] == [d.day not in readings for d in stats.series]
                end, start = expected[-1], _value_on(readings, eve)
                start = start if start is not None else next(v for v in expected if v is not None)
                assert (stats.month.end, stats.month.growth) == (end, end - start), native  # type: ignore[operator]
                totals[platform] += end or 0
                checked += 1
            assert {t.name: t.followers for t in report.platforms} == dict(totals)
            assert report.matrix.followers == sum(totals.values())
        assert checked == 3 * (len(weibo) + len(wechat)) > 60  # every Weibo and owned WeChat account, every month
    finally:
        repo.close()


def test_exchanges_of_a_quarter_equal_the_truth(quarter: Any) -> None:
    settings, truth, _crawls = quarter
    repo = open_repo(settings)
    missed_months = 0
    try:
        for month in QUARTER:
            report = exchange_report(repo, month, SHANGHAI)
            by_user = {d.account.native_id: d for d in report.departments}
            for user, record in by_user.items():
                sessions = [x for x in truth["exchanges"] if x["account"] == user
                            and Month.of(datetime.fromisoformat(x["start"]).date()) == month]
                questions = [q for x in sessions for q in x["questions"]]
                answered = [q for q in questions if q["answered_at"]]
                delays = [(datetime.fromisoformat(q["answered_at"]) - datetime.fromisoformat(q["asked_at"]))
                          .total_seconds() for q in answered]
                late = [q for x in sessions for q in x["questions"]
                        if q["answered_at"] and q["answered_at"] > x["end"]]
                got = record.month
                assert (got.sessions, got.questions, got.answered, got.late, got.suggestions) == (
                    len(sessions), len(questions), len(answered), len(late),
                    sum(q["suggestion"] for q in questions)), (user, str(month))
                assert record.median_delay == (statistics.median(delays) if delays else None)
                assert record.max_delay == (max(delays) if delays else None)
                if record.frequency == "weekly":
                    held = {datetime.fromisoformat(x["start"]).date() for x in truth["exchanges"]
                            if x["account"] == user}
                    missed = [w for w in week_starts(month) if not any(w <= d < w + timedelta(days=7) for d in held)]
                    assert record.missed_weeks == missed
            assert [d.missed for d in report.departments] == sorted((d.missed for d in report.departments),
                                                                     reverse=True)
            assert any(d.frequency == "weekly" for d in report.departments)
            assert report.total.questions > 50 and report.total.late > 0
            missed_months += sum(d.missed for d in report.departments)
        assert missed_months  # the sandbox's skipping boards miss a month
    finally:
        repo.close()


def test_owned_wechat_articles_get_their_datacube_figures(quarter: Any) -> None:
    settings, truth, _crawls = quarter
    expected = {(p["account"], f"{p['mid']}_{p['idx']}"): tuple(p["figures"][:2]) for p in truth["posts"]
                if p["platform"] == "wechat" and p["owned"]
                and Month.of(datetime.fromisoformat(p["published_at"]).date()) == QUARTER[0]}
    repo = open_repo(settings)
    try:
        april = QUARTER[0].bounds(SHANGHAI)
        native = {a.id: a.native_id for a in repo.accounts.find(platform="wechat")}  # msgids repeat across accounts
        got = {(native[row["account_id"]], row["extra"]["msgid"]): (row["reads"], row["shares"])
               for row in repo.figures.of_period(*april)
               if row["platform"] == "wechat" and row["shares"] is not None}
    finally:
        repo.close()
    assert len(expected) > 30 and got == expected
