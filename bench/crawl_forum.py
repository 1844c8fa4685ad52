"""Forum crawl benchmark: govmatrix's Scrapy crawler against a plain httpx + parsel loop, same pages.

The sandbox runs in this process; each side crawls in a subprocess of its own, so that its peak
memory (max RSS) is its own. govmatrix crawls whole boards with ForumCrawler (Scrapy in-process,
reactorless, boards concurrently, charset detection, quotes, times, Post objects) and the clean
pipeline over the posts (text and safe HTML); the baseline walks the same list and thread pages one after another with httpx.Client
and reads each post's id, author, time and text with parsel. Both report the pages they fetched,
which must be equal. Run without and with added latency per response (the sandbox's latency).

    python bench/crawl_forum.py [--threads 200] [--latency-ms 20] [--concurrency 8]

The pages are the sandbox's load-test board (fid 90, ``--forum-load-threads``): --threads
threads of exactly 40 posts each, 20 threads a list page and 10 posts a thread page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx
import uvicorn
from parsel import Selector, SelectorList

from govmatrix.crawlers.base import CrawlContext
from govmatrix.crawlers.forum import ForumCrawler, ForumOptions, ForumSettings
from govmatrix.crawlers.http import Budget
from govmatrix.crawlers.values import parse_chinese_time
from govmatrix.models import Account
from govmatrix.pipelines.clean import CleanPipeline
from govmatrix.sandbox.app import Sandbox, SandboxConfig, uvicorn_config
from govmatrix.sandbox.forum_load import LOAD_ACCOUNT, LOAD_FID
from govmatrix.tz import SHANGHAI

START = datetime(2016, 6, 1, 12, 0, tzinfo=SHANGHAI)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def govmatrix_side(base: str, boards: list[tuple[int, str]], since: datetime,
                         concurrency: int) -> dict[str, Any]:
    """Crawl the boards twice with fresh cursors: cold (the process's first crawl pays for loading
    Scrapy's components) and warm (a long-lived scheduler process crawling again)."""
    settings = ForumSettings(base_url=base, rate=1e9, concurrency=concurrency, max_thread_pages=10_000)
    seconds = []
    for _ in range(2):
        budget = Budget(0, concurrency)
        crawler = ForumCrawler(settings, budget)
        contexts = [CrawlContext(account=Account(id=n, platform="forum", native_id=user, name=user),
                                 options=ForumOptions(fid=fid), now=START, horizon=since)
                    for n, (fid, user) in enumerate(boards)]
        began = time.perf_counter()
        results = await asyncio.gather(*(crawler.crawl(ctx) for ctx in contexts))
        CleanPipeline().process_batch([p for r in results for p in r.posts])
        seconds.append(time.perf_counter() - began)
    posts = [p for r in results for p in r.posts]
    return {"seconds": seconds[1], "cold_seconds": seconds[0], "posts": len(posts),
            "threads": len({p.extra["tid"] for p in posts}), "requests": sum(budget.requests.values())}


def _shown_time(node: SelectorList[Selector]) -> datetime | None:
    text = node.css("span::attr(title)").get() or " ".join(node.xpath(".//text()").getall()).replace("发表于", "")
    return parse_chinese_time(" ".join(text.split()), START)


def baseline_side(base: str, fids: list[int], since: datetime) -> dict[str, Any]:
    """The naive crawler: one request after another, parsel on httpx's decoded text."""
    counts: Counter[str] = Counter()
    tids: list[str] = []
    began = time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for fid in fids:
            for page in range(1, 1000):
                doc = Selector(text=client.get(f"{base}/forum.php?mod=forumdisplay&fid={fid}&page={page}").text)
                counts["requests"] += 1
                rows = doc.css("tbody[id^=normalthread_], tbody[id^=stickthread_]")
                fresh = [r for r in rows if (_shown_time(r.css("td.by")[1].css("em")) or START) >= since]
                tids += [r.attrib["id"].split("_")[1] for r in fresh]
                if len(fresh) < len([r for r in rows if r.attrib["id"].startswith("normalthread_")]) \
                        or not doc.css("div.pg a.nxt"):
                    break
        for tid in tids:
            for page in range(1, 1000):
                doc = Selector(text=client.get(f"{base}/forum.php?mod=viewthread&tid={tid}&page={page}").text)
                counts["requests"] += 1
                for post in doc.xpath("//div[@id='postlist']/div[starts-with(@id, 'post_')]"):
                    pid = post.attrib["id"].removeprefix("post_")
                    author = post.css("div.authi a.xw1::text").get()
                    when = _shown_time(post.css(f"#authorposton{pid}"))
                    text = "".join(post.css(f"#postmessage_{pid}").xpath(".//text()").getall()).strip()
                    if author is not None and when is not None and when >= since and text is not None:
                        counts["posts"] += 1
                if not doc.css("div.pg a.nxt"):
                    break
    return {"seconds": time.perf_counter() - began, "posts": counts["posts"], "threads": len(tids),
            "requests": counts["requests"]}


def phase(args: argparse.Namespace) -> None:
    boards = [(int(fid), str(user)) for fid, user in json.loads(args.boards)]
    since = datetime.fromisoformat(args.since)
    start_rss = rss_mb()
    if args.phase == "govmatrix":
        out = asyncio.run(govmatrix_side(args.base, boards, since, args.concurrency))
    else:
        out = baseline_side(args.base, [fid for fid, _ in boards], since)
    print(json.dumps({**out, "rss_start_mb": start_rss, "rss_peak_mb": rss_mb()}))


def serve(sandbox: Sandbox) -> tuple[uvicorn.Server, str]:
    """Serve the sandbox from a thread on a port uvicorn binds itself.

    Not SandboxServer: its pre-bound socket has protocol 0, so asyncio never sets TCP_NODELAY on
    the connections and every response waits about 40 ms for a delayed ACK.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn_config(sandbox.app, "127.0.0.1", port))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f"http://127.0.0.1:{port}/forum"


def run_side(side: str, base: str, boards: list[tuple[int, str]], since: datetime,
             concurrency: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--phase", side, "--base", base, "--boards",
                           json.dumps(boards), "--since", since.isoformat(), "--concurrency", str(concurrency)],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def report(latency_ms: int, ours: dict[str, Any], base: dict[str, Any]) -> None:
    for name, r in (("govmatrix", ours), ("baseline ", base)):
        print(f"latency {latency_ms:>3} ms  {name}: {r['threads']} threads, {r['posts']:,} posts "
              f"({r['posts'] / max(r['threads'], 1):.1f}/thread), {r['requests']:,} pages in {r['seconds']:.2f} s = "
              f"{r['posts'] / r['seconds']:,.0f} posts/s; peak RSS {r['rss_peak_mb']:.0f} MB "
              f"({r['rss_peak_mb'] - r['rss_start_mb']:+.0f} MB over its imports)")
    same = "same pages" if ours["requests"] == base["requests"] else "PAGES DIFFER"
    print(f"                govmatrix's first crawl in a fresh process (cold): {ours['cold_seconds']:.2f} s")
    print(f"                ratio {ours['posts'] / ours['seconds'] / (base['posts'] / base['seconds']):.2f}x "
          f"posts/s ({same})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--phase", choices=("govmatrix", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--boards", help=argparse.SUPPRESS)
    parser.add_argument("--since", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase(args)
        return
    sandbox = Sandbox(SandboxConfig(seed=1, start=START, forum_load_threads=args.threads))
    server, url = serve(sandbox)
    boards = [(LOAD_FID, LOAD_ACCOUNT)]
    since = sandbox.state.history_start - timedelta(days=1)  # whole boards
    run_side("baseline", url, boards, since, args.concurrency)  # warm-up: the sandbox builds threads lazily
    for latency in sorted({0, args.latency_ms}):
        sandbox.state.latency_ms = latency
        ours = run_side("govmatrix", url, boards, since, args.concurrency)
        base = run_side("baseline", url, boards, since, args.concurrency)
        report(latency, ours, base)
    server.should_exit = True


if __name__ == "__main__":
    main()
