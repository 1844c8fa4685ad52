"""Wording hits and their dismissals: pipelines/wording.py puts the hits in a post's alerts (rules
``wording:<list>``, each with a stable ``key``); a reviewer dismisses one hit of one post
(``wording_dismissals``, unique on post and key). A hit not dismissed is open and blocks approval
until it is dismissed or the text is fixed (the fixed text, crawled or reprocessed, no longer has it).

A dismissal names the key, not the offset, so it outlives an edit elsewhere in the text; a dismissal
whose hit is gone stays recorded (who dismissed what, when and why) and blocks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from govmatrix.storage import schema as t
from govmatrix.storage.base import Store, chunks

PREFIX = "wording:"
KEY_MAX = 300  # the column's width; pipelines/wording.py makes keys no longer


def wording_hits(alerts: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The wording hits among a post's alerts (each ``{"rule", "severity", "span", "suggestion", "key", ...}``)."""
    return [dict(a) for a in alerts or () if str(a.get("rule", "")).startswith(PREFIX)]


def _field(post: Any, name: str) -> Any:
    return post.get(name) if isinstance(post, Mapping) else getattr(post, name, None)


class WordingStore(Store):
    def dismiss(self, post_id: int, key: str, actor: str, now: datetime, note: str = "") -> bool:
        """Record that ``actor`` dismissed the hit ``key`` of post ``post_id``; False when it was dismissed
        already (the first dismissal is kept). ValueError for an empty key or a post that does not exist."""
        key = key.strip()
        if not key or len(key) > KEY_MAX:
            raise ValueError(f"post {post_id}: not a wording hit key: {key[:40]!r}")
        p = t.posts.c
        insert = self.insert(t.wording_dismissals).values(post_id=post_id, key=key, actor=actor, at=now,
                                                           note=note.strip())
        with self.engine.begin() as conn:
            if conn.execute(select(p.id).where(p.id == post_id)).first() is None:
                raise ValueError(f"post {post_id}: no such post")
            # RETURNING, not rowcount: with the implicit RETURNING of the id psycopg reports -1 either way
            done = conn.execute(insert.on_conflict_do_nothing(index_elements=["post_id", "key"])  # type: ignore[attr-defined]
                                .returning(t.wording_dismissals.c.id)).first()
        return done is not None

    def dismissed(self, post_ids: Sequence[int]) -> dict[int, set[str]]:
        """The dismissed keys of each post (posts without a dismissal are left out)."""
        w = t.wording_dismissals.c
        out: dict[int, set[str]] = {}
        with self.engine.connect() as conn:
            for batch in chunks(sorted({int(i) for i in post_ids})):
                for post_id, key in conn.execute(select(w.post_id, w.key).where(self.among(w.post_id, batch))):
                    out.setdefault(int(post_id), set()).add(key)
        return out

    def dismissals(self, post_id: int) -> list[dict[str, Any]]:
        """A post's dismissals, oldest first: key, actor, at, note."""
        w = t.wording_dismissals.c
        query = select(w.key, w.actor, w.at, w.note).where(w.post_id == post_id).order_by(w.at, w.id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def open_hits(self, post: Any) -> list[dict[str, Any]]:
        """The hits of one post (a mapping or an object with ``id`` and ``alerts``, as the feed gives them)
        that no reviewer dismissed."""
        hits = wording_hits(_field(post, "alerts"))
        if not hits:
            return []
        gone = self.dismissed([int(_field(post, "id"))]).get(int(_field(post, "id")), set())
        return [h for h in hits if h.get("key") not in gone]

    def blocking(self, post_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """The open wording hits of some posts, by post, read from the store; posts without any are left out.
        A post listed here may not be approved or pinned."""
        p = t.posts.c
        ids = sorted({int(i) for i in post_ids})
        found: dict[int, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            for batch in chunks(ids):
                rows = conn.execute(select(p.id, p.alerts).where(self.among(p.id, batch), p.alert_level > 0))
                for post_id, alerts in rows:
                    hits = wording_hits(alerts)
                    if hits:
                        found[int(post_id)] = hits
        if not found:
            return {}
        dismissed = self.dismissed(list(found))
        out = {}
        for post_id, hits in found.items():
            still = [h for h in hits if h.get("key") not in dismissed.get(post_id, set())]
            if still:
                out[post_id] = still
        return out
