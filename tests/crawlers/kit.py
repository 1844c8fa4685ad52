"""Building crawlers and crawl contexts in tests as ``refresh.py`` does, and cleaning what they return."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import httpx

from govmatrix.config import resolve_secrets
from govmatrix.crawlers.base import CrawlContext, Crawler, crawler_class
from govmatrix.crawlers.http import Budget
from govmatrix.crawlers.incremental import horizon_of
from govmatrix.models import Account, Post
from govmatrix.pipelines.clean import CleanPipeline

_ids = iter(range(1, 10**9))


def make_crawler(platform: str, handler: Callable[[httpx.Request], httpx.Response] | None = None,
                 **settings: Any) -> Crawler:
    """The platform's crawler with these settings; over ``handler`` (MockTransport) when given."""
    cls = crawler_class(platform)
    section = cls.settings_model(**({"rate": 1000.0, "concurrency": 4} | settings))
    if handler is None:
        return cls(section, Budget.of(section))
    return cls(section, Budget(0, 4), transport=httpx.MockTransport(handler))  # type: ignore[call-arg]


def account(platform: str, native_id: str, name: str = "测试", cursor: dict[str, Any] | None = None) -> Account:
    return Account(id=next(_ids), platform=platform, native_id=native_id, name=name, cursor=cursor or {})


def context(crawler: Crawler, acc: Account, now: datetime, *, options: dict[str, Any] | None = None,
            known: Callable[[Iterable[str]], set[str]] = lambda ids: set(), horizon_days: int = 30) -> CrawlContext:
    """A crawl context of ``acc`` with its options validated by the crawler's own model."""
    typed = resolve_secrets(crawler.options_model.model_validate(options or {}), dict(os.environ))
    return CrawlContext(account=acc, options=typed, now=now, horizon=horizon_of(acc.cursor, now, horizon_days),
                        known=known)


def cleaned(posts: list[Post]) -> list[Post]:
    CleanPipeline().process_batch(posts)
    return posts
