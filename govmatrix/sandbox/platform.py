"""The contract of a simulated platform, and the wrapper every one of its endpoints goes through.

A platform is one module with one :class:`SimulatedPlatform` subclass. The sandbox app mounts
its :meth:`~SimulatedPlatform.routes` at the root (each real host is a path prefix, ``/weibo``
for m.weibo.cn) and merges its part of the ground truth into ``GET /_sandbox/truth``. Each endpoint is wrapped by :meth:`~SimulatedPlatform.endpoint`, which counts the
request, adds the configured latency, stamps a ``Date`` from the sandbox clock and applies the
fault drawn for it, so platform code only builds the normal response.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from govmatrix.sandbox.faults import GENERIC_KINDS, Fault, FaultPlan, render_generic
from govmatrix.sandbox.world import World

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class TruthQuery:
    """What part of the ground truth a caller wants (``GET /_sandbox/truth``).

    ``accounts`` None means every account; ``since``/``until`` bound publication times (of the
    posts, for the comments too).
    """

    now: datetime
    accounts: frozenset[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    comments: bool = False  # also the comments under the posts (Weibo), which cost more to list

    def wants(self, native_id: str) -> bool:
        return self.accounts is None or native_id in self.accounts

    def covers(self, published: datetime) -> bool:
        return (published <= self.now and (self.since is None or published >= self.since)
                and (self.until is None or published < self.until))


class SimulatedPlatform(ABC):
    """One simulated platform, built from the world and the sandbox's fault plan.

    Subclasses set ``name`` (the platform's name in govmatrix's crawler registry) and
    ``fault_kinds`` (the faults it can meet; platform-specific kinds need :meth:`render_fault`).
    """

    name: ClassVar[str]
    fault_kinds: ClassVar[frozenset[str]] = GENERIC_KINDS

    def __init__(self, world: World, faults: FaultPlan) -> None:
        self.world = world
        self.state = world.state
        self.faults = faults

    @abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The platform's routes, each under its host's prefix (a Mount per prefix)."""

    @abstractmethod
    def truth(self, query: TruthQuery) -> dict[str, Any]:
        """The platform's ground truth as of ``query.now``: ``{"posts", "followers", "exchanges"}`` lists
        in the shapes of the sandbox contract (govmatrix/sandbox/__init__.py)."""

    async def render_fault(self, fault: Fault, request: Request) -> Response:
        """Render a platform-specific fault kind (the generic ones never reach here)."""
        raise NotImplementedError(f"{self.name} declares fault {fault.kind} but cannot render it")

    def endpoint(self, key: str | Callable[[Request], str], handler: Handler) -> Handler:
        """Wrap ``handler`` with counting, latency, the clock's Date header and faults.

        ``key`` names the route in ``state.requests`` (``weibo.timeline``); it may be a function
        of the request when one path serves several things (getIndex: profile or timeline).
        """

        async def wrapped(request: Request) -> Response:
            self.state.count(key(request) if callable(key) else key)
            if self.state.latency_ms:
                await asyncio.sleep(self.state.latency_ms / 1000)
            response = await handler(request)
            response.headers["Date"] = format_datetime(self.state.now.astimezone(UTC), usegmt=True)
            fault = self.faults.draw(self.name, f"{request.method} {request.url.path}?{request.url.query}",
                                     self.fault_kinds)
            if fault is None:
                return response
            if fault.kind in GENERIC_KINDS:
                return await render_generic(fault, self.state, response)
            return await self.render_fault(fault, request)

        return wrapped


def php_json(value: Any) -> bytes:
    """JSON as PHP's json_encode writes it: compact, non-ASCII as \\uXXXX, slashes as \\/."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/").encode("ascii")


def json_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json; charset=utf-8")
