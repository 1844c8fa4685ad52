"""Departments and accounts: sync from the settings, listings, what is due, leases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select, update

from govmatrix.models import Account
from govmatrix.storage import schema as t
from govmatrix.storage.base import Store


@dataclass(frozen=True)
class AccountSpec:
    """What the settings say about one account (the store does not read settings itself)."""

    department: str
    department_short: str
    platform: str
    native_id: str
    name: str
    enabled: bool
    interval: int | None
    options: dict[str, Any]


@dataclass(frozen=True)
class SyncReport:
    added: list[str]
    updated: list[str]
    disabled: list[str]
    options_changed: list[str]  # accounts whose options changed (what is derived from them may change)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.disabled)


def _select() -> Any:
    """Accounts with their department's name, as ``_account`` reads them."""
    return select(t.accounts, t.departments.c.name.label("department_name")).select_from(
        t.accounts.outerjoin(t.departments, t.accounts.c.department_id == t.departments.c.id))


def _due(now: datetime) -> tuple[Any, ...]:
    """An enabled account whose next check is not in the future."""
    a = t.accounts.c
    return a.enabled.is_(True), or_(a.next_check_at.is_(None), a.next_check_at <= now)


# Never-checked accounts first, then the most overdue.
_DUE_ORDER = (t.accounts.c.next_check_at.is_not(None), t.accounts.c.next_check_at, t.accounts.c.id)


def _account(row: Any) -> Account:
    m = row._mapping
    return Account(
        id=m["id"], platform=m["platform"], native_id=m["native_id"], name=m["name"],
        department=m["department_name"] or "", enabled=m["enabled"], interval=m["interval"],
        options=m["options"] or {}, cursor=m["cursor"] or {}, next_check_at=m["next_check_at"],
        error_count=m["error_count"], last_error=m["last_error"], last_error_at=m["last_error_at"],
        last_success_at=m["last_success_at"],
    )


class AccountStore(Store):
    def sync(self, specs: Iterable[AccountSpec]) -> SyncReport:
        """Add and update departments and accounts from settings; disable accounts that left them."""
        added: list[str] = []
        updated: list[str] = []
        options_changed: list[str] = []
        with self.engine.begin() as conn:
            wanted = set()
            for spec in specs:
                wanted.add((spec.platform, spec.native_id))
                dept_id = self._department_id(conn, spec.department, spec.department_short)
                outcome = self._sync_one(conn, spec, dept_id)
                label = f"{spec.platform} {spec.native_id}"
                if outcome != "same":
                    (added if outcome == "added" else updated).append(label)
                if outcome in ("added", "options"):
                    options_changed.append(label)
            disabled = self._disable_missing(conn, wanted)
        return SyncReport(added, updated, disabled, options_changed)

    def _department_id(self, conn: Connection, name: str, short: str) -> int:
        d = t.departments.c
        row = conn.execute(select(d.id, d.short_name).where(d.name == name)).first()
        if row is None:
            inserted = conn.execute(t.departments.insert().values(name=name, short_name=short)).inserted_primary_key
            assert inserted is not None
            return int(inserted[0])
        if row.short_name != short:
            conn.execute(update(t.departments).where(d.id == row.id).values(short_name=short))
        return int(row.id)

    def _sync_one(self, conn: Connection, spec: AccountSpec, dept_id: int) -> str:
        a = t.accounts.c
        values = {"department_id": dept_id, "name": spec.name, "enabled": spec.enabled,
                  "interval": spec.interval, "options": spec.options}
        row = conn.execute(select(a.id, a.department_id, a.name, a.enabled, a.interval, a.options).where(
            a.platform == spec.platform, a.native_id == spec.native_id)).first()
        if row is None:
            conn.execute(t.accounts.insert().values(platform=spec.platform, native_id=spec.native_id, cursor={},
                                                    error_count=0, **values))
            return "added"
        if {k: getattr(row, k) for k in values} == values:
            return "same"
        conn.execute(update(t.accounts).where(a.id == row.id).values(**values))
        return "options" if row.options != spec.options else "updated"

    def _disable_missing(self, conn: Connection, wanted: set[tuple[str, str]]) -> list[str]:
        a = t.accounts.c
        rows = conn.execute(select(a.id, a.platform, a.native_id).where(a.enabled.is_(True))).all()
        gone = [r for r in rows if (r.platform, r.native_id) not in wanted]
        if gone:
            conn.execute(update(t.accounts).where(a.id.in_([r.id for r in gone])).values(enabled=False))
        return [f"{r.platform} {r.native_id}" for r in gone]

    def find(self, platform: str | None = None, native_id: str | None = None,
             enabled_only: bool = False) -> list[Account]:
        """Accounts with their department and crawl state, ordered by department then platform."""
        a = t.accounts.c
        query = _select()
        if platform:
            query = query.where(a.platform == platform)
        if native_id:
            query = query.where(a.native_id == native_id)
        if enabled_only:
            query = query.where(a.enabled.is_(True))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(a.department_id, a.platform, a.native_id)).all()
        return [_account(r) for r in rows]

    def departments(self) -> list[dict[str, Any]]:
        """Every department: name and short name, in the order they were added."""
        d = t.departments.c
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(d.name, d.short_name).order_by(d.id)).all()]

    def by_id(self, ids: Sequence[int]) -> list[Account]:
        query = _select().where(t.accounts.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            return [_account(r) for r in conn.execute(query).all()]

    def due(self, now: datetime, limit: int = 100, platform: str | None = None) -> list[Account]:
        """Enabled accounts whose next check is due (never checked first, then the most overdue)."""
        query = _select().where(*_due(now))
        if platform:
            query = query.where(t.accounts.c.platform == platform)
        with self.engine.connect() as conn:
            return [_account(r) for r in conn.execute(query.order_by(*_DUE_ORDER).limit(limit)).all()]

    def backing_off(self, now: datetime) -> list[Account]:
        """Enabled accounts that failed and wait for their back-off to end, soonest first."""
        a = t.accounts.c
        query = _select().where(a.enabled.is_(True), a.error_count > 0, a.next_check_at > now)
        with self.engine.connect() as conn:
            return [_account(r) for r in conn.execute(query.order_by(a.next_check_at)).all()]

    def claim_due(self, now: datetime, owner: str, *, limit: int, lease_seconds: float,
                  exclude: Iterable[int] = (), ids: Sequence[int] | None = None) -> list[Account]:
        """Lease up to ``limit`` due accounts (or, with ``ids``, those accounts, due or not) to ``owner``.

        On PostgreSQL the candidates are locked with ``FOR UPDATE SKIP LOCKED``, so several schedulers
        sharing one database never claim the same account; an expired lease (a crashed worker) can be
        claimed again. The choice and the lease are one statement, atomic on SQLite too.
        """
        a = t.accounts.c
        chosen = (a.id.in_(list(ids)),) if ids is not None else _due(now)
        candidates = select(a.id).where(
            *chosen, or_(a.lease_until.is_(None), a.lease_until <= now), a.id.not_in(list(exclude)),
        ).order_by(*_DUE_ORDER).limit(limit).with_for_update(skip_locked=True)
        claim = update(t.accounts).where(a.id.in_(candidates.scalar_subquery())).values(
            lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds)).returning(a.id)
        with self.engine.begin() as conn:
            claimed = list(conn.execute(claim).scalars())
        if not claimed:
            return []
        return sorted(self.by_id(claimed), key=lambda acc: (acc.next_check_at is not None,
                                                            acc.next_check_at or now, acc.id))

    def leased(self) -> list[Account]:
        """Accounts someone holds a lease on."""
        with self.engine.connect() as conn:
            rows = conn.execute(_select().where(t.accounts.c.lease_owner.is_not(None))).all()
        return [_account(r) for r in rows]

    def lease_owners(self) -> set[str]:
        a = t.accounts.c
        with self.engine.connect() as conn:
            return set(conn.execute(select(a.lease_owner).where(a.lease_owner.is_not(None)).distinct()).scalars())

    def release_leases(self, owner: str | None = None, ids: Sequence[int] | None = None) -> int:
        """Drop the leases of one owner (a scheduler shutting down), of some accounts, or all (SQLite start-up)."""
        a = t.accounts.c
        query = update(t.accounts).where(a.lease_owner.is_not(None))
        if owner is not None:
            query = query.where(a.lease_owner == owner)
        if ids is not None:
            query = query.where(a.id.in_(list(ids)))
        with self.engine.begin() as conn:
            return int(conn.execute(query.values(lease_owner=None, lease_until=None)).rowcount)

    def mark_due(self, now: datetime, account_ids: Sequence[int]) -> None:
        """Make accounts due now (for example for the daily follower snapshot)."""
        a = t.accounts.c
        with self.engine.begin() as conn:
            conn.execute(update(t.accounts).where(a.id.in_(list(account_ids)), or_(
                a.next_check_at.is_(None), a.next_check_at > now)).values(next_check_at=now))

    def without_snapshot(self, day: date, platforms: Sequence[str]) -> list[int]:
        """Enabled accounts of ``platforms`` lacking a follower snapshot of ``day``."""
        a, s = t.accounts.c, t.follower_snapshots.c
        have = select(s.account_id).where(s.day == day)
        query = select(a.id).where(a.enabled.is_(True), a.platform.in_(list(platforms)), a.id.not_in(have))
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())
