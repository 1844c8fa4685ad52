"""Who is asking: passwords (argon2), signed session cookies with a CSRF token, API tokens, login throttling.

A session is a signed cookie (itsdangerous, HttpOnly, SameSite=Lax, Secure over https) holding the
user's id, the user's ``updated_at`` when the session began (a new password, a disabled user or a
changed role ends every open session) and the session's CSRF token. Every visitor of the desk gets
a session cookie with a CSRF token before logging in, so the login form is protected too. Scripts
send ``Authorization: Bearer <token>`` instead (no cookie, so no CSRF token is needed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from govmatrix.storage.repo import Repo
from govmatrix.storage.users import User

COOKIE = "govmatrix_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
_hasher = PasswordHasher()
# verified against when the user name is unknown, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_ok(user: User | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return "gm_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    user_id: int | None
    version: float  # the user's updated_at when the session began
    csrf: str

    @classmethod
    def anonymous(cls) -> Session:
        return cls(None, 0.0, secrets.token_urlsafe(24))


class Sessions:
    """Reads and writes the session cookie."""

    def __init__(self, secret: str, hours: int) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt="govmatrix-session")
        self.max_age = hours * 3600

    def load(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data: Any = self.serializer.loads(cookie, max_age=self.max_age)
            return Session(data.get("u"), float(data.get("v", 0)), str(data["c"]))
        except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
            return None

    def dump(self, session: Session) -> str:
        return self.serializer.dumps({"u": session.user_id, "v": session.version, "c": session.csrf})

    def user_of(self, repo: Repo, session: Session | None) -> User | None:
        """The session's user, if it is still valid (not disabled, not changed since)."""
        if session is None or session.user_id is None:
            return None
        user = repo.users.get(session.user_id)
        if user is None or user.disabled or user.updated_at.timestamp() != session.version:
            return None
        return user


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    return bool(session and sent and hmac.compare_digest(session.csrf, sent))


def token_user(repo: Repo, authorization: str | None) -> User | None:
    """The user of an ``Authorization: Bearer`` API token."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    user = repo.users.by_token(token_hash(authorization[7:].strip()))
    return None if user is None or user.disabled else user


@dataclass(frozen=True)
class Throttle:
    """Logins refused for a while after repeated failures, by user name and by client address."""

    attempts: int
    window: timedelta

    def refused(self, repo: Repo, name: str, address: str, now: datetime) -> bool:
        by_name, by_address = repo.users.failures(name, address, now - self.window)
        return by_name >= self.attempts or by_address >= 4 * self.attempts

    def login(self, repo: Repo, name: str, password: str, address: str, now: datetime) -> User | None:
        """The user, if the name and password are right and logins are not refused; failures are recorded."""
        if self.refused(repo, name, address, now):
            return None
        user = repo.users.by_name(name)
        if not password_ok(user, password) or user is None or user.disabled:
            repo.users.record_failure(name, address, now)
            return None
        repo.users.forget_failures(name, now - self.window)
        return user
