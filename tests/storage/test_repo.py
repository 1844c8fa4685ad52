"""The store on SQLite and PostgreSQL: migrations, account sync, upserts, snapshots, crawl outcomes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from govmatrix.models import REPOST, FollowerSnapshot, Post
from govmatrix.storage import schema as t
from govmatrix.storage.db import current_revision, head_revision, make_engine, migrate
from govmatrix.storage.feed import FeedQuery
from govmatrix.storage.repo import AccountSpec, Repo, UpsertCounts

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2016, 7, 3, 9, 0, tzinfo=SHANGHAI)


def spec(native_id: str, name: str = "菏泽发布", dept: str = "菏泽市人民政府新闻办公室", **kw: object) -> AccountSpec:
    values = {"department": dept, "department_short": "市新闻办", "platform": "weibo", "native_id": native_id,
              "name": name, "enabled": True, "interval": None, "options": {}}
    values.update(kw)
    return AccountSpec(**values)  # type: ignore[arg-type]


def post(native_id: str, text: str = "菏泽国际牡丹文化旅游节开幕", likes: int = 1, **kw: object) -> Post:
    values = {"platform": "weibo", "native_id": native_id, "text": text, "likes": likes,
              "published_at": datetime(2016, 7, 2, 14, 22, tzinfo=SHANGHAI), "raw": {"id": native_id}}
    values.update(kw)
    return Post(**values)  # type: ignore[arg-type]


def account_id(repo: Repo, native_id: str = "2810374651") -> int:
    [account] = repo.accounts.find(native_id=native_id)
    assert account.id is not None
    return account.id


def test_migrate_twice_changes_nothing(db_url: str) -> None:
    engine = make_engine(db_url)
    assert migrate(engine) is True
    assert current_revision(engine) == head_revision()
    assert migrate(engine) is False
    engine.dispose()


def test_sync_adds_updates_and_disables_without_deleting(repo: Repo) -> None:
    first = repo.accounts.sync([spec("2810374651"), spec("3052218417", "菏泽食药监", "菏泽市食品药品监督管理局")])
    assert sorted(first.added) == ["weibo 2810374651", "weibo 3052218417"]
    assert not repo.accounts.sync([spec("2810374651"), spec("3052218417", "菏泽食药监", "菏泽市食品药品监督管理局")]).changed

    aid = account_id(repo, "3052218417")
    repo.posts.upsert(aid, [post("1")], NOW)
    report = repo.accounts.sync([spec("2810374651", "菏泽发布 (新)", interval=900)])
    assert report.updated == ["weibo 2810374651"]
    assert report.disabled == ["weibo 3052218417"]
    [gone] = repo.accounts.find(native_id="3052218417")
    assert gone.enabled is False
    assert repo.posts.count() == 1  # history stays
    [kept] = repo.accounts.find(native_id="2810374651")
    assert (kept.name, kept.interval, kept.department) == ("菏泽发布 (新)", 900, "菏泽市人民政府新闻办公室")


def test_upsert_is_idempotent_and_updates_counts(repo: Repo) -> None:
    repo.accounts.sync([spec("2810374651")])
    aid = account_id(repo)
    assert repo.posts.upsert(aid, [post("1"), post("2"), post("1")], NOW) == UpsertCounts(new=2, updated=0)
    assert repo.posts.upsert(aid, [post("1"), post("2")], NOW) == UpsertCounts(new=0, updated=0)
    later = NOW + timedelta(hours=1)
    counts = repo.posts.upsert(aid, [post("1", likes=99, text="菏泽国际牡丹文化旅游节隆重开幕"), post("3")], later)
    assert counts == UpsertCounts(new=1, updated=1)
    assert repo.posts.count() == 3
    with repo.engine.connect() as conn:
        row = conn.execute(select(t.posts).where(t.posts.c.native_id == "1")).one()
    assert (row.likes, row.text) == (99, "菏泽国际牡丹文化旅游节隆重开幕")
    assert row.first_seen_at == NOW.astimezone(UTC)  # the first sighting is kept
    assert row.updated_at == later.astimezone(UTC)
    assert row.raw == {"id": "1"}


def test_upsert_keeps_review_state(repo: Repo) -> None:
    repo.accounts.sync([spec("2810374651")])
    aid = account_id(repo)
    repo.posts.upsert(aid, [post("1")], NOW)
    with repo.engine.begin() as conn:
        conn.execute(t.posts.update().values(review_state="approved"))
    repo.posts.upsert(aid, [post("1", likes=5)], NOW)
    with repo.engine.connect() as conn:
        assert conn.execute(select(t.posts.c.review_state)).scalar_one() == "approved"


def test_time_round_trip(repo: Repo) -> None:
    repo.accounts.sync([spec("2810374651")])
    repo.posts.upsert(account_id(repo), [post("1")], NOW)
    with repo.engine.connect() as conn:
        stored = conn.execute(select(t.posts.c.published_at)).scalar_one()
    assert stored == datetime(2016, 7, 2, 6, 22, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)
    [row] = repo.feed.page(FeedQuery())
    assert row["published_at"].astimezone(SHANGHAI).isoformat() == "2016-07-02T14:22:00+08:00"


def test_naive_times_are_refused(repo: Repo) -> None:
    repo.accounts.sync([spec("2810374651")])
    with pytest.raises(Exception, match="naive datetime"):
        repo.posts.upsert(account_id(repo), [post("1", published_at=datetime(2016, 7, 2, 14, 22))], NOW)


def test_many_posts_in_batches_and_kinds(repo: Repo) -> None:
    repo.accounts.sync([spec("2810374651")])
    posts = [post(str(i), kind=REPOST, parent_native_id="p", extra={"original": {"deleted": True}})
             for i in range(1234)]
    assert repo.posts.upsert(account_id(repo), posts, NOW) == UpsertCounts(new=1234)
    assert repo.posts.known_ids("weibo", ["5", "1233", "99999"]) == {"5", "1233"}
    with repo.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(t.posts.c.kind == REPOST)).scalar_one() == 1234


def test_snapshot_one_row_per_day_later_reading_wins(repo: Repo) -> None:
    repo.accounts.sync([spec("2810374651")])
    aid = account_id(repo)
    morning = FollowerSnapshot(taken_at=datetime(2016, 7, 2, 8, 0, tzinfo=SHANGHAI), followers=281_000)
    evening = replace(morning, taken_at=datetime(2016, 7, 2, 22, 0, tzinfo=SHANGHAI), followers=281_500)
    next_day_early = replace(morning, taken_at=datetime(2016, 7, 3, 0, 30, tzinfo=SHANGHAI), followers=281_600)
    repo.snapshots.upsert(aid, [evening], SHANGHAI)
    repo.snapshots.upsert(aid, [morning, next_day_early], SHANGHAI)  # the older reading must not win
    rows = repo.snapshots.of_account(aid)
    assert [(r["day"].isoformat(), r["followers"]) for r in rows] == [("2016-07-02", 281_500), ("2016-07-03", 281_600)]


def test_due_accounts_and_crawl_outcomes(repo: Repo) -> None:
    repo.accounts.sync([spec("1"), spec("2"), spec("3", enabled=False)])
    assert [a.native_id for a in repo.accounts.due(NOW)] == ["1", "2"]
    one, two = account_id(repo, "1"), account_id(repo, "2")
    repo.runs.record_success(one, started=NOW, finished=NOW, counts=UpsertCounts(3, 1), requests=4,
                        next_check_at=NOW + timedelta(hours=1), cursor={"newest": "9"})
    repo.runs.record_failure(two, started=NOW, finished=NOW, error="weibo 2: rate limited (HTTP 418)", requests=1,
                        next_check_at=NOW + timedelta(minutes=10))
    repo.runs.record_failure(two, started=NOW, finished=NOW, error="weibo 2: rate limited (HTTP 418)", requests=1,
                        next_check_at=NOW + timedelta(minutes=20))
    assert repo.accounts.due(NOW) == []
    assert [a.native_id for a in repo.accounts.due(NOW + timedelta(minutes=30))] == ["2"]
    assert [a.native_id for a in repo.accounts.due(NOW + timedelta(hours=2))] == ["2", "1"]  # most overdue first
    [a1] = repo.accounts.find(native_id="1")
    [a2] = repo.accounts.find(native_id="2")
    assert (a1.cursor, a1.error_count, a1.last_success_at) == ({"newest": "9"}, 0, NOW.astimezone(UTC))
    assert (a2.error_count, a2.last_error) == (2, "weibo 2: rate limited (HTTP 418)")
    runs = repo.runs.last()
    assert runs[one]["status"] == "ok" and runs[one]["new_posts"] == 3
    assert runs[two]["status"] == "error"


def test_failing_since_is_the_start_of_the_current_failures(repo: Repo) -> None:
    repo.accounts.sync([spec("1"), spec("2")])
    one, two = account_id(repo, "1"), account_id(repo, "2")
    day = timedelta(days=1)

    def fail(aid: int, at: datetime) -> None:
        repo.runs.record_failure(aid, started=at, finished=at, error="x", requests=1, next_check_at=at)

    fail(one, NOW - 5 * day)
    repo.runs.record_success(one, started=NOW - 4 * day, finished=NOW - 4 * day, counts=UpsertCounts(), requests=1,
                        next_check_at=NOW, cursor=None)
    fail(one, NOW - 3 * day)
    fail(one, NOW - 2 * day)
    fail(two, NOW - day)
    repo.runs.record_success(two, started=NOW, finished=NOW, counts=UpsertCounts(), requests=1, next_check_at=NOW,
                        cursor=None)
    assert repo.runs.failing_since() == {one: (NOW - 3 * day).astimezone(UTC)}
