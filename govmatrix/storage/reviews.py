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

    def events(self, post_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest review events (of one post, if given)."""
        e = t.review_events.c
        query = select(t.review_events).order_by(e.id.desc()).limit(limit)
        if post_id is not None:
            query = query.where(e.post_id == post_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]
