"""Exchange sessions and questions in the store, on SQLite and PostgreSQL: upserts, schema, report reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from govmatrix.models import ExchangeQuestion, ExchangeSession
from govmatrix.storage import schema as t
from govmatrix.storage.exchanges import ExchangeStore
from govmatrix.storage.repo import AccountSpec, Repo, UpsertCounts
from govmatrix.storage.search import is_index_table
from govmatrix.tz import SHANGHAI

START = datetime(2016, 5, 17, 9, 30, tzinfo=SHANGHAI)
NOW = datetime(2016, 5, 20, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture
def repo(repo: Repo) -> Repo:
    repo.accounts.sync([
        AccountSpec("菏泽市卫生和计划生育委员会", "市卫计委", "forum", "健康菏泽", "健康菏泽(论坛)", True, None, {"fid": 42}),
        AccountSpec("菏泽市公安局", "市公安局", "forum", "菏泽公安", "菏泽公安(论坛)", True, None, {"fid": 44}),
    ])
    return repo


def account_id(repo: Repo, native_id: str) -> int:
    [account] = repo.accounts.find(native_id=native_id)
    assert account.id is not None
    return account.id


def question(pid: str, minutes: int, answered_after: int | None = None, suggestion: bool = False,
             start: datetime = START) -> ExchangeQuestion:
    asked = start + timedelta(minutes=minutes)
    return ExchangeQuestion(
        native_id=pid, author=f"网友{pid}", text=f"问题{pid}", asked_at=asked,
        answered_at=asked + timedelta(minutes=answered_after) if answered_after is not None else None,
        answer_native_id=f"a{pid}" if answered_after is not None else None, suggestion=suggestion)


def session(tid: str = "139136", start: datetime = START, *questions: ExchangeQuestion) -> ExchangeSession:
    return ExchangeSession(native_id=tid, title=f"【在线交流】第{tid}期", start=start, end=start + timedelta(hours=1),
                           url=f"https://bbs.example.cn/forum.php?mod=viewthread&tid={tid}", questions=list(questions))


def upsert(store: ExchangeStore, account_id: int, sessions: list[ExchangeSession], now: datetime) -> UpsertCounts:
    """Sessions derived from their threads, as after a crawl that touched those threads."""
    return store.replace(account_id, sessions, now, threads=[s.native_id for s in sessions])


def test_replace_deletes_what_is_no_longer_derived(repo: Repo) -> None:
    store = repo.exchanges
    aid = account_id(repo, "健康菏泽")
    upsert(store, aid, [session("1", START, question("1", 5)), session("2", START + timedelta(days=30))], NOW)
    # thread 2 no longer matches the rules; thread 1 was not touched by this crawl
    assert store.replace(aid, [], NOW, threads=["2"]) == UpsertCounts(new=0, updated=1)
    assert [r["native_id"] for r in store.sessions()] == ["1"]
    assert store.replace(aid, [session("3", START)], NOW) == UpsertCounts(new=1, updated=1)  # the whole account
    assert [r["native_id"] for r in store.sessions()] == ["3"]
    with repo.engine.connect() as conn:  # the questions of deleted sessions went with them
        assert conn.execute(select(func.count()).select_from(t.exchange_questions)).scalar_one() == 0


def test_the_migrated_schema_matches_the_tables(repo: Repo) -> None:
    with repo.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_name": lambda name, kind, _parent: kind != "table" or not is_index_table(name)})
        assert compare_metadata(context, t.metadata) == []


def test_upsert_is_idempotent_and_follows_the_thread(repo: Repo) -> None:
    store = repo.exchanges
    aid = account_id(repo, "健康菏泽")
    first = session("139136", START, question("1", 5), question("2", 10, answered_after=3))
    assert upsert(store, aid, [first, first], NOW) == UpsertCounts(new=1, updated=0)
    assert upsert(store, aid, [first], NOW + timedelta(hours=1)) == UpsertCounts(new=0, updated=0)
    later = NOW + timedelta(days=1)
    grown = replace(first, questions=[question("1", 5, answered_after=60 * 25), question("3", 20)])
    assert upsert(store, aid, [grown], later) == UpsertCounts(new=0, updated=1)
    [row] = store.sessions(account_id=aid)
    stored = store.questions(row["id"])
    assert [(q["native_id"], q["answer_native_id"], q["answer_delay"]) for q in stored] == [
        ("1", "a1", 60 * 25 * 60), ("3", None, None)]  # question 2 was deleted from the thread
    assert stored[0]["answered_at"] == (START + timedelta(minutes=5 + 60 * 25)).astimezone(UTC)
    with repo.engine.connect() as conn:
        times = conn.execute(select(t.exchange_sessions.c.first_seen_at, t.exchange_sessions.c.updated_at)).one()
        assert conn.execute(select(func.count()).select_from(t.exchange_questions)).scalar_one() == 2
    assert times == (NOW.astimezone(UTC), later.astimezone(UTC))


def test_a_changed_title_or_window_updates_the_session(repo: Repo) -> None:
    store = repo.exchanges
    aid = account_id(repo, "健康菏泽")
    upsert(store, aid, [session("139136", START)], NOW)
    moved = replace(session("139136", START), title="【在线交流】改期", end=START + timedelta(hours=2))
    assert upsert(store, aid, [moved], NOW) == UpsertCounts(new=0, updated=1)
    [row] = store.sessions()
    assert (row["title"], row["end_at"], row["questions"]) == ("【在线交流】改期", (START + timedelta(hours=2)).astimezone(UTC), 0)


def test_the_same_thread_of_two_accounts_is_two_sessions(repo: Repo) -> None:
    store = repo.exchanges
    for native_id in ("健康菏泽", "菏泽公安"):
        upsert(store, account_id(repo, native_id), [session("5000", START, question("1", 5))], NOW)
    assert [r["account"] for r in store.sessions()] == ["健康菏泽", "菏泽公安"]


def test_report_reads_count_answers_delays_and_suggestions(repo: Repo) -> None:
    store = repo.exchanges
    health, police = account_id(repo, "健康菏泽"), account_id(repo, "菏泽公安")
    may = session("139136", START, question("1", 5, answered_after=10), question("2", 10, answered_after=60 * 3),
                  question("3", 20, suggestion=True), question("4", 30, answered_after=2, suggestion=True))
    april = session("120000", START - timedelta(days=30),
                    question("9", 1, answered_after=4, start=START - timedelta(days=30)))
    upsert(store, health, [may, april], NOW)
    upsert(store, police, [session("138144", START - timedelta(days=3))], NOW)

    rows = store.sessions(since=START - timedelta(days=7))
    assert [r["native_id"] for r in rows] == ["138144", "139136"]
    empty, full = rows
    assert (empty["questions"], empty["answered"], empty["avg_delay"], empty["department"]) == (0, 0, None, "菏泽市公安局")
    assert {k: full[k] for k in ("questions", "answered", "unanswered", "late", "suggestions", "max_delay")} == {
        "questions": 4, "answered": 3, "unanswered": 1, "late": 1, "suggestions": 2, "max_delay": 3 * 3600}
    assert full["avg_delay"] == pytest.approx((600 + 3 * 3600 + 120) / 3)
    assert [r["native_id"] for r in store.sessions(department="市卫计委")] == ["120000", "139136"]
    assert [r["native_id"] for r in store.sessions(account_id=health, until=START)] == ["120000"]

    summary = {r["account"]: r for r in store.account_summary(since=START - timedelta(days=60))}
    assert {k: summary["健康菏泽"][k] for k in ("sessions", "questions", "answered", "unanswered", "late",
                                                  "suggestions")} == {
        "sessions": 2, "questions": 5, "answered": 4, "unanswered": 1, "late": 1, "suggestions": 2}
    assert summary["健康菏泽"]["avg_delay"] == pytest.approx((600 + 3 * 3600 + 120 + 240) / 4)
    assert (summary["菏泽公安"]["sessions"], summary["菏泽公安"]["questions"]) == (1, 0)
    assert [r["account"] for r in store.account_summary(department="菏泽市公安局")] == ["菏泽公安"]


def test_nothing_to_store_writes_nothing(repo: Repo) -> None:
    store = repo.exchanges
    assert upsert(store, account_id(repo, "健康菏泽"), [], NOW) == UpsertCounts()
    assert store.sessions() == []
    assert store.account_summary() == []
