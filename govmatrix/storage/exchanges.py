"""Online exchanges: the sessions derived from stored forum posts and their citizen questions.

A session is unique on (account, thread id) and a question on (session, post id). ``replace``
makes the stored sessions of some threads (or of a whole account) equal what was derived from
them: new sessions and questions are added, changed ones updated, and those no longer derived
(a thread that stopped matching the rules, a question gone from its thread) deleted. The same
behaviour on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, delete, distinct, func, or_, select

from govmatrix.models import ExchangeQuestion, ExchangeSession
from govmatrix.storage import schema as t
from govmatrix.storage.base import Store
from govmatrix.storage.runs import UpsertCounts

_SESSION_FIELDS = ("title", "url", "start_at", "end_at")
_QUESTION_FIELDS = ("author", "text", "asked_at", "answered_at", "answer_native_id", "answer_delay", "suggestion")


def _session_row(session: ExchangeSession, account_id: int, now: datetime) -> dict[str, Any]:
    return {"account_id": account_id, "native_id": session.native_id, "title": session.title, "url": session.url,
            "start_at": session.start, "end_at": session.end, "first_seen_at": now, "updated_at": now}


def _question_row(question: ExchangeQuestion, session_id: int) -> dict[str, Any]:
    delay = question.answer_delay
    return {"session_id": session_id, "native_id": question.native_id, "author": question.author,
            "text": question.text, "asked_at": question.asked_at, "answered_at": question.answered_at,
            "answer_native_id": question.answer_native_id, "answer_delay": round(delay) if delay is not None else None,
            "suggestion": question.suggestion}


def _changed(row: dict[str, Any], stored: Any, fields: Sequence[str]) -> bool:
    return stored is None or any(row[f] != getattr(stored, f) for f in fields)


class ExchangeStore(Store):
    """Exchange sessions and questions. Each method runs in its own transaction."""

    def replace(self, account_id: int, sessions: Sequence[ExchangeSession], now: datetime, *,
                threads: Sequence[str] | None = None) -> UpsertCounts:
        """Make the stored sessions of ``threads`` (None: all of the account's) equal ``sessions``.

        ``updated`` counts sessions whose row or questions changed, deleted ones included.
        """
        s = t.exchange_sessions.c
        keep = {x.native_id for x in sessions}
        scope = [s.account_id == account_id] + ([s.native_id.in_(list(threads))] if threads is not None else [])
        with self.engine.begin() as conn:
            gone = [r for r in conn.execute(select(s.id, s.native_id).where(*scope)).all() if r.native_id not in keep]
            if gone:
                conn.execute(delete(t.exchange_sessions).where(s.id.in_([r.id for r in gone])))
            counts = self._upsert(conn, account_id, sessions, now)
        return counts + UpsertCounts(0, len(gone))

    def _upsert(self, conn: Connection, account_id: int, sessions: Sequence[ExchangeSession],
                now: datetime) -> UpsertCounts:
        unique = list({x.native_id: x for x in sessions}.values())
        if not unique:
            return UpsertCounts()
        s = t.exchange_sessions.c
        stored = {r.native_id: r for r in conn.execute(select(t.exchange_sessions).where(
            s.account_id == account_id, s.native_id.in_([x.native_id for x in unique]))).all()}
        rows = [_session_row(x, account_id, now) for x in unique]
        dirty = [r for r in rows if _changed(r, stored.get(r["native_id"]), _SESSION_FIELDS)]
        if dirty:
            stmt = self.insert(t.exchange_sessions)
            stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=["account_id", "native_id"],
                set_={c: getattr(stmt.excluded, c) for c in (*_SESSION_FIELDS, "updated_at")})  # type: ignore[attr-defined]
            conn.execute(stmt, dirty)
        ids = dict(conn.execute(select(s.native_id, s.id).where(
            s.account_id == account_id, s.native_id.in_([x.native_id for x in unique]))).all())
        touched = {r["native_id"] for r in dirty}
        for session in unique:
            if self._write_questions(conn, int(ids[session.native_id]), session.questions):
                touched.add(session.native_id)
        if touched - {r["native_id"] for r in dirty}:
            conn.execute(t.exchange_sessions.update().where(
                s.account_id == account_id, s.native_id.in_(sorted(touched))).values(updated_at=now))
        new = sum(1 for x in unique if x.native_id not in stored)
        return UpsertCounts(new=new, updated=len(touched) - new)

    def _write_questions(self, conn: Connection, session_id: int, questions: Sequence[ExchangeQuestion]) -> bool:
        """Make the session's stored questions equal ``questions``; True when anything changed."""
        q = t.exchange_questions.c
        rows = list({r["native_id"]: r for r in (_question_row(x, session_id) for x in questions)}.values())
        stored = {r.native_id: r for r in conn.execute(
            select(t.exchange_questions).where(q.session_id == session_id)).all()}
        dirty = [r for r in rows if _changed(r, stored.get(r["native_id"]), _QUESTION_FIELDS)]
        gone = sorted(set(stored) - {r["native_id"] for r in rows})
        if dirty:
            stmt = self.insert(t.exchange_questions)
            stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                index_elements=["session_id", "native_id"],
                set_={c: getattr(stmt.excluded, c) for c in _QUESTION_FIELDS})  # type: ignore[attr-defined]
            conn.execute(stmt, dirty)
        if gone:
            conn.execute(delete(t.exchange_questions).where(q.session_id == session_id, q.native_id.in_(gone)))
        return bool(dirty or gone)

    def sessions(self, *, account_id: int | None = None, department: str | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> list[dict[str, Any]]:
        """Sessions starting in [since, until), oldest first, each with its account, department and counts.

        Counts: ``questions``, ``answered``, ``unanswered``, ``late`` (answered after the session
        ended), ``suggestions``; ``avg_delay`` and ``max_delay`` in seconds over answered questions.
        """
        s, q, a, d = t.exchange_sessions.c, t.exchange_questions.c, t.accounts.c, t.departments.c
        answered = func.count(q.answered_at)
        query = select(
            s.id, s.account_id, s.native_id, s.title, s.url, s.start_at, s.end_at,
            a.native_id.label("account"), a.name.label("account_name"), d.name.label("department"),
            func.count(q.id).label("questions"), answered.label("answered"),
            (func.count(q.id) - answered).label("unanswered"),
            func.coalesce(func.sum(case((q.answered_at > s.end_at, 1), else_=0)), 0).label("late"),
            func.coalesce(func.sum(case((q.suggestion.is_(True), 1), else_=0)), 0).label("suggestions"),
            func.avg(q.answer_delay).label("avg_delay"), func.max(q.answer_delay).label("max_delay"),
        ).select_from(t.exchange_sessions.join(t.accounts, s.account_id == a.id).outerjoin(
            t.departments, a.department_id == d.id).outerjoin(t.exchange_questions, q.session_id == s.id))
        query = query.where(*_filters(account_id, department, since, until)).group_by(
            s.id, s.account_id, s.native_id, s.title, s.url, s.start_at, s.end_at, a.native_id, a.name, d.name)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(s.start_at, s.id)).all()
        return [_with_float_delay(dict(r._mapping)) for r in rows]

    def questions(self, session_id: int) -> list[dict[str, Any]]:
        """The questions of one session in the order they were asked."""
        q = t.exchange_questions.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.exchange_questions).where(q.session_id == session_id).order_by(
                q.asked_at, q.native_id)).all()
        return [dict(r._mapping) for r in rows]

    def question_rows(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Every question of the sessions starting in [since, until), with its session's account and
        end: account_id, session_id, asked_at, answered_at, answer_delay (seconds), suggestion, end_at."""
        s, q = t.exchange_sessions.c, t.exchange_questions.c
        query = select(s.account_id, q.session_id, q.asked_at, q.answered_at, q.answer_delay, q.suggestion,
                       s.end_at).select_from(t.exchange_questions.join(t.exchange_sessions, q.session_id == s.id)).where(
            s.start_at >= since, s.start_at < until)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]

    def account_summary(self, *, since: datetime | None = None, until: datetime | None = None,
                        department: str | None = None) -> list[dict[str, Any]]:
        """Per account, over sessions starting in [since, until): sessions held, questions, answered,
        unanswered, late answers, suggestions and the average answer delay (seconds)."""
        s, q, a, d = t.exchange_sessions.c, t.exchange_questions.c, t.accounts.c, t.departments.c
        answered = func.count(q.answered_at)
        query = select(
            a.id.label("account_id"), a.native_id.label("account"), a.name.label("account_name"),
            d.name.label("department"), func.count(distinct(s.id)).label("sessions"),
            func.count(q.id).label("questions"), answered.label("answered"),
            (func.count(q.id) - answered).label("unanswered"),
            func.coalesce(func.sum(case((q.answered_at > s.end_at, 1), else_=0)), 0).label("late"),
            func.coalesce(func.sum(case((q.suggestion.is_(True), 1), else_=0)), 0).label("suggestions"),
            func.avg(q.answer_delay).label("avg_delay"),
        ).select_from(t.exchange_sessions.join(t.accounts, s.account_id == a.id).outerjoin(
            t.departments, a.department_id == d.id).outerjoin(t.exchange_questions, q.session_id == s.id))
        query = query.where(*_filters(None, department, since, until)).group_by(a.id, a.native_id, a.name, d.name)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(d.name, a.native_id)).all()
        return [_with_float_delay(dict(r._mapping)) for r in rows]


def _filters(account_id: int | None, department: str | None, since: datetime | None,
             until: datetime | None) -> list[Any]:
    s, d = t.exchange_sessions.c, t.departments.c
    conditions: list[Any] = []
    if account_id is not None:
        conditions.append(s.account_id == account_id)
    if department:
        conditions.append(or_(d.name == department, d.short_name == department))
    if since is not None:
        conditions.append(s.start_at >= since)
    if until is not None:
        conditions.append(s.start_at < until)
    return conditions


def _with_float_delay(row: dict[str, Any]) -> dict[str, Any]:
    """AVG is a Decimal on PostgreSQL and a float on SQLite: always a float (or None)."""
    if row["avg_delay"] is not None:
        row["avg_delay"] = float(row["avg_delay"])
    return row
