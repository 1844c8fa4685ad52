"""Crawl outcomes: the account's crawl state and one crawl-run row per crawl, written together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from govmatrix.storage import schema as t
from govmatrix.storage.base import Store

WARNING_SAMPLES = 5  # the first reasons kept per crawl run


@dataclass(frozen=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(self.new + other.new, self.updated + other.updated)


class RunStore(Store):
    def record_success(self, account_id: int, *, started: datetime, finished: datetime, counts: UpsertCounts,
                       requests: int, next_check_at: datetime, cursor: dict[str, Any] | None,
                       warnings: Sequence[str] = ()) -> None:
        """A good crawl: reset the error state, schedule the next check, release the lease, keep a run row."""
        values: dict[str, Any] = {"error_count": 0, "last_error": None, "last_success_at": finished,
                                  "next_check_at": next_check_at, "lease_owner": None, "lease_until": None}
        if cursor is not None:
            values["cursor"] = cursor
        with self.engine.begin() as conn:
            conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(**values))
            conn.execute(t.crawl_runs.insert().values(
                account_id=account_id, started_at=started, finished_at=finished, status="ok",
                new_posts=counts.new, updated_posts=counts.updated, requests=requests,
                warnings=len(warnings), warning_samples=list(warnings[:WARNING_SAMPLES])))

    def record_failure(self, account_id: int, *, started: datetime, finished: datetime, error: str,
                       requests: int, next_check_at: datetime) -> None:
        """A failed crawl: error count, message and back-off on the account, the lease released, a run row."""
        a = t.accounts.c
        with self.engine.begin() as conn:
            conn.execute(update(t.accounts).where(a.id == account_id).values(
                error_count=a.error_count + 1, last_error=error, last_error_at=finished, next_check_at=next_check_at,
                lease_owner=None, lease_until=None))
            conn.execute(t.crawl_runs.insert().values(
                account_id=account_id, started_at=started, finished_at=finished, status="error", error=error,
                requests=requests))

    def failing_since(self) -> dict[int, datetime]:
        """For every account whose latest crawl failed: when its current run of failures began."""
        r = t.crawl_runs.c
        last_ok = select(r.account_id, func.max(r.started_at).label("at")).where(r.status == "ok").group_by(
            r.account_id).subquery()
        query = select(r.account_id, func.min(r.started_at)).outerjoin(
            last_ok, last_ok.c.account_id == r.account_id).where(
            r.status == "error", or_(last_ok.c.at.is_(None), r.started_at > last_ok.c.at)).group_by(r.account_id)
        a = t.accounts.c
        with self.engine.connect() as conn:
            broken = set(conn.execute(select(a.id).where(a.error_count > 0)).scalars())
            rows = conn.execute(query).all()
        return {account_id: at for account_id, at in rows if account_id in broken}

    def last(self) -> dict[int, dict[str, Any]]:
        """The latest crawl run of every account, keyed by account id."""
        r = t.crawl_runs.c
        newest = select(r.account_id, func.max(r.id).label("id")).group_by(r.account_id).subquery()
        query = select(t.crawl_runs).join(newest, r.id == newest.c.id)
        with self.engine.connect() as conn:
            return {row.account_id: dict(row._mapping) for row in conn.execute(query).all()}

    def of_account(self, account_id: int, limit: int = 20) -> list[dict[str, Any]]:
        """The newest crawl runs of one account."""
        r = t.crawl_runs.c
        query = select(t.crawl_runs).where(r.account_id == account_id).order_by(r.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query).all()]
