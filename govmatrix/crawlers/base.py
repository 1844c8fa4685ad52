"""The crawler contract and the registry of platforms.

A platform is a crawler module ``crawlers/<platform>.py`` (fetch: network I/O through the HTTP
edge) with its pure ``crawlers/<platform>_parse.py`` (bytes/dicts and ``now`` in, posts out), one
line in ``REGISTRY``, a sandbox module, fixtures and tests. The crawler class declares everything
else the rest of govmatrix needs to know about its platform: its settings model (``[platforms.x]``),
its account options model (the account's own keys in ``settings.toml``), and whether a daily
profile snapshot gives its follower counts.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from govmatrix.config import AccountOptions, PlatformSettings
from govmatrix.crawlers.http import Budget, PlatformClient
from govmatrix.models import Account, CrawlResult


@dataclass
class CrawlContext:
    """What a crawler knows about the account it crawls, and the one ``now`` of this crawl.

    ``options`` are the account's typed options (the crawler's ``options_model``); ``known``
    answers which native ids are already stored; nothing older than ``horizon`` is collected.
    """

    account: Account
    options: Any
    now: datetime
    horizon: datetime
    known: Callable[[Iterable[str]], set[str]] = field(default=lambda ids: set())

    @property
    def native_id(self) -> str:
        return self.account.native_id


class Crawler(ABC):
    """One platform's crawler; one instance per process serves every account of the platform."""

    platform: ClassVar[str]
    settings_model: ClassVar[type[PlatformSettings]] = PlatformSettings
    options_model: ClassVar[type[AccountOptions]] = AccountOptions
    # True when each crawl reads the account's profile figures: the scheduler then makes every
    # account of the platform due once a day, so the follower series has a point per day.
    daily_snapshot: ClassVar[bool] = False

    def __init__(self, settings: PlatformSettings, budget: Budget) -> None:
        self.settings = settings
        self.budget = budget

    @abstractmethod
    async def crawl(self, ctx: CrawlContext) -> CrawlResult:
        """Fetch and parse everything new of one account. Raises CrawlError subclasses on failure."""

    async def aclose(self) -> None:  # noqa: B027 (most crawlers hold nothing to release)
        """Release connections; the crawler is not used again."""


class HttpCrawler(Crawler):
    """A crawler that talks through one ``PlatformClient`` (every platform but Scrapy's forum)."""

    def __init__(self, settings: PlatformSettings, budget: Budget, *, transport: Any = None) -> None:
        super().__init__(settings, budget)
        self.client = PlatformClient(self.platform, settings, budget, headers=self.client_headers(settings),
                                     transport=transport)

    @staticmethod
    def client_headers(settings: Any) -> dict[str, str]:
        """Headers every request of this platform carries."""
        return {"User-Agent": settings.user_agent}

    async def aclose(self) -> None:
        await self.client.aclose()


# platform name -> "module:Class"; a crawler module imports its heavy dependencies only when it crawls.
REGISTRY: dict[str, str] = {
    "weibo": "govmatrix.crawlers.weibo:WeiboCrawler",
    "wechat": "govmatrix.crawlers.wechat:WechatCrawler",
    "forum": "govmatrix.crawlers.forum:ForumCrawler",
    "feeds": "govmatrix.crawlers.feeds:FeedsCrawler",
}


def crawler_class(platform: str) -> type[Crawler]:
    """The crawler class of a registered platform (KeyError for an unknown one)."""
    module_name, class_name = REGISTRY[platform].split(":")
    cls: type[Crawler] = getattr(importlib.import_module(module_name), class_name)
    return cls


def snapshot_platforms() -> list[str]:
    """The platforms whose crawl takes a daily profile snapshot."""
    return [name for name in REGISTRY if crawler_class(name).daily_snapshot]
