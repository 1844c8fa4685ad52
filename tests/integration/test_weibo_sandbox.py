"""The Weibo crawler against the sandbox: the store equals the truth, incremental crawls, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from govmatrix.bootstrap import open_repo
from govmatrix.cli import main
from govmatrix.clock import Clock
from govmatrix.config import load_settings
from govmatrix.refresh import refresh_many
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.storage import schema as t
from govmatrix.storage.db import make_engine
from govmatrix.tz import SHANGHAI

from .conftest import sandbox_settings

START = datetime(2016, 7, 1, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=11, start=START)) as server:
        yield server


def stored_posts(db_url: str) -> list[tuple[str, str, str, datetime]]:
    engine = make_engine(db_url)
    p, a = t.posts.c, t.accounts.c
    with engine.connect() as conn:
        rows = conn.execute(select(a.native_id, p.native_id, p.text, p.published_at).join(
            t.accounts, p.account_id == a.id).where(p.platform == "weibo")).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def truth_posts(sandbox: SandboxServer, since: datetime) -> list[tuple[str, str, str, datetime]]:
    truth = sandbox.truth(platforms=["weibo"], since=since)
    return [(p["account"], p["native_id"], p["text"], datetime.fromisoformat(p["published_at"]))
            for p in truth["posts"]]


def hostile(sandbox: SandboxServer) -> None:
    """Hostile faults, with stalls and slow answers short enough for a test."""
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"faults": "hostile", "stall_seconds": 0.3,
                                                       "slow_seconds": 0.2}).raise_for_status()


def crawl(config: Path, now: datetime, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["--config", str(config), "--now", now.isoformat(), "crawl", "--all", "--platform", "weibo"]) == 0
    return capsys.readouterr().out


def test_store_equals_truth_then_only_new_posts(sandbox: SandboxServer, tmp_path: Path, db_url: str,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", db_url)
    config = sandbox_settings(tmp_path, sandbox.url)
    assert main(["--config", str(config), "init"]) == 0
    out = crawl(config, START, capsys)
    assert "0 failed" in out

    horizon = START - timedelta(days=30)
    expected = truth_posts(sandbox, horizon)
    stored = stored_posts(db_url)
    assert sorted(stored) == sorted(expected)
    assert len(expected) > 100
    # what was fetched, not what the unique constraint allowed: every post of the truth came in once
    assert f" {len(expected)} new posts, 0 updated" in out

    second = crawl(config, START, capsys)
    assert " 0 new posts" in second and sorted(stored_posts(db_url)) == sorted(stored)

    later = START + timedelta(days=1)
    httpx.post(f"{sandbox.url}/_sandbox/clock", json={"now": later.isoformat()})
    before = dict(sandbox.state.requests)
    crawl(config, later, capsys)
    new = [p for p in truth_posts(sandbox, START) if p[3] > START]
    assert new, "the sandbox posted nothing in a day"
    assert sorted(stored_posts(db_url)) == sorted(truth_posts(sandbox, horizon))
    made = {k: v - before.get(k, 0) for k, v in sandbox.state.requests.items() if k.startswith("weibo.")}
    accounts = len({p[0] for p in expected})
    # one profile and one timeline page per account (a day's posts fit on the first page), plus the
    # long texts of the new posts: nothing already stored is fetched again
    assert made.get("weibo.profile", 0) == made.get("weibo.timeline", 0) >= accounts
    assert made.get("weibo.timeline", 0) <= accounts + sum(1 for _ in new) // 10


def test_hostile_platform_loses_and_duplicates_nothing(sandbox: SandboxServer, tmp_path: Path, db_url: str,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", db_url)
    config = sandbox_settings(tmp_path, sandbox.url)
    assert main(["--config", str(config), "init"]) == 0
    hostile(sandbox)
    settings = load_settings(config)
    repo = open_repo(settings)
    pending = repo.accounts.find(platform="weibo", enabled_only=True)
    errors: list[str] = []
    for _ in range(40):
        outcomes = asyncio.run(refresh_many(pending, repo, settings, Clock(fixed=START)))
        errors += [o.error or "" for o in outcomes if not o.ok]
        pending = [o.account for o in outcomes if not o.ok]
        if not pending:
            break
    assert not pending, f"still failing after 40 passes: {[a.label for a in pending]}"
    assert errors, "the hostile profile produced no error at all"
    assert any("rate limited (HTTP 418)" in e or "HTTP 432" in e or "captcha" in e for e in errors)
    stored = stored_posts(db_url)
    assert sorted(stored) == sorted(truth_posts(sandbox, START - timedelta(days=30)))
    repo.engine.dispose()


def test_errors_are_visible_in_status(sandbox: SandboxServer, tmp_path: Path, db_url: str,
                                      monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", db_url)
    config = sandbox_settings(tmp_path, sandbox.url)
    assert main(["--config", str(config), "init"]) == 0
    hostile(sandbox)
    for _ in range(3):
        crawl(config, START, capsys)
    failing = [a for a in open_repo(load_settings(config)).accounts.find(platform="weibo") if a.error_count]
    assert failing, "three hostile passes left no account failing"
    assert main(["--config", str(config), "--now", START.isoformat(), "status"]) == 0
    out = capsys.readouterr().out
    for account in failing:
        [line] = [row for row in out.splitlines() if f" {account.native_id} " in row]
        assert "back-off" in line and (account.last_error or "")[:30].split(": ", 1)[-1][:20] in line
