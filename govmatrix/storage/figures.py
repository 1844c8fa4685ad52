"""The figures of stored posts that statistics and indices read: per post, no text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from govmatrix.storage import schema as t
from govmatrix.storage.base import Store


class FigureStore(Store):
    def of_period(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Every post published in [since, until): account_id, platform, kind, published_at, reposts,
        comments, likes, reads and extra (which holds a WeChat article's position, ``index``)."""
        p = t.posts.c
        query = select(p.account_id, p.platform, p.kind, p.published_at, p.reposts, p.comments, p.likes, p.reads,
                       p.extra).where(p.published_at >= since, p.published_at < until)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]
