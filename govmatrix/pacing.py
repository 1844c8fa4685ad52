"""When an account is checked next: adaptive to how often it posts, with back-off on errors.

Pure functions of ``now`` and the account's history; the scheduler and ``refresh`` call them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

WEEK = 7 * 86_400


def adaptive_interval(posts_last_week: int, *, min_interval: int, max_interval: int) -> int:
    """Seconds until the next check: about two checks between posts, clamped to [min, max].

    An account posting ten times a day is checked every ~1 h; once a week, every ~3.5 days (capped).
    """
    if posts_last_week <= 0:
        return max_interval
    return max(min_interval, min(max_interval, WEEK // (2 * posts_last_week)))


def next_check_after_success(now: datetime, *, override: int | None, posts_last_week: int, min_interval: int,
                             max_interval: int) -> datetime:
    """The next check after a good crawl: the account's own interval when set, else adaptive."""
    seconds = override or adaptive_interval(posts_last_week, min_interval=min_interval, max_interval=max_interval)
    return now + timedelta(seconds=seconds)


def backoff_delay(error_count: int, *, min_interval: int, max_interval: int, retry_after: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``error_count``-th failure in a row (1 = the first).

    Exponential from ``min_interval`` with ±20 % jitter (so failing accounts do not retry in step),
    capped at ``max_interval``; never sooner than the platform's ``Retry-After``.
    """
    rng = rng or random.Random()
    exponent = min(max(error_count, 1) - 1, 30)
    delay = min(float(max_interval), min_interval * (2.0**exponent)) * rng.uniform(0.8, 1.2)
    delay = min(delay, float(max_interval))
    return max(delay, retry_after or 0.0)


def needs_attention(failing_since: datetime | None, now: datetime, *, after_days: int) -> bool:
    """An account failing for ``after_days`` days or more is flagged for a person to look at, never dropped."""
    return failing_since is not None and now - failing_since >= timedelta(days=after_days)
