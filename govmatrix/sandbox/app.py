"""The sandbox's ASGI app and server: every simulated platform on one loopback port.

Each real host is a path prefix, which is its base URL in settings.toml (for example
``http://127.0.0.1:8700/weibo`` stands for ``https://m.weibo.cn``). Adding a platform is one
module in this package with a :class:`~govmatrix.sandbox.platform.SimulatedPlatform` subclass:
``platform_classes`` finds it (``SandboxConfig.modules`` adds modules from elsewhere).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from govmatrix.sandbox.control import Control
from govmatrix.sandbox.faults import FaultPlan, MuteTruncations
from govmatrix.sandbox.platform import SimulatedPlatform, TruthQuery
from govmatrix.sandbox.state import SHANGHAI, SandboxState
from govmatrix.sandbox.world import HISTORY_DAYS, World


def platform_classes(extra_modules: tuple[str, ...] = ()) -> dict[str, type[SimulatedPlatform]]:
    """Every simulated platform: the SimulatedPlatform subclasses defined in this package's modules
    and in ``extra_modules``, by name."""
    import govmatrix.sandbox as package

    names = [f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
             if info.name not in ("__main__", "cli")]
    found: dict[str, type[SimulatedPlatform]] = {}
    for module_name in [*names, *extra_modules]:
        module = importlib.import_module(module_name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, SimulatedPlatform) and cls.__module__ == module.__name__
                    and not inspect.isabstract(cls)):
                found[cls.name] = cls
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class SandboxConfig:
    """How to build a world: ``start`` None means the live system clock.

    ``forum_load_threads`` adds the forum's load-test board of that many 40-post threads (0: none).
    """

    seed: int = 1
    start: datetime | None = None
    faults: str = "none"
    latency_ms: int = 0
    accounts: int = 0
    forum_load_threads: int = 0
    modules: tuple[str, ...] = ()  # simulated platforms from modules outside this package


def make_world(config: SandboxConfig) -> World:
    """The world of ``config``: history covers the HISTORY_DAYS days before its now.

    With ``start`` the clock is fixed there (it moves only through ``/_sandbox/clock``);
    without, it follows the system clock.
    """
    now = config.start if config.start is not None else datetime.now(UTC)
    first_day = now.astimezone(SHANGHAI).date() - timedelta(days=HISTORY_DAYS)
    history_start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=SHANGHAI)
    state = SandboxState(config.seed, now, history_start, config.faults, config.latency_ms,
                         live=config.start is None)
    return World(state, accounts=config.accounts, forum_load_threads=config.forum_load_threads)


def load_platforms(world: World, faults: FaultPlan, modules: tuple[str, ...] = ()) -> dict[str, SimulatedPlatform]:
    return {name: cls(world, faults) for name, cls in platform_classes(modules).items()}


class Sandbox:
    """A world with its platforms, control routes and ASGI app: everything but the server."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.world = make_world(self.config)
        self.state = self.world.state
        self.faults = FaultPlan(self.state)
        self.platforms = load_platforms(self.world, self.faults, self.config.modules)
        self.control = Control(self.world, self.platforms)
        routes: list[BaseRoute] = list(self.control.routes())
        for platform in self.platforms.values():
            routes += platform.routes()
        self.app = Starlette(routes=routes)

    def truth(self, *, platforms: list[str] | None = None, accounts: list[str] | None = None,
              since: datetime | None = None, until: datetime | None = None,
              comments: bool = False) -> dict[str, Any]:
        """The ground truth in-process, as ``GET /_sandbox/truth`` gives it."""
        query = TruthQuery(now=self.state.now, accounts=frozenset(accounts) if accounts else None,
                           since=since, until=until, comments=comments)
        return self.control.collect_truth(query, platforms)


def uvicorn_config(app: Starlette, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, MuteTruncations) for existing in errors.filters):
        errors.addFilter(MuteTruncations())
    # No Date/Server headers from uvicorn: platforms stamp Date from the sandbox clock, so the
    # same seed and clock give byte-identical responses.
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off",
                          server_header=False, date_header=False, timeout_keep_alive=30)


def serve(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8700, log_level: str = "warning") -> None:
    """Serve ``sandbox`` until interrupted (the ``govmatrix sandbox`` command)."""
    uvicorn.Server(uvicorn_config(sandbox.app, host, port, log_level)).run()


class SandboxServer(Sandbox):
    """A sandbox in a background thread, on ``port`` (default: a free one), for tests, benchmarks and the demo.

    >>> with SandboxServer(SandboxConfig(seed=7, start=datetime(2016, 4, 1, tzinfo=SHANGHAI))) as sandbox:
    ...     httpx.get(sandbox.url + "/weibo/api/container/getIndex?type=uid&value=2810374651")
    """

    def __init__(self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(config)
        # proto IPPROTO_TCP, or asyncio leaves Nagle on for accepted connections (40 ms stalls).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._server = uvicorn.Server(uvicorn_config(self.app, self.host, self.port))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="sandbox", daemon=True)

    def start(self) -> SandboxServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def base_url(self, platform: str) -> str:
        return f"{self.url}/{platform}"

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
