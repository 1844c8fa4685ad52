"""Near-duplicate grouping: the rule on pairs, the index, the clustering step on both stores, and
precision and recall against the sandbox's truth clusters."""

from __future__ import annotations

import asyncio
import itertools
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govmatrix.bootstrap import initialize
from govmatrix.clock import Clock
from govmatrix.config import load_settings
from govmatrix.matrix.clusters import Clusterer
from govmatrix.models import ARTICLE, ORIGINAL, REPOST, Post
from govmatrix.pipelines.base import run
from govmatrix.pipelines.clean import CleanPipeline, normalise
from govmatrix.pipelines.dedup import ClusterIndex, DedupPipeline, Signature, same_release, signature
from govmatrix.refresh import refresh_many
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.sandbox.remote import advance_clock
from govmatrix.sandbox.simkit import traditional
from govmatrix.storage.db import make_engine, migrate
from govmatrix.storage.feed import FeedQuery
from govmatrix.storage.repo import AccountSpec, Repo
from govmatrix.tz import SHANGHAI
from tests.integration.conftest import sandbox_settings

DAY = datetime(2016, 5, 17, 9, 0, tzinfo=SHANGHAI)
TITLE = "食品安全：市食药监局开展夏季食品安全专项检查"
BODY = ("市食药监局开展夏季食品安全专项检查，共检查餐饮单位356家，责令整改27家，立案查处9起。"
        "检查重点为学校食堂、农村集体聚餐和小餐饮集中区域，对发现的问题当场下达整改通知书。"
        "下一步，市食药监局将持续加大监督抽检力度，切实保障群众饮食安全。")
VARIANTS = {
    "release": f"【{TITLE}】{BODY}",
    "prefixed": f"【菏泽发布】{BODY}",
    "hashtag": f"#菏泽# {BODY}",
    "teaser": f"【{TITLE}】{BODY[:40]}...全文",
    "traditional": traditional(f"【{TITLE}】{BODY}"),
    "sourced": f"【{TITLE}】{BODY}（来源：菏泽发布）",
    "punctuated": f"{TITLE}：{BODY}".replace("，", "；", 1).replace("。", "！", 1),
    "short": BODY.split("。")[0] + "。",
}


def sig(text: str, title: str = "") -> Signature:
    found = signature(normalise(text), normalise(title))
    assert found is not None
    return found


def bulletin(n: int, weather: str, high: int, low: int) -> str:
    return (f"#菏泽天气# 第{n}期：今天白天到夜间{weather}，南风3到4级，最高气温{high}℃，最低气温{low}℃。"
            "请广大市民注意天气变化，合理安排出行。")


# -- the rule ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", sorted(set(VARIANTS) - {"release"}))
def test_every_copy_of_a_release_is_the_release(variant: str) -> None:
    assert same_release(sig(VARIANTS["release"]), sig(VARIANTS[variant]), 0.8)


def test_the_article_and_its_copies_with_titles() -> None:
    article = sig(BODY, TITLE)
    assert same_release(article, sig(BODY, "【菏泽发布】" + TITLE), 0.8)
    assert same_release(article, sig(traditional(BODY), traditional(TITLE)), 0.8)
    assert same_release(article, sig(VARIANTS["teaser"]), 0.8)  # a Weibo post has no title of its own


def test_template_bulletins_are_not_one_release() -> None:
    days = [bulletin(11, "多云", 25, 14), bulletin(12, "多云", 25, 14), bulletin(13, "晴", 27, 15),
            bulletin(14, "多云转晴", 26, 14)]
    for a, b in itertools.combinations(days, 2):
        assert not same_release(sig(a), sig(b), 0.8), (a, b)
    assert same_release(sig(days[0]), sig(days[0].replace("，", ",")), 0.8)  # the same bulletin is


def test_notices_that_differ_in_a_figure_are_not_one_release() -> None:
    a = "为保障市民出行安全，中华路与长江路交叉口自6日起实施为期10天的交通管制，请过往车辆提前绕行。"
    assert not same_release(sig(a), sig(a.replace("6日", "8日")), 0.8)
    assert same_release(sig(a), sig("【菏泽发布】" + a), 0.8)


def test_citizens_template_threads_keep_their_titles() -> None:
    text = "最近听说城乡居民医保缴费有调整，具体怎么执行？有没有了解的朋友。"
    assert not same_release(sig(text, "城乡居民医保缴费问题请教"), sig(text, "养老保险问题请教"), 0.8)
    assert same_release(sig(text, "城乡居民医保缴费问题请教"), sig(text, "【转】城乡居民医保缴费问题请教"), 0.8)


def test_unrelated_posts_are_apart() -> None:
    other = "共青团菏泽市委组织300名青年志愿者走进社区，开展学雷锋志愿服务活动12场次，受到居民欢迎。"
    assert not same_release(sig(VARIANTS["release"]), sig(other), 0.8)


def test_signatures_survive_the_store() -> None:
    original = sig(VARIANTS["release"], TITLE)
    assert Signature.unpack(original.pack()) == original
    assert original.numbers == "356,27,9"


def test_reposts_and_short_posts_get_no_signature() -> None:
    repost = Post(platform="weibo", native_id="1", published_at=DAY, kind=REPOST, text=VARIANTS["release"],
                  parent_native_id="2")
    short = Post(platform="weibo", native_id="3", published_at=DAY, kind=ORIGINAL, text="转发微博")
    article = Post(platform="wechat", native_id="4", published_at=DAY, kind=ARTICLE, text=BODY, title=TITLE)
    for p in (repost, short, article):
        DedupPipeline().process(p)
    assert (repost.minhash, short.minhash) == (None, None)
    assert article.minhash is not None and Signature.unpack(article.minhash).title


# -- the index --------------------------------------------------------------------------------------

def test_the_index_groups_the_copies_and_keeps_the_window() -> None:
    index = ClusterIndex(timedelta(days=7), 0.8)
    index.add([(1, sig(BODY, TITLE).pack(), DAY, 1)])
    for n, text in enumerate(VARIANTS.values(), start=2):
        assert index.match(sig(text).pack(), DAY + timedelta(hours=n)) == 1, text
    assert index.match(sig(VARIANTS["prefixed"]).pack(), DAY + timedelta(days=8)) is None  # outside the window
    index.expire(DAY + timedelta(days=1))
    assert index.match(sig(VARIANTS["prefixed"]).pack(), DAY + timedelta(hours=3)) is None


def test_a_teaser_of_two_articles_cannot_chain_them() -> None:
    opening = "市食药监局开展夏季食品安全专项检查，共检查餐饮单位356家，"
    first = opening + "检查重点为学校食堂和农村集体聚餐，对发现的问题当场下达整改通知书，限期整改到位。"
    second = opening + "同时开展了药品流通领域专项整治，查处无证经营药店两家，没收过期药品一批。"
    index = ClusterIndex(timedelta(days=7), 0.8)
    index.add([(1, sig(first).pack(), DAY, 1)])
    assert index.match(sig(second).pack(), DAY) is None


def test_a_batch_groups_its_own_copies_and_expired_posts_leave_the_buckets() -> None:
    releases = _releases(3000)
    index = ClusterIndex(timedelta(days=1), 0.8)
    rows = [(n, sig(text).pack(), DAY + timedelta(minutes=n)) for n, text in enumerate(releases)]
    copies = [(10_000 + n, sig("【菏泽发布】" + releases[n]).pack(), DAY + timedelta(minutes=n, seconds=30))
              for n in (2000, 2999)]
    clusters = index.assign(rows[:1500])
    assert clusters == list(range(1500))  # every notice states other figures: none is another's copy
    assert index.assign([*rows[1500:], *copies]) == [*range(1500, 3000), 2000, 2999]  # a copy filed after its release
    index.expire(DAY + timedelta(minutes=2500))
    filed = sum(1 if isinstance(bucket, int) else len(bucket) for bucket in index.buckets.values())
    assert len(index.members) == 501 and filed < 10 * len(index.members)  # the expired entries were swept
    assert index.match(sig("#菏泽# " + releases[2999]).pack(), DAY + timedelta(minutes=2999)) == 2999
    assert index.match(sig("#菏泽# " + releases[1000]).pack(), DAY + timedelta(minutes=1000)) is None


# -- the clustering step on a store ---------------------------------------------------------------

@pytest.fixture
def repo(repo: Repo) -> Repo:
    _accounts(repo)
    return repo


def _accounts(repo: Repo) -> None:
    repo.accounts.sync([AccountSpec("菏泽市人民政府新闻办公室", "市新闻办", "weibo", native_id, native_id, True, None, {})
                        for native_id in "abc"])


def _store(repo: Repo, native_id: str, account: str, text: str, at: datetime) -> None:
    p = Post(platform="weibo", native_id=native_id, published_at=at, kind=ORIGINAL, body=text, raw={})
    run([CleanPipeline(), DedupPipeline()], [p], lambda _: None)
    [owner] = repo.accounts.find(native_id=account)
    assert owner.id is not None
    repo.posts.upsert(owner.id, [p], at)


def _clusters(repo: Repo) -> dict[str, int | None]:
    return {row["native_id"]: row["cluster_id"] for row in repo.feed.page(FeedQuery(limit=1000))}


def _releases(n: int) -> list[str]:
    return [f"第{k}号通告：市政府第{k + 10}次常务会议审议通过了《菏泽市民生实事实施方案》，共{k * 7}项，全面部署今年重点工作。"
            for k in range(1, n + 1)]


def test_backfilled_posts_join_the_clusters_of_later_runs(repo: Repo) -> None:
    release = _releases(1)[0]
    _store(repo, "1", "a", release, DAY + timedelta(days=20))
    assert Clusterer().run(repo, DAY + timedelta(days=20)) == 1
    clusterer = Clusterer()
    _store(repo, "2", "b", "【菏泽发布】" + release, DAY + timedelta(days=21))
    clusterer.run(repo, DAY + timedelta(days=21))
    _store(repo, "3", "c", "#菏泽# " + release, DAY + timedelta(days=19))  # a backfill, older than both
    clusterer.run(repo, DAY + timedelta(days=21))
    clusters = _clusters(repo)
    assert clusters["1"] == clusters["2"] == clusters["3"] is not None


def test_two_workers_never_split_what_one_would_group(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(2)]
    migrate(engines[0])
    repos = [Repo(engine) for engine in engines]
    _accounts(repos[0])
    releases = _releases(12)
    posts = [(f"{k}-{copy}", "abc"[copy], prefix + text, DAY + timedelta(hours=k, minutes=copy))
             for k, text in enumerate(releases) for copy, prefix in enumerate(["", "【菏泽发布】", "#菏泽# "])]
    workers = [Clusterer(), Clusterer()]

    def work(w: int) -> None:
        for i, (native_id, account, text, at) in enumerate(posts):
            if i % 2 == w:
                _store(repos[w], native_id, account, text, at)
                workers[w].run(repos[w], at)

    try:
        threads = [threading.Thread(target=work, args=(w,)) for w in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for w in range(2):
            workers[w].run(repos[w], DAY + timedelta(days=1))
        clusters = _clusters(repos[0])
    finally:
        for engine in engines:
            engine.dispose()
    for k in range(len(releases)):
        assert clusters[f"{k}-0"] == clusters[f"{k}-1"] == clusters[f"{k}-2"] is not None, k
    assert len(set(clusters.values())) == len(releases)


def test_a_reset_elsewhere_empties_a_workers_index(repo: Repo) -> None:
    release = _releases(1)[0]
    _store(repo, "1", "a", release, DAY)
    scheduler = Clusterer()
    scheduler.run(repo, DAY)
    repo.clusters.reset(DAY)  # govmatrix reprocess, in another process
    Clusterer().run(repo, DAY)
    _store(repo, "2", "b", "【菏泽发布】" + release, DAY + timedelta(hours=1))
    scheduler.run(repo, DAY + timedelta(hours=1))
    clusters = _clusters(repo)
    assert clusters["1"] == clusters["2"] is not None


# -- the sandbox's truth ------------------------------------------------------------------------------

SANDBOX_START = datetime(2016, 6, 1, 9, 0, tzinfo=SHANGHAI)


def _truth_key(post: dict[str, Any]) -> tuple[tuple[str, str], str | None]:
    native_id = post["native_id"]
    if post["platform"] == "wechat" and post.get("owned"):
        native_id = f"{post['article_id']}_{post['idx']}"
    elif post["platform"] == "feeds":
        native_id = f"{post['account']}:{native_id}"
    repost = post["platform"] == "weibo" and (post.get("variant") == "retweet" or post["kind"] == "repost")
    return (post["platform"], native_id), None if repost else post.get("press_release")


@pytest.mark.parametrize("seed", [1, 3])
def test_precision_and_recall_against_the_sandbox_truth(seed: int, tmp_path: Path) -> None:
    """Every platform crawled for three days; pairs of posts grouped vs the releases the sandbox copied."""
    with SandboxServer(SandboxConfig(seed=seed, start=SANDBOX_START)) as sandbox:
        path = sandbox_settings(tmp_path, sandbox.url)
        text = path.read_text(encoding="utf-8").replace("sqlite:///govmatrix.db", f"sqlite:///{tmp_path / 'd.db'}")
        path.write_text(text, encoding="utf-8")
        settings = load_settings(path)
        repo, _ = initialize(settings, SANDBOX_START)
        for day in range(3):
            if day:
                advance_clock(sandbox.url, 86400)
            asyncio.run(refresh_many(repo.accounts.find(enabled_only=True), repo, settings,
                                     Clock(fixed=sandbox.state.now)))
        truth = dict(_truth_key(p) for p in sandbox.truth()["posts"])
    stored = [(row["platform"], row["native_id"], row["cluster_id"], row["text"]) for row in repo.feed.page(FeedQuery(limit=100_000))]
    repo.close()
    known = [(truth[(p, n)], cluster, text) for p, n, cluster, text in stored if (p, n) in truth]
    assert len(known) >= 0.99 * len(stored) and len(known) > 1000
    tp = fp = fn = 0
    for (key_a, cluster_a, _), (key_b, cluster_b, _) in itertools.combinations(known, 2):
        grouped, same = cluster_a is not None and cluster_a == cluster_b, key_a is not None and key_a == key_b
        tp, fp, fn = tp + (grouped and same), fp + (grouped and not same), fn + (same and not grouped)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert tp > 300 and precision >= 0.95 and recall >= 0.95, (precision, recall)
    bulletins = [cluster for _, cluster, text in known if "菏泽天气" in text]
    assert len(bulletins) >= 3 and len(set(bulletins)) == len(bulletins)  # never grouped
