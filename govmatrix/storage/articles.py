"""Owned WeChat articles' figures from datacube: one row per account and msgid, the later reading wins,
tied to the stored article by its msgid (``posts.extra.msgid``) as soon as that is stored."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, select, update

from govmatrix.models import ArticleStats
from govmatrix.storage import schema as t
from govmatrix.storage.base import Store

_FIELDS = ("ref_date", "title", "stat_date", "reads", "shares", "favorites")


class ArticleStore(Store):
    def upsert(self, account_id: int, stats: Sequence[ArticleStats]) -> int:
        """Store figures (a later ``stat_date`` replaces an earlier one), then tie every untied row of
        the account to its article."""
        rows = [{"account_id": account_id, "msgid": s.msgid, **{f: getattr(s, f) for f in _FIELDS}}
                for s in {s.msgid: s for s in stats}.values()]
        with self.engine.begin() as conn:
            if rows:
                stmt = self.insert(t.article_stats)
                ex = stmt.excluded  # type: ignore[attr-defined]
                conn.execute(stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                    index_elements=["account_id", "msgid"], set_={f: getattr(ex, f) for f in _FIELDS},
                    where=t.article_stats.c.stat_date <= ex.stat_date), rows)
            self._tie(conn, account_id)
        return len(rows)

    def _tie(self, conn: Connection, account_id: int) -> None:
        s, p = t.article_stats.c, t.posts.c
        untied = set(conn.execute(select(s.msgid).where(s.account_id == account_id, s.post_id.is_(None))).scalars())
        if not untied:
            return
        msgid = p.extra["msgid"].as_string()
        found = conn.execute(select(p.id, msgid).where(p.account_id == account_id, msgid.is_not(None))).all()
        pairs = [{"_msgid": m, "_post": pid} for pid, m in found if m in untied]
        if pairs:
            conn.execute(update(t.article_stats).where(s.account_id == account_id, s.msgid == bindparam("_msgid"))
                         .values(post_id=bindparam("_post")), pairs)
