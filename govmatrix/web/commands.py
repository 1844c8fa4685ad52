"""The web app's commands: ``serve``, ``user`` and ``publish`` (the CLI only parses their arguments)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from govmatrix.clock import Clock
from govmatrix.config import Settings
from govmatrix.errors import ConfigError
from govmatrix.storage.repo import Repo
from govmatrix.storage.users import ROLES
from govmatrix.web.auth import hash_password, new_token, token_hash

log = logging.getLogger("govmatrix.web")
MIN_PASSWORD = 8


def read_password(stdin: TextIO | None = None, *, confirm: bool = True) -> str:
    """A password from the terminal (asked twice) or the first line of stdin; never from an argument."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        password = getpass.getpass("password: ")
        if confirm and getpass.getpass("again: ") != password:
            raise ConfigError("user: the two passwords differ")
    else:
        password = stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"user: a password needs at least {MIN_PASSWORD} characters")
    return password


def user_command(repo: Repo, clock: Clock, action: str, name: str | None, role: str | None,
                 departments: list[str], stdin: TextIO | None = None) -> int:
    now = clock.now()
    if action == "list":
        for u in repo.users.all():
            scope = "、".join(u.departments) if u.departments else "all departments"
            print(f"{u.name}\t{u.role}\t{scope}\t{'disabled' if u.disabled else 'active'}")
        return 0
    if not name:
        raise ConfigError(f"user {action}: a user name is needed")
    known = {d["short_name"] for d in repo.accounts.departments()}
    if unknown := [d for d in departments if d not in known]:
        raise ConfigError(f"user: unknown department {unknown[0]!r} (known: {', '.join(sorted(known))})")
    if action == "add":
        if role not in ROLES:
            raise ConfigError(f"user add: --role is one of {', '.join(ROLES)}")
        repo.users.add(name, role, hash_password(read_password(stdin)), now, departments)
        print(f"user {name} added ({role})")
    elif action == "passwd":
        repo.users.change(name, now, password_hash=hash_password(read_password(stdin)))
        print(f"user {name}: password changed; open sessions ended")
    elif action in ("disable", "enable"):
        repo.users.change(name, now, disabled=action == "disable")
        print(f"user {name} {action}d")
    elif action == "token":
        token = new_token()
        repo.users.change(name, now, token_hash=token_hash(token))
        print(f"API token of {name} (shown once; a new one replaces it): {token}")
    return 0


def publish_command(repo: Repo, settings: Settings, out: str | None, base_url: str | None) -> int:
    from govmatrix.web.common import environment
    from govmatrix.web.publish import publish
    from govmatrix.web.site import Site

    base = (base_url or settings.web.base_url).rstrip("/")
    if not base:
        raise ConfigError("publish: the micro-site's public address is needed for its feeds: "
                          "set [web] base_url or pass --base-url")
    folder = Path(out or settings.web.publish_dir)
    result = publish(Site(settings, repo, environment(settings.tz)), folder, base)
    print(f"publish: {folder}: {result.written} files written, {result.unchanged} unchanged, {result.removed} removed")
    return 0


def serve(repo: Repo, settings: Settings, clock: Clock, *, host: str, port: int, scheduler: bool,
          also: Callable[[], Awaitable[None]] | None = None) -> int:
    """The web app until SIGTERM or Ctrl-C; with ``scheduler`` the crawl scheduler runs in the same
    process and event loop (what ``govmatrix demo`` does), sharing its store; ``also`` is a task run
    beside them until they stop (the demo's sandbox clock)."""
    import uvicorn

    from govmatrix.web.app import create_app

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # ours stop the scheduler too
            yield

    if settings.web.secret is None or not settings.web.secret.value():
        log.warning("[web] secret is not set: logins end when serve stops")
    config = uvicorn.Config(create_app(settings, repo, clock), host=host, port=port, log_level="warning",
                            proxy_headers=True, timeout_graceful_shutdown=5)
    server = Server(config)
    base = f"http://{host}:{port}"
    print(f"govmatrix serve: 微网站 {base}/  审核台 {base}/desk/  看板 {base}/dashboard/  API {base}/api/docs"
          " (Ctrl-C stops it)", flush=True)
    asyncio.run(_serve(server, repo, settings, clock, scheduler, also))
    print("govmatrix serve: stopped")
    return 0


async def _serve(server: Any, repo: Repo, settings: Settings, clock: Clock, scheduler: bool,
                 also: Callable[[], Awaitable[None]] | None) -> None:
    from govmatrix.scheduler import MatrixScheduler, sqlite_lock

    stop = asyncio.Event()
    beside = asyncio.ensure_future(also()) if also else None

    def shut() -> None:
        stop.set()
        server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, shut)
    lock = sqlite_lock(settings.storage.url) if scheduler else None
    try:
        crawls = asyncio.ensure_future(MatrixScheduler(settings, repo, clock).serve(stop)) if scheduler else None
        await server.serve()
        stop.set()
        if crawls is not None:
            await crawls
    finally:
        if beside is not None:
            beside.cancel()
        if lock is not None:
            lock.close()
