"""The inspection's store on SQLite and PostgreSQL: comments upserted once, the comments of a window,
each account's last update in its scope, alerted posts with their dismissals, alarms raised once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from govmatrix.models import Comment, Post
from govmatrix.storage import schema as t
from govmatrix.storage.inspection import UpdateScope
from govmatrix.storage.repo import AccountSpec, Repo

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2016, 7, 3, 9, 0, tzinfo=SHANGHAI)


def setup(repo: Repo) -> tuple[int, int]:
    specs = [AccountSpec("市新闻办", "新闻办", "weibo", "2810374651", "菏泽发布", True, None, {}),
             AccountSpec("市物价局", "物价局", "forum", "菏泽物价", "菏泽物价(论坛)", True, None, {"fid": 50})]
    repo.accounts.sync(specs)
    ids = {a.platform: a.id for a in repo.accounts.find()}
    return ids["weibo"], ids["forum"]


def post(native_id: str, days_ago: float, kind: str = "original", platform: str = "weibo", author: str = "",
         alerts: list[dict[str, object]] | None = None) -> Post:
    return Post(platform=platform, native_id=native_id, published_at=NOW - timedelta(days=days_ago), kind=kind,
                author=author, text=f"帖子{native_id}", alerts=alerts or [])


def comment(native_id: str, post_id: str, hours_ago: float, **kw: object) -> Comment:
    return Comment(platform="weibo", native_id=native_id, post_native_id=post_id,
                   created_at=NOW - timedelta(hours=hours_ago), author="网友", text="请问", **kw)  # type: ignore[arg-type]


def test_comments_are_stored_once_and_read_by_the_posts_window(repo: Repo) -> None:
    weibo, _ = setup(repo)
    repo.posts.upsert(weibo, [post("p1", 2), post("p2", 20)], NOW)
    first = [comment("c1", "p1", 30), comment("c2", "p1", 5, root_native_id="c1", reply_to="c1", by_account=True),
             comment("c3", "p2", 400), comment("c4", "p1", -1)]
    assert repo.comments.upsert(weibo, first + first[:1], NOW) == 4
    assert repo.comments.upsert(weibo, [comment("c1", "p1", 30, likes=9)], NOW + timedelta(hours=1)) == 1
    assert repo.comments.count() == 4
    rows = repo.comments.of_posts_published([weibo], NOW - timedelta(days=14), NOW, NOW)
    assert [r["native_id"] for r in rows] == ["c1", "c2"]  # p2 is older than the window; c4 is after the moment
    assert rows[1]["by_account"] and rows[1]["reply_to"] == "c1" and rows[0]["post_published_at"] is not None
    assert repo.comments.of_posts_published([], NOW - timedelta(days=14), NOW, NOW) == []


def test_last_updates_follow_each_accounts_scope(repo: Repo) -> None:
    weibo, forum = setup(repo)
    repo.posts.upsert(weibo, [post("o1", 5), post("r1", 1, kind="repost"), post("o2", -1)], NOW)
    repo.posts.upsert(forum, [post("f1", 9, "thread", "forum", "菏泽物价"), post("f2", 2, "reply", "forum", "网友甲")],
                      NOW)
    kinds = ("original", "repost", "thread", "reply", "article")
    last = repo.inspection.last_updates([UpdateScope(weibo, kinds), UpdateScope(forum, kinds, ("菏泽物价",))], NOW)
    assert last[weibo]["native_id"] == "r1" and last[forum]["native_id"] == "f1"  # type: ignore[index]
    originals = repo.inspection.last_updates([UpdateScope(weibo, ("original",))], NOW)
    assert originals[weibo]["native_id"] == "o1"  # type: ignore[index]
    assert repo.inspection.last_updates([UpdateScope(weibo, kinds)], NOW - timedelta(days=6)) == {weibo: None}
    counts = repo.inspection.update_counts([UpdateScope(weibo, kinds)], NOW - timedelta(days=30), NOW)
    assert counts == {weibo: 2}


def test_alerted_posts_come_with_their_dismissed_wording_hits(repo: Repo) -> None:
    weibo, _ = setup(repo)
    hit = {"rule": "wording:confusion", "span": "警钟常鸣", "suggestion": "警钟长鸣", "key": "k1"}
    repo.posts.upsert(weibo, [post("a1", 3, alerts=[hit]), post("a2", 3), post("a3", 100, alerts=[hit])], NOW)
    rows = repo.inspection.alerted_posts(NOW - timedelta(days=90), NOW)
    assert [r["native_id"] for r in rows] == ["a1"] and rows[0]["dismissed"] == set()
    with repo.engine.begin() as conn:
        conn.execute(t.wording_dismissals.insert().values(post_id=rows[0]["id"], key="k1", actor="审核员", at=NOW,
                                                          note=""))
    [row] = repo.inspection.alerted_posts(NOW - timedelta(days=90), NOW)
    assert row["dismissed"] == {"k1"} and row["alerts"] == [hit]


def test_alarms_are_raised_once_per_account_and_key(repo: Repo) -> None:
    weibo, forum = setup(repo)
    day = date(2016, 7, 3)
    alarms = [{"account_id": weibo, "day": day, "kind": "update_warning", "key": "update_warning:2016-06-23",
               "message": "将超过两周未更新", "details": {"crosses_on": "2016-07-07"}},
              {"account_id": forum, "day": day, "kind": "interaction_fail", "key": "interaction_fail:2016-07-03",
               "message": "提问均未回复"}]
    assert len(repo.inspection.raise_alarms(alarms, NOW)) == 2
    later = [{**alarms[0], "day": day + timedelta(days=1)}]
    assert repo.inspection.raise_alarms(later + alarms, NOW + timedelta(days=1)) == []
    stored = repo.inspection.alarms(day=day)
    assert {(a["native_id"], a["kind"]) for a in stored} == {("2810374651", "update_warning"),
                                                             ("菏泽物价", "interaction_fail")}
    assert stored[0]["department"] and repo.inspection.alarms(day=day + timedelta(days=1)) == []
    assert repo.inspection.alarm_kinds() == {(weibo, "update_warning"), (forum, "interaction_fail")}
    assert [a["details"] for a in stored if a["kind"] == "update_warning"] == [{"crosses_on": "2016-07-07"}]
