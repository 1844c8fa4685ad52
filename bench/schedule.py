"""Scheduler benchmark: one `govmatrix run` against two sharing one PostgreSQL, on N sandbox accounts.

Every account is due once; the benchmark measures how long the scheduler processes take until every
account has been refreshed, and the CPU time they used (user + system, from the kernel's accounting
of the child processes). The sandbox runs in its own process.

    python bench/schedule.py [--accounts 10000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import fresh_pg_schema, sandbox_process, settings_file  # noqa: E402

from govmatrix.storage import schema as t  # noqa: E402
from govmatrix.storage.db import make_engine  # noqa: E402
from govmatrix.tz import SHANGHAI  # noqa: E402

START = datetime(2016, 7, 1, 9, 0, tzinfo=SHANGHAI)
SETTINGS = """
[scheduler]
min_interval = 3600
max_interval = 86400

[platforms.weibo]
base_url = "{url}/weibo"
rate = 1000000
concurrency = 16
horizon_days = 2
"""


def refreshed(db: str) -> int:
    engine = make_engine(db)
    with engine.connect() as conn:
        done = conn.execute(select(func.count()).select_from(t.accounts).where(
            t.accounts.c.last_success_at.is_not(None) | (t.accounts.c.error_count > 0))).scalar_one()
    engine.dispose()
    return int(done)


def measure(workers: int, ids: list[str], url: str, pg: str, tmp: Path) -> tuple[float, float]:
    """Seconds until every account was refreshed, and CPU seconds of the scheduler processes."""
    db = fresh_pg_schema(pg, "bench_schedule")
    config = settings_file(tmp / "settings.toml", SETTINGS.format(url=url), "weibo", ids)
    env = {**os.environ, "GOVMATRIX_DATABASE_URL": db}
    subprocess.run([sys.executable, "-m", "govmatrix.cli", "--config", str(config), "init"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    command = [sys.executable, "-m", "govmatrix.cli", "--config", str(config), "--now", START.isoformat(),
               "run", "--tick", "0.2"]
    began = time.perf_counter()
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(workers)]
    while refreshed(db) < len(ids):
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a scheduler exited early")
        time.sleep(0.2)
    seconds = time.perf_counter() - began
    cpu = 0.0
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        _, _, usage = os.wait4(proc.pid, 0)
        cpu += usage.ru_utime + usage.ru_stime
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--pg", default=os.environ.get("GOVMATRIX_TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    if not args.pg:
        raise SystemExit("give --pg URL or set GOVMATRIX_TEST_DATABASE_URL: several schedulers need PostgreSQL")
    with sandbox_process("--seed", "5", "--start", START.isoformat(), "--accounts", str(args.accounts + 100)) as url, \
            tempfile.TemporaryDirectory() as tmp:
        ids = [a["native_id"] for a in httpx.get(f"{url}/_sandbox/accounts?platform=weibo").json()][:args.accounts]
        print(f"scheduler benchmark: {len(ids):,} sandbox Weibo accounts, each due once, PostgreSQL")
        for workers in (1, 2):
            seconds, cpu = measure(workers, ids, url, args.pg, Path(tmp))
            print(f"{workers} scheduler{'s' if workers > 1 else ' '}: {len(ids) / seconds:8,.1f} accounts refreshed/s "
                  f"({seconds:.1f} s), CPU {1000 * cpu / len(ids):.1f} ms per refreshed account")
        fresh_pg_schema(args.pg, "bench_schedule")


if __name__ == "__main__":
    main()
