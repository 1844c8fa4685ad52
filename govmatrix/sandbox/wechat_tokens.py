"""Access tokens of the simulated Official Account API (``cgi-bin/token`` and ``cgi-bin/stable_token``).

Rules imitated (reference A.1.1, A.1.2): a token lives 7200 s; a new ``cgi-bin/token`` leaves
the previous one valid for 5 more minutes; ``stable_token`` returns the same token while it
has at least 300 s left, and ``force_refresh`` invalidates the old one at once. The two kinds
are independent. Under the hostile profile each token dies after a few uses (the next call
with it gets 40001 or 42001), as when another server refreshes the token mid-crawl.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from govmatrix.sandbox.simkit import stable_token
from govmatrix.sandbox.texts import rng

LIFETIME = timedelta(seconds=7200)
GRACE = timedelta(seconds=300)
INVALID, EXPIRED, MISSING = 40001, 42001, 41001


@dataclass
class _Token:
    appid: str
    kind: str  # "token" | "stable"
    expires_at: datetime
    superseded_at: datetime | None = None
    revoked: bool = False
    uses: int = 0
    dead_code: int | None = None  # set when the hostile profile kills it


class TokenDesk:
    """Issues and checks access tokens; thread-safe; deterministic for a given request order."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._tokens: dict[str, _Token] = {}
        self._current: dict[tuple[str, str], str] = {}
        self._serial = 0
        self._lock = threading.Lock()

    def issue(self, appid: str, kind: str, now: datetime, *, force: bool = False) -> tuple[str, int]:
        """A token for ``appid`` and its ``expires_in``; ``kind`` is "token" or "stable"."""
        with self._lock:
            current = self._current.get((appid, kind))
            info = self._tokens.get(current) if current else None
            if kind == "stable" and not force and info is not None and self._alive(info, now) \
                    and info.expires_at - now >= GRACE:
                return str(current), int((info.expires_at - now).total_seconds())
            if info is not None:
                if kind == "stable":
                    info.revoked = True
                elif info.superseded_at is None:
                    info.superseded_at = now
            self._serial += 1
            token = "86_" + stable_token(self.seed, "wx-token", appid, kind, self._serial, length=140)
            self._tokens[token] = _Token(appid, kind, now + LIFETIME)
            self._current[(appid, kind)] = token
            return token, int(LIFETIME.total_seconds())

    def check(self, token: str, now: datetime, *, hostile: bool) -> tuple[str | None, int]:
        """``(appid, 0)`` for a good token, else ``(None, errcode)``; counts one use."""
        if not token:
            return None, MISSING
        with self._lock:
            info = self._tokens.get(token)
            if info is None or info.revoked:
                return None, INVALID
            if info.dead_code is not None:
                return None, info.dead_code
            if info.superseded_at is not None and now >= info.superseded_at + GRACE:
                return None, INVALID
            if now >= info.expires_at:
                return None, EXPIRED
            info.uses += 1
            if hostile and info.uses > self._life(token):
                r = rng(self.seed, "wx-token-death", token)
                info.dead_code = r.choice((INVALID, EXPIRED))
                return None, info.dead_code
            return info.appid, 0

    def _alive(self, info: _Token, now: datetime) -> bool:
        return not info.revoked and info.dead_code is None and now < info.expires_at

    def _life(self, token: str) -> int:
        """How many calls a token survives under the hostile profile."""
        return rng(self.seed, "wx-token-life", token).randint(3, 12)
