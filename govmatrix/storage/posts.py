"""Posts: idempotent bulk upserts, what is stored, the feed's rows, and the pipelines' outputs.

Posts are unique on (platform, native id). A content hash of what the platform said (never of
what the pipelines derived) decides whether a re-crawled post is written again, so an unchanged
post costs one indexed read, and the first sighting and the review state are kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, bindparam, func, select, update

from govmatrix.models import Post
from govmatrix.storage import schema as t
from govmatrix.storage.base import Store, chunks
from govmatrix.storage.runs import UpsertCounts
from govmatrix.storage.search import SearchIndex

# Columns a re-crawl may change; id, first_seen_at, account, review state and cluster stay as first stored.
_UPDATABLE = (
    "url", "title", "body", "text", "html", "text_norm", "flags", "alerts", "alert_level", "minhash", "author",
    "published_at", "updated_at", "reposts", "comments", "likes", "reads", "kind", "parent_native_id", "media",
    "extra", "raw", "content_hash",
)
# The bulk upsert is the hottest write: it runs on the DB-API cursor with rows converted once here,
# instead of through SQLAlchemy's per-row bind processing (about 40 % of the time).
COLUMNS = (
    "platform", "native_id", "account_id", "url", "title", "body", "text", "html", "text_norm", "flags", "alerts",
    "alert_level", "minhash", "author", "published_at", "first_seen_at", "updated_at", "reposts", "comments",
    "likes", "reads", "kind", "parent_native_id", "media", "extra", "raw", "content_hash", "review_state",
)
_PROCESSED = ("title", "text", "html", "text_norm", "flags", "alerts", "alert_level", "minhash")
SEVERITY = {"low": 1, "medium": 2, "high": 3}


def alert_level(post: Post) -> int:
    """The highest severity among a post's alerts (0 without any)."""
    return max((SEVERITY.get(str(a.get("severity")), 0) for a in post.alerts), default=0)


def _value(post: Post, column: str) -> Any:
    return alert_level(post) if column == "alert_level" else getattr(post, column)


def content_hash(post: Post) -> str:
    """A fingerprint of what the platform said that a re-crawl may change (a time in the future,
    replaced by the time first seen, counts as the platform's value). Taken once, before the
    pipelines change the display (``post.digest``)."""
    if post.digest:
        return post.digest
    when = post.extra.get("platform_published_at") or post.published_at.timestamp()
    payload = [
        post.url, post.title, post.body, post.author, when, post.reposts, post.comments,
        post.likes, post.reads, post.kind, post.parent_native_id, post.media, post.extra,
    ]
    return hashlib.md5(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


def upsert_sql(placeholder: str) -> str:
    """``INSERT ... ON CONFLICT (platform, native_id) DO UPDATE`` for posts, with positional parameters."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in _UPDATABLE)
    marks = ", ".join([placeholder] * len(COLUMNS))
    return (f"INSERT INTO posts ({', '.join(COLUMNS)}) VALUES ({marks}) "
            f"ON CONFLICT (platform, native_id) DO UPDATE SET {sets}")


def sqlite_time(value: datetime) -> str:
    """A time as SQLAlchemy stores it on SQLite (UTC, fixed width, so text comparison is time order)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _as_is(value: datetime) -> datetime:
    return value


def row_values(post: Post, account_id: int, seen: Any, digest: str, sqlite_style: bool) -> tuple[Any, ...]:
    """One post as the driver takes it, in COLUMNS order: JSON as text, times as SQLite text or aware
    values (``seen``, when it was first seen, already converted). A new row starts as pending review."""
    if post.published_at.tzinfo is None:
        raise ValueError(f"naive datetime {post.published_at!r}: govmatrix stores only timezone-aware times")
    when = sqlite_time if sqlite_style else _as_is
    return (
        post.platform, post.native_id, account_id, post.url, post.title, post.body, post.text, post.html,
        post.text_norm, _json(post.flags), _json(post.alerts), alert_level(post), post.minhash, post.author,
        when(post.published_at), seen, seen, post.reposts, post.comments, post.likes, post.reads, post.kind,
        post.parent_native_id, _json(post.media), _json(post.extra), _json(post.raw), digest, "pending",
    )


def _unique(posts: Sequence[Post]) -> list[Post]:
    """The last copy of each (platform, native id) wins within one write."""
    return list({(p.platform, p.native_id): p for p in posts}.values())


def to_post(row: Any) -> Post:
    """A stored row as a Post."""
    m = row._mapping
    return Post(platform=m["platform"], native_id=m["native_id"], published_at=m["published_at"], body=m["body"],
                text=m["text"], title=m["title"], html=m["html"], text_norm=m["text_norm"], url=m["url"],
                author=m["author"], kind=m["kind"], parent_native_id=m["parent_native_id"], reposts=m["reposts"],
                comments=m["comments"], likes=m["likes"], reads=m["reads"], media=m["media"] or [],
                extra=m["extra"] or {}, raw=m["raw"], flags=list(m["flags"] or []), alerts=list(m["alerts"] or []),
                minhash=m["minhash"], digest=m["content_hash"])


class PostStore(Store):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.search = SearchIndex(self.postgres)

    def known_ids(self, platform: str, native_ids: Iterable[str]) -> set[str]:
        """Which of these ids are already stored (for incremental crawls)."""
        ids = list(dict.fromkeys(native_ids))
        found: set[str] = set()
        p = t.posts.c
        with self.engine.connect() as conn:
            for batch in chunks(ids):
                found.update(conn.execute(select(p.native_id).where(
                    p.platform == platform, self.among(p.native_id, batch))).scalars())
        return found

    def _stored(self, conn: Connection, posts: Sequence[Post], column: str) -> dict[tuple[str, str], Any]:
        """A column of the stored copies of some posts, by (platform, native id)."""
        p = t.posts.c
        out: dict[tuple[str, str], Any] = {}
        for platform in {post.platform for post in posts}:
            ids = [post.native_id for post in posts if post.platform == platform]
            query = select(p.native_id, getattr(p, column)).where(
                p.platform == platform, self.among(p.native_id, ids))
            out.update({(platform, nid): value for nid, value in conn.execute(query).all()})
        return out

    def changed(self, posts: Sequence[Post]) -> list[Post]:
        """The posts that are new or differ from the stored copy (the ones worth processing)."""
        unique = _unique(posts)
        out: list[Post] = []
        with self.engine.connect() as conn:
            for batch in chunks(unique):
                stored = self._stored(conn, batch, "content_hash")
                for post in batch:
                    post.digest = content_hash(post)  # before the pipelines change the display title
                    if stored.get((post.platform, post.native_id)) != post.digest:
                        out.append(post)
        return out

    def upsert(self, account_id: int, posts: Sequence[Post], now: datetime) -> UpsertCounts:
        """Insert new posts and update changed ones, in bulk; unchanged posts are not written.

        Idempotent: the same posts again change nothing. Unique on (platform, native id).
        """
        total = UpsertCounts()
        with self.engine.begin() as conn:
            for batch in chunks(_unique(posts)):
                total += self._upsert_batch(conn, account_id, batch, now)
        return total

    def _upsert_batch(self, conn: Connection, account_id: int, batch: Sequence[Post], now: datetime) -> UpsertCounts:
        stored = self._stored(conn, batch, "content_hash")
        sqlite_style = not self.postgres
        seen = sqlite_time(now) if sqlite_style else now
        rows, written = [], []
        for post in batch:
            digest = content_hash(post)
            before = stored.get((post.platform, post.native_id))
            if before != digest:
                written.append((post, before is None))
                rows.append(row_values(post, account_id, seen, digest, sqlite_style))
        if not rows:
            return UpsertCounts(0, 0)
        # the search index is rewritten only where the search form changed (and SQLite's forgets a row by it)
        old = self._stored(conn, [p for p, new in written if not new], "text_norm")
        conn.exec_driver_sql(upsert_sql("?" if sqlite_style else "%s"), rows)
        ids = self._stored(conn, [post for post, _new in written], "id")
        self.search.replace(conn, account_id, [(ids[(p.platform, p.native_id)], old.get((p.platform, p.native_id)),
                                                p.text_norm)
                                   for p, _new in written])
        new = sum(is_new for _post, is_new in written)
        return UpsertCounts(new, len(rows) - new)

    def iter_stored(self, *, platform: str | None = None, since: datetime | None = None,
                    batch: int = 500) -> Iterator[list[tuple[int, int, Post]]]:
        """Stored posts as (id, account id, Post) in batches, by id (keyset paging), for reprocessing."""
        p = t.posts.c
        last = 0
        while True:
            query = select(t.posts).where(p.id > last)
            if platform:
                query = query.where(p.platform == platform)
            if since:
                query = query.where(p.published_at >= since)
            with self.engine.connect() as conn:
                rows = conn.execute(query.order_by(p.id).limit(batch)).all()
            if not rows:
                return
            last = rows[-1].id
            yield [(row.id, row.account_id, to_post(row)) for row in rows]

    def count(self, *, platform: str | None = None, since: datetime | None = None) -> int:
        query = select(func.count()).select_from(t.posts)
        if platform:
            query = query.where(t.posts.c.platform == platform)
        if since:
            query = query.where(t.posts.c.published_at >= since)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def update_processed(self, rows: Sequence[tuple[int, Post]]) -> int:
        """Store what the pipelines derived (the display title, text, html, text_norm, flags, alerts,
        minhash) for stored posts; what the platform said is left as it is."""
        changes = [{"_id": post_id, **{c: _value(post, c) for c in _PROCESSED}} for post_id, post in rows]
        if not changes:
            return 0
        statement = update(t.posts).where(t.posts.c.id == bindparam("_id")).values(
            {c: bindparam(c) for c in _PROCESSED})
        with self.engine.begin() as conn:
            stored: dict[int, tuple[int, str]] = {}  # post id: account id, search form before
            for batch in chunks([post_id for post_id, _post in rows]):
                stored.update((i, (a, norm)) for i, a, norm in conn.execute(select(
                    t.posts.c.id, t.posts.c.account_id, t.posts.c.text_norm).where(t.posts.c.id.in_(list(batch)))))
            conn.execute(statement, changes)
            by_account: dict[int, list[tuple[int, str | None, str]]] = {}
            for post_id, post in rows:
                account_id, before = stored[post_id]
                by_account.setdefault(account_id, []).append((post_id, before, post.text_norm))
            for account_id, changed in by_account.items():
                self.search.replace(conn, account_id, changed)
        return len(changes)

    def of_threads(self, account_id: int, tids: Sequence[str]) -> list[Post]:
        """The stored posts of some threads of a board (``extra.tid``), for the exchange record."""
        p = t.posts.c
        tid = p.extra["tid"].as_string()
        out: list[Post] = []
        with self.engine.connect() as conn:
            for batch in chunks(list(tids)):
                out += [to_post(r) for r in conn.execute(select(t.posts).where(
                    p.account_id == account_id, tid.in_(list(batch)))).all()]
        return out

    def thread_ids(self, account_id: int) -> list[str]:
        """Every thread id among an account's stored posts."""
        tid = t.posts.c.extra["tid"].as_string()
        with self.engine.connect() as conn:
            return [str(v) for v in conn.execute(select(tid).where(
                t.posts.c.account_id == account_id, tid.is_not(None)).distinct()).scalars()]

    def recent_count(self, account_id: int, since: datetime) -> int:
        """How many of the account's posts were published at or after ``since`` (for adaptive polling)."""
        p = t.posts.c
        query = select(func.count()).select_from(t.posts).where(p.account_id == account_id, p.published_at >= since)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def platform_counts(self) -> dict[str, int]:
        """How many posts are stored per platform."""
        p = t.posts.c
        with self.engine.connect() as conn:
            return {platform: int(n) for platform, n in conn.execute(select(p.platform, func.count()).group_by(p.platform)).all()}
