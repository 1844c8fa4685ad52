"""The feed's reads: filtered, searched, newest (or most alarming) first, in keyset pages (no OFFSET)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, false, func, literal, or_, select, tuple_, union_all

from govmatrix.storage import schema as t
from govmatrix.storage.base import Store, chunks
from govmatrix.storage.search import SearchIndex, needs_scan, phrases

ORDERS = ("newest", "alerts")
PUBLIC = ("approved", "pinned")
MAX_ID = 2**63 - 1  # the largest id a BIGINT holds


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
    public: bool = False  # only what the micro-site shows: approved or pinned, each cluster once
    order: str = "newest"
    after: tuple[Any, ...] | None = None
    limit: int = 50


BRANCHES = 64  # up to this many accounts, each account's newest posts are read from its own index
# A word with more hits than about sqrt(page × posts) is common: walking the newest posts finds a page
# sooner than reading every hit; the hits read to find out are bounded by these.
MIN_HITS, MAX_HITS = 1_000, 20_000


class FeedStore(Store):
    """The feed's reads. Which plan answers a page is chosen here, from the sizes involved, not left
    to the planners (SQLite's took the platform index and sorted half the store): the accounts a
    filter allows are resolved first, and a search reads a bounded number of hits from the index. A rare
    word's hits are read and sorted. Otherwise few accounts are read newest first from each one's
    own index, many by walking the time index, a common word checked on the way (a page of matches
    comes soon). The planners misjudge a substring check and would walk for a rare word too."""

    def page(self, q: FeedQuery) -> list[dict[str, Any]]:
        """One page of the feed, with each post's account and department names."""
        with self.engine.connect() as conn:
            accounts = self._accounts(conn, q)
            if accounts is not None and not accounts:
                return []
            query = self._query(conn, q, accounts)
            return [dict(r._mapping) for r in conn.execute(query).all()]

    def one(self, post_id: int) -> dict[str, Any] | None:
        """One post as a feed row (None if there is no such post)."""
        if not 0 < post_id <= MAX_ID:
            return None
        ids = select(t.posts.c.id).where(t.posts.c.id == post_id).subquery()
        with self.engine.connect() as conn:
            row = conn.execute(self._rows(ids, self._sort("newest"), 1)).first()
        return dict(row._mapping) if row else None

    def _query(self, conn: Any, q: FeedQuery, accounts: list[int] | None) -> Any:
        p = t.posts.c
        sort = self._sort(q.order)
        conditions = self._conditions(q)
        if q.after is not None:
            conditions.append(tuple_(*sort) < tuple_(*(literal(v, c.type) for v, c in zip(q.after, sort, strict=True))))
        searching = bool(phrases(q.search or "")) and not needs_scan(q.search or "")
        few = accounts is not None and len(accounts) <= BRANCHES
        if searching:
            total = max(conn.execute(select(func.max(t.posts.c.id))).scalar() or 0, 1)
            cap = min(max(int(math.sqrt(q.limit * total)), MIN_HITS), MAX_HITS)  # where walking starts to win
            narrow = accounts if self.postgres else None  # PostgreSQL narrows the hits to the accounts in its index
            hits = SearchIndex(self.postgres).first_hits(conn, q.search or "", cap, narrow)
            if len(hits) <= cap and self._read_hits(conn, q, len(hits), total, accounts):  # rare: read, sort
                conditions.append(self.among(p.id, hits))
                if accounts is not None:
                    conditions.append((p.account_id + 0).in_(accounts))
                return self._rows(self._ids(conditions, sort, q.limit), sort, q.limit)
            # a common word: the exact check on the newest posts (or the few accounts') finds a page soon
        if few and q.order == "newest":
            return self._branches(q, accounts or [], conditions, sort)
        if accounts is not None:
            # few accounts: read their posts from the account index; many: walk the time index
            conditions.append(p.account_id.in_(accounts) if few else (p.account_id + 0).in_(accounts))
        return self._rows(self._ids(conditions, sort, q.limit), sort, q.limit)

    @staticmethod
    def _ids(conditions: list[Any], sort: list[Any], limit: int) -> Any:
        return select(t.posts.c.id).where(*conditions).order_by(*(c.desc() for c in sort)).limit(limit).subquery()

    def _branches(self, q: FeedQuery, accounts: list[int], conditions: list[Any], sort: list[Any]) -> Any:
        """Each account's newest page from its own index, merged: no sort of more than a page per account."""
        p = t.posts.c
        branches = []
        for account_id in accounts:
            inner = select(p.id).where(p.account_id == account_id, *conditions).order_by(
                *(c.desc() for c in sort)).limit(q.limit).subquery()
            branches.append(select(inner.c.id))
        return self._rows(union_all(*branches).subquery(), sort, q.limit)

    def _rows(self, ids: Any, sort: list[Any], limit: int) -> Any:
        p, a, d = t.posts.c, t.accounts.c, t.departments.c
        return select(
            p.id, p.platform, p.native_id, p.url, p.title, p.text, p.html, p.published_at, p.reposts, p.comments,
            p.likes, p.reads, p.kind, p.review_state, p.flags, p.author, p.cluster_id, p.alerts, p.alert_level,
            p.media, p.updated_at, p.account_id, a.name.label("account"), d.name.label("department"),
            d.short_name.label("department_short"),
        ).select_from(t.posts.join(ids, p.id == ids.c.id).join(t.accounts, p.account_id == a.id).outerjoin(
            t.departments, a.department_id == d.id)).order_by(*(c.desc() for c in sort)).limit(limit)

    def _read_hits(self, conn: Any, q: FeedQuery, hits: int, total: int, accounts: list[int] | None) -> bool:
        """Whether reading every hit costs less than walking posts until a page of hits is found."""
        per_hit = q.limit * total / max(hits, 1)  # posts walked for a page of hits
        if accounts is None:
            rows_to_walk = per_hit
        elif len(accounts) <= BRANCHES:  # each branch walks at most its account's posts
            rows_to_walk = len(accounts) * min(per_hit, total / self._account_count(conn))
        else:
            rows_to_walk = per_hit * self._account_count(conn) / len(accounts)
        return 2 * hits <= rows_to_walk  # a hit is a random read, a walked post a sequential one

    def _account_count(self, conn: Any) -> int:
        return max(int(conn.execute(select(func.count()).select_from(t.accounts)).scalar_one()), 1)

    def _accounts(self, conn: Any, q: FeedQuery) -> list[int] | None:
        """The ids of the accounts the filters allow (None: no account filter)."""
        a, d = t.accounts.c, t.departments.c
        conditions = []
        if q.department:
            conditions.append(or_(d.name == q.department, d.short_name == q.department))
        if q.account:
            conditions.append(or_(a.name == q.account, a.native_id == q.account))
        if q.platform:
            conditions.append(a.platform == q.platform)
        if not conditions:
            return None
        query = select(a.id).select_from(t.accounts.outerjoin(t.departments, a.department_id == d.id))
        return [int(i) for i in conn.execute(query.where(*conditions).order_by(a.id)).scalars()]

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
        """The conditions on the posts themselves (the accounts are resolved by ``_accounts``)."""
        p = t.posts.c
        out: list[Any] = []
        for column, value in ((p.kind, q.kind), (p.review_state, q.review_state)):
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
        if q.public:
            out += [p.review_state.in_(PUBLIC), ~self._earlier_public()]
        for phrase in phrases(q.search or ""):  # exact: the index only narrows the candidates
            # a phrase is letters and digits only (no % or _); SQLite's LIKE ignores ASCII case
            out.append(func.strpos(func.lower(p.text_norm), phrase) > 0 if self.postgres
                       else p.text_norm.like(f"%{phrase}%"))
        if q.search is not None and not phrases(q.search):
            out.append(false())  # a query of punctuation only finds nothing
        return out

    @staticmethod
    def _earlier_public() -> Any:
        """Another approved or pinned member of the post's cluster comes before it: of a cluster the
        micro-site shows its earliest public member, whichever members a reviewer approved."""
        p, other = t.posts.c, t.posts.alias("other").c
        return exists(select(1).where(
            other.cluster_id == p.cluster_id, other.review_state.in_(PUBLIC),
            or_(other.published_at < p.published_at, and_(other.published_at == p.published_at, other.id < p.id))))

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
