"""Dedup benchmark: near-duplicate clustering of synthetic posts, next to exact-hash dedup.

N posts (default 1,000,000) over a year (--days 365: 2,740 posts a day, the window holds about
19,000), in time order and in batches as crawls deliver them
(default 1,000: a scheduler tick of the example city). A fifth are copies of the day's releases
(about ten of each), as departments re-post them: a 【菏泽发布】 or #菏泽# prefix, a teaser with 全文,
traditional script, an appended 来源 line, other punctuation, the title before the text;
a twentieth are daily weather bulletins from one template with other figures (never one release);
the rest are everyday posts of common words. Each post comes with the search form the clean
pipeline gives it (bench/clean.py measures that). govmatrix: the dedup pipeline's signatures of
each batch, packed as the store keeps them, then the matching of the batch (``ClusterIndex``: LSH,
the window, expiry) as ``matrix/clusters.py`` runs it minus the database. Baseline: exact dedup of
the same posts (SHA-1 of the search form in a dict, expired by the same window), which groups only
identical copies. Each runs in a fresh process;
peak memory is that process's maximum RSS. The clusters found are counted against the copies made.

    python bench/dedup.py [--posts 1000000] [--batch 1000] [--days 365]

Floor: 20,000 posts/s and < 2 GB for govmatrix; aim 50,000 posts/s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govmatrix.models import ORIGINAL, Post  # noqa: E402
from govmatrix.pipelines.clean import normalise  # noqa: E402
from govmatrix.pipelines.dedup import ClusterIndex, DedupPipeline  # noqa: E402
from govmatrix.sandbox.simkit import traditional  # noqa: E402
from govmatrix.tz import SHANGHAI  # noqa: E402

START = datetime(2016, 1, 1, tzinfo=SHANGHAI)
WINDOW = timedelta(days=7)
COPY_SHARE, BULLETIN_SHARE = 0.2, 0.05
VARIANTS = ("prefixed", "hashtag", "teaser", "traditional", "sourced", "punctuated", "plain")


def _copy(title: str, body: str, variant: str) -> str:
    if variant == "prefixed":
        return f"【菏泽发布】{body}"
    if variant == "hashtag":
        return f"#菏泽# {body}"
    if variant == "teaser":
        return f"【{title}】{body[:40]}...全文"
    if variant == "traditional":
        return traditional(f"【{title}】{body}")
    if variant == "sourced":
        return f"【{title}】{body}（来源：菏泽发布）"
    if variant == "punctuated":
        return f"{title}：{body}".replace("，", "；", 1).replace("。", "！", 1)
    return f"【{title}】{body}"


def _vocabulary(r: random.Random) -> list[str]:
    """Two- and three-character words of common characters (GB2312 level 1)."""
    chars = [bytes([hi, lo]).decode("gb2312") for hi in range(0xB0, 0xD8) for lo in range(0xA1, 0xFF)
             if (hi, lo) < (0xD7, 0xFA)]
    return ["".join(r.choices(chars, k=r.choice((2, 2, 3)))) for _ in range(30_000)]


def _everyday(r: random.Random, words: list[str]) -> str:
    parts = []
    for _ in range(r.randint(2, 5)):
        clause = "".join(r.choices(words, k=r.randint(4, 10)))
        if r.random() < 0.3:
            clause += f"{r.randint(2, 900)}{r.choice('人家起项天个万元')}"
        parts.append(clause + r.choice("，，，。！"))
    return "".join(parts)


def _bulletin(r: random.Random, n: int) -> str:
    low = r.randint(-5, 26)
    return (f"#菏泽天气# 第{n}期：今天白天到夜间{r.choice(('晴', '多云', '阴', '小雨', '多云转晴'))}，"
            f"{r.choice(('南风3到4级', '北风2到3级', '东北风3级'))}，最高气温{low + r.randint(4, 12)}℃，"
            f"最低气温{low}℃。请广大市民注意天气变化，合理安排出行。")


def synthetic(total: int, batch: int, days: int) -> Iterator[tuple[list[Post], list[int]]]:
    """Batches of posts in time order and, per post, the release it copies (-1: none; -2: a bulletin)."""
    r = random.Random(20161202)
    words = _vocabulary(r)
    releases_per_day = max(1, int(total / days * COPY_SHARE / 10))  # about ten copies of each
    releases: dict[int, tuple[str, str]] = {}  # the day's press releases: title, body
    posts: list[Post] = []
    truth: list[int] = []
    for i in range(total):
        at = START + timedelta(seconds=i * days * 86400 / total)
        day = (at - START).days
        draw = r.random()
        if draw < COPY_SHARE:
            key = day * releases_per_day + r.randrange(releases_per_day)
            if key not in releases:
                title = "".join(r.choices(words, k=r.randint(4, 8)))
                releases[key] = (title, f"{_everyday(r, words)}（{r.randint(1, 31)}日发布，第{key}号）")
                releases.pop(key - 3 * releases_per_day * WINDOW.days, None)
            text = _copy(*releases[key], r.choice(VARIANTS))
        elif draw < COPY_SHARE + BULLETIN_SHARE:
            key, text = -2, _bulletin(r, i)
        else:
            key, text = -1, _everyday(r, words)
        posts.append(Post(platform="weibo", native_id=str(i), published_at=at, kind=ORIGINAL, text=text,
                          text_norm=normalise(text)))  # as the clean pipeline leaves it
        truth.append(key)
        if len(posts) == batch:
            yield posts, truth
            posts, truth = [], []
    if posts:
        yield posts, truth


def run_govmatrix(total: int, batch: int, days: int) -> dict[str, float]:
    pipeline = DedupPipeline()
    index = ClusterIndex(WINDOW, 0.8)
    elapsed, pairs, grouped = 0.0, 0, dict[int, int]()
    for posts, truth in synthetic(total, batch, days):
        began = time.perf_counter()
        pipeline.process_batch(posts)
        rows = [(int(post.native_id), post.minhash, post.published_at) for post in posts if post.minhash is not None]
        grouped.update(zip([row[0] for row in rows], index.assign(rows), strict=True))
        pairs += len(rows)
        index.expire(posts[-1].published_at - WINDOW)
        elapsed += time.perf_counter() - began
        _score(grouped, posts, truth)
    return {"seconds": elapsed, "assigned": pairs, "releases": len(_FIRST), **_SCORE}


def run_exact(total: int, batch: int, days: int) -> dict[str, float]:
    seen: dict[bytes, tuple[int, datetime]] = {}
    elapsed, pairs, grouped = 0.0, 0, {}
    for posts, truth in synthetic(total, batch, days):
        began = time.perf_counter()
        for post in posts:
            pid = int(post.native_id)
            digest = hashlib.sha1(post.text_norm.encode()).digest()
            hit = seen.get(digest)
            cluster = hit[0] if hit is not None and post.published_at - hit[1] <= WINDOW else pid
            seen[digest] = (cluster, post.published_at)
            grouped[pid] = cluster
            pairs += 1
        horizon = posts[-1].published_at - WINDOW
        if pid % (batch * 50) < batch:  # expire now and then, as the window moves
            seen = {k: v for k, v in seen.items() if v[1] >= horizon}
        elapsed += time.perf_counter() - began
        _score(grouped, posts, truth)
    return {"seconds": elapsed, "assigned": pairs, "releases": len(_FIRST), **_SCORE}


_SCORE = {"copies": 0, "joined": 0, "wrong": 0}
_FIRST: dict[int, int] = {}  # release -> the cluster its first copy got


def _score(grouped: dict[int, int], posts: list[Post], truth: list[int]) -> None:
    """Copies that joined the cluster of their release's first copy, and posts put in a wrong one."""
    owner = {c: k for k, c in _FIRST.items()}
    for post, key in zip(posts, truth, strict=True):
        cluster = grouped.pop(int(post.native_id), None)
        if key == -2:  # a bulletin grouped with anything is wrong
            _SCORE["wrong"] += cluster is not None and cluster != int(post.native_id)
            continue
        if key < 0:
            _SCORE["wrong"] += cluster is not None and cluster in owner
            continue
        _SCORE["copies"] += 1
        if key not in _FIRST:
            _FIRST[key] = cluster if cluster is not None else -1
            owner[_FIRST[key]] = key
        elif cluster == _FIRST[key]:
            _SCORE["joined"] += 1
        elif cluster in owner:
            _SCORE["wrong"] += 1


def child(which: str, total: int, batch: int, days: int) -> None:
    result = (run_govmatrix if which == "govmatrix" else run_exact)(total, batch, days)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--child", choices=["govmatrix", "exact"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.posts, args.batch, args.days)
        return
    results = {}
    for which in ("exact", "govmatrix"):
        out = subprocess.run([sys.executable, __file__, "--child", which, "--posts", str(args.posts),
                              "--batch", str(args.batch), "--days", str(args.days)], check=True, capture_output=True, text=True).stdout
        results[which] = json.loads(out.strip().splitlines()[-1])
    print(f"dedup benchmark: {args.posts:,} posts over {args.days} days ({args.posts / args.days:,.0f} a day), batches of {args.batch}, window 7 days; "
          f"{COPY_SHARE:.0%} are copies of releases in {len(VARIANTS)} variants")
    for which, label in (("govmatrix", "govmatrix (MinHash + LSH)"), ("exact", "baseline (exact hash)    ")):
        r = results[which]
        rate = r["assigned"] / r["seconds"]
        print(f"{label}: {rate:,.0f} posts/s ({r['seconds']:.1f} s), peak RSS {r['peak_mb']:,.0f} MB; "
              f"later copies that joined their release {r['joined'] / max(1, r['copies'] - r['releases']):.1%}, "
              f"posts put in another release's cluster {r['wrong']:,}")
    ours = results["govmatrix"]["assigned"] / results["govmatrix"]["seconds"]
    theirs = results["exact"]["assigned"] / results["exact"]["seconds"]
    verdict = "met" if ours >= 20_000 and results["govmatrix"]["peak_mb"] < 2048 else "NOT met"
    print(f"ratio {ours / theirs:.2f}x the exact-hash rate; floor 20,000 posts/s and < 2 GB: {verdict}")


if __name__ == "__main__":
    main()
