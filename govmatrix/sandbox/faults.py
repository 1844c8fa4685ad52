"""Fault injection: which request fails, and how.

A profile gives each kind of fault a probability per request. Draws are deterministic per
(seed, request key, attempt): the n-th request for the same URL meets the same fault on every
run, and one URL fails at most MAX_FAILURES times, so a client that keeps retrying always gets
every page. Generic kinds are rendered here; platform-specific ones (a Weibo captcha body, a
418 burst) are rendered by the platform, and a platform only meets the kinds it declares.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from govmatrix.sandbox.state import SandboxState
from govmatrix.sandbox.texts import rng

# Generic kinds, rendered by render_generic().
SERVER_ERROR = "server_error"  # HTTP 500/502/503 with an nginx error page
TIMEOUT = "timeout"  # the response is held for state.stall_seconds (bounded), then a 504
TRUNCATED = "truncated"  # Content-Length promises more than is sent; the connection closes
MALFORMED = "malformed"  # HTTP 200, but the body is cut in the middle (invalid JSON / HTML)
SLOW = "slow"  # the normal response, after about state.slow_seconds
GENERIC_KINDS = frozenset({SERVER_ERROR, TIMEOUT, TRUNCATED, MALFORMED, SLOW})

# Platform-specific kinds, rendered by the platform.
TEAPOT = "teapot"  # Weibo HTTP 418 ("I'm a teapot": too fast), in bursts
CAPTCHA = "captcha"  # Weibo ok:-100 with a captcha URL
BLOCKED = "blocked"  # Weibo HTTP 432 with a non-JSON body

PROFILES: dict[str, dict[str, float]] = {
    "none": {},
    "flaky": {SERVER_ERROR: 0.02, TIMEOUT: 0.015, TRUNCATED: 0.015},
    "hostile": {TEAPOT: 0.015, CAPTCHA: 0.04, BLOCKED: 0.03, MALFORMED: 0.04, SLOW: 0.05,
                SERVER_ERROR: 0.02, TRUNCATED: 0.01, TIMEOUT: 0.005},
}
BURST = {TEAPOT: (3, 10)}  # kinds that, once drawn, hit the platform's next requests too (min, max)
MAX_FAILURES = 3  # no request key fails more often than this


@dataclass(frozen=True)
class Fault:
    kind: str
    draw: float  # a number in [0, 1) for the renderer's own choices (which status, where to cut)


class FaultPlan:
    """Decides, request by request, whether a response fails; keeps the attempt ledger and bursts."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._attempts: Counter[str] = Counter()
        self._bursts: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def draw(self, platform: str, key: str, kinds: frozenset[str]) -> Fault | None:
        """The fault for this attempt at request ``key`` (method, path and query) on ``platform``."""
        profile = PROFILES[self.state.faults]
        if not profile:
            return None
        with self._lock:
            attempt = self._attempts[key]
            self._attempts[key] = attempt + 1
            burst = self._bursts.pop(platform, None)
            if burst is not None and burst[1] > 1:
                self._bursts[platform] = (burst[0], burst[1] - 1)
        if attempt >= MAX_FAILURES:
            return None
        r = rng(self.state.seed, "fault", key, attempt)
        if burst is not None:
            return Fault(burst[0], r.random())
        x = r.random()
        for kind, p in profile.items():
            if x < p:
                if kind not in kinds:
                    return None
                if kind in BURST:
                    low, high = BURST[kind]
                    with self._lock:
                        self._bursts[platform] = (kind, r.randint(low, high) - 1)  # low >= 2
                return Fault(kind, r.random())
            x -= p
        return None

    def reset(self) -> None:
        with self._lock:
            self._attempts.clear()
            self._bursts.clear()


_NGINX = "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"  # noqa: E501
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
            504: "Gateway Time-out"}


def error_page(code: int) -> Response:
    """An nginx-style error page, the body real front ends put in front of a failing backend."""
    body = _NGINX.format(code=code, reason=_REASONS.get(code, "Error"))
    headers = {"Retry-After": "1"} if code == 503 else None
    return Response(body, status_code=code, media_type="text/html", headers=headers)


class TruncatedResponse(Response):
    """Sends the headers of ``full`` and only part of its body, then drops the connection."""

    pending = 0  # intentional truncations whose uvicorn complaint is still to be muted

    def __init__(self, full: Response, fraction: float) -> None:
        super().__init__(status_code=full.status_code)
        self.body = full.body
        self.raw_headers = full.raw_headers
        self.cut = max(1, int(len(self.body) * fraction))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        TruncatedResponse.pending += 1
        await send({"type": "http.response.body", "body": self.body[: self.cut], "more_body": True})


class MuteTruncations(logging.Filter):
    """Drops uvicorn's complaint about a response left incomplete, when we did it on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        if TruncatedResponse.pending and "without completing response" in record.getMessage():
            TruncatedResponse.pending -= 1
            return False
        return True


async def render_generic(fault: Fault, state: SandboxState, normal: Response) -> Response:
    """Apply a generic fault to the response the platform would have sent."""
    if fault.kind == SERVER_ERROR:
        return error_page((500, 502, 503)[int(fault.draw * 3)])
    if fault.kind == TIMEOUT:
        await asyncio.sleep(state.stall_seconds)
        return error_page(504)
    if fault.kind == SLOW or not hasattr(normal, "body"):  # a streamed body is never cut
        await asyncio.sleep(state.slow_seconds * (0.5 + fault.draw))
        return normal
    if fault.kind == TRUNCATED:
        return TruncatedResponse(normal, 0.2 + 0.6 * fault.draw)
    if fault.kind == MALFORMED:
        cut = normal.body[: max(1, int(len(normal.body) * (0.1 + 0.8 * fault.draw)))]
        return Response(cut, status_code=normal.status_code, headers=_without_length(normal))
    raise ValueError(f"not a generic fault: {fault.kind}")


def _without_length(response: Response) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in response.raw_headers
            if k.lower() != b"content-length"}
