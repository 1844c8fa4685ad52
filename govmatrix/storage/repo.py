"""All the SQL: every read and write of the store goes through ``Repo``.

The same behaviour on SQLite and PostgreSQL, each with its native ``INSERT ... ON CONFLICT``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Insert, String, and_, any_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from govmatrix.models import Account, FollowerSnapshot, Post
from govmatrix.storage import schema as t

BATCH = 2000

# Columns a re-crawl may change; id, first_seen_at, account, review state and cluster stay as first stored.
_POST_UPDATABLE = (
    "url", "title", "text", "html", "author", "published_at", "updated_at", "reposts", "comments", "likes",
    "reads", "kind", "parent_native_id", "media", "extra", "raw", "content_hash",
)


@dataclass(frozen=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(self.new + other.new, self.updated + other.updated)


@dataclass(frozen=True)
class SyncReport:
    added: list[str]
    updated: list[str]
    disabled: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.disabled)


@dataclass(frozen=True)
class AccountSpec:
    """What the settings say about one account (the repo does not read settings itself)."""

    department: str
    department_short: str
    platform: str
    native_id: str
    name: str
    enabled: bool
    interval: int | None
    options: dict[str, Any]


def content_hash(post: Post) -> str:
    """A fingerprint of everything a re-crawl may change, so unchanged posts are never rewritten."""
    payload = [
        post.url, post.title, post.text, post.html, post.author, post.published_at.timestamp(), post.reposts,
        post.comments, post.likes, post.reads, post.kind, post.parent_native_id, post.media, post.extra,
    ]
    return hashlib.md5(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


# The bulk upsert of posts is the hottest write: it runs on the DB-API cursor with rows converted
# once here, instead of through SQLAlchemy's per-row bind processing (about 40 % of the time).
POST_COLUMNS = (
    "platform", "native_id", "account_id", "url", "title", "text", "html", "author", "published_at",
    "first_seen_at", "updated_at", "reposts", "comments", "likes", "reads", "kind", "parent_native_id",
    "media", "extra", "raw", "content_hash", "review_state",
)


def post_upsert_sql(placeholder: str) -> str:
    """``INSERT ... ON CONFLICT (platform, native_id) DO UPDATE`` for posts, with positional parameters."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in _POST_UPDATABLE)
    marks = ", ".join([placeholder] * len(POST_COLUMNS))
    return (f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) VALUES ({marks}) "
            f"ON CONFLICT (platform, native_id) DO UPDATE SET {sets}")


def sqlite_time(value: datetime) -> str:
    """A time as SQLAlchemy stores it on SQLite (UTC, fixed width, so text comparison is time order)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def post_values(post: Post, account_id: int, now: datetime, digest: str, sqlite_style: bool) -> tuple[Any, ...]:
    """One post as the driver takes it, in POST_COLUMNS order: JSON as text, and times as SQLite text
    or as aware values. A new row starts as pending review; ``now`` is when it was first seen."""
    if post.published_at.tzinfo is None:
        raise ValueError(f"naive datetime {post.published_at!r}: govmatrix stores only timezone-aware times")
    when = sqlite_time if sqlite_style else _as_is
    seen = when(now)
    return (
        post.platform, post.native_id, account_id, post.url, post.title, post.text, post.html, post.author,
        when(post.published_at), seen, seen, post.reposts, post.comments, post.likes, post.reads, post.kind,
        post.parent_native_id, _json_text(post.media), _json_text(post.extra), _json_text(post.raw), digest,
        "pending",
    )


def _as_is(value: datetime) -> datetime:
    return value


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Repo:
    """The store. Each method runs in its own transaction unless a connection is passed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._dialect = postgresql if engine.dialect.name == "postgresql" else sqlite

    def _among(self, column: Any, values: list[str]) -> Any:
        """``column IN values``; on PostgreSQL one array parameter instead of one parameter per value."""
        if self._dialect is postgresql:
            return column == any_(bindparam("values", values, type_=postgresql.ARRAY(String)))
        return column.in_(values)

    def _insert(self, table: Any) -> Insert:
        return self._dialect.insert(table)

    # -- departments and accounts -------------------------------------------------------------------

    def sync_accounts(self, specs: Iterable[AccountSpec]) -> SyncReport:
        """Add and update departments and accounts from settings; disable accounts that left them."""
        added: list[str] = []
        updated: list[str] = []
        with self.engine.begin() as conn:
            wanted = set()
            for spec in specs:
                wanted.add((spec.platform, spec.native_id))
                dept_id = self._department_id(conn, spec.department, spec.department_short)
                outcome = self._sync_account(conn, spec, dept_id)
                label = f"{spec.platform} {spec.native_id}"
                if outcome == "added":
                    added.append(label)
                elif outcome == "updated":
                    updated.append(label)
            disabled = self._disable_missing(conn, wanted)
        return SyncReport(added, updated, disabled)

    def _department_id(self, conn: Connection, name: str, short: str) -> int:
        row = conn.execute(select(t.departments.c.id, t.departments.c.short_name).where(
            t.departments.c.name == name)).first()
        if row is None:
            inserted = conn.execute(t.departments.insert().values(name=name, short_name=short)).inserted_primary_key
            assert inserted is not None
            return int(inserted[0])
        if row.short_name != short:
            conn.execute(update(t.departments).where(t.departments.c.id == row.id).values(short_name=short))
        return int(row.id)

    def _sync_account(self, conn: Connection, spec: AccountSpec, dept_id: int) -> str:
        a = t.accounts.c
        values = {"department_id": dept_id, "name": spec.name, "enabled": spec.enabled,
                  "interval": spec.interval, "options": spec.options}
        row = conn.execute(select(a.id, a.department_id, a.name, a.enabled, a.interval, a.options).where(
            a.platform == spec.platform, a.native_id == spec.native_id)).first()
        if row is None:
            conn.execute(t.accounts.insert().values(platform=spec.platform, native_id=spec.native_id, cursor={},
                                                    error_count=0, **values))
            return "added"
        if {k: getattr(row, k) for k in values} == values:
            return "same"
        conn.execute(update(t.accounts).where(a.id == row.id).values(**values))
        return "updated"

    def _disable_missing(self, conn: Connection, wanted: set[tuple[str, str]]) -> list[str]:
        a = t.accounts.c
        rows = conn.execute(select(a.id, a.platform, a.native_id).where(a.enabled.is_(True))).all()
        gone = [r for r in rows if (r.platform, r.native_id) not in wanted]
        for r in gone:
            conn.execute(update(t.accounts).where(a.id == r.id).values(enabled=False))
        return [f"{r.platform} {r.native_id}" for r in gone]

    def accounts(self, platform: str | None = None, native_id: str | None = None,
                 enabled_only: bool = False) -> list[Account]:
        """Accounts with their department and crawl state, ordered by department then platform."""
        a = t.accounts.c
        query = _account_select()
        if platform:
            query = query.where(a.platform == platform)
        if native_id:
            query = query.where(a.native_id == native_id)
        if enabled_only:
            query = query.where(a.enabled.is_(True))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(a.department_id, a.platform, a.native_id)).all()
        return [_account(r) for r in rows]

    def due_accounts(self, now: datetime, limit: int = 100, platform: str | None = None) -> list[Account]:
        """Enabled accounts whose next check is due (never checked first, then the most overdue)."""
        a = t.accounts.c
        query = _account_select().where(*_due(now))
        if platform:
            query = query.where(a.platform == platform)
        query = query.order_by(*_DUE_ORDER).limit(limit)
        with self.engine.connect() as conn:
            return [_account(r) for r in conn.execute(query).all()]

    def claim_due(self, now: datetime, owner: str, *, limit: int, lease_seconds: float,
                  exclude: Iterable[int] = ()) -> list[Account]:
        """Lease up to ``limit`` due accounts to ``owner`` until ``now + lease_seconds``.

        On PostgreSQL the candidates are locked with ``FOR UPDATE SKIP LOCKED``, so several schedulers
        sharing one database never claim the same account; an expired lease (a crashed worker) can be
        claimed again. SQLite allows one scheduler at a time (see ``scheduler.py``).
        """
        a = t.accounts.c
        due = select(a.id).where(
            *_due(now), or_(a.lease_until.is_(None), a.lease_until <= now), a.id.not_in(list(exclude)),
        ).order_by(*_DUE_ORDER).limit(limit)
        due = due.with_for_update(skip_locked=True)
        # One statement, so the choice and the lease are atomic on SQLite too.
        claim = update(t.accounts).where(a.id.in_(due.scalar_subquery())).values(
            lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds)).returning(a.id)
        with self.engine.begin() as conn:
            ids = list(conn.execute(claim).scalars())
        if not ids:
            return []
        return sorted(self.accounts_by_id(ids), key=lambda acc: (acc.next_check_at is not None,
                                                                acc.next_check_at or now, acc.id or 0))

    def accounts_by_id(self, ids: Sequence[int]) -> list[Account]:
        query = _account_select().where(t.accounts.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            return [_account(r) for r in conn.execute(query).all()]

    def lease_owners(self) -> set[str]:
        a = t.accounts.c
        with self.engine.connect() as conn:
            return set(conn.execute(select(a.lease_owner).where(a.lease_owner.is_not(None)).distinct()).scalars())

    def release_leases(self, owner: str | None = None) -> int:
        """Drop the leases of one owner (a scheduler shutting down), or all of them (SQLite start-up)."""
        a = t.accounts.c
        query = update(t.accounts).where(a.lease_owner.is_not(None))
        if owner is not None:
            query = query.where(a.lease_owner == owner)
        with self.engine.begin() as conn:
            return int(conn.execute(query.values(lease_owner=None, lease_until=None)).rowcount)

    def mark_due(self, now: datetime, account_ids: Sequence[int]) -> None:
        """Make accounts due now (for example for the daily follower snapshot)."""
        a = t.accounts.c
        with self.engine.begin() as conn:
            conn.execute(update(t.accounts).where(a.id.in_(list(account_ids)), or_(
                a.next_check_at.is_(None), a.next_check_at > now)).values(next_check_at=now))

    def accounts_without_snapshot(self, day: date) -> list[int]:
        """Enabled Weibo accounts (their profile gives the follower count) lacking a snapshot of ``day``."""
        a, s = t.accounts.c, t.follower_snapshots.c
        have = select(s.account_id).where(s.day == day)
        query = select(a.id).where(a.enabled.is_(True), a.platform == "weibo", a.id.not_in(have))
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    # -- crawl outcomes -------------------------------------------------------------------------------

    def record_success(self, account_id: int, *, started: datetime, finished: datetime, counts: UpsertCounts,
                       requests: int, next_check_at: datetime, cursor: dict[str, Any] | None) -> None:
        """Store a successful crawl: reset the error state, schedule the next check, keep a crawl-run row."""
        values: dict[str, Any] = {"error_count": 0, "last_error": None, "last_success_at": finished,
                                  "next_check_at": next_check_at, "lease_owner": None, "lease_until": None}
        if cursor is not None:
            values["cursor"] = cursor
        with self.engine.begin() as conn:
            conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(**values))
            conn.execute(t.crawl_runs.insert().values(
                account_id=account_id, started_at=started, finished_at=finished, status="ok",
                new_posts=counts.new, updated_posts=counts.updated, requests=requests))

    def record_failure(self, account_id: int, *, started: datetime, finished: datetime, error: str,
                       requests: int, next_check_at: datetime, counts: UpsertCounts = UpsertCounts()) -> None:
        """Store a failed crawl on the account (error count, message, back-off) and as a crawl-run row."""
        a = t.accounts.c
        with self.engine.begin() as conn:
            conn.execute(update(t.accounts).where(a.id == account_id).values(
                error_count=a.error_count + 1, last_error=error, last_error_at=finished, next_check_at=next_check_at,
                lease_owner=None, lease_until=None))
            conn.execute(t.crawl_runs.insert().values(
                account_id=account_id, started_at=started, finished_at=finished, status="error", error=error,
                new_posts=counts.new, updated_posts=counts.updated, requests=requests))

    # -- posts ----------------------------------------------------------------------------------------

    def known_native_ids(self, platform: str, native_ids: Iterable[str]) -> set[str]:
        """Which of these ids are already stored (for incremental crawls)."""
        ids = list(dict.fromkeys(native_ids))
        found: set[str] = set()
        p = t.posts.c
        with self.engine.connect() as conn:
            for batch in _chunks(ids, BATCH):
                found.update(conn.execute(select(p.native_id).where(
                    p.platform == platform, self._among(p.native_id, list(batch)))).scalars())
        return found

    def upsert_posts(self, account_id: int, posts: Sequence[Post], now: datetime) -> UpsertCounts:
        """Insert new posts and update changed ones, in bulk; unchanged posts are not written.

        Idempotent: the same posts again change nothing. Unique on (platform, native id).
        """
        total = UpsertCounts()
        with self.engine.begin() as conn:
            for batch in _chunks(_dedup(posts), BATCH):
                total += self._upsert_batch(conn, account_id, batch, now)
        return total

    def _upsert_batch(self, conn: Connection, account_id: int, batch: Sequence[Post], now: datetime) -> UpsertCounts:
        p = t.posts.c
        digests = [content_hash(post) for post in batch]
        existing: dict[tuple[str, str], str] = {}
        for platform in {post.platform for post in batch}:
            ids = [post.native_id for post in batch if post.platform == platform]
            query = select(p.native_id, p.content_hash).where(p.platform == platform, self._among(p.native_id, ids))
            existing.update({(platform, nid): h for nid, h in conn.execute(query).all()})
        sqlite_style = self._dialect is sqlite
        rows, new = [], 0
        for post, digest in zip(batch, digests, strict=True):
            stored = existing.get((post.platform, post.native_id))
            if stored != digest:
                new += stored is None
                rows.append(post_values(post, account_id, now, digest, sqlite_style))
        if rows:
            conn.exec_driver_sql(post_upsert_sql("?" if sqlite_style else "%s"), rows)
        return UpsertCounts(new, len(rows) - new)

    def feed(self, *, department: str | None = None, platform: str | None = None, since: datetime | None = None,
             until: datetime | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest posts first, with their account and department names."""
        p, a, d = t.posts.c, t.accounts.c, t.departments.c
        query = select(
            p.id, p.platform, p.native_id, p.url, p.title, p.text, p.published_at, p.reposts, p.comments, p.likes,
            p.reads, p.kind, p.review_state, a.name.label("account"), d.name.label("department"),
            d.short_name.label("department_short"),
        ).select_from(t.posts.join(t.accounts, p.account_id == a.id).outerjoin(
            t.departments, a.department_id == d.id))
        conditions = []
        if department:
            conditions.append(or_(d.name == department, d.short_name == department))
        if platform:
            conditions.append(p.platform == platform)
        if since:
            conditions.append(p.published_at >= since)
        if until:
            conditions.append(p.published_at < until)
        if conditions:
            query = query.where(and_(*conditions))
        query = query.order_by(p.published_at.desc(), p.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]

    def recent_post_count(self, account_id: int, since: datetime) -> int:
        """How many of the account's posts were published at or after ``since`` (for adaptive polling)."""
        p = t.posts.c
        query = select(func.count()).select_from(t.posts).where(p.account_id == account_id, p.published_at >= since)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def post_count(self, platform: str | None = None) -> int:
        query = select(func.count()).select_from(t.posts)
        if platform:
            query = query.where(t.posts.c.platform == platform)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # -- follower snapshots ---------------------------------------------------------------------------

    def upsert_snapshots(self, account_id: int, snapshots: Sequence[FollowerSnapshot], tz: tzinfo) -> int:
        """One row per account, local day and source; a later reading of the same day replaces an earlier one."""
        if not snapshots:
            return 0
        rows = [{"account_id": account_id, "day": s.day(tz), "source": s.source, "taken_at": s.taken_at,
                 "followers": s.followers, "followers_lower_bound": s.followers_lower_bound,
                 "following": s.following, "posts_count": s.posts_count, "extra": s.extra} for s in snapshots]
        stmt = self._insert(t.follower_snapshots)
        ex = stmt.excluded  # type: ignore[attr-defined]
        stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["account_id", "day", "source"],
            set_={c: getattr(ex, c) for c in ("taken_at", "followers", "followers_lower_bound", "following",
                                              "posts_count", "extra")},
            where=t.follower_snapshots.c.taken_at <= ex.taken_at)
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
        return len(rows)

    def snapshots(self, account_id: int) -> list[dict[str, Any]]:
        s = t.follower_snapshots.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.follower_snapshots).where(s.account_id == account_id).order_by(
                s.day, s.source)).all()
        return [dict(r._mapping) for r in rows]

    # -- status ---------------------------------------------------------------------------------------

    def failing_since(self) -> dict[int, datetime]:
        """For every account whose latest crawl failed: when its current run of failures began."""
        r = t.crawl_runs.c
        last_ok = select(r.account_id, func.max(r.started_at).label("at")).where(r.status == "ok").group_by(
            r.account_id).subquery()
        query = select(r.account_id, func.min(r.started_at)).outerjoin(
            last_ok, last_ok.c.account_id == r.account_id).where(
            r.status == "error", or_(last_ok.c.at.is_(None), r.started_at > last_ok.c.at)).group_by(r.account_id)
        failing = t.accounts.c
        with self.engine.connect() as conn:
            broken = set(conn.execute(select(failing.id).where(failing.error_count > 0)).scalars())
            rows = conn.execute(query).all()
        return {account_id: at for account_id, at in rows if account_id in broken}

    def last_runs(self) -> dict[int, dict[str, Any]]:
        """The latest crawl run of every account, keyed by account id."""
        r = t.crawl_runs.c
        newest = select(r.account_id, func.max(r.id).label("id")).group_by(r.account_id).subquery()
        query = select(t.crawl_runs).join(newest, r.id == newest.c.id)
        with self.engine.connect() as conn:
            return {row.account_id: dict(row._mapping) for row in conn.execute(query).all()}


def _dedup(posts: Sequence[Post]) -> list[Post]:
    """The last copy of each (platform, native id) wins within one write."""
    return list({(p.platform, p.native_id): p for p in posts}.values())


def _account_select() -> Any:
    """Accounts with their department's name, as ``_account`` reads them."""
    return select(t.accounts, t.departments.c.name.label("department_name")).select_from(
        t.accounts.outerjoin(t.departments, t.accounts.c.department_id == t.departments.c.id))


def _due(now: datetime) -> tuple[Any, ...]:
    """An enabled account whose next check is not in the future."""
    a = t.accounts.c
    return a.enabled.is_(True), or_(a.next_check_at.is_(None), a.next_check_at <= now)


# Never-checked accounts first, then the most overdue.
_DUE_ORDER = (t.accounts.c.next_check_at.is_not(None), t.accounts.c.next_check_at, t.accounts.c.id)


def _account(row: Any) -> Account:
    m = row._mapping
    return Account(
        id=m["id"], platform=m["platform"], native_id=m["native_id"], name=m["name"],
        department=m["department_name"] or "", enabled=m["enabled"], interval=m["interval"],
        options=m["options"] or {}, cursor=m["cursor"] or {}, next_check_at=m["next_check_at"],
        error_count=m["error_count"], last_error=m["last_error"], last_error_at=m["last_error_at"],
        last_success_at=m["last_success_at"],
    )
