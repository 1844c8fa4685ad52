"""The one HTTP edge: request budgets, deadlines, size caps, redirects, retries and the one error map.

Every crawler reaches the network through a ``PlatformClient`` (httpx's interface over an aiohttp
transport) or, for the Scrapy forum spider, through the same ``Budget``, ``RetryPolicy`` and error
map. What it guarantees for every request:

- **Budget**: one per platform, shared by all its accounts: at most ``rate`` requests per second
  and ``concurrency`` at once; every request, retries and redirect hops included, is counted
  against it and per account.
- **Deadline**: ``timeout`` bounds the whole request (connect, headers and body), not one read.
- **Size**: the body is read as it streams and decompressed here, so a response larger than
  ``max_body_bytes`` once decompressed (a gzip bomb, a feed that never ends) fails as soon as it
  passes the cap, holding at most the cap in memory.
- **Redirects**: at most ``MAX_REDIRECTS`` hops, http and https only, to the host and port asked
  for or to one of the platform's ``allowed_hosts``.
- **Errors**: transport exceptions (aiohttp under httpx, Scrapy's for the spider) and HTTP statuses
  become ``RateLimited`` (418, 429), ``LoginRequired`` (401, 403, 432) or ``FetchError`` with a message
  that says what happened: a connection refused or reset is not "timed out". Transient faults
  (5xx, timeouts, dropped connections, bodies cut short) are retried by one ``RetryPolicy``.
Cookies and tokens never appear in messages: URLs are shown without their query.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import socket
import ssl
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from govmatrix.config import MB, PlatformSettings
from govmatrix.errors import FetchError, LoginRequired, RateLimited

RATE_LIMIT_STATUS = frozenset({418, 429})
LOGIN_STATUS = frozenset({401, 403, 432})
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
ACCEPT_ENCODING = "gzip, deflate"  # what the bounded decoder below reads
_CHUNK = 64 * 1024

# Failure kinds -> message; the kinds a retry may cure.
_MESSAGES = {
    "timeout": "timed out",
    "refused": "connection refused",
    "reset": "connection reset by the server",
    "closed": "the server closed the connection before answering",
    "cut": "response cut short",
    "dns": "host name not found",
    "tls": "TLS handshake failed",
    "too_large": "response larger than {limit}",
    "redirect": "redirect refused",
    "scheme": "unsupported URL",
    "network": "network error",
}
TRANSIENT = frozenset({"timeout", "refused", "reset", "closed", "cut", "network"})


class NetworkFailure(FetchError):
    """A request failed below HTTP; ``kind`` says how (a key of the message table)."""

    def __init__(self, kind: str, detail: str = "", *, platform: str, account: str, limit: int = 0) -> None:
        message = _MESSAGES[kind].format(limit=_size(limit))
        super().__init__(f"{message} ({detail})" if detail else message, platform=platform, account=account)
        self.kind = kind


def _size(limit: int) -> str:
    return f"{limit // MB} MB" if limit and limit % MB == 0 else f"{limit} bytes"


@dataclass(frozen=True)
class RetryPolicy:
    """How transient faults are retried, by the httpx client and by the forum spider alike."""

    retries: int = 2
    delay: float = 0.5  # seconds before the first retry; doubled each time, ±20 % jitter
    statuses: frozenset[int] = RETRYABLE_STATUS

    def pause(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1 = the first)."""
        return self.delay * (2 ** (attempt - 1)) * (rng or random).uniform(0.8, 1.2)

    def retries_error(self, exc: FetchError) -> bool:
        if isinstance(exc, RateLimited | LoginRequired):
            return False
        if isinstance(exc, NetworkFailure):
            return exc.kind in TRANSIENT
        return exc.status in self.statuses


RETRY = RetryPolicy()


class Budget:
    """A platform's shared request budget: a token bucket of ``rate`` requests per second
    (``rate <= 0``: unlimited) and ``concurrency`` requests at once; ``requests`` counts per account.
    """

    def __init__(self, rate: float, concurrency: int, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.rate = rate
        self.slots = asyncio.Semaphore(concurrency)
        self.requests: Counter[str] = Counter()
        self._monotonic, self._sleep = monotonic, sleep
        self._next_slot = 0.0
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, settings: PlatformSettings) -> Budget:
        return cls(settings.rate, settings.concurrency)

    async def take(self, account: str) -> None:
        """Wait for the next request slot of the platform and count the request for ``account``."""
        self.requests[account] += 1
        if self.rate <= 0:
            return
        async with self._lock:
            now = self._monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.rate
        if slot > now:
            await self._sleep(slot - now)


def retry_after_seconds(value: str | None, date: str | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta seconds, or an HTTP date read against the
    response's own ``Date`` header (None when it has none: the caller's back-off applies)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        sent = email.utils.parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        return None
    if sent is None:
        return None
    return max(0.0, (when - sent).total_seconds())


def status_error(status: int, url: str, headers: Mapping[str, str], *, platform: str,
                 account: str) -> FetchError | None:
    """The error an HTTP status means, or None for a success (2xx, 304)."""
    if status < 300 or status == 304:
        return None
    retry_after = retry_after_seconds(headers.get("Retry-After"), headers.get("Date"))
    if status in RATE_LIMIT_STATUS:
        suffix = f", retry in {retry_after:.0f} s" if retry_after else ""
        return RateLimited(f"rate limited (HTTP {status}){suffix}", platform=platform, account=account,
                           status=status, retry_after=retry_after)
    if status in LOGIN_STATUS:
        return LoginRequired(f"login or fresh cookie required (HTTP {status})", platform=platform, account=account,
                             status=status)
    return FetchError(f"HTTP {status} from {without_query(url)}", platform=platform, account=account, status=status,
                      retry_after=retry_after)


def without_query(url: str) -> str:
    """A URL safe to show: tokens travel in query strings."""
    return url.split("?", 1)[0]


def classify(exc: BaseException) -> tuple[str, str]:
    """(kind, detail) of a transport exception, from the innermost cause outwards.

    httpx-aiohttp re-raises every aiohttp connection error as ``httpx.ConnectTimeout``, so the
    original exception (the cause) is what tells a refused or dropped connection from a timeout.
    """
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in reversed(chain):
        kind = _kind_of(item)
        if kind:
            return kind, ""
    return "network", f"{type(exc).__name__}: {exc}"


def _kind_of(exc: BaseException) -> str | None:
    import aiohttp

    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "reset"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "closed"
    if isinstance(exc, aiohttp.ClientPayloadError | httpx.RemoteProtocolError | httpx.ReadError):
        return "cut"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _kind_of(exc.os_error) or "refused"
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError) or (
            isinstance(exc, httpx.TimeoutException) and exc.__cause__ is None):
        return "timeout"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "scheme"
    return None


@dataclass(frozen=True)
class Fetched:
    """A response as the crawlers see it: final URL, status, headers and the whole (decoded) body."""

    url: str
    status_code: int
    headers: httpx.Headers
    content: bytes


class _Decoder:
    """Content-Encoding decoding that never yields more than ``limit`` bytes in all."""

    def __init__(self, encoding: str, limit: int, fail: Callable[[str, str], NetworkFailure]) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise fail("network", f"unsupported Content-Encoding {encoding!r}")
        self.limit, self.size, self._fail = limit, 0, fail
        self.parts: list[bytes] = []

    @property
    def identity(self) -> bool:
        return self._zlib is None

    def feed(self, data: bytes) -> None:
        if self._zlib is None:
            self._keep(data)
            return
        try:
            while data:
                self._keep(self._zlib.decompress(data, self.limit - self.size + 1))
                data = self._zlib.unconsumed_tail
        except zlib.error as exc:
            raise self._fail("cut", f"bad compressed body: {exc}") from exc

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise self._fail("too_large", "")
        self.parts.append(data)

    def finish(self) -> bytes:
        if self._zlib is not None:
            self._keep(self._zlib.flush())
        return b"".join(self.parts)


class PlatformClient:
    """An httpx client bound to one platform's settings and budget (see the module docstring)."""

    def __init__(self, platform: str, settings: PlatformSettings, budget: Budget, *,
                 headers: dict[str, str] | None = None, retry: RetryPolicy = RETRY,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.platform, self.settings, self.budget, self.retry = platform, settings, budget, retry
        self.allowed = frozenset(host.lower() for host in settings.allowed_hosts)
        limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency)
        self.http = httpx.AsyncClient(timeout=settings.timeout, headers={**(headers or {}),
                                      "Accept-Encoding": ACCEPT_ENCODING}, limits=limits,
                                      transport=transport or _aiohttp_transport(limits, settings.concurrency),
                                      follow_redirects=False)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> PlatformClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get(self, url: str, *, account: str, **kwargs: Any) -> Fetched:
        return await self.request("GET", url, account=account, **kwargs)

    async def post(self, url: str, *, account: str, **kwargs: Any) -> Fetched:
        return await self.request("POST", url, account=account, **kwargs)

    async def request(self, method: str, url: str, *, account: str, **kwargs: Any) -> Fetched:
        """Send one request, following redirects; transient faults are retried, the rest raised."""
        attempt = 0
        while True:
            try:
                return await self._follow(method, url, account, kwargs)
            except FetchError as exc:
                if attempt >= self.retry.retries or not self.retry.retries_error(exc):
                    raise
            attempt += 1
            await asyncio.sleep(self.retry.pause(attempt))

    async def _follow(self, method: str, url: str, account: str, kwargs: dict[str, Any]) -> Fetched:
        origin = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            fetched = await self._send_once(method, url, account, kwargs)
            if fetched.status_code not in REDIRECT_STATUS or "location" not in fetched.headers:
                return fetched
            target = urljoin(url, fetched.headers["location"])
            self._check_redirect(target, origin, account)
            if fetched.status_code == 303 or (fetched.status_code in (301, 302) and method == "POST"):
                method, kwargs = "GET", {k: v for k, v in kwargs.items() if k not in ("json", "data", "content")}
            kwargs = {k: v for k, v in kwargs.items() if k != "params"}  # the Location carries its own query
            url = target
        raise NetworkFailure("redirect", f"more than {MAX_REDIRECTS} redirects", platform=self.platform,
                             account=account)

    def _check_redirect(self, target: str, origin: str, account: str) -> None:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https"):
            raise NetworkFailure("redirect", f"to a {parts.scheme or 'schemeless'} URL", platform=self.platform,
                                 account=account)
        there = _origin(target)
        if there != origin and there not in self.allowed and (parts.hostname or "") not in self.allowed:
            raise NetworkFailure("redirect", f"to another host {there} (allowed_hosts: "
                                 f"{', '.join(sorted(self.allowed)) or 'none'})", platform=self.platform,
                                 account=account)

    async def _send_once(self, method: str, url: str, account: str, kwargs: dict[str, Any]) -> Fetched:
        def fail(kind: str, detail: str) -> NetworkFailure:
            return NetworkFailure(kind, detail, platform=self.platform, account=account,
                                  limit=self.settings.max_body_bytes)

        async with self.budget.slots:
            await self.budget.take(account)
            try:
                async with asyncio.timeout(self.settings.timeout):
                    fetched = await self._read(method, url, kwargs, fail)
            except FetchError:
                raise
            except TimeoutError:
                raise fail("timeout", f"no complete answer within {self.settings.timeout:g} s") from None
            except httpx.InvalidURL as exc:  # also a redirect's Location that is no URL httpx can follow
                raise fail("scheme", str(exc)) from None
            except (httpx.HTTPError, OSError, ValueError) as exc:
                raise fail(*classify(exc)) from exc
            except Exception as exc:  # aiohttp's own errors when httpx-aiohttp leaves one unmapped
                if type(exc).__module__.split(".")[0] != "aiohttp":
                    raise
                raise fail(*classify(exc)) from exc
        error = status_error(fetched.status_code, url, fetched.headers, platform=self.platform, account=account)
        if error is not None and fetched.status_code not in REDIRECT_STATUS:
            raise error
        return fetched

    async def _read(self, method: str, url: str, kwargs: dict[str, Any],
                    fail: Callable[[str, str], NetworkFailure]) -> Fetched:
        request = self.http.build_request(method, url, **kwargs)
        response = await self.http.send(request, stream=True)
        if response.is_stream_consumed:  # an in-memory response (a test's MockTransport): already whole
            if len(response.content) > self.settings.max_body_bytes:
                raise fail("too_large", "")
            return Fetched(str(response.url), response.status_code, response.headers, response.content)
        try:
            decoder = _Decoder(response.headers.get("Content-Encoding", ""), self.settings.max_body_bytes, fail)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and decoder.identity and int(declared) > self.settings.max_body_bytes:
                raise fail("too_large", f"Content-Length {declared}")
            async for chunk in response.aiter_raw(_CHUNK):
                decoder.feed(chunk)
            body = decoder.finish()
        finally:
            await response.aclose()
        return Fetched(str(response.url), response.status_code, response.headers, body)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{(parts.hostname or '').lower()}:{port}"


def _aiohttp_transport(limits: httpx.Limits, concurrency: int) -> httpx.AsyncBaseTransport:
    """aiohttp under httpx's interface: httpx's own async pool (httpcore on anyio) cost about 40 % of a
    crawl's CPU. httpx keeps the cookies; aiohttp's jar would be a second, hidden one."""
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

    return AiohttpTransport(limits=limits, client=lambda: aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency), cookie_jar=aiohttp.DummyCookieJar()))
