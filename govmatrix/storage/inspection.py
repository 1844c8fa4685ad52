"""What the inspection (matrix/inspection.py) reads, and the alarms it raises.

Reads: each account's last update as of a moment (one indexed lookup per account on
``ix_posts_account_published``, newest first: a city is hundreds of accounts), its update count in
a period, the forum questions of a period with their sessions, and the posts of a period that
carry alerts with the reviewers' dismissals of their wording hits. Writes: the day's alarms, one
per account and key, so raising the same alarm again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, cast, func, select

from govmatrix.storage import schema as t
from govmatrix.storage.base import Store


@dataclass(frozen=True)
class UpdateScope:
    """What counts as an update of one account: its posts of these kinds, by these authors
    (None: any author; a forum board's posts are the department's only when a speaker wrote them)."""

    account_id: int
    kinds: tuple[str, ...]
    authors: tuple[str, ...] | None = None


class InspectionStore(Store):
    def last_updates(self, scopes: Sequence[UpdateScope], at: datetime) -> dict[int, dict[str, Any] | None]:
        """Per account, its newest update published at or before ``at`` (None: none stored):
        id, native_id, kind, title, text, url, author, published_at."""
        p = t.posts.c
        out: dict[int, dict[str, Any] | None] = {}
        with self.engine.connect() as conn:
            for scope in scopes:
                query = select(p.id, p.native_id, p.kind, p.title, p.text, p.url, p.author, p.published_at).where(
                    p.account_id == scope.account_id, p.published_at <= at, p.kind.in_(list(scope.kinds)))
                if scope.authors is not None:
                    query = query.where(p.author.in_(list(scope.authors)))
                row = conn.execute(query.order_by(p.published_at.desc(), p.id.desc()).limit(1)).first()
                out[scope.account_id] = dict(row._mapping) if row else None
        return out

    def update_counts(self, scopes: Sequence[UpdateScope], since: datetime, until: datetime) -> dict[int, int]:
        """Per account, its updates published in [since, until]."""
        p = t.posts.c
        out: dict[int, int] = {}
        with self.engine.connect() as conn:
            for scope in scopes:
                query = select(func.count()).select_from(t.posts).where(
                    p.account_id == scope.account_id, p.published_at >= since, p.published_at <= until,
                    p.kind.in_(list(scope.kinds)))
                if scope.authors is not None:
                    query = query.where(p.author.in_(list(scope.authors)))
                out[scope.account_id] = int(conn.execute(query).scalar_one())
        return out

    def questions(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """The citizen questions of the exchange sessions starting in [since, until], oldest first:
        account_id, session_id, session title, url, start_at and end_at, and the question's native_id,
        author, text, asked_at, answered_at."""
        s, q = t.exchange_sessions.c, t.exchange_questions.c
        query = select(s.account_id, q.session_id, s.title, s.url, s.start_at, s.end_at, q.native_id, q.author,
                       q.text, q.asked_at, q.answered_at).select_from(
            t.exchange_questions.join(t.exchange_sessions, q.session_id == s.id)).where(
            s.start_at >= since, s.start_at <= until).order_by(q.asked_at, q.native_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]

    def sessions(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """The exchange sessions starting in [since, until]: account_id, native_id, title, url, start_at."""
        s = t.exchange_sessions.c
        query = select(s.account_id, s.native_id, s.title, s.url, s.start_at, s.end_at).where(
            s.start_at >= since, s.start_at <= until).order_by(s.start_at)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]

    def alerted_posts(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """The posts published in [since, until] that carry alerts, with the keys of the wording hits a
        reviewer dismissed (``dismissed``): id, account_id, native_id, title, text, url, author,
        published_at, alerts, dismissed."""
        p, w = t.posts.c, t.wording_dismissals.c
        query = select(p.id, p.account_id, p.native_id, p.title, p.text, p.url, p.author, p.published_at,
                       p.alerts).where(p.published_at >= since, p.published_at <= until,
                                       cast(p.alerts, Text) != "[]").order_by(p.published_at, p.id)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query).all()]
            ids = [r["id"] for r in rows]
            dismissed: dict[int, set[str]] = {}
            if ids:
                for post_id, key in conn.execute(select(w.post_id, w.key).where(self.among(w.post_id, ids))).all():
                    dismissed.setdefault(int(post_id), set()).add(str(key))
        for row in rows:
            row["dismissed"] = dismissed.get(row["id"], set())
        return rows

    # -- alarms -----------------------------------------------------------------------------

    def raise_alarms(self, alarms: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """Store alarms (account_id, day, kind, key, message, details); returns those not raised before."""
        a = t.inspection_alarms.c
        with self.engine.begin() as conn:
            ids = sorted({x["account_id"] for x in alarms})
            found = conn.execute(select(a.account_id, a.key).where(self.among(a.account_id, ids))).all() if ids else []
            existing = {(int(x), str(k)) for x, k in found}
            fresh = list({(x["account_id"], x["key"]): x for x in alarms
                          if (x["account_id"], x["key"]) not in existing}.values())
            if fresh:
                stmt = self.insert(t.inspection_alarms).on_conflict_do_nothing(  # type: ignore[attr-defined]
                    index_elements=["account_id", "key"])
                conn.execute(stmt, [{"account_id": x["account_id"], "day": x["day"], "kind": x["kind"],
                                     "key": x["key"][:300], "message": x["message"], "details": x.get("details", {}),
                                     "raised_at": now} for x in fresh])
        return fresh

    def alarm_kinds(self) -> set[tuple[int, str]]:
        """The (account id, kind) pairs of every alarm raised so far."""
        a = t.inspection_alarms.c
        with self.engine.connect() as conn:
            return {(int(x), str(k)) for x, k in conn.execute(select(a.account_id, a.kind).distinct()).all()}

    def alarms(self, *, day: date | None = None, since: date | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Stored alarms (of one day, or since a day), newest first, with the account's platform,
        native id and name and the department's name: id, account_id, day, kind, key, message,
        details, raised_at, platform, native_id, account, department."""
        a, acc, d = t.inspection_alarms.c, t.accounts.c, t.departments.c
        query = select(t.inspection_alarms, acc.platform, acc.native_id, acc.name.label("account"),
                       d.name.label("department")).select_from(
            t.inspection_alarms.join(t.accounts, a.account_id == acc.id).outerjoin(
                t.departments, acc.department_id == d.id))
        if day is not None:
            query = query.where(a.day == day)
        if since is not None:
            query = query.where(a.day >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(a.day.desc(), a.id.desc()).limit(limit)).all()
        return [dict(r._mapping) for r in rows]
