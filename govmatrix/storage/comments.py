"""Comments under the accounts' posts: idempotent bulk upserts, and the comments of a window.

A comment is unique on (platform, native id); a re-read updates what may change (the text after an
edit, the likes, a reply's resolved target) and keeps the first sighting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from govmatrix.models import Comment
from govmatrix.storage import schema as t
from govmatrix.storage.base import Store, chunks

_UPDATABLE = ("post_native_id", "root_native_id", "reply_to", "by_account", "author", "author_id", "text", "likes",
              "created_at", "updated_at")


def _row(comment: Comment, account_id: int, now: datetime) -> dict[str, Any]:
    return {"account_id": account_id, "platform": comment.platform, "native_id": comment.native_id,
            "post_native_id": comment.post_native_id, "root_native_id": comment.root_native_id,
            "reply_to": comment.reply_to, "by_account": comment.by_account, "author": comment.author[:200],
            "author_id": comment.author_id[:64], "text": comment.text, "likes": comment.likes,
            "created_at": comment.created_at, "first_seen_at": now, "updated_at": now}


class CommentStore(Store):
    def upsert(self, account_id: int, comments: Sequence[Comment], now: datetime) -> int:
        """Store comments read under one account's posts; returns how many were given (once each)."""
        unique = list({(c.platform, c.native_id): c for c in comments}.values())
        if not unique:
            return 0
        stmt = self.insert(t.comments)
        stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["platform", "native_id"],
            set_={c: getattr(stmt.excluded, c) for c in _UPDATABLE})  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            for batch in chunks(unique):
                conn.execute(stmt, [_row(c, account_id, now) for c in batch])
        return len(unique)

    def of_posts_published(self, account_ids: Sequence[int], since: datetime, until: datetime,
                           created_until: datetime) -> list[dict[str, Any]]:
        """The comments written by ``created_until`` under the posts of some accounts published in
        [since, until], oldest first, each with ``post_published_at`` and the post's ``url``."""
        if not account_ids:
            return []
        c, p = t.comments.c, t.posts.c
        query = select(
            c.account_id, c.native_id, c.post_native_id, c.root_native_id, c.reply_to, c.by_account, c.author,
            c.text, c.created_at, p.published_at.label("post_published_at"), p.url.label("post_url"),
        ).select_from(t.comments.join(t.posts, and_(p.platform == c.platform, p.native_id == c.post_native_id))).where(
            self.among(c.account_id, list(account_ids)), p.published_at >= since, p.published_at <= until,
            c.created_at <= created_until).order_by(c.created_at, c.native_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]

    def count(self, account_id: int | None = None) -> int:
        from sqlalchemy import func

        query = select(func.count()).select_from(t.comments)
        if account_id is not None:
            query = query.where(t.comments.c.account_id == account_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
