"""The web app's users (name, role, departments, password hash, API token hash) and failed logins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from govmatrix.errors import ConfigError
from govmatrix.storage import schema as t
from govmatrix.storage.base import Store

ROLES = ("admin", "reviewer", "viewer")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    departments: tuple[str, ...]  # short names; empty: every department
    password_hash: str
    disabled: bool
    updated_at: datetime

    def may_review(self, department: str | None) -> bool:
        """Whether this user may act on an item of ``department`` (its short name)."""
        if self.disabled or self.role not in ("admin", "reviewer"):
            return False
        return self.role == "admin" or not self.departments or department in self.departments


def _user(row: Any) -> User:
    return User(row.id, row.name, row.role, tuple(row.departments or ()), row.password_hash, row.disabled,
                row.updated_at)


class UserStore(Store):
    def add(self, name: str, role: str, password_hash: str, now: datetime, departments: Sequence[str] = ()) -> User:
        if role not in ROLES:
            raise ConfigError(f"user: unknown role {role!r} (known: {', '.join(ROLES)})")
        try:
            with self.engine.begin() as conn:
                conn.execute(t.users.insert().values(
                    name=name, role=role, departments=list(departments), password_hash=password_hash,
                    disabled=False, created_at=now, updated_at=now))
        except IntegrityError:
            raise ConfigError(f"user: {name!r} exists already") from None
        return self._one(t.users.c.name == name)

    def get(self, user_id: int) -> User | None:
        return self._find(t.users.c.id == user_id)

    def by_name(self, name: str) -> User | None:
        return self._find(t.users.c.name == name)

    def by_token(self, token_hash: str) -> User | None:
        return self._find(t.users.c.token_hash == token_hash)

    def all(self) -> list[User]:
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(select(t.users).order_by(t.users.c.name)).all()]

    def change(self, name: str, now: datetime, **values: Any) -> User:
        """Set some of ``password_hash``, ``token_hash``, ``disabled``, ``role``, ``departments``;
        ``updated_at`` moves, which ends the user's open sessions."""
        with self.engine.begin() as conn:
            done = conn.execute(update(t.users).where(t.users.c.name == name).values(**values, updated_at=now))
        if not done.rowcount:
            raise ConfigError(f"user: no user {name!r}")
        return self._one(t.users.c.name == name)

    def _find(self, condition: Any) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.users).where(condition)).first()
        return _user(row) if row else None

    def _one(self, condition: Any) -> User:
        found = self._find(condition)
        assert found is not None
        return found

    # failed logins

    def record_failure(self, name: str, address: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.login_failures.insert().values(name=name[:100], address=address[:64], at=now))

    def failures(self, name: str, address: str, since: datetime) -> tuple[int, int]:
        """Failed logins since ``since``: of this user name, and from this address."""
        f = t.login_failures.c
        with self.engine.connect() as conn:
            by_name = conn.execute(select(func.count()).where(f.name == name[:100], f.at >= since)).scalar_one()
            by_address = conn.execute(select(func.count()).where(f.address == address[:64], f.at >= since)).scalar_one()
        return int(by_name), int(by_address)

    def forget_failures(self, name: str, before: datetime) -> None:
        """After a good login: that name's failures, and everyone's older than ``before``."""
        f = t.login_failures.c
        with self.engine.begin() as conn:
            conn.execute(delete(t.login_failures).where(or_(f.name == name[:100], f.at < before)))
