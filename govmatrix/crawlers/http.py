"""The one HTTP client factory: per-platform limits, retries of transient faults, error mapping.

Every crawler talks to the network through a ``PlatformClient``. It shares one request budget
(requests per second and concurrency) between all accounts of a platform, retries what is
transient (timeouts, 5xx, connections dropped mid-body) a few times with back-off, and turns
every third-party exception into the govmatrix tree: ``RateLimited`` (418, 429), ``LoginRequired``
(401, 403, 432), ``FetchError`` (the rest). Cookies and tokens never appear in messages.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from govmatrix.errors import FetchError, LoginRequired, RateLimited

RATE_LIMIT_STATUS = frozenset({418, 429})
LOGIN_STATUS = frozenset({401, 403, 432})
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


@dataclass
class Budget:
    """A token bucket: at most ``rate`` requests per second (``rate <= 0`` means unlimited)."""

    rate: float
    _next_slot: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def take(self) -> None:
        if self.rate <= 0:
            return
        async with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class PlatformClient:
    """An ``httpx.AsyncClient`` with a shared per-platform budget, retries and error mapping.

    ``requests`` counts every request sent, per account label, so a refresh can report it.
    """

    def __init__(self, platform: str, *, rate: float, concurrency: int, timeout: float = 20.0,
                 headers: dict[str, str] | None = None, retries: int = 2, retry_delay: float = 0.5,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.platform = platform
        self.budget = Budget(rate)
        self.slots = asyncio.Semaphore(concurrency)
        self.retries = retries
        self.retry_delay = retry_delay
        self.requests: Counter[str] = Counter()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        # aiohttp under httpx's interface: httpx's own async pool (httpcore on anyio) cost about 40 %
        # of a crawl's CPU; aiohttp's C parser and pool do the same work for a fraction of it.
        # httpx keeps the cookies; aiohttp's own jar would add a second, hidden one.
        transport = transport or AiohttpTransport(limits=limits, client=lambda: aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency), cookie_jar=aiohttp.DummyCookieJar()))
        self.http = httpx.AsyncClient(timeout=timeout, headers=headers, limits=limits, transport=transport,
                                      follow_redirects=False)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> PlatformClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(self, method: str, url: str, *, account: str, **kwargs: Any) -> httpx.Response:
        """Send one request; transient faults are retried, the rest raised as govmatrix errors."""
        attempt = 0
        while True:
            try:
                return await self._send_once(method, url, account=account, **kwargs)
            except FetchError as exc:
                transient = not isinstance(exc, RateLimited | LoginRequired) and (
                    exc.status is None or exc.status in RETRYABLE_STATUS)
                if not transient or attempt >= self.retries:
                    raise
            attempt += 1
            await asyncio.sleep(self.retry_delay * (2 ** (attempt - 1)) * random.uniform(0.8, 1.2))

    async def get(self, url: str, *, account: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, account=account, **kwargs)

    async def post(self, url: str, *, account: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, account=account, **kwargs)

    async def _send_once(self, method: str, url: str, *, account: str, **kwargs: Any) -> httpx.Response:
        async with self.slots:
            await self.budget.take()
            self.requests[account] += 1
            try:
                response = await self.http.request(method, url, **kwargs)
            except httpx.TimeoutException as exc:
                raise FetchError(f"timed out ({type(exc).__name__})", platform=self.platform, account=account) from exc
            except httpx.HTTPError as exc:
                # Connection refused or dropped, a body cut short (RemoteProtocolError), ...
                raise FetchError(f"network error: {type(exc).__name__}: {exc}", platform=self.platform,
                                 account=account) from exc
        self._check_status(response, account)
        return response

    def _check_status(self, response: httpx.Response, account: str) -> None:
        status = response.status_code
        if status < 300 or status == 304:
            return
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        error: type[FetchError] = FetchError
        message = f"HTTP {status} from {response.request.url.copy_with(query=None)}"
        if status in RATE_LIMIT_STATUS:
            error = RateLimited
            message = f"rate limited (HTTP {status})" + (f", retry in {retry_after:.0f} s" if retry_after else "")
        elif status in LOGIN_STATUS:
            error, message = LoginRequired, f"login or fresh cookie required (HTTP {status})"
        raise error(message, platform=self.platform, account=account, status=status, retry_after=retry_after)
