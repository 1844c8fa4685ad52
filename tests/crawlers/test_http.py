"""The HTTP edge: status and transport error mapping, retries, Retry-After, redirects, size caps, the budget."""

from __future__ import annotations

import asyncio
import gzip
import socket
from typing import Any

import aiohttp
import httpx
import pytest

from govmatrix.config import PlatformSettings
from govmatrix.crawlers.http import (
    Budget,
    NetworkFailure,
    PlatformClient,
    RetryPolicy,
    classify,
    retry_after_seconds,
)
from govmatrix.errors import FetchError, LoginRequired, RateLimited


def client(handler: Any, **settings: Any) -> PlatformClient:
    section = PlatformSettings(**({"rate": 1000.0, "concurrency": 2} | settings))
    return PlatformClient("weibo", section, Budget(0, 2), transport=httpx.MockTransport(handler),
                          retry=RetryPolicy(retries=2, delay=0.001))


def fetch(handler: Any, url: str = "http://x/api", account: str = "123", **settings: Any) -> Any:
    async def go() -> Any:
        async with client(handler, **settings) as c:
            response = await c.get(url, account=account)
            return response, c.budget.requests[account]

    return asyncio.run(go())


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

    with pytest.raises(error) as info:
        fetch(handler, "http://x/api?token=secret")
    assert str(info.value) == text
    assert "secret" not in str(info.value)
    assert len(calls) == 1  # rate limits and client errors are not retried in the crawl
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == 600


def test_transient_faults_are_retried_then_succeed() -> None:
    answers = iter([httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"ok": 1})])
    response, requests = fetch(lambda request: next(answers))
    assert (response.status_code, requests) == (200, 3)


def test_transient_faults_give_up_after_retries() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    with pytest.raises(NetworkFailure, match="weibo 123: response cut short") as info:
        fetch(handler)
    assert info.value.kind == "cut"


@pytest.mark.parametrize(("cause", "kind", "message"), [
    (ConnectionRefusedError(111, "Connection refused"), "refused", "connection refused"),
    (ConnectionResetError(104, "Connection reset by peer"), "reset", "connection reset by the server"),
    (aiohttp.ServerDisconnectedError(), "closed", "the server closed the connection before answering"),
    (socket.gaierror(-2, "Name or service not known"), "dns", "host name not found"),
    (aiohttp.ServerTimeoutError("read"), "timeout", "timed out"),
])
def test_the_transport_error_beneath_httpx_decides(cause: BaseException, kind: str, message: str) -> None:
    """httpx-aiohttp re-raises every aiohttp connection error as ConnectTimeout: the cause tells the truth."""
    try:
        try:
            raise cause
        except BaseException as inner:
            raise httpx.ConnectTimeout(str(inner)) from inner
    except httpx.ConnectTimeout as outer:
        assert classify(outer)[0] == kind
    assert NetworkFailure(kind, platform="weibo", account="1").reason == message


def test_a_plain_timeout_is_a_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with pytest.raises(NetworkFailure, match="weibo 123: timed out"):
        fetch(handler)


def test_retry_after_forms() -> None:
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    sent = "Sat, 02 Jul 2016 06:00:00 GMT"
    assert retry_after_seconds("Sat, 02 Jul 2016 06:05:00 GMT", sent) == 300
    assert retry_after_seconds("Sat, 02 Jul 2016 06:05:00 GMT") is None  # no Date to read it against


def test_redirects_follow_the_same_host_and_count_every_hop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        hop = int(request.url.params.get("hop", "0"))
        if hop < 3:
            return httpx.Response(302, headers={"Location": f"/api?hop={hop + 1}"})
        return httpx.Response(200, text="arrived")

    response, requests = fetch(handler)
    assert (response.content, response.url, requests) == (b"arrived", "http://x/api?hop=3", 4)


@pytest.mark.parametrize(("location", "allowed", "message"), [
    ("http://x/loop", [], "more than 5 redirects"),
    ("http://127.0.0.1:9999/internal", [], "to another host 127.0.0.1:9999"),
    ("http://x:8080/other-port", [], "to another host x:8080"),
    ("javascript:alert(1)", [], "unsupported URL"),
    ("javascript:/alert(1)", [], "to a javascript URL"),
    ("file:///etc/passwd", [], "to a file URL"),
])
def test_redirects_that_are_refused(location: str, allowed: list[str], message: str) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(301, headers={"Location": location})

    with pytest.raises(NetworkFailure, match=message):
        fetch(handler, allowed_hosts=allowed)
    assert len(calls) <= 6


def test_an_allowed_host_may_be_redirected_to() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "x":
            return httpx.Response(302, headers={"Location": "https://cdn.example/feed.xml"})
        return httpx.Response(200, text="feed")

    response, _ = fetch(handler, allowed_hosts=["cdn.example"])
    assert response.content == b"feed"


def test_bodies_over_the_cap_fail_decompressed_or_not() -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)  # 5 MB inflated from about 5 kB

    def compressed(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=bomb)

    with pytest.raises(NetworkFailure, match="response larger than 1 MB"):
        fetch(compressed, max_body_bytes=1024 * 1024)
    response, _ = fetch(compressed, max_body_bytes=8 * 1024 * 1024)
    assert len(response.content) == 5_000_000

    def plain(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 2000)

    with pytest.raises(NetworkFailure, match="response larger than 1000 bytes"):
        fetch(plain, max_body_bytes=1000)


def test_budget_spaces_requests_by_its_rate() -> None:
    clock = [100.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(round(seconds, 6))

    async def go() -> None:
        budget = Budget(rate=50, concurrency=1, monotonic=lambda: clock[0], sleep=sleep)
        for _ in range(4):
            await budget.take("a")
        unlimited = Budget(rate=0, concurrency=1, monotonic=lambda: clock[0], sleep=sleep)
        await unlimited.take("a")
        assert (budget.requests["a"], unlimited.requests["a"]) == (4, 1)

    asyncio.run(go())
    assert sleeps == [0.02, 0.04, 0.06]  # the clock stands still: each request waits one more slot
