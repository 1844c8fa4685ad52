"""Weibo crawl benchmark: govmatrix's crawler against a plain sequential httpx loop, same pages.

Crawls N synthetic sandbox Weibo accounts (politeness off) into a fresh SQLite store, recording
every URL it requested; the baseline then fetches exactly those URLs one after another with a plain
httpx.Client, without parsing or storing. Run once without and once with added latency per
response (the sandbox's --latency-ms), in a sandbox process of its own.

    python bench/crawl_weibo.py [--accounts 2000] [--latency-ms 50] [--concurrency 8]

Targets: at least 0.8x the baseline's requests/s while parsing and storing everything; with 50 ms
of latency at least 5x the sequential baseline through concurrency; peak memory under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import sandbox_process, settings_file  # noqa: E402

from govmatrix.bootstrap import initialize  # noqa: E402
from govmatrix.clock import Clock  # noqa: E402
from govmatrix.config import Settings, load_settings  # noqa: E402
from govmatrix.refresh import CrawlerPool, refresh_many  # noqa: E402
from govmatrix.storage.repo import Repo  # noqa: E402
from govmatrix.tz import SHANGHAI  # noqa: E402

START = datetime(2016, 7, 1, 9, 0, tzinfo=SHANGHAI)


def settings_for(url: str, db: str, concurrency: int, ids: list[str], tmp: str) -> Settings:
    head = (f'[storage]\nurl = "{db}"\n\n[platforms.weibo]\nbase_url = "{url}/weibo"\nrate = 1e9\n'
            f"concurrency = {concurrency}\n")
    return load_settings(settings_file(Path(tmp) / "settings.toml", head, "weibo", ids), env={})


async def crawl_all(settings: Settings, repo: Repo, urls: list[str]) -> tuple[float, int]:
    """Crawl every account as `govmatrix crawl --all` does; returns (seconds, posts stored)."""
    pool = CrawlerPool(settings)
    pool.get("weibo").client.http.event_hooks["request"].append(_recorder(urls))  # type: ignore[attr-defined]
    accounts = repo.accounts.find(platform="weibo")
    began = time.perf_counter()
    outcomes = await refresh_many(accounts, repo, settings, Clock(fixed=START), pool=pool)
    seconds = time.perf_counter() - began
    await pool.aclose()
    failed = [o.error for o in outcomes if not o.ok]
    if failed:
        raise SystemExit(f"{len(failed)} accounts failed, first: {failed[0]}")
    return seconds, sum(o.counts.new for o in outcomes)


def _recorder(urls: list[str]) -> Any:
    async def record(request: httpx.Request) -> None:
        urls.append(str(request.url))
    return record


def sequential(urls: list[str]) -> float:
    began = time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for url in urls:
            client.get(url).raise_for_status()
    return time.perf_counter() - began


def run(accounts: int, latency_ms: int, concurrency: int, baseline_limit: int) -> None:
    with sandbox_process("--seed", "5", "--start", START.isoformat(), "--accounts", str(accounts + 100),
                         "--latency-ms", str(latency_ms)) as url, tempfile.TemporaryDirectory() as tmp:
        ids = [a["native_id"] for a in httpx.get(f"{url}/_sandbox/accounts?platform=weibo").json()][:accounts]
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = settings_for(url, db, concurrency, ids, tmp)
        repo, _ = initialize(settings, START)
        urls: list[str] = []
        seconds, posts = asyncio.run(crawl_all(settings, repo, urls))
        base_urls = urls[:baseline_limit]
        base_seconds = sequential(base_urls)
        ours_rps, base_rps = len(urls) / seconds, len(base_urls) / base_seconds
        print(f"latency {latency_ms:>3} ms: govmatrix {len(ids)} accounts, {posts:,} posts "
              f"({posts / len(ids):.1f}/account), {len(urls):,} requests in {seconds:.1f} s = "
              f"{posts / seconds:,.0f} posts/s, {ours_rps:,.0f} requests/s (concurrency {concurrency})")
        print(f"               baseline: sequential httpx, {len(base_urls):,} of the same requests in "
              f"{base_seconds:.1f} s = {base_rps:,.0f} requests/s")
        print(f"               ratio {ours_rps / base_rps:.2f}x")
        repo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    run(args.accounts, 0, args.concurrency, baseline_limit=10**9)
    if args.latency_ms:
        # sequential at 50 ms a request: a sample of the same requests is enough for its rate
        run(args.accounts, args.latency_ms, args.concurrency, baseline_limit=1000)
    print(f"peak memory (max RSS of the crawler process): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (target < 300 MB)")


if __name__ == "__main__":
    main()
