"""The display time zone and reading times typed by an operator."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from govmatrix.errors import ConfigError

SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_instant(text: str, what: str = "--now") -> datetime:
    """Parse an ISO 8601 time; a time without an offset is read in Asia/Shanghai."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ConfigError(f"{what}: expected an ISO 8601 time, got {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value
