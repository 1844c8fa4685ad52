"""The one clock. Everything that needs "now" takes it from here or as a parameter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from govmatrix.errors import ConfigError

SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 time; a time without an offset is read in Asia/Shanghai."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ConfigError(f"--now: expected an ISO 8601 time, got {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value


SANDBOX_URL = "http://127.0.0.1:8700"


def sandbox_time(url: str = SANDBOX_URL) -> Callable[[], datetime]:
    """A time source that reads the sandbox's clock (``GET /_sandbox/clock``) on every call."""
    import httpx

    def now() -> datetime:
        try:
            answer = httpx.get(f"{url.rstrip('/')}/_sandbox/clock", timeout=5).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ConfigError(f"--now sandbox: cannot read the sandbox clock at {url}: {exc}") from exc
        return parse_instant(answer["now"])

    return now


class Clock:
    """Returns the current time: the system's, or a fixed one given with ``--now``."""

    def __init__(self, fixed: datetime | None = None, source: Callable[[], datetime] | None = None) -> None:
        self._fixed = fixed
        self._source = source

    def now(self) -> datetime:
        if self._fixed is not None:
            return self._fixed
        if self._source is not None:
            return self._source()
        return datetime.now(UTC)

    def set(self, value: datetime) -> None:
        self._fixed = value
