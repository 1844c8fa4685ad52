"""Run the sandbox in its own process for benchmarks, so it does not share the crawler's interpreter."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


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
