"""Every platform is complete: crawler module and class, registry line, settings section, sandbox,
fixtures and tests. Adding a platform without one of them fails here."""

from __future__ import annotations

import tomllib

import pytest

from govmatrix.crawlers.base import REGISTRY, Crawler, crawler_class
from govmatrix.models import PLATFORMS
from govmatrix.sandbox.app import PLATFORMS as SANDBOX_PLATFORMS

from ..conftest import ROOT


def test_the_registry_covers_exactly_the_known_platforms() -> None:
    assert set(REGISTRY) == set(PLATFORMS)
    assert set(SANDBOX_PLATFORMS) == set(PLATFORMS)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_platform_is_complete(platform: str) -> None:
    cls = crawler_class(platform)
    assert issubclass(cls, Crawler) and cls.platform == platform
    assert cls.__module__ == f"govmatrix.crawlers.{platform}"
    assert cls.__name__ == f"{platform.capitalize()}Crawler"
    example = tomllib.loads((ROOT / "settings.toml").read_text(encoding="utf-8"))
    assert platform in example["platforms"], f"settings.toml has no [platforms.{platform}] section"
    fixtures = ROOT / "tests" / "fixtures" / platform
    assert fixtures.is_dir() and any(fixtures.iterdir()), f"no fixtures in tests/fixtures/{platform}"
    assert list((ROOT / "tests" / "crawlers").glob(f"test_{platform}*.py")), f"no tests for {platform}"


def test_an_unknown_platform_is_not_silently_crawled() -> None:
    with pytest.raises(NotImplementedError, match="weixin: no crawler yet"):
        crawler_class("weixin")
