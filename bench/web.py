"""Web benchmark: the micro-site's home page and JSON Feed at 32 concurrent clients, next to a static
file of the same bytes served by the same server in the same run; and the desk's feed page p95 on a
large store.

Builds the synthetic store of bench/matrix.py (N posts, default 1,000,000, from 1,000 accounts of 50
departments, SQLite file in WAL mode), approves 2 % of the posts and pins 3, then serves the web app
with uvicorn (one process, one worker) with one extra static folder holding the bytes the app
answered for ``/`` and ``/feed.json``. 32 concurrent keep-alive clients (httpx, in this process)
request each URL for a fixed time; requests/s of the app next to the static file. Then a logged-in
reviewer loads the desk's queue (pending, alerts first, clusters once) 40 times with varied filters
(a department, a platform, a search word, the next page): p50/p95 in ms.

    python bench/web.py [--posts 1000000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from matrix import NOW, load  # noqa: E402

from govmatrix.storage.db import make_engine, migrate  # noqa: E402
from govmatrix.storage.repo import Repo  # noqa: E402
from govmatrix.web.auth import hash_password  # noqa: E402

CLIENTS = 32
PASSWORD = "bench-password"


def serve(db: str, port: int, static: str) -> None:
    """The child process: the app over the store, plus /bench-static/ (the same server)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from govmatrix.clock import Clock
    from govmatrix.config import load_settings
    from govmatrix.web.app import create_app

    config = Path(static).parent / "settings.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    settings = load_settings(config, env={})
    web = create_app(settings, Repo.open(settings.storage.url), Clock(fixed=NOW), secret="bench")
    app = Starlette(routes=[Mount("/bench-static", StaticFiles(directory=static)), Mount("/", web)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def prepare(db: str, total: int) -> None:
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    repo = Repo(engine)
    seconds = load(repo, total)
    print(f"loaded {total:,} posts in {seconds:.0f} s", file=sys.stderr)
    with engine.begin() as conn:
        conn.execute(text("UPDATE posts SET review_state = 'approved' WHERE id % 50 = 0"))
        conn.execute(text("UPDATE posts SET review_state = 'pinned' WHERE id IN (SELECT id FROM posts WHERE id % 50 = 0 "
                          "ORDER BY published_at DESC LIMIT 3)"))
    repo.users.add("reviewer", "reviewer", hash_password(PASSWORD), NOW)
    engine.dispose()


async def hammer(url: str, seconds: float) -> tuple[float, int]:
    """Requests/s of CLIENTS concurrent clients asking for ``url`` for ``seconds``; and the body size."""
    done, size = 0, 0
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        first = await client.get(url)
        assert first.status_code == 200, (url, first.status_code)
        size = len(first.content)
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                answer = await client.get(url)
                assert answer.status_code == 200
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        return done / (time.perf_counter() - started), size


def desk_p95(base: str) -> tuple[float, float]:
    r = random.Random(3)
    with httpx.Client(base_url=base, timeout=60) as client:
        page = client.get("/desk/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        client.post("/desk/login", data={"name": "reviewer", "password": PASSWORD, "csrf": csrf[1]})
        queries = [{}, {"department": f"第{r.randrange(50)}局"}, {"platform": "wechat"}, {"q": "食品"},
                   {"q": "疫苗", "platform": "weibo"}, {"state": "approved"}, {"order": "newest"}, {"alerts": "1"}]
        times = []
        for n in range(40):
            params = dict(queries[n % len(queries)])
            started = time.perf_counter()
            answer = client.get("/desk/", params=params)
            assert answer.status_code == 200, answer.text[:200]
            more = re.search(r'<a href="(/desk/\?[^"]+after=[^"]+)">下一页', answer.text)
            if more and n % 2:
                assert client.get(more[1].replace("&amp;", "&")).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", nargs=3, metavar=("DB", "PORT", "STATIC"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.serve[2])
        return
    with tempfile.TemporaryDirectory() as tmp:
        db, static = f"{tmp}/web.db", Path(tmp) / "static"
        static.mkdir()
        prepare(db, args.posts)
        port = 8790 + os.getpid() % 100
        child = subprocess.Popen([sys.executable, __file__, "--serve", db, str(port), str(static)])
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                if child.poll() is not None:
                    raise SystemExit("the web app did not start")
                try:
                    httpx.get(base + "/static/site.css")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            (static / "home.html").write_bytes(httpx.get(base + "/").content)
            (static / "feed.json").write_bytes(httpx.get(base + "/feed.json").content)
            print(f"\nmicro-site at {CLIENTS} concurrent clients, {args.seconds:g} s each, {args.posts:,} posts:")
            for name, path, same in (("home page", "/", "/bench-static/home.html"),
                                     ("JSON Feed", "/feed.json", "/bench-static/feed.json")):
                ours, size = asyncio.run(hammer(base + path, args.seconds))
                static_rate, static_size = asyncio.run(hammer(base + same, args.seconds))
                print(f"  {name:10} {ours:8,.0f} req/s   static file of the same {size:,} bytes "
                      f"{static_rate:8,.0f} req/s   ({ours / static_rate:.2f}x)")
                assert size == static_size
            p50, p95 = desk_p95(base)
            print(f"\ndesk feed page (logged in, 40 loads, varied filters): p50 {p50:.0f} ms, p95 {p95:.0f} ms")
        finally:
            child.terminate()
            child.wait(timeout=10)


if __name__ == "__main__":
    main()
