"""The crawler contract and the registry of platforms.

A crawler fetches (network I/O through its ``PlatformClient``) and parses (pure functions with
``now`` as a parameter) one account at a time, and returns a ``CrawlResult``; ``refresh.py`` stores
it. Adding a platform is one module with a ``Crawler`` subclass, one line in ``REGISTRY``, a
``[platforms.<name>]`` settings section, fixtures and tests.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from govmatrix.config import PlatformSettings
from govmatrix.crawlers.http import PlatformClient
from govmatrix.models import Account, CrawlResult


@dataclass
class CrawlContext:
    """What a crawler knows about the account it crawls.

    ``known`` answers which native ids are already stored, so an incremental crawl can stop.
    """

    account: Account
    now: datetime
    known: Callable[[Iterable[str]], set[str]]
    horizon_days: int = 30

    @property
    def horizon(self) -> datetime:
        """Nothing older than this is collected: on the first crawl ``now - horizon_days``, then that start."""
        start = self.account.cursor.get("horizon")
        return datetime.fromisoformat(start) if start else self.now - timedelta(days=self.horizon_days)


class Crawler(ABC):
    """One platform's crawler. Subclasses set ``platform`` and implement ``crawl``."""

    platform: ClassVar[str]

    def __init__(self, settings: PlatformSettings, client: PlatformClient) -> None:
        self.settings = settings
        self.client = client

    @staticmethod
    def client_headers(settings: PlatformSettings) -> dict[str, str]:
        """Headers every request of this platform carries."""
        return {"User-Agent": settings.user_agent}

    @abstractmethod
    async def crawl(self, ctx: CrawlContext) -> CrawlResult:
        """Fetch and parse everything new of one account. Raises CrawlError subclasses on failure."""


# platform name -> "module:Class"; imported on first use so a platform's dependencies load only when needed.
REGISTRY: dict[str, str] = {
    "weibo": "govmatrix.crawlers.weibo:WeiboCrawler",
    "wechat": "govmatrix.crawlers.wechat:WechatCrawler",
    "feeds": "govmatrix.crawlers.feeds:FeedsCrawler",
    "forum": "govmatrix.crawlers.forum:ForumCrawler",
}


def crawler_class(platform: str) -> type[Crawler]:
    """The crawler class of a platform; NotImplementedError for a platform without one yet."""
    try:
        module_name, class_name = REGISTRY[platform].split(":")
    except KeyError:
        raise NotImplementedError(f"{platform}: no crawler yet (registered: {', '.join(REGISTRY)})") from None
    cls: type[Crawler] = getattr(importlib.import_module(module_name), class_name)
    return cls


def make_client(platform: str, settings: PlatformSettings) -> PlatformClient:
    """The shared client of one platform, built from its settings."""
    cls = crawler_class(platform)
    return PlatformClient(platform, rate=settings.rate, concurrency=settings.concurrency, timeout=settings.timeout,
                          headers=cls.client_headers(settings))
