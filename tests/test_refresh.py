"""refresh: a crawl -> pipelines -> store, a failure recorded, a store failure stopping the pass, bounds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from govmatrix import refresh
from govmatrix.bootstrap import initialize
from govmatrix.clock import Clock
from govmatrix.config import Settings, load_settings
from govmatrix.crawlers import base
from govmatrix.crawlers.base import CrawlContext, Crawler
from govmatrix.errors import FetchError, StoreError
from govmatrix.models import Account, CrawlResult, Post
from govmatrix.refresh import CrawlerPool, RefreshOutcome, refresh_account, refresh_many
from govmatrix.storage.feed import FeedQuery
from govmatrix.storage.repo import Repo, UpsertCounts

NOW = datetime(2016, 7, 2, tzinfo=UTC)


class ScriptedCrawler(Crawler):
    """Does what the test put in ``script``: returns a result, raises, or sleeps."""

    platform = "scripted"
    script: ClassVar[list[Any]] = []

    async def crawl(self, ctx: CrawlContext) -> CrawlResult:
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, float):
            await asyncio.sleep(step)
        return step if isinstance(step, CrawlResult) else CrawlResult()


@pytest.fixture
def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[tuple[Settings, Repo]]:
    monkeypatch.setitem(base.REGISTRY, "scripted", f"{__name__}:ScriptedCrawler")
    monkeypatch.setattr(ScriptedCrawler, "script", [])
    path = tmp_path / "settings.toml"
    path.write_text('[platforms.scripted]\ncrawl_timeout = 0.2\n\n[[departments]]\nname = "市政府"\nshort_name = "市府"\n'
                    '\n[[departments.accounts]]\nplatform = "scripted"\nid = "s1"\nname = "脚本"\n', encoding="utf-8")
    settings = load_settings(path, env={"GOVMATRIX_DATABASE_URL": db_url})
    repo, _ = initialize(settings, NOW)
    yield settings, repo
    repo.close()


def run(settings: Settings, repo: Repo) -> RefreshOutcome:
    [account] = repo.accounts.find()

    async def go() -> RefreshOutcome:
        pool = CrawlerPool(settings)
        try:
            return await refresh_account(account, pool, repo, Clock(fixed=NOW))
        finally:
            await pool.aclose()

    return asyncio.run(go())


def post(native_id: str, body: str, **kw: Any) -> Post:
    return Post(platform="scripted", native_id=native_id, published_at=NOW - timedelta(hours=1), body=body, **kw)


def test_a_crawl_goes_through_the_pipelines_into_the_store(scripted: tuple[Settings, Repo]) -> None:
    settings, repo = scripted
    ScriptedCrawler.script.append(CrawlResult(posts=[post("1", "<p>市消協發佈</p><p>消費警示</p>"),
                                                     post("2", "x", url="javascript:alert(1)")]))
    outcome = run(settings, repo)
    assert outcome.ok and outcome.counts == UpsertCounts(new=2)
    assert outcome.warnings == ["post 2: link 'javascript:alert(1)' is not http(s), dropped"]
    [row] = [r for r in repo.feed.page(FeedQuery()) if r["native_id"] == "1"]
    assert row["text"] == "市消協發佈\n消費警示"  # the clean pipeline ran
    [run_row] = repo.runs.of_account(outcome.account.id)
    assert (run_row["status"], run_row["warnings"], run_row["warning_samples"]) == ("ok", 1, outcome.warnings)


def test_a_post_dated_in_the_future_is_dated_when_first_seen(scripted: tuple[Settings, Repo]) -> None:
    settings, repo = scripted
    far = Post(platform="scripted", native_id="f", published_at=datetime(2100, 1, 1, tzinfo=UTC), body="未来")
    ScriptedCrawler.script += [CrawlResult(posts=[far]), CrawlResult(posts=[
        Post(platform="scripted", native_id="f", published_at=datetime(2100, 1, 1, tzinfo=UTC), body="未来")])]
    assert run(settings, repo).counts == UpsertCounts(new=1)
    assert run(settings, repo).counts == UpsertCounts()  # the same platform value again: unchanged
    [row] = repo.feed.page(FeedQuery())
    assert row["published_at"] == NOW and row["flags"] == ["future_date"]


def test_failures_are_recorded_and_secrets_redacted(scripted: tuple[Settings, Repo],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    settings, repo = scripted
    monkeypatch.setattr(Settings, "secret_values", lambda self: ["tok-SECRET"])
    ScriptedCrawler.script.append(FetchError("HTTP 500 from https://x/?access_token=tok-SECRET",
                                             platform="scripted", account="s1"))
    outcome = run(settings, repo)
    assert not outcome.ok and outcome.error == "scripted s1: HTTP 500 from https://x/?access_token=***"
    [account] = repo.accounts.find()
    assert account.error_count == 1 and "tok-SECRET" not in (account.last_error or "")


def test_a_crawl_past_its_deadline_fails_as_a_timeout(scripted: tuple[Settings, Repo]) -> None:
    settings, repo = scripted
    ScriptedCrawler.script.append(5.0)  # sleeps far past crawl_timeout = 0.2 s
    outcome = run(settings, repo)
    assert outcome.error == "scripted s1: crawl took longer than 0.2 s (crawl_timeout)"
    [account] = repo.accounts.find()
    assert account.next_check_at is not None and account.next_check_at > NOW


def test_an_account_of_a_platform_without_a_crawler_is_recorded(scripted: tuple[Settings, Repo],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    settings, repo = scripted
    monkeypatch.delitem(base.REGISTRY, "scripted")
    outcome = run(settings, repo)
    assert outcome.error and outcome.error.startswith("scripted: no crawler for this platform")
    [account] = repo.accounts.find()
    assert account.next_check_at == NOW + timedelta(seconds=settings.scheduler.max_interval)


def test_in_flight_accounts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    running, peak = 0, 0

    async def fake_refresh(account: Account, *args: Any) -> RefreshOutcome:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return RefreshOutcome(account, True, UpsertCounts(1, 0), 1, None, NOW)

    monkeypatch.setattr(refresh, "refresh_account", fake_refresh)
    accounts = [Account(id=n, platform="weibo", native_id=str(n), name=str(n)) for n in range(20)]
    outcomes = asyncio.run(refresh_many(accounts, None, None, Clock(fixed=NOW), pool=object(),  # type: ignore[arg-type]
                                        in_flight=3))
    assert peak == 3 and sum(o.ok for o in outcomes) == 20


def test_a_store_that_cannot_be_written_stops_the_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []

    async def fake_refresh(account: Account, *args: Any) -> RefreshOutcome:
        started.append(account.id)
        if account.id == 2:
            raise StoreError("database is locked by another process")
        await asyncio.sleep(10)
        return RefreshOutcome(account, True, UpsertCounts(), 0, None, NOW)

    monkeypatch.setattr(refresh, "refresh_account", fake_refresh)
    accounts = [Account(id=n, platform="weibo", native_id=str(n), name=str(n)) for n in range(5)]
    with pytest.raises(StoreError, match="database is locked"):
        asyncio.run(asyncio.wait_for(refresh_many(accounts, None, None, Clock(fixed=NOW), pool=object(),  # type: ignore[arg-type]
                                                  in_flight=5), timeout=5))
    assert sorted(started) == [0, 1, 2, 3, 4]

