"""Hostile servers on loopback, and the one account a test crawls through the real command line.

``Hostile`` is a threaded HTTP server whose answers are Python functions per path: each gets the
request handler and may write anything, slowly, forever, or close the socket. A test writes a
settings file with one account pointed at it, runs ``govmatrix init`` and ``govmatrix crawl``
through ``main()``, and looks at what the store and ``status`` hold.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from govmatrix.cli import main
from govmatrix.storage.repo import Repo

Route = Callable[["Request"], None]


class Request(BaseHTTPRequestHandler):
    """One request; ``query`` holds its parameters (first values)."""

    server: _Server
    protocol_version = "HTTP/1.1"

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        self.server.owner.hits.append(self.path)
        route = self.server.owner.routes.get(urlsplit(self.path).path)
        if route is None:
            self.answer(404, b"no such route")
            return
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: what a hostile server wants

    do_POST = do_GET  # noqa: N815

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: Hostile

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up on a hostile answer is the point, not a failure


@dataclass
class Hostile:
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), Request)
        self.server.owner = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    yield server
    server.close()


@pytest.fixture
def other() -> Iterator[Hostile]:
    """A second server on another port: an internal service a redirect must not reach."""
    server = Hostile()
    yield server
    server.close()


ACCOUNTS = {
    "feeds": 'platform = "feeds"\nid = "site"\nname = "示例网站"\nurl = "{url}/feed.xml"\n',
    "weibo": 'platform = "weibo"\nid = "5512345678"\nname = "示例发布"\n',
    "forum": 'platform = "forum"\nid = "菏泽环保"\nname = "菏泽环保(论坛)"\nfid = 46\n',
    "wechat": 'platform = "wechat"\nid = "gh_test0530"\nname = "测试发布"\nowned = true\nappid = "wx0123456789abcdef"\n'
              'secret = {{ env = "WECHAT_SECRET_TEST" }}\nbackfill_days = 21\n',
}


@dataclass
class One:
    """One account of ``platform`` against a hostile server, crawled through the command line."""

    config: Path
    platform: str
    db_url: str

    def crawl(self, *extra: str, now: str = "2024-07-03T12:00:00+08:00") -> int:
        return main(["--config", str(self.config), "--now", now, "crawl", "--all", *extra])

    def repo(self) -> Repo:
        return Repo.open(self.db_url)

    def last_error(self) -> str:
        repo = self.repo()
        try:
            [account] = repo.accounts.find()
            return account.last_error or ""
        finally:
            repo.close()


def one_account(tmp_path: Path, server: Hostile, platform: str, db_url: str, *, settings: str = "",
                monkeypatch: pytest.MonkeyPatch | None = None) -> One:
    """Settings for one account of ``platform`` whose base URL is ``server``; initialised."""
    base = "" if platform == "feeds" else f'base_url = "{server.url}"\n'
    timeout = "" if "timeout =" in settings else "timeout = 3\n"
    text = (f"[platforms.{platform}]\n{base}rate = 1000\n{timeout}{settings}\n"
            '[[departments]]\nname = "示例市政府"\nshort_name = "市政府"\n\n[[departments.accounts]]\n'
            + ACCOUNTS[platform].format(url=server.url))
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    if monkeypatch is not None:
        monkeypatch.setenv("GOVMATRIX_DATABASE_URL", db_url)
        monkeypatch.setenv("WECHAT_SECRET_TEST", "s3cr3t-AppSecret-value")
    assert main(["--config", str(path), "init"]) == 0
    return One(path, platform, db_url)


def close_before_headers(request: Request) -> None:
    """Accept the connection, read the request, and reset it without a byte of answer."""
    sock = request.connection
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    request.close_connection = True
