"""The forum crawler's fetch side: Scrapy run in-process (twice, and again after the clock moves),
failures mapped into the error tree, and an end-to-end crawl of the city's boards against the sandbox."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from govmatrix.bootstrap import account_specs
from govmatrix.clock import Clock
from govmatrix.config import Settings, load_settings
from govmatrix.errors import CrawlError, FetchError, LoginRequired, ParseError, RateLimited
from govmatrix.models import Account, CrawlResult
from govmatrix.refresh import refresh_many
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.storage.db import make_engine, migrate
from govmatrix.storage.exchanges import ExchangeStore
from govmatrix.storage.feed import FeedQuery
from govmatrix.storage.repo import Repo
from govmatrix.tz import SHANGHAI
from tests.conftest import ROOT

from .kit import account as make_account
from .kit import cleaned, context, make_crawler

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "forum"
HEADERS: dict[str, str] = json.loads((FIXTURES / "headers.json").read_text(encoding="utf-8"))
FIXTURE_NOW = datetime.fromisoformat(json.loads((FIXTURES / "truth.json").read_text(encoding="utf-8"))["now"])
START = datetime(2016, 6, 1, 12, 0, tzinfo=SHANGHAI)
HORIZON_DAYS = 30


def forum_account(native_id: str = "健康菏泽", fid: int = 42) -> Account:
    acc = make_account("forum", native_id, f"{native_id}(论坛)")
    acc.options = {"fid": fid}
    return acc


def crawl(base_url: str, account: Account, now: datetime, horizon_days: int = HORIZON_DAYS,
          **settings: Any) -> tuple[CrawlResult, int]:
    """One crawl in a fresh event loop, as each scheduled run is; the result and the requests sent."""
    async def go() -> tuple[CrawlResult, int]:
        crawler = make_crawler("forum", base_url=base_url, rate=500, concurrency=4, timeout=5, **settings)
        result = await crawler.crawl(context(crawler, account, now, options=account.options, horizon_days=horizon_days))
        return result, crawler.budget.requests[account.native_id]

    result, requests = asyncio.run(go())
    cleaned(result.posts)
    return result, requests


def apply(account: Account, result: CrawlResult, now: datetime) -> None:
    """What refresh does with the cursor after a successful crawl."""
    horizon = account.cursor.get("horizon") or (now - timedelta(days=HORIZON_DAYS)).isoformat()
    account.cursor = {**account.cursor, **(result.cursor or {}), "horizon": horizon}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=5, start=START)) as server:
        yield server


def test_the_spider_runs_again_in_the_same_process_and_refetches_only_grown_threads(sandbox: SandboxServer) -> None:
    base = sandbox.base_url("forum")
    account = forum_account("菏泽食药监", 41)
    first, first_requests = crawl(base, account, START)
    apply(account, first, START)
    assert first.posts and first_requests > 1
    again, again_requests = crawl(base, account, START)
    assert again.posts == []  # nothing grew: list pages only
    assert again_requests < first_requests
    assert "twisted.internet.reactor" not in sys.modules  # reactorless: nothing to restart

    later = START + timedelta(days=2)
    httpx.post(sandbox.url + "/_sandbox/clock", json={"now": later.isoformat()}).raise_for_status()
    grown, _ = crawl(base, account, later)
    new_ids = {p.native_id for p in grown.posts} - {p.native_id for p in first.posts}
    assert new_ids
    truth = sandbox.truth(platforms=["forum"], accounts=[account.native_id], since=START)
    assert new_ids == {p["native_id"] for p in truth["posts"]} - {p.native_id for p in first.posts}
    refetched = {str(p.extra["tid"]) for p in grown.posts}
    before = account.cursor["threads"]
    assert all(grown.cursor and grown.cursor["threads"][tid]["replies"] >= before.get(tid, {}).get("replies", 0)
               for tid in refetched)


class Stub:
    """A loopback HTTP server whose answers come from ``route(mod, query) -> (status, headers, body)``."""

    def __init__(self, route: Callable[[str, dict[str, str]], tuple[int, dict[str, str], bytes]]) -> None:
        self.hits: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                stub.hits.append(self.path)
                status, headers, body = route(query.get("mod", ""), query)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/forum"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def fixture(name: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": HEADERS[name]}, (FIXTURES / name).read_bytes()


def stub_crawl(route: Callable[[str, dict[str, str]], tuple[int, dict[str, str], bytes]],
               horizon_days: int = HORIZON_DAYS) -> tuple[Stub, Any]:
    stub = Stub(route)
    account = forum_account()
    try:
        return stub, crawl(stub.url, account, FIXTURE_NOW, horizon_days)
    except (CrawlError, KeyError) as exc:
        return stub, exc
    finally:
        stub.close()


@pytest.mark.parametrize(("status", "headers", "error", "message", "requests"), [
    (418, {"Retry-After": "120"}, RateLimited, "forum 健康菏泽: rate limited (HTTP 418), retry in 120 s", 1),
    (403, {}, LoginRequired, "forum 健康菏泽: login or fresh cookie required (HTTP 403)", 1),
    (503, {}, FetchError, "forum 健康菏泽: HTTP 503 from http://127.0.0.1:", 3),  # retried twice
])
def test_http_failures_fail_the_crawl_with_the_mapped_error(status: int, headers: dict[str, str],
                                                            error: type[FetchError], message: str,
                                                            requests: int) -> None:
    stub, outcome = stub_crawl(lambda mod, q: (status, headers, b"busy"))
    assert type(outcome) is error and str(outcome).startswith(message)
    assert len(stub.hits) == requests
    if status == 418:
        assert outcome.retry_after == 120


def test_a_refused_connection_is_a_fetch_error() -> None:
    stub = Stub(lambda mod, q: (200, {}, b""))
    stub.close()
    with pytest.raises(FetchError, match="^forum 健康菏泽: connection refused"):
        crawl(stub.url, forum_account(), FIXTURE_NOW)


def test_a_board_behind_a_login_and_an_unreadable_thread_fail_the_crawl() -> None:
    _, outcome = stub_crawl(lambda mod, q: fixture("message_login.html"))
    assert isinstance(outcome, LoginRequired) and "没有权限访问该版块" in str(outcome)
    _, outcome = stub_crawl(lambda mod, q: fixture("forumdisplay_utf8.html") if mod == "forumdisplay"
                            else (200, {"Content-Type": "text/html"}, b"<html><body>busy</body></html>"))
    assert isinstance(outcome, ParseError) and "no posts" in str(outcome)


def test_a_bug_in_a_callback_is_raised_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr("govmatrix.crawlers.forum_parse.parse_list_page", broken)
    _, outcome = stub_crawl(lambda mod, q: fixture("forumdisplay_utf8.html"))
    assert isinstance(outcome, KeyError)  # refresh records it as an internal error, with its traceback


def test_a_cancelled_crawl_raises_and_its_engine_stops() -> None:
    def slow(mod: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        time.sleep(0.2)
        return fixture("forumdisplay_utf8.html") if mod == "forumdisplay" else fixture("message_gone.html")

    stub = Stub(slow)
    account = forum_account()

    async def go() -> tuple[BaseException | CrawlResult, int, int]:
        crawler = make_crawler("forum", base_url=stub.url, rate=500, concurrency=2)
        ctx = context(crawler, account, FIXTURE_NOW, options=account.options, horizon_days=365)
        task = asyncio.create_task(crawler.crawl(ctx))
        await asyncio.sleep(0.7)
        task.cancel()
        outcome = (await asyncio.gather(task, return_exceptions=True))[0]
        at_cancel = len(stub.hits)
        await asyncio.sleep(1.0)
        return outcome, at_cancel, len(stub.hits)

    try:
        outcome, at_cancel, later = asyncio.run(go())
    finally:
        stub.close()
    assert isinstance(outcome, asyncio.CancelledError)  # never a partial result
    assert 0 < at_cancel < 21
    assert later <= at_cancel + 2  # at most the requests already in flight: the engine was stopped


def test_deleted_threads_are_skipped_and_a_page_past_the_cap_ends_the_list() -> None:
    stub, outcome = stub_crawl(lambda mod, q: fixture("forumdisplay_utf8.html") if mod == "forumdisplay"
                               else fixture("message_gone.html"), horizon_days=365)
    result, _ = outcome
    lists = [h for h in stub.hits if "forumdisplay" in h]
    assert len(lists) == 2  # page 2 was answered with page 1: the walk stops there
    assert len(stub.hits) - len(lists) == 20  # each listed thread was tried once
    assert result.posts == []
    assert result.cursor["threads"] == {}  # nothing fetched: every thread is tried again next time


def stored_posts(repo: Repo) -> dict[str, dict[str, Any]]:
    return {r["native_id"]: r for r in repo.feed.page(FeedQuery(platform="forum", limit=100_000))}


def expected_posts(truth: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {p["native_id"]: (p["kind"], p["title"], p["text"], p["published_at"], p["url"], p["comments"])
            for p in truth["posts"]}


def stored_sessions(store: ExchangeStore) -> list[dict[str, Any]]:
    sessions = []
    for row in store.sessions():
        questions = [{"pid": int(q["native_id"]), "author": q["author"], "text": q["text"],
                      "asked_at": q["asked_at"].astimezone(SHANGHAI).isoformat(),
                      "answered_at": q["answered_at"].astimezone(SHANGHAI).isoformat() if q["answered_at"] else None,
                      "answer_pid": int(q["answer_native_id"]) if q["answer_native_id"] else None,
                      "suggestion": q["suggestion"]} for q in store.questions(row["id"])]
        sessions.append({"account": row["account"], "tid": int(row["native_id"]), "title": row["title"],
                         "start": row["start_at"].astimezone(SHANGHAI).isoformat(),
                         "end": row["end_at"].astimezone(SHANGHAI).isoformat(), "questions": questions})
    return sorted(sessions, key=lambda s: (s["start"], s["tid"]))


def truth_sessions(truth: dict[str, Any]) -> list[dict[str, Any]]:
    keys = ("account", "tid", "title", "start", "end", "questions")
    return sorted(({k: e[k] for k in keys} for e in truth["exchanges"]), key=lambda s: (s["start"], s["tid"]))


def city_settings(sandbox: SandboxServer) -> Settings:
    """The example settings with the forum pointed at the sandbox."""
    settings = load_settings(ROOT / "settings.toml")
    forum = settings.platform("forum").model_copy(update={"base_url": sandbox.base_url("forum"), "rate": 500.0,
                                                          "concurrency": 4, "horizon_days": HORIZON_DAYS})
    return settings.model_copy(update={"platforms": {**settings.platforms, "forum": forum}})


def test_every_board_of_the_city_through_refresh_equals_the_sandbox_truth(sandbox: SandboxServer,
                                                                          tmp_path: Path) -> None:
    """A first crawl and an incremental one three days later, through refresh: posts and the
    exchange record derived from them equal the truth."""
    settings = city_settings(sandbox)
    engine = make_engine(f"sqlite:///{tmp_path / 'refresh.db'}")
    migrate(engine)
    repo = Repo(engine)
    repo.accounts.sync(account_specs(settings))
    horizon = START - timedelta(days=HORIZON_DAYS)
    for day, now in enumerate((START, START + timedelta(days=3))):
        httpx.post(sandbox.url + "/_sandbox/clock", json={"now": now.isoformat()}).raise_for_status()
        accounts = repo.accounts.find(platform="forum")
        outcomes = asyncio.run(refresh_many(accounts, repo, settings, Clock(fixed=now)))
        assert [o.error for o in outcomes] == [None] * len(accounts)
        assert all(o.requests > 0 for o in outcomes), [(o.account.label, o.requests) for o in outcomes]
        truth = sandbox.truth(platforms=["forum"], since=horizon)
        if day == 0:
            assert sum(o.counts.new for o in outcomes) == len(truth["posts"])
            assert all(a.cursor["threads"] for a in repo.accounts.find(platform="forum"))
        stored = stored_posts(repo)
        assert {k: (r["kind"], r["title"], r["text"], r["published_at"].astimezone(SHANGHAI).isoformat(),
                    r["url"].removeprefix(sandbox.url), r["comments"]) for k, r in stored.items()} == expected_posts(truth)
        assert stored_sessions(repo.exchanges) == truth_sessions(truth)
        assert any(q["answered_at"] is None for s in truth["exchanges"] for q in s["questions"])
