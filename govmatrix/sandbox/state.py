"""Mutable state shared by every simulated platform: the clock, the fault profile, counters."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

FAULT_PROFILES = ("none", "flaky", "hostile")


@dataclass
class SandboxState:
    """One per running sandbox. Platform modules read ``now`` and ``faults`` from here.

    ``now`` is the world's present: nothing published after it is served.
    ``requests`` counts requests per route key (for example ``weibo.timeline``) so tests can
    check how many requests a crawler made.
    """

    seed: int
    now: datetime
    history_start: datetime
    faults: str = "none"
    latency_ms: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, key: str) -> None:
        with self.lock:
            self.requests[key] += 1
