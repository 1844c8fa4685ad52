"""Follower snapshots: one row per account, local day and source; the later reading of a day wins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, tzinfo
from typing import Any

from sqlalchemy import and_, func, select

from govmatrix.models import FollowerSnapshot
from govmatrix.storage import schema as t
from govmatrix.storage.base import Store

_FIELDS = ("taken_at", "followers", "followers_lower_bound", "following", "posts_count", "extra")


class SnapshotStore(Store):
    def upsert(self, account_id: int, snapshots: Sequence[FollowerSnapshot], tz: tzinfo) -> int:
        """Store snapshots; a later reading of the same day and source replaces an earlier one."""
        if not snapshots:
            return 0
        rows = [{"account_id": account_id, "day": s.day(tz), "source": s.source, "taken_at": s.taken_at,
                 "followers": s.followers, "followers_lower_bound": s.followers_lower_bound,
                 "following": s.following, "posts_count": s.posts_count, "extra": s.extra} for s in snapshots]
        stmt = self.insert(t.follower_snapshots)
        ex = stmt.excluded  # type: ignore[attr-defined]
        stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["account_id", "day", "source"], set_={c: getattr(ex, c) for c in _FIELDS},
            where=t.follower_snapshots.c.taken_at <= ex.taken_at)
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def of_account(self, account_id: int) -> list[dict[str, Any]]:
        """An account's snapshots, oldest day first."""
        s = t.follower_snapshots.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.follower_snapshots).where(s.account_id == account_id).order_by(
                s.day, s.source)).all()
        return [dict(r._mapping) for r in rows]

    def between(self, first: date, last: date, sources: Sequence[str]) -> list[dict[str, Any]]:
        """Every account's snapshots of some sources for the local days [first, last], plus each
        account's and source's last snapshot before ``first`` (what a series carries into the
        period), ordered by account, source and day. Fields: account_id, day, source, followers,
        followers_lower_bound, extra."""
        s = t.follower_snapshots.c
        columns = (s.account_id, s.day, s.source, s.followers, s.followers_lower_bound, s.extra)
        before = select(s.account_id, s.source, func.max(s.day).label("day")).where(
            s.day < first, s.source.in_(list(sources))).group_by(s.account_id, s.source).subquery()
        carried = select(*columns).join(before, and_(
            s.account_id == before.c.account_id, s.source == before.c.source, s.day == before.c.day))
        inside = select(*columns).where(s.day >= first, s.day <= last, s.source.in_(list(sources)))
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for query in (carried, inside) for r in conn.execute(query).all()]
        return sorted(rows, key=lambda r: (r["account_id"], r["source"], r["day"]))
