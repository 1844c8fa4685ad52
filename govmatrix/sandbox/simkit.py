"""Small helpers shared by the simulated WeChat, forum and department-site feeds.

Stable random identifiers, HTTP and RSS dates, retry-safe platform faults and the
simplified-to-traditional converter. Pure functions, except the
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

from starlette.requests import Request

from govmatrix.sandbox.state import SHANGHAI
from govmatrix.sandbox.texts import rng


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
