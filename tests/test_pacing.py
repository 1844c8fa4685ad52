"""The next-check policy with a fake clock: adaptive interval, back-off with jitter, Retry-After, caps."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from govmatrix.pacing import adaptive_interval, backoff_delay, next_check_after_success

NOW = datetime(2016, 7, 2, 6, 0, tzinfo=UTC)


def test_adaptive_interval_follows_posting_rate_within_bounds() -> None:
    bounds = {"min_interval": 600, "max_interval": 86_400}
    assert adaptive_interval(0, **bounds) == 86_400
    assert adaptive_interval(70, **bounds) == 4_320  # ten a day: two checks between posts
    assert adaptive_interval(7, **bounds) == 43_200
    assert adaptive_interval(10_000, **bounds) == 600
    assert adaptive_interval(1, **bounds) == 86_400


def test_override_wins() -> None:
    at = next_check_after_success(NOW, override=900, posts_last_week=500, min_interval=600, max_interval=86_400)
    assert at == NOW + timedelta(seconds=900)


def test_backoff_grows_exponentially_with_jitter_and_caps() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, min_interval=600, max_interval=86_400, rng=rng) for n in range(1, 12)]
    for n, delay in enumerate(delays[:6], start=1):
        base = 600 * 2 ** (n - 1)
        assert 0.8 * base <= delay <= 1.2 * base
    assert all(d <= 86_400 for d in delays)
    assert delays[-1] >= 0.8 * 86_400
    assert len({round(d) for d in delays[:6]}) == 6


def test_retry_after_is_honoured() -> None:
    assert backoff_delay(1, min_interval=60, max_interval=3600, retry_after=7200) == 7200
    assert backoff_delay(1, min_interval=600, max_interval=3600, retry_after=5, rng=random.Random(0)) >= 480


def test_needs_attention_after_the_set_number_of_days() -> None:
    from govmatrix.pacing import needs_attention

    assert not needs_attention(None, NOW, after_days=3)
    assert not needs_attention(NOW - timedelta(days=2, hours=23), NOW, after_days=3)
    assert needs_attention(NOW - timedelta(days=3), NOW, after_days=3)
