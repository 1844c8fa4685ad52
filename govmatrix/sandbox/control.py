"""The sandbox's own routes under ``/_sandbox``: clock, faults, ground truth, accounts, counters.

These are the only routes no real platform has. They are never slowed down or faulted.

- ``GET /_sandbox`` — what is served where, and the current settings;
- ``GET|POST /_sandbox/clock`` — read the world's now; move it forward with ``{"now": ISO}``
  or ``{"advance_seconds": N}`` (the clock then stays there);
- ``GET|POST /_sandbox/faults`` — read or set ``{"faults": "none|flaky|hostile"}``, and
  optionally ``latency_ms``, ``stall_seconds``, ``slow_seconds``;
- ``GET /_sandbox/truth[?platform=P,Q][&account=ID...][&since=ISO][&until=ISO][&comments=1]`` — the
  ground truth: ``{"now", "posts", "followers", "exchanges"}`` merged over the platforms, and with
  ``comments=1`` the comments under the posts (``"comments"``);
- ``GET /_sandbox/stats`` and ``POST /_sandbox/stats/reset`` — requests counted per route key;
- ``GET /_sandbox/accounts[?platform=P]`` — every account of the world;
- ``GET /_sandbox/static?bytes=N`` — N fixed bytes, the benchmark's baseline.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from govmatrix.sandbox.platform import SimulatedPlatform, TruthQuery
from govmatrix.sandbox.state import FAULT_PROFILES, SHANGHAI
from govmatrix.sandbox.world import World

_STATIC = bytes(range(32, 127)) * 1024


class BadRequest(ValueError):
    """A control request the sandbox refuses; the message goes back in the 400 body."""


def _json(value: Any, status: int = 200) -> Response:
    body = json.dumps(value, ensure_ascii=False, indent=1).encode()
    return Response(body, status_code=status, media_type="application/json")


def parse_time(text: str, name: str) -> datetime:
    """An ISO 8601 time; without an offset it is read in Asia/Shanghai."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise BadRequest(f"{name}: expected an ISO 8601 time, got {text!r}") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)


class Control:
    """Handlers of the control routes for one world and its mounted platforms."""

    def __init__(self, world: World, platforms: dict[str, SimulatedPlatform]) -> None:
        self.world = world
        self.state = world.state
        self.platforms = platforms

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox", self._guard(self.index)),
            Route("/_sandbox/clock", self._guard(self.clock), methods=["GET", "POST"]),
            Route("/_sandbox/faults", self._guard(self.faults), methods=["GET", "POST"]),
            Route("/_sandbox/truth", self._guard(self.truth)),
            Route("/_sandbox/stats", self._guard(self.stats)),
            Route("/_sandbox/stats/reset", self._guard(self.stats), methods=["POST"]),
            Route("/_sandbox/accounts", self._guard(self.accounts)),
            Route("/_sandbox/static", self._guard(self.static)),
        ]

    def _guard(self, handler: Any) -> Any:
        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except BadRequest as exc:
                return _json({"error": str(exc)}, status=400)

        return guarded

    def clock_json(self) -> dict[str, Any]:
        return {"now": self.state.now.astimezone(SHANGHAI).isoformat(), "live": self.state.live,
                "history_start": self.state.history_start.astimezone(SHANGHAI).isoformat(),
                "day": self.world.today()}

    def faults_json(self) -> dict[str, Any]:
        return {"faults": self.state.faults, "latency_ms": self.state.latency_ms,
                "stall_seconds": self.state.stall_seconds, "slow_seconds": self.state.slow_seconds}

    async def index(self, request: Request) -> Response:
        return _json({"seed": self.state.seed, "clock": self.clock_json(), "faults": self.faults_json(),
                      "platforms": {name: [r.path for r in p.routes() if isinstance(r, Mount)]
                                    for name, p in self.platforms.items()},
                      "accounts": len(self.world.accounts)})

    async def clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            if "now" in body:
                target = parse_time(str(body["now"]), "now")
            elif "advance_seconds" in body:
                target = self.state.now + timedelta(seconds=_number(body, "advance_seconds"))
            else:
                raise BadRequest('expected {"now": ISO} or {"advance_seconds": N}')
            try:
                self.state.set_now(target)
            except ValueError as exc:
                raise BadRequest(str(exc)) from exc
        return _json(self.clock_json())

    async def faults(self, request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            profile = body.get("faults", self.state.faults)
            if profile not in FAULT_PROFILES:
                raise BadRequest(f"faults: unknown fault profile {profile!r} (known: {', '.join(FAULT_PROFILES)})")
            numbers = {key: _number(body, key) for key in ("latency_ms", "stall_seconds", "slow_seconds") if key in body}
            self.state.set_faults(profile)
            if "latency_ms" in numbers:
                self.state.latency_ms = int(numbers["latency_ms"])
            if "stall_seconds" in numbers:
                self.state.stall_seconds = numbers["stall_seconds"]
            if "slow_seconds" in numbers:
                self.state.slow_seconds = numbers["slow_seconds"]
        return _json(self.faults_json())

    async def truth(self, request: Request) -> Response:
        params = request.query_params
        accounts = params.getlist("account")
        query = TruthQuery(now=self.state.now, accounts=frozenset(accounts) if accounts else None,
                           since=parse_time(params["since"], "since") if "since" in params else None,
                           until=parse_time(params["until"], "until") if "until" in params else None,
                           comments=params.get("comments") in ("1", "true"))
        return _json(self.collect_truth(query, self._platforms(params.get("platform"))))

    def collect_truth(self, query: TruthQuery, platforms: list[str] | None = None) -> dict[str, Any]:
        """The ground truth of the chosen platforms (all by default), merged into the contract's lists."""
        names = list(self.platforms) if platforms is None else platforms
        out: dict[str, Any] = {"now": query.now.astimezone(SHANGHAI).isoformat(), "seed": self.state.seed,
                               "history_start": self.state.history_start.astimezone(SHANGHAI).isoformat(),
                               "posts": [], "followers": [], "exchanges": []}
        keys = ("posts", "followers", "exchanges", "comments") if query.comments else ("posts", "followers", "exchanges")
        out.update({key: [] for key in keys})
        for name in names:
            part = self.platforms[name].truth(query)
            for key in keys:
                out[key].extend(part.get(key, []))
        out["accounts"] = [a.describe() for a in self.world.accounts
                           if a.platform in names and query.wants(a.native_id)]
        return out

    async def accounts(self, request: Request) -> Response:
        wanted = self._platforms(request.query_params.get("platform"))
        return _json([a.describe() for a in self.world.accounts if a.platform in wanted])

    async def stats(self, request: Request) -> Response:
        with self.state.lock:
            counts = dict(sorted(self.state.requests.items()))
            if request.method == "POST":
                self.state.requests.clear()
        return _json({"total": sum(counts.values()), "requests": counts})

    async def static(self, request: Request) -> Response:
        text = request.query_params.get("bytes", "8192")
        if not text.isdigit():
            raise BadRequest(f"bytes: expected a number, got {text!r}")
        return Response(_STATIC[: min(int(text), len(_STATIC))], media_type="application/json; charset=utf-8")

    def _platforms(self, text: str | None) -> list[str]:
        if not text:
            return list(self.platforms)
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in self.platforms]
        if unknown:
            raise BadRequest(f"platform: unknown {', '.join(unknown)} (served: {', '.join(self.platforms)})")
        return names


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise BadRequest(f"expected a JSON object: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    return body


def _number(body: dict[str, Any], key: str) -> float:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadRequest(f"{key}: expected a non-negative number, got {value!r}")
    return float(value)
