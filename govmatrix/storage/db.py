"""Engines and migrations: SQLite (WAL, foreign keys, a busy timeout) by default, PostgreSQL for scale.

Database failures an operator meets (locked by another process, disk full, read-only, not a
database, unreachable, not initialised) are translated here into one ``StoreError`` line each,
at the edge, by an engine event: no SQLAlchemy traceback reaches the command line.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from govmatrix.errors import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT = 30.0  # seconds SQLite waits for another writer (the web app and the scheduler share the file)

# Words of driver messages -> what the operator is told.
_SQLITE_MESSAGES = (
    ("database is locked", "database is locked by another process"),
    ("database or disk is full", "no space left on the device holding {where}"),
    ("disk i/o error", "cannot write {where} (disk I/O error; is the disk full?)"),
    ("readonly database", "{where} is read-only"),
    ("file is not a database", "{where} is not a govmatrix database (not SQLite)"),
    ("unable to open database file", "cannot open {where} (missing folder or no permission)"),
)
_PG_MESSAGES = (
    ("no space left on device", "no space left on the device holding the database"),
    ("connection refused", "cannot reach the database server ({where})"),
    ("could not translate host name", "cannot reach the database server ({where})"),
    ("does not exist", "{detail}"),
    ("password authentication failed", "the database refused the login ({where})"),
    ("read-only transaction", "the database is read-only ({where})"),
)


def redacted(url: str) -> str:
    """A database URL safe to print: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<malformed database URL>"


def make_engine(url: str, *, busy_timeout: float = BUSY_TIMEOUT, **kwargs: Any) -> Engine:
    """An engine for ``url``; a malformed or unsupported URL is a StoreError naming it."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise StoreError(f"storage.url: unsupported database {parsed.get_backend_name()!r} "
                             "(use sqlite:///FILE or postgresql+psycopg://...)")
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": busy_timeout}, **kwargs)
            event.listen(engine, "connect", lambda conn, _: _sqlite_pragmas(conn, busy_timeout))
        else:
            engine = create_engine(parsed, pool_pre_ping=True, **kwargs)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise StoreError(f"storage.url: not a usable database URL {redacted(url)!r} ({exc})") from None
    where = parsed.database or redacted(url)
    event.listen(engine, "handle_error", lambda context: _translate(context, where, engine.dialect.name))
    return engine


def _sqlite_pragmas(dbapi_conn: Any, busy_timeout: float) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _translate(context: ExceptionContext, where: str, dialect: str) -> None:
    """Raise a StoreError for the failures an operator can act on; leave the others (bugs) alone."""
    original = context.original_exception
    text = str(original).lower()
    table = _SQLITE_MESSAGES if dialect == "sqlite" else _PG_MESSAGES
    if dialect == "sqlite" and not isinstance(original, sqlite3.OperationalError | sqlite3.DatabaseError):
        return
    if dialect != "sqlite" and type(original).__name__ not in ("OperationalError", "ReadOnlySqlTransaction",
                                                                "DiskFull", "InvalidCatalogName"):
        return
    for words, message in table:
        if words in text:
            if words == "unable to open database file" and _read_only_place(where):
                message = "{where} is on a read-only disk or folder (SQLite writes its journal beside it)"
            raise StoreError(message.format(where=where, detail=str(original).strip().splitlines()[0])) from None


def _read_only_place(where: str) -> bool:
    import os

    path = Path(where)
    return path.is_file() and not os.access(path.parent, os.W_OK)


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def check_initialised(engine: Engine, url: str) -> None:
    """StoreError unless the database exists and has the newest schema."""
    if engine.dialect.name == "sqlite":
        database = make_url(url).database
        if database and database != ":memory:" and not Path(database).is_file():
            raise StoreError(f"{database}: no such database; run `govmatrix init`")
    revision = current_revision(engine)
    if revision != head_revision():
        state = "not initialised" if revision is None else f"at schema {revision}, not {head_revision()}"
        raise StoreError(f"{redacted(url)}: the database is {state}; run `govmatrix init`")


def check_writable(url: str) -> None:
    """StoreError when a SQLite database (and the folder its journal lives in) cannot be written."""
    import os

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    path = Path(parsed.database)
    if path.is_file() and not (os.access(path, os.W_OK) and os.access(path.parent.resolve(), os.W_OK)):
        raise StoreError(f"{path} is read-only (the file or its folder); govmatrix must write it")


def migrate(engine: Engine) -> bool:
    """Upgrade the database to the newest schema. Returns True when anything was applied."""
    if current_revision(engine) == head_revision():
        return False
    command.upgrade(_alembic_config(engine), "head")
    return True
