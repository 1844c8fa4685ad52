"""A careless operator: every start-up problem is one line and exit 2; a store that cannot be written
mid-pass is one line and exit 1, and nothing is lost once it can be written again; secrets and
passwords never printed; processes exit cleanly."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from govmatrix.cli import main
from tests.conftest import PG_URL

from .conftest import Hostile, one_account
from .test_garbage import NEWS, rss

BASE = '[[departments]]\nname = "示例市政府"\nshort_name = "市政府"\n'


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def settings(tmp_path: Path, text: str = BASE) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_settings_not_in_utf8_and_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(BASE.encode("gbk"))
    assert main(["--config", str(path), "status"]) == 2
    assert re.search(r": not UTF-8 text \(byte \d+\); save the file as UTF-8$", one_line(capsys))
    assert main(["--config", str(tmp_path), "status"]) == 2
    assert one_line(capsys) == f"{tmp_path}: is a folder, not a settings file"


def test_a_byte_order_mark_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", f"sqlite:///{tmp_path / 'g.db'}")
    assert main(["--config", str(path), "init"]) == 0


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://root@localhost/gov", "storage.url: unsupported database 'mysql' (use sqlite:///FILE or postgresql+psycopg://...)"),
    ("this is no url", "storage.url: not a usable database URL"),
])
def test_unusable_database_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                url: str, message: str) -> None:
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", url)
    assert main(["--config", str(settings(tmp_path)), "status"]) == 2
    assert one_line(capsys).startswith(message)


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such database; run `govmatrix init`"),
    (b"", "the database is not initialised; run `govmatrix init`"),
    (b"PK\x03\x04 a spreadsheet, not a database" * 100, "is not a govmatrix database (not SQLite)"),
])
def test_a_database_missing_empty_or_of_another_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str], content: bytes | None,
                                                     message: str) -> None:
    db = tmp_path / "g.db"
    if content is not None:
        db.write_bytes(content)
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", f"sqlite:///{db}")
    for command in ("status", "crawl"):
        assert main(["--config", str(settings(tmp_path)), command]) == 2
        assert message in one_line(capsys)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs of our own, for a full or read-only disk; skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4M", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}): needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_read_only_database_is_one_line(tmpfs: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", f"sqlite:///{tmpfs / 'g.db'}")
    config = settings(tmpfs.parent)
    subprocess.run([sys.executable, "-m", "govmatrix.cli", "--config", str(config), "init"], check=True,
                   capture_output=True)  # in a process of its own, which lets go of the file
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    capsys.readouterr()
    assert main(["--config", str(config), "crawl"]) == 2
    assert one_line(capsys) == f"{tmpfs / 'g.db'} is read-only (the file or its folder); govmatrix must write it"
    assert main(["--config", str(config), "status"]) == 2  # SQLite in WAL mode cannot even read there
    assert one_line(capsys) == f"{tmpfs / 'g.db'} is on a read-only disk or folder (SQLite writes its journal beside it)"


def feed_account(tmp_path: Path, hostile: Hostile, db: Path, monkeypatch: pytest.MonkeyPatch, count: int = 3) -> Path:
    titles = [f"{NEWS[n % 3]}（第{n}期）" for n in range(count)]
    body = rss(titles).replace("</description>", "</description>" if count < 10 else "。" * 300 + "</description>")
    hostile.routes["/feed.xml"] = lambda r: r.answer(200, body.encode(), {"Content-Type": "application/rss+xml"})
    one = one_account(tmp_path, hostile, "feeds", f"sqlite:///{db}", monkeypatch=monkeypatch)
    text = one.config.read_text(encoding="utf-8").replace("[platforms.feeds]", "[storage]\nbusy_timeout = 0.5\n\n"
                                                          "[platforms.feeds]")
    one.config.write_text(text, encoding="utf-8")
    return one.config


def stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])


def test_a_locked_database_stops_the_pass_in_one_line_and_loses_nothing(hostile: Hostile, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "g.db"
    config = feed_account(tmp_path, hostile, db, monkeypatch)
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process writing, and not letting go
    capsys.readouterr()
    try:
        assert main(["--config", str(config), "--now", "2024-07-03T12:00", "crawl", "--all"]) == 1
        assert one_line(capsys) == "error: database is locked by another process"
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert main(["--config", str(config), "--now", "2024-07-03T12:30", "crawl", "--all"]) == 0
    assert stored(db) == 3


def test_a_full_disk_stops_the_pass_in_one_line_and_loses_nothing(hostile: Hostile, tmpfs: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = tmpfs / "g.db"
    config = feed_account(tmpfs.parent, hostile, db, monkeypatch, count=150)
    filler = tmpfs / "filler"
    free = os.statvfs(tmpfs).f_bavail * os.statvfs(tmpfs).f_frsize
    filler.write_bytes(b"\0" * (free - 64 * 1024))
    capsys.readouterr()
    assert main(["--config", str(config), "--now", "2024-07-03T12:00", "crawl", "--all"]) == 1
    assert one_line(capsys) == f"error: no space left on the device holding {db}"
    filler.unlink()  # space is back
    assert main(["--config", str(config), "--now", "2024-07-03T12:30", "crawl", "--all"]) == 0
    assert stored(db) == 150


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL tests need GOVMATRIX_TEST_DATABASE_URL (set by .ci/run)")
def test_a_database_password_is_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import pg_schema_url

    with pg_schema_url() as url:
        secret_url = url.replace("postgres@", "postgres:hunter2-password@")  # trust auth ignores it
        monkeypatch.setenv("GOVMATRIX_DATABASE_URL", secret_url)
        config = settings(tmp_path)
        assert main(["--config", str(config), "status"]) == 2
        assert main(["--config", str(config), "init"]) == 0
        out = capsys.readouterr()
        assert "hunter2" not in out.out + out.err and "***" in out.out


def test_crawl_says_who_waits_in_back_off(hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    config = feed_account(tmp_path, hostile, tmp_path / "g.db", monkeypatch)
    hostile.routes["/feed.xml"] = lambda r: r.answer(503, b"busy")
    assert main(["--config", str(config), "--now", "2024-07-03T12:00", "crawl"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "--now", "2024-07-03T12:01", "crawl"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no account is due; 1 accounts are in back-off after errors (the first until 2024-07-03 ")
    assert "`govmatrix crawl --all` crawls them now" in out


def test_a_crawl_exits_cleanly(hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "g.db"
    config = feed_account(tmp_path, hostile, db, monkeypatch)
    env = {**os.environ, "GOVMATRIX_DATABASE_URL": f"sqlite:///{db}"}
    done = subprocess.run([sys.executable, "-m", "govmatrix.cli", "--config", str(config), "-v", "--now",
                           "2024-07-03T12:00", "crawl", "--all"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for noise in ("Unclosed client session", "Unclosed connector", "Task was destroyed", "Traceback"):
        assert noise not in done.stderr
    assert "+08:00 " in done.stderr  # log lines carry the time status shows
    assert "total: 1 accounts, 3 new posts" in done.stdout


def test_crawl_refuses_while_a_scheduler_holds_the_sqlite_database(hostile: Hostile, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from govmatrix.scheduler import sqlite_lock

    db = tmp_path / "g.db"
    config = feed_account(tmp_path, hostile, db, monkeypatch)
    held = sqlite_lock(f"sqlite:///{db}")
    capsys.readouterr()
    try:
        assert main(["--config", str(config), "crawl", "--all"]) == 1
        assert "a `govmatrix run` (or another crawl) is using this SQLite database" in one_line(capsys)
    finally:
        assert held is not None
        held.close()
    assert stored(db) == 0
