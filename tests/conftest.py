"""Shared fixtures: a database on SQLite and, when GOVMATRIX_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from govmatrix.storage.db import make_engine, migrate
from govmatrix.storage.repo import Repo

PG_URL = os.environ.get("GOVMATRIX_TEST_DATABASE_URL", "")
ROOT = Path(__file__).resolve().parent.parent

SANDBOX_SECRETS = {name: "sandbox-secret" for name in (
    "WECHAT_SECRET_HZFB", "WECHAT_SECRET_HZSYJ", "WECHAT_SECRET_HZHB", "WECHAT_SECRET_HZJY")}


@pytest.fixture(autouse=True)
def _sandbox_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SANDBOX_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GOVMATRIX_DATABASE_URL", raising=False)
    monkeypatch.delenv("GOVMATRIX_CONFIG", raising=False)


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """A fresh schema in the test database, so parallel runs never see each other's rows."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL on each backend (PostgreSQL only when GOVMATRIX_TEST_DATABASE_URL is set)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need GOVMATRIX_TEST_DATABASE_URL (set by .ci/run)")
    with pg_schema_url() as url:
        yield url


@pytest.fixture
def repo(db_url: str) -> Iterator[Repo]:
    """A migrated, empty store on each backend; a module that needs accounts overrides it and syncs them."""
    engine = make_engine(db_url)
    migrate(engine)
    yield Repo(engine)
    engine.dispose()
