"""`govmatrix user` (passwords from stdin, never arguments), `govmatrix serve` as a process."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from govmatrix.clock import Clock
from govmatrix.errors import ConfigError
from govmatrix.storage.repo import Repo
from govmatrix.web.auth import password_ok
from govmatrix.web.commands import user_command

from .conftest import NOW


class Stdin(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_users_are_added_listed_disabled_and_given_a_new_password(repo: Repo,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock(fixed=NOW)
    assert user_command(repo, clock, "add", "zhang", "reviewer", ["市新闻办"], Stdin("s3cret-pass\n")) == 0
    user = repo.users.by_name("zhang")
    assert user is not None and user.departments == ("市新闻办",) and password_ok(user, "s3cret-pass")
    assert "s3cret" not in user.password_hash and user.password_hash.startswith("$argon2")
    with pytest.raises(ConfigError, match="at least 8"):
        user_command(repo, clock, "passwd", "zhang", None, [], Stdin("short\n"))
    with pytest.raises(ConfigError, match="unknown department"):
        user_command(repo, clock, "add", "li", "reviewer", ["市不存在局"], Stdin("long enough\n"))
    with pytest.raises(ConfigError, match="exists already"):
        user_command(repo, clock, "add", "zhang", "viewer", [], Stdin("long enough\n"))
    user_command(repo, clock, "passwd", "zhang", None, [], Stdin("another-pass\n"))
    user_command(repo, clock, "disable", "zhang", None, [], None)
    user_command(repo, clock, "list", None, None, [], None)
    out = capsys.readouterr().out
    assert "zhang\treviewer\t市新闻办\tdisabled" in out
    changed = repo.users.by_name("zhang")
    assert changed is not None and password_ok(changed, "another-pass") and not password_ok(changed, "s3cret-pass")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_on_its_three_parts_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "serve.db"
    config = tmp_path / "settings.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    env = {**os.environ, "GOVMATRIX_CONFIG": str(config)}
    env.pop("GOVMATRIX_DATABASE_URL", None)
    govmatrix = [sys.executable, "-m", "govmatrix.cli"]
    subprocess.run([*govmatrix, "init"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([*govmatrix, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        banner = server.stdout.readline() if server.stdout else ""
        assert f"http://127.0.0.1:{port}/desk/" in banner and "看板" in banner
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                home = httpx.get(base + "/")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert home.status_code == 200 and "暂无已发布的内容" in home.text
        assert httpx.get(base + "/desk/").status_code == 303
        assert httpx.get(base + "/openapi.json").json()["info"]["title"] == "govmatrix"
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
