"""What the benchmarks share: the sandbox in a process of its own, and a fresh PostgreSQL schema."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text

from govmatrix.storage.db import make_engine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def sandbox_process(*args: str) -> Iterator[str]:
    """Start ``python -m govmatrix.sandbox ARGS`` on a free port; yield its URL; stop it afterwards."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "govmatrix.sandbox", "--port", str(port), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/_sandbox/clock", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None:
                    err = proc.stderr.read().decode() if proc.stderr else ''
                    raise RuntimeError(f"sandbox exited: {err}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def settings_file(path: Path, head: str, platform: str, ids: list[str]) -> Path:
    """A settings file: ``head`` and one department holding an account of ``platform`` per id
    (every command syncs the stored accounts from the settings)."""
    accounts = "".join(f'\n[[departments.accounts]]\nplatform = "{platform}"\nid = "{i}"\nname = "{i}"\n' for i in ids)
    path.write_text(f'{head}\n[[departments]]\nname = "bench"\nshort_name = "bench"\n{accounts}', encoding="utf-8")
    return path


def fresh_pg_schema(url: str, name: str) -> str:
    """Drop and create schema ``name``; return ``url`` with its search_path set to it."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {name}"))
    engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"
