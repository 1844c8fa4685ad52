"""On SQLite the web app and a crawl share the database: a review action waits for a writer (WAL and
the busy timeout) instead of failing, and readers are never blocked by it."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from govmatrix.storage.repo import Repo

from .conftest import Browser


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shared.db'}"


def test_a_review_waits_for_a_crawl_that_is_writing(client: Browser, repo: Repo, items: dict[str, int],
                                                    db_url: str) -> None:
    assert client.login("reviewer") == 303
    writer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # what a crawl's bulk upsert holds while it writes
    writer.execute("UPDATE accounts SET error_count = error_count")
    holding = threading.Event()

    def release() -> None:
        holding.set()
        time.sleep(1.0)
        writer.execute("COMMIT")

    thread = threading.Thread(target=release)
    thread.start()
    holding.wait()
    assert client.get("/desk/").status_code == 200  # reading goes on during the write (WAL)
    answer = client.act("approve", items["vaccine"])
    thread.join()
    writer.close()
    assert answer.status_code == 303  # type: ignore[attr-defined]
    row = repo.feed.one(items["vaccine"])
    assert row is not None and row["review_state"] == "approved"
