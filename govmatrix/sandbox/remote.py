"""A running sandbox seen from outside: read and move its clock over its control routes.

Used by ``--now sandbox`` and by the demo. Only the standard library: the sandbox's own edge.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime

DEFAULT_URL = "http://127.0.0.1:8700"


class SandboxUnreachable(RuntimeError):
    """The sandbox's control routes did not answer."""


def _call(url: str, body: dict[str, object] | None = None) -> dict[str, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url.rstrip('/')}/_sandbox/clock", data=data,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback control route)
            answer = json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise SandboxUnreachable(f"cannot read the sandbox clock at {url}: {exc}") from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("now"), str):
        raise SandboxUnreachable(f"the sandbox at {url} answered without a clock")
    return answer


def read_clock(url: str = DEFAULT_URL) -> datetime:
    """The sandbox's now."""
    return datetime.fromisoformat(str(_call(url)["now"]))


def advance_clock(url: str, seconds: float) -> datetime:
    """Move the sandbox's clock forward; returns the new now."""
    return datetime.fromisoformat(str(_call(url, {"advance_seconds": seconds})["now"]))
