"""The HTTP edge: error mapping, retries of transient faults, Retry-After, the shared budget."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from govmatrix.crawlers.http import Budget, PlatformClient, retry_after_seconds
from govmatrix.errors import FetchError, LoginRequired, RateLimited


def client(handler: object, **kw: object) -> PlatformClient:
    options: dict = {"rate": 0, "concurrency": 2, "retry_delay": 0.001} | kw
    return PlatformClient("weibo", transport=httpx.MockTransport(handler), **options)  # type: ignore[arg-type]


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


@pytest.mark.parametrize(("status", "error", "text"), [
    (418, RateLimited, "weibo 123: rate limited (HTTP 418), retry in 600 s"),
    (429, RateLimited, "weibo 123: rate limited (HTTP 429), retry in 600 s"),
    (432, LoginRequired, "weibo 123: login or fresh cookie required (HTTP 432)"),
    (404, FetchError, "weibo 123: HTTP 404 from http://x/api"),
])
def test_status_mapping(status: int, error: type[Exception], text: str) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, headers={"Retry-After": "600"}, text="<html>teapot</html>")

    async def go() -> None:
        async with client(handler) as c:
            await c.get("http://x/api?token=secret", account="123")

    with pytest.raises(error) as info:
        run(go())
    assert str(info.value) == text
    assert "secret" not in str(info.value)
    assert len(calls) == 1  # rate limits and client errors are not retried in the crawl
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == 600


def test_transient_faults_are_retried_then_succeed() -> None:
    answers = iter([httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"ok": 1})])

    async def go() -> tuple[int, int]:
        async with client(lambda request: next(answers)) as c:
            response = await c.get("http://x/", account="a")
            return response.status_code, c.requests["a"]

    assert run(go()) == (200, 3)


def test_transient_faults_give_up_after_retries() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    async def go() -> None:
        async with client(handler, retries=2) as c:
            await c.get("http://x/", account="9")

    with pytest.raises(FetchError, match="weibo 9: network error: RemoteProtocolError"):
        run(go())


def test_timeouts_become_fetch_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    async def go() -> None:
        async with client(handler, retries=0) as c:
            await c.get("http://x/", account="9")

    with pytest.raises(FetchError, match="weibo 9: timed out"):
        run(go())


def test_retry_after_forms() -> None:
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    from datetime import UTC, datetime
    now = datetime(2016, 7, 2, 6, 0, tzinfo=UTC)
    assert retry_after_seconds("Sat, 02 Jul 2016 06:05:00 GMT", now) == 300


def test_budget_spaces_requests() -> None:
    async def go() -> float:
        budget = Budget(rate=50)
        began = time.monotonic()
        for _ in range(6):
            await budget.take()
        return time.monotonic() - began

    # five gaps of 20 ms at least; an unlimited budget would take ~0 s
    assert run(go()) >= 0.09  # type: ignore[operator]
