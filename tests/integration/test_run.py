"""`govmatrix run` against the sandbox: simulated days, kill -9 and restart, SIGTERM, two schedulers."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from govmatrix.cli import main
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.storage import schema as t
from govmatrix.storage.db import make_engine
from govmatrix.tz import SHANGHAI

from ..conftest import PG_URL, pg_schema_url
from .conftest import sandbox_settings
from .test_weibo_sandbox import stored_posts, truth_posts

START = datetime(2016, 7, 1, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=23, start=START)) as server:
        yield server


def run_settings(tmp_path: Path, sandbox: SandboxServer) -> Path:
    path = sandbox_settings(tmp_path, sandbox.url)
    text = re.sub(r"(?m)^min_interval = .*$", "min_interval = 60", path.read_text(encoding="utf-8"))
    text = re.sub(r"(?m)^max_interval = .*$", "max_interval = 3600", text)
    path.write_text(text, encoding="utf-8")
    return path


def start_run(config: Path, db_url: str, sandbox: SandboxServer) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GOVMATRIX_DATABASE_URL": db_url, "GOVMATRIX_SANDBOX_URL": sandbox.url}
    return subprocess.Popen([sys.executable, "-m", "govmatrix.cli", "--config", str(config), "--now", "sandbox",
                             "run", "--tick", "0.2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def weibo_state(db_url: str) -> list[tuple[str, datetime | None, int, str | None]]:
    engine = make_engine(db_url)
    a = t.accounts.c
    with engine.connect() as conn:
        rows = conn.execute(select(a.native_id, a.next_check_at, a.error_count, a.lease_owner, a.last_error).where(
            a.platform == "weibo", a.enabled.is_(True))).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def wait_quiet(db_url: str, sandbox: SandboxServer, timeout: float = 60) -> None:
    """Until no Weibo account is due or leased at the sandbox's now."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = sandbox.state.now
        state = weibo_state(db_url)
        if all(nxt is not None and nxt > now and lease is None for _, nxt, _, lease, *_ in state):
            return
        time.sleep(0.2)
    raise AssertionError(f"the scheduler did not catch up: {weibo_state(db_url)}")


def advance(sandbox: SandboxServer, seconds: int) -> None:
    httpx.post(f"{sandbox.url}/_sandbox/clock", json={"advance_seconds": seconds}).raise_for_status()


def test_days_with_flaky_faults_and_two_kills(sandbox: SandboxServer, tmp_path: Path, db_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", db_url)
    config = run_settings(tmp_path, sandbox)
    assert main(["--config", str(config), "init"]) == 0
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"faults": "flaky", "stall_seconds": 0.3}).raise_for_status()
    rng = random.Random(5)
    proc = start_run(config, db_url, sandbox)
    try:
        for day in range(4):
            if day:
                advance(sandbox, 86_400)
            if day in (1, 2):  # kill -9 at a random moment of the day's crawl, then restart
                time.sleep(rng.uniform(0.1, 1.5))
                proc.kill()
                proc.wait()
                proc = start_run(config, db_url, sandbox)
            wait_quiet(db_url, sandbox)
        for _ in range(20):  # let every account that failed on the last day succeed
            if all(errors == 0 for _, _, errors, *_ in weibo_state(db_url)):
                break
            advance(sandbox, 3600)
            wait_quiet(db_url, sandbox)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    assert [s for s in weibo_state(db_url) if s[2]] == []
    assert sorted(stored_posts(db_url)) == sorted(truth_posts(sandbox, START - timedelta(days=30)))


def test_sigterm_stops_within_ten_seconds_and_releases_leases(sandbox: SandboxServer, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    db_url = f"sqlite:///{tmp_path / 'run.db'}"
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", db_url)
    config = run_settings(tmp_path, sandbox)
    assert main(["--config", str(config), "init"]) == 0
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"faults": "none", "latency_ms": 300}).raise_for_status()
    proc = start_run(config, db_url, sandbox)
    deadline = time.monotonic() + 30
    while not any(lease for _, _, _, lease, *_ in weibo_state(db_url)):  # crawls are in flight
        assert time.monotonic() < deadline and proc.poll() is None, "the scheduler claimed nothing"
        time.sleep(0.1)
    time.sleep(0.5)  # every request takes 300 ms
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=12) == 0
    assert time.monotonic() - began < 10
    assert all(lease is None for _, _, _, lease, *_ in weibo_state(db_url))
    second = start_run(config, db_url, sandbox)  # and the database is free for the next scheduler
    time.sleep(1.0)
    assert second.poll() is None
    second.send_signal(signal.SIGTERM)
    second.wait(timeout=12)


def test_a_second_scheduler_on_sqlite_is_refused(sandbox: SandboxServer, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    db_url = f"sqlite:///{tmp_path / 'run.db'}"
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", db_url)
    config = run_settings(tmp_path, sandbox)
    assert main(["--config", str(config), "init"]) == 0
    first = start_run(config, db_url, sandbox)
    try:
        time.sleep(1.0)
        second = start_run(config, db_url, sandbox)
        assert second.wait(timeout=20) == 1
        assert second.stderr is not None and b"another `govmatrix run` already uses this SQLite" in second.stderr.read()
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=15)


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL tests need GOVMATRIX_TEST_DATABASE_URL (set by .ci/run)")
def test_two_schedulers_on_postgresql_crawl_each_account_once(sandbox: SandboxServer, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with pg_schema_url() as db_url:
        monkeypatch.setenv("GOVMATRIX_DATABASE_URL", db_url)
        config = run_settings(tmp_path, sandbox)
        assert main(["--config", str(config), "init"]) == 0
        procs = [start_run(config, db_url, sandbox) for _ in range(2)]
        try:
            for day in range(3):
                if day:
                    advance(sandbox, 86_400)
                before = sandbox.state.requests["weibo.profile"]
                wait_quiet(db_url, sandbox)
                crawled = sandbox.state.requests["weibo.profile"] - before
                assert crawled == len(weibo_state(db_url)), f"day {day}: {crawled} profile requests"
            engine = make_engine(db_url)
            with engine.connect() as conn:
                runs = conn.execute(select(func.count(t.crawl_runs.c.id)).join(
                    t.accounts, t.crawl_runs.c.account_id == t.accounts.c.id).where(
                    t.accounts.c.platform == "weibo")).scalar_one()
            engine.dispose()
            assert runs == 3 * len(weibo_state(db_url))
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=15)
