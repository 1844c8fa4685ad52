"""Review states of posts and the audit trail of every change (``review_events``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from govmatrix.models import REVIEW_STATES
from govmatrix.storage import schema as t
from govmatrix.storage.base import Store

STATES = REVIEW_STATES


class ReviewStore(Store):
    def set_state(self, post_ids: Sequence[int], state: str, *, actor: str, now: datetime, note: str = "") -> int:
        """Move posts to ``state``; each change is one audited event (who, when, before, after, note)."""
        if state not in STATES:
            raise ValueError(f"unknown review state {state!r} (known: {', '.join(STATES)})")
        p = t.posts.c
        with self.engine.begin() as conn:
            before = dict(conn.execute(select(p.id, p.review_state).where(p.id.in_(list(post_ids)))).all())
            moved = [post_id for post_id, old in before.items() if old != state or note]
            if not moved:
                return 0
            conn.execute(update(t.posts).where(p.id.in_(moved)).values(review_state=state))
            conn.execute(t.review_events.insert(), [
                {"post_id": post_id, "at": now, "actor": actor, "from_state": before[post_id], "to_state": state,
                 "note": note} for post_id in moved])
        return len(moved)

    def targets(self, post_ids: Sequence[int], *, clusters: bool = False) -> list[dict[str, Any]]:
        """The posts a review action names (with ``clusters``, every member of their clusters too):
        id, review state, cluster, title and the department's short name."""
        p, a, d = t.posts.c, t.accounts.c, t.departments.c
        ids = list(post_ids)
        with self.engine.connect() as conn:
            if clusters and ids:
                found = conn.execute(select(p.cluster_id).where(self.among(p.id, ids), p.cluster_id.is_not(None)))
                cluster_ids = sorted({int(c) for c in found.scalars()})
                if cluster_ids:
                    more = conn.execute(select(p.id).where(self.among(p.cluster_id, cluster_ids)))
                    ids = sorted(set(ids) | {int(i) for i in more.scalars()})
            if not ids:
                return []
            rows = conn.execute(select(
                p.id, p.review_state, p.cluster_id, p.title, p.text, p.alerts, d.short_name.label("department_short"),
            ).select_from(t.posts.join(t.accounts, p.account_id == a.id).outerjoin(
                t.departments, a.department_id == d.id)).where(self.among(p.id, ids)).order_by(p.id)).all()
        return [dict(r._mapping) for r in rows]

    def events(self, post_id: int | None = None, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
        """The newest review events (of one post, if given; older than event ``before``, for paging),
        with the post's title and text and its account's name."""
        e, p, a = t.review_events.c, t.posts.c, t.accounts.c
        query = select(t.review_events, p.title, p.text, a.name.label("account")).select_from(
            t.review_events.join(t.posts, e.post_id == p.id).join(t.accounts, p.account_id == a.id)
        ).order_by(e.id.desc()).limit(limit)
        if post_id is not None:
            query = query.where(e.post_id == post_id)
        if before is not None:
            query = query.where(e.id < before)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]

    def last_change(self) -> tuple[int, datetime | None]:
        """The id and time of the newest review event ((0, None) before the first): what the public
        pages depend on besides the posts themselves."""
        e = t.review_events.c
        with self.engine.connect() as conn:
            row = conn.execute(select(e.id, e.at).order_by(e.id.desc()).limit(1)).first()
        return (int(row.id), row.at) if row else (0, None)
