"""The one clock, held by the CLI and the scheduler and passed down as ``now`` (never read below them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    """The current time: the system's, a fixed one (``--now``), or another source (the sandbox's clock)."""

    def __init__(self, fixed: datetime | None = None, source: Callable[[], datetime] | None = None) -> None:
        self._fixed = fixed
        self._source = source

    def now(self) -> datetime:
        if self._fixed is not None:
            return self._fixed
        if self._source is not None:
            return self._source()
        return datetime.now(UTC)
