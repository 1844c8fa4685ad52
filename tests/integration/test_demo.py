"""`govmatrix demo`: starts the sandbox where the settings point, crawls simulated days, shows the store."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from govmatrix.cli import main
from govmatrix.config import load_settings
from govmatrix.storage.feed import FeedQuery
from govmatrix.storage.repo import Repo
from govmatrix.web.auth import password_ok

from .conftest import sandbox_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_crawls_every_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.chdir(tmp_path)  # the reports go to [reports] dir, relative to where govmatrix runs
    config = sandbox_settings(tmp_path, f"http://127.0.0.1:{free_port()}")
    assert main(["--config", str(config), "demo", "--days", "2", "--no-serve"]) == 0
    out = capsys.readouterr().out
    accounts = len(load_settings(config, require_secrets=False).accounts())
    assert f"2016-06-01: crawled {accounts} accounts" in out and f"2016-06-02: crawled {accounts} accounts" in out
    assert " 0 failed" in out and "failed\n    " not in out
    stored = next(line for line in out.splitlines() if line.startswith("posts stored:"))
    for platform in ("feeds", "forum", "wechat", "weibo"):
        assert platform in stored
    assert "菏泽发布" in out and "online exchanges on the forum:" in out
    assert "admin / " in out and "reviewer / " in out  # the demo users, passwords shown once
    repo = Repo.open(f"sqlite:///{tmp_path / 'demo.db'}")
    admin = repo.users.by_name("admin")
    password = out.split("admin / ", 1)[1].split()[0]
    assert admin is not None and admin.role == "admin" and password_ok(admin, password)
    public = repo.feed.page(FeedQuery(public=True, limit=100))
    assert len(public) >= 10 and sum(r["review_state"] == "pinned" for r in public) == 2
    repo.close()
    assert "the monthly report of 2016-06 so far: reports/matrix-2016-06.xlsx, reports/matrix-2016-06.html" in out
    assert (tmp_path / "reports" / "matrix-2016-06.xlsx").stat().st_size > 5000


def test_demo_refuses_settings_not_pointing_at_a_local_sandbox(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = sandbox_settings(tmp_path, "https://m.weibo.cn")
    assert main(["--config", str(config), "demo"]) == 2
    assert "platforms.weibo.base_url: the demo needs the sandbox" in capsys.readouterr().err
