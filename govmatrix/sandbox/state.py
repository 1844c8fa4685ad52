"""Mutable state shared by every simulated platform: the clock, the fault settings, counters."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# The simulated city's zone (the sandbox imports nothing of the product it is a test bed for).
SHANGHAI = ZoneInfo("Asia/Shanghai")

FAULT_PROFILES = ("none", "flaky", "hostile")


def _system_now() -> datetime:
    return datetime.now(UTC)


class SandboxState:
    """One per running sandbox. Platform modules read ``now`` and the fault settings from here.

    ``now`` is the world's present: nothing published after it is served. A *live* clock
    follows the system clock (whole seconds); a fixed one stays where it was set, and
    :meth:`set_now` only moves it forward, because a crawler's store is never ahead of the
    world it crawled. ``requests`` counts requests per route key (for example
    ``weibo.timeline``) so tests can check how many requests a crawler made.
    """

    def __init__(
        self,
        seed: int,
        now: datetime,
        history_start: datetime,
        faults: str = "none",
        latency_ms: int = 0,
        *,
        live: bool = False,
        system_now: Callable[[], datetime] = _system_now,
    ) -> None:
        if now.tzinfo is None or history_start.tzinfo is None:
            raise ValueError("sandbox times must be timezone-aware")
        if faults not in FAULT_PROFILES:
            raise ValueError(f"unknown fault profile {faults!r} (known: {', '.join(FAULT_PROFILES)})")
        self.seed = seed
        self.history_start = history_start
        self.faults = faults
        self.latency_ms = latency_ms
        self.stall_seconds = 6.0  # how long a "timeout" fault holds the response (past a client's patience)
        self.slow_seconds = 2.0  # how long a hostile "slow" response takes
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._system_now = system_now
        self._fixed = now.replace(microsecond=0)
        # A live clock keeps the offset between the world's now and the system clock.
        self._offset = self._fixed - system_now().replace(microsecond=0) if live else None

    @property
    def live(self) -> bool:
        return self._offset is not None

    @property
    def now(self) -> datetime:
        if self._offset is None:
            return self._fixed
        return self._system_now().replace(microsecond=0) + self._offset

    def set_now(self, value: datetime) -> None:
        """Freeze the clock at ``value``; the world never moves backwards."""
        if value.tzinfo is None:
            raise ValueError("the sandbox clock needs a timezone-aware time")
        value = value.replace(microsecond=0)
        with self.lock:
            current = self.now
            if value < current:
                raise ValueError(f"the sandbox clock only moves forward (now {current.isoformat()})")
            self._fixed = value
            self._offset = None

    def count(self, key: str) -> None:
        with self.lock:
            self.requests[key] += 1

    def set_faults(self, profile: str) -> None:
        if profile not in FAULT_PROFILES:
            raise ValueError(f"unknown fault profile {profile!r} (known: {', '.join(FAULT_PROFILES)})")
        self.faults = profile
