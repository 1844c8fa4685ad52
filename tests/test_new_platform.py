"""A new platform is five places: a crawler module with its parse module, one registry line, a sandbox
module, fixtures and tests. Here a throwaway platform lives in a temporary package; nothing else of
govmatrix is touched, and its settings validate and ``govmatrix crawl`` stores its posts."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from govmatrix.cli import main
from govmatrix.crawlers import base
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.storage.feed import FeedQuery
from govmatrix.storage.repo import Repo
from govmatrix.tz import SHANGHAI

START = datetime(2016, 7, 1, 9, 0, tzinfo=SHANGHAI)

CRAWLER = '''
"""A notice board that lists its notices as JSON."""
from typing import Annotated
from pydantic import Field
from govmatrix.config import AccountOptions, PlatformSettings
from govmatrix.crawlers.base import CrawlContext, HttpCrawler
from govmatrix.crawlers.incremental import select_new
from govmatrix.models import CrawlResult
from toyplat import toy_parse


class ToySettings(PlatformSettings):
    base_url: str = "https://notices.example"


class ToyOptions(AccountOptions):
    board: Annotated[str, Field(min_length=1)]


class ToyCrawler(HttpCrawler):
    platform = "toy"
    settings_model = ToySettings
    options_model = ToyOptions

    async def crawl(self, ctx: CrawlContext) -> CrawlResult:
        response = await self.client.get(f"{self.settings.base_url}/{ctx.options.board}.json", account=ctx.native_id)
        posts = toy_parse.parse_notices(response.content, account=ctx.native_id)
        fresh, _ = select_new(posts, native_id=lambda p: p.native_id, published_at=lambda p: p.published_at,
                              horizon=ctx.horizon, known=ctx.known)
        return CrawlResult(posts=fresh)
'''

PARSER = '''
"""Pure: the notice board's JSON -> posts."""
import json
from datetime import datetime
from govmatrix.errors import ParseError
from govmatrix.models import ARTICLE, Post


def parse_notices(body: bytes, *, account: str) -> list[Post]:
    try:
        notices = json.loads(body)["notices"]
    except (ValueError, KeyError) as exc:
        raise ParseError(f"not a notice list ({exc})", platform="toy", account=account) from None
    return [Post(platform="toy", native_id=f"{account}:{n['id']}", published_at=datetime.fromisoformat(n["at"]),
                 title=n["title"], body=n["html"], kind=ARTICLE) for n in notices]
'''

SANDBOX = '''
"""The simulated notice board: three notices per board, the truth alongside."""
import json
from datetime import timedelta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from govmatrix.sandbox.platform import SimulatedPlatform, TruthQuery


class ToyPlatform(SimulatedPlatform):
    name = "toy"

    def notices(self, board: str):
        start = self.state.history_start
        return [{"id": n, "at": (start + timedelta(days=100 + n)).isoformat(), "title": f"{board}通知{n}",
                 "html": f"<p>第{n}号通知</p><p>请周知。</p>", "text": f"第{n}号通知\\n请周知。"} for n in range(3)]

    def routes(self) -> list[BaseRoute]:
        async def board(request: Request) -> Response:
            name = request.path_params["board"]
            return Response(json.dumps({"notices": self.notices(name)}), media_type="application/json")

        return [Mount("/toy", routes=[Route("/{board}.json", self.endpoint("toy.board", board))])]

    def truth(self, query: TruthQuery):
        return {"posts": [{"platform": "toy", "account": "bulletin", "native_id": f"bulletin:{n['id']}",
                           "title": n["title"], "text": n["text"]} for n in self.notices("bulletin")],
                "followers": [], "exchanges": []}
'''


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    package = tmp_path / "pkg" / "toyplat"
    package.mkdir(parents=True)
    for name, source in (("__init__.py", ""), ("toy.py", CRAWLER), ("toy_parse.py", PARSER),
                         ("sandbox_toy.py", SANDBOX)):
        (package / name).write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    monkeypatch.setitem(base.REGISTRY, "toy", "toyplat.toy:ToyCrawler")  # the one registry line
    with SandboxServer(SandboxConfig(seed=3, start=START, modules=("toyplat.sandbox_toy",))) as server:
        yield server
    for name in [m for m in sys.modules if m.startswith("toyplat")]:
        del sys.modules[name]


def settings_file(tmp_path: Path, sandbox: SandboxServer, account: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "toy.db"}"\n\n[platforms.toy]\n'
                    f'base_url = "{sandbox.url}/toy"\n\n[[departments]]\nname = "菏泽市政府办公室"\n'
                    f'short_name = "市政府办"\n\n[[departments.accounts]]\nplatform = "toy"\nid = "bulletin"\n'
                    f'name = "通知公告"\n{account}\n', encoding="utf-8")
    return path


def test_a_platform_in_a_temporary_package_validates_and_crawls(toy: SandboxServer, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = settings_file(tmp_path, toy, 'board = "bulletin"\ncolour = "red"')
    assert main(["--config", str(bad), "accounts"]) == 2
    assert capsys.readouterr().err.strip().endswith("departments[0].accounts[0].colour: unknown key")
    config = settings_file(tmp_path, toy, 'board = "bulletin"')
    assert main(["--config", str(config), "init"]) == 0
    assert main(["--config", str(config), "--now", START.isoformat(), "crawl", "--platform", "toy"]) == 0
    assert "toy bulletin 通知公告: 3 new" in capsys.readouterr().out
    repo = Repo.open(f"sqlite:///{tmp_path / 'toy.db'}")
    stored = {(r["native_id"], r["title"], r["text"]) for r in repo.feed.page(FeedQuery(platform="toy"))}
    truth = {(p["native_id"], p["title"], p["text"]) for p in
             toy.truth(platforms=["toy"])["posts"]}
    assert stored == truth and len(stored) == 3  # cleaned by the same pipelines as every platform
