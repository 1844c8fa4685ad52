"""The unified feed on SQLite and PostgreSQL: filters, Chinese search through the bigram index, keyset pages."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from govmatrix.errors import ConfigError
from govmatrix.matrix.feed import also_posted_line, page
from govmatrix.models import ORIGINAL, REPOST, Post
from govmatrix.pipelines.clean import normalise
from govmatrix.storage.feed import FeedQuery
from govmatrix.storage.repo import AccountSpec, Repo
from govmatrix.tz import SHANGHAI

NOW = datetime(2016, 7, 3, 9, 0, tzinfo=SHANGHAI)
T0 = datetime(2016, 7, 1, 8, 0, tzinfo=SHANGHAI)


@pytest.fixture
def repo(repo: Repo) -> Repo:
    repo.accounts.sync([
        AccountSpec(department="菏泽市人民政府新闻办公室", department_short="市新闻办", platform="weibo",
                    native_id="1", name="菏泽发布", enabled=True, interval=None, options={}),
        AccountSpec(department="菏泽市食品药品监督管理局", department_short="市食药监局", platform="wechat",
                    native_id="2", name="菏泽食药监", enabled=True, interval=None, options={}),
    ])
    return repo


def aid(repo: Repo, native_id: str) -> int:
    [account] = repo.accounts.find(native_id=native_id)
    return account.id


def post(native_id: str, text: str, minutes: int = 0, platform: str = "weibo", **kw: object) -> Post:
    values: dict[str, object] = {"platform": platform, "native_id": native_id, "text": text, "body": text,
                                 "text_norm": normalise(text), "published_at": T0 + timedelta(minutes=minutes)}
    values.update(kw)
    return Post(**values)  # type: ignore[arg-type]


def store(repo: Repo, *posts: Post) -> None:
    for p in posts:
        repo.posts.upsert(aid(repo, "1" if p.platform == "weibo" else "2"), [p], NOW)


def ids(repo: Repo, **query: object) -> list[str]:
    return [r["native_id"] for r in page(repo, SHANGHAI, FeedQuery(**query)).records]  # type: ignore[arg-type]


def test_a_two_character_word_a_phrase_and_traditional_input(repo: Repo) -> None:
    store(repo,
          post("1", "全市新冠疫苗接种点名单", 1),
          post("2", "食品安全宣传周启动", 2),
          post("3", "食品安排，品安全", 3),  # every bigram of 食品安全, never the phrase
          post("4", "加強網絡安全管理", 4),  # traditional: searched by its simplified form
          post("5", "冬季供暖热线开通", 5))
    assert ids(repo, search="疫苗") == ["1"]
    assert ids(repo, search="食品安全") == ["2"]
    assert ids(repo, search="食品") == ["3", "2"]
    assert ids(repo, search="网络") == ["4"] and ids(repo, search="網絡") == ["4"]
    assert ids(repo, search="供暖 热线") == ["5"]  # both phrases
    assert ids(repo, search="供暖 疫苗") == []
    assert ids(repo, search="暖") == ["5"]  # one character: answered by a scan
    assert ids(repo, search="，。") == []


def test_the_index_follows_a_changed_text(repo: Repo) -> None:
    store(repo, post("1", "疫苗接种通知", 1))
    store(repo, post("1", "供暖收费通知", 1))  # the platform edited the post
    assert ids(repo, search="疫苗") == []
    assert ids(repo, search="供暖") == ["1"]
    [row] = repo.feed.page(FeedQuery())
    changed = post("1", "供暖收费通知", 1, text_norm=normalise("防汛抗旱通知"))
    repo.posts.update_processed([(row["id"], changed)])  # what reprocess does
    assert ids(repo, search="供暖") == [] and ids(repo, search="防汛") == ["1"]
    store(repo, post("2", "防汛抗旱通知", 2))
    assert ids(repo, search="防汛") == ["2", "1"]


def test_search_agrees_with_a_plain_substring_scan(repo: Repo) -> None:
    r = random.Random(7)
    alphabet = "食品安全疫苗供暖水电"
    texts = {str(i): "".join(r.choices(alphabet + "，", k=r.randint(3, 12))) for i in range(120)}
    platforms = {k: r.choice(("weibo", "wechat")) for k in texts}
    store(repo, *(post(k, v, int(k), platform=platforms[k]) for k, v in texts.items()))
    for n in range(90):  # rare and common words, with and without a filter, whole and paged: every plan
        query = "".join(r.choices(alphabet, k=r.randint(1, 4)))
        platform = (None, "weibo", "wechat")[n % 3]
        expected = sorted((k for k, v in texts.items() if query in v and platform in (None, platforms[k])),
                          key=int, reverse=True)
        assert ids(repo, search=query, platform=platform, limit=500) == expected, query
        seen, cursor = [], None
        while True:
            result = page(repo, SHANGHAI, FeedQuery(search=query, platform=platform, limit=3), cursor)
            seen += [rec["native_id"] for rec in result.records]
            if result.cursor is None:
                break
            cursor = result.cursor
        assert seen == expected, query


def test_filters(repo: Repo) -> None:
    store(repo,
          post("1", "菏泽发布原创", 1),
          post("2", "转发微博", 2, kind=REPOST),
          post("3", "公众号文章", 3, platform="wechat", flags=["mojibake"]),
          post("4", "投诉扰民", 4, alerts=[{"rule": "complaint", "severity": "high"}]),
          post("5", "上月的旧闻", -60 * 24 * 40))
    assert ids(repo, department="市食药监局") == ["3"]
    assert ids(repo, department="菏泽市人民政府新闻办公室") == ["4", "2", "1", "5"]
    assert ids(repo, platform="wechat") == ids(repo, account="菏泽食药监") == ["3"]
    assert ids(repo, kind=REPOST) == ["2"] and ids(repo, kind=ORIGINAL) == ["4", "3", "1", "5"]
    assert ids(repo, alerts=True) == ["4"]
    assert ids(repo, flag="mojibake") == ids(repo, flag="*") == ["3"] and ids(repo, flag="charset_replaced") == []
    assert ids(repo, since=T0, until=T0 + timedelta(minutes=3)) == ["2", "1"]
    row = {r["native_id"]: r["id"] for r in repo.feed.page(FeedQuery())}
    repo.reviews.set_state([row["2"]], "approved", actor="test", now=NOW)
    assert ids(repo, review_state="approved") == ["2"] and "2" not in ids(repo, review_state="pending")
    assert ids(repo, order="alerts")[0] == "4"


def test_keyset_pages_cover_every_post_once_in_order(repo: Repo) -> None:
    store(repo, *(post(str(i), f"第{i}条", i // 3) for i in range(11)))  # three posts share each minute
    for order in ("newest", "alerts"):
        seen, cursor = [], None
        while True:
            result = page(repo, SHANGHAI, FeedQuery(limit=4, order=order), cursor)
            seen += [r["native_id"] for r in result.records]
            if result.cursor is None:
                break
            cursor = result.cursor
        assert seen == ids(repo, limit=100, order=order) and sorted(seen, key=int) == [str(i) for i in range(11)]
    with pytest.raises(ConfigError, match="not a cursor"):
        page(repo, SHANGHAI, FeedQuery(), "bm9wZQ")
    with pytest.raises(ConfigError, match="limit"):
        page(repo, SHANGHAI, FeedQuery(limit=0))


def test_collapsed_shows_a_cluster_once_with_who_else_posted_it(repo: Repo) -> None:
    store(repo, post("1", "牡丹节开幕", 1), post("2", "牡丹节开幕", 2, platform="wechat"), post("3", "别的消息", 3))
    rows = {r["native_id"]: r["id"] for r in repo.feed.page(FeedQuery())}
    repo.clusters.record(NOW, [(rows["1"], rows["1"]), (rows["2"], rows["1"]), (rows["3"], rows["3"])])
    records = page(repo, SHANGHAI, FeedQuery(collapsed=True)).records
    assert [r["native_id"] for r in records] == ["3", "1"]
    assert also_posted_line(records[1]) == "also posted by 菏泽食药监" and also_posted_line(records[0]) == ""
    assert ids(repo) == ["3", "2", "1"]
