"""The feed's reads: filtered, searched, newest (or most alarming) first, in keyset pages (no OFFSET)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, false, func, literal, or_, select, tuple_

from govmatrix.storage import schema as t
from govmatrix.storage.base import Store, chunks
from govmatrix.storage.search import SearchIndex, needs_scan, phrases

ORDERS = ("newest", "alerts")


@dataclass(frozen=True)
class FeedQuery:
    """What the feed shows. ``search`` is a search form (see pipelines/clean.normalise); ``after`` is
    the sort key of the last row of the previous page (``FeedStore.key``); ``collapsed`` shows each
    cluster of near-duplicates once, by its first post."""

    department: str | None = None
    platform: str | None = None
    account: str | None = None
    kind: str | None = None
    review_state: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    alerts: bool = False  # only posts with an alert
    flag: str | None = None  # only posts with this flag ("*": any flag)
    search: str | None = None
    collapsed: bool = False
    order: str = "newest"
    after: tuple[Any, ...] | None = None
    limit: int = 50


class FeedStore(Store):
    def page(self, q: FeedQuery) -> list[dict[str, Any]]:
        """One page of the feed, with each post's account and department names."""
        p, a, d = t.posts.c, t.accounts.c, t.departments.c
        query = select(
            p.id, p.platform, p.native_id, p.url, p.title, p.text, p.html, p.published_at, p.reposts, p.comments,
            p.likes, p.reads, p.kind, p.review_state, p.flags, p.author, p.cluster_id, p.alerts, p.alert_level,
            p.media, p.account_id, a.name.label("account"), d.name.label("department"),
            d.short_name.label("department_short"),
        ).select_from(t.posts.join(t.accounts, p.account_id == a.id).outerjoin(
            t.departments, a.department_id == d.id))
        sort = self._sort(q.order)
        conditions = self._conditions(q)
        if q.after is not None:
            conditions.append(tuple_(*sort) < tuple_(*(literal(v, c.type) for v, c in zip(q.after, sort, strict=True))))
        if conditions:
            query = query.where(and_(*conditions))
        params: dict[str, Any] = {}
        if q.search and not needs_scan(q.search):
            condition, params = SearchIndex(self.postgres).matching(q.search)
            query = query.where(condition)
        query = query.order_by(*(c.desc() for c in sort)).limit(q.limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query, params).all()]

    @staticmethod
    def _sort(order: str) -> list[Any]:
        if order not in ORDERS:
            raise ValueError(f"unknown feed order {order!r} (known: {', '.join(ORDERS)})")
        p = t.posts.c
        return [p.alert_level, p.published_at, p.id] if order == "alerts" else [p.published_at, p.id]

    @staticmethod
    def key(row: dict[str, Any], order: str) -> tuple[Any, ...]:
        """The sort key of a row, for the next page's ``after``."""
        if order == "alerts":
            return (row["alert_level"], row["published_at"], row["id"])
        return (row["published_at"], row["id"])

    def _conditions(self, q: FeedQuery) -> list[Any]:
        p, a, d = t.posts.c, t.accounts.c, t.departments.c
        out: list[Any] = []
        if q.department:
            out.append(or_(d.name == q.department, d.short_name == q.department))
        if q.account:
            out.append(or_(a.name == q.account, a.native_id == q.account))
        for column, value in ((p.platform, q.platform), (p.kind, q.kind), (p.review_state, q.review_state)):
            if value:
                out.append(column == value)
        if q.since:
            out.append(p.published_at >= q.since)
        if q.until:
            out.append(p.published_at < q.until)
        if q.alerts:
            out.append(p.alert_level > 0)
        if q.flag:
            out.append(self._flagged(q.flag))
        if q.collapsed:
            out.append(or_(p.cluster_id.is_(None), p.cluster_id == p.id))
        for phrase in phrases(q.search or ""):  # exact: the index only narrows the candidates
            out.append(func.instr(func.lower(p.text_norm), phrase) > 0 if not self.postgres
                       else func.strpos(func.lower(p.text_norm), phrase) > 0)
        if q.search is not None and not phrases(q.search):
            out.append(false())  # a query of punctuation only finds nothing
        return out

    def _flagged(self, flag: str) -> Any:
        flags = t.posts.c.flags
        if flag == "*":
            return func.json_array_length(flags) > 0 if not self.postgres else func.jsonb_array_length(flags) > 0
        if self.postgres:
            return flags.op("@>")(func.jsonb_build_array(flag))
        each = func.json_each(flags).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == flag))

    def also_posted(self, cluster_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """The members of some clusters, earliest first: post id, account and department names."""
        p, a, d = t.posts.c, t.accounts.c, t.departments.c
        out: dict[int, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            for batch in chunks(list(cluster_ids)):
                rows = conn.execute(select(
                    p.cluster_id, p.id, p.platform, a.name.label("account"), d.short_name.label("department_short"),
                ).select_from(t.posts.join(t.accounts, p.account_id == a.id).outerjoin(
                    t.departments, a.department_id == d.id)).where(p.cluster_id.in_(list(batch))).order_by(
                    p.cluster_id, p.published_at, p.id)).all()
                for row in rows:
                    out.setdefault(row.cluster_id, []).append(dict(row._mapping))
        return out
