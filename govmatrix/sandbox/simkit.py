"""Small helpers shared by the simulated WeChat, forum and department-site feeds.

Plain text by the truth's rules, stable random identifiers, HTTP and RSS dates, retry-safe
platform faults and the simplified-to-traditional converter. Pure functions, except the
fault ledger, which counts attempts per request key.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from html.parser import HTMLParser

from starlette.requests import Request

from govmatrix.sandbox.state import SHANGHAI
from govmatrix.sandbox.texts import rng


class _TextCollector(HTMLParser):
    """Collects text by the contract's rules; optionally skips Discuz quote blocks."""

    def __init__(self, skip_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_quotes = skip_quotes
        self.quote_depth = 0  # > 0 while inside <div class="quote">

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.quote_depth:
            if tag == "div":
                self.quote_depth += 1
            return
        if tag == "div" and self.skip_quotes and ("class", "quote") in attrs:
            self.quote_depth = 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if self.quote_depth and tag == "div":
            self.quote_depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if self.quote_depth and tag == "div":
            self.quote_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.quote_depth:
            self.parts.append(data)


def plain_text(html: str, *, skip_quotes: bool = False) -> str:
    """The text a correct crawler extracts from ``html`` (the sandbox contract's rules).

    ``<br>`` becomes a newline, an ``<img alt>`` its alt text, other tags are dropped, entities
    unescaped, each line stripped, leading and trailing blank lines removed. With
    ``skip_quotes`` a Discuz ``<div class="quote">`` block is left out (a forum post's new text).
    """
    collector = _TextCollector(skip_quotes)
    collector.feed(html)
    collector.close()
    lines = [line.strip() for line in "".join(collector.parts).split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def stable_token(seed: int, *key: object, length: int = 43) -> str:
    """A base64url string that looks random but is fixed by the seed and the key."""
    out = b""
    counter = 0
    while len(out) * 4 < length * 3 + 4:
        out += hashlib.sha256(repr((seed, counter, *key)).encode()).digest()
        counter += 1
    return base64.urlsafe_b64encode(out).decode()[:length]


def stable_hex(seed: int, *key: object, length: int = 32) -> str:
    return hashlib.sha256(repr((seed, "hex", *key)).encode()).hexdigest()[:length]


def http_date(moment: datetime) -> str:
    """RFC 7231 date, e.g. ``Fri, 01 Apr 2016 01:30:00 GMT``."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def rfc822_local(moment: datetime) -> str:
    """RFC 822 date in Beijing time, e.g. ``Fri, 01 Apr 2016 09:30:00 +0800``."""
    return format_datetime(moment.astimezone(SHANGHAI).replace(microsecond=0))


def rfc822_utc(moment: datetime) -> str:
    """PHP ``gmdate('r')``: ``Fri, 01 Apr 2016 01:30:00 +0000``."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0)).replace("-0000", "+0000")


def iso_local(moment: datetime) -> str:
    """ISO 8601 with the +08:00 offset (the truth's and Atom's form)."""
    return moment.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def cdata(text: str) -> str:
    """Wrap ``text`` in CDATA, splitting any ``]]>`` it contains."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def site_root(request: Request) -> str:
    """Scheme, host and the app's root path, without a trailing slash."""
    return str(request.base_url).rstrip("/")


@lru_cache(maxsize=1)
def _s2t() -> object:
    from opencc import OpenCC

    return OpenCC("s2t")


@lru_cache(maxsize=8192)
def traditional(text: str) -> str:
    """Simplified Chinese converted to traditional script (OpenCC s2t)."""
    return str(_s2t().convert(text))  # type: ignore[attr-defined]


class RetryFaults:
    """Platform faults that a retrying client gets past.

    Whether attempt ``n`` of a request key fails is fixed by (seed, key, n), and a key fails at
    most ``max_failures`` times, so a client that keeps retrying always gets the page.
    """

    def __init__(self, seed: int, max_failures: int = 2) -> None:
        self.seed = seed
        self.max_failures = max_failures
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def fails(self, key: str, rate: float) -> bool:
        with self._lock:
            attempt = self._attempts[key]
            self._attempts[key] = attempt + 1
        return attempt < self.max_failures and rng(self.seed, "retry-fault", key, attempt).random() < rate
