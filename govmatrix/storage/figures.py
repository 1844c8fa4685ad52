"""The figures of stored posts that statistics and indices read: per post, no text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from govmatrix.storage import schema as t
from govmatrix.storage.base import Store


class FigureStore(Store):
    def of_period(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Every post published in [since, until): account_id, platform, kind, published_at, reposts,
        comments, likes, reads and extra (which holds a WeChat article's position, ``index``); an owned
        WeChat article's reads and shares come from datacube (``article_stats``) when the platform
        gave them there (``shares`` is None otherwise)."""
        p, s = t.posts.c, t.article_stats.c
        query = select(p.account_id, p.platform, p.kind, p.published_at, p.reposts, p.comments, p.likes,
                       func.coalesce(p.reads, s.reads).label("reads"), s.shares, p.extra).select_from(
            t.posts.outerjoin(t.article_stats, s.post_id == p.id)).where(p.published_at >= since,
                                                                         p.published_at < until)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]
