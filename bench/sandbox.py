"""Benchmark: how fast the sandbox serves the Weibo timeline, next to static bytes from the same server.

The sandbox runs as its own process (``python -m govmatrix.sandbox``, one uvicorn worker, the
clock fixed); this process drives it over loopback with keep-alive connections from a few
threads, each request read to its last byte. Printed, for the same run and the same server:

- baseline: ``/_sandbox/static`` serving as many fixed bytes as a timeline page has;
- timeline (hot): the first page of 菏泽发布 again and again;
- timeline (catalogue): every page of every catalogue account in turn (``since_id`` paging);
- timeline (cold, --accounts 10000): first pages of synthetic accounts nobody asked for before,
  so each request generates the account's 120 days;
- the time to build a 10,000-account world, and the server's resident memory.

Target (issue 3): at least 1,000 timeline requests/s. Run: ``.venv/bin/python bench/sandbox.py``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

SECONDS = 4.0
CONNECTIONS = 4
PRESS = "2810374651"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def sandbox(*extra: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = _free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "govmatrix.sandbox", "--port", str(port), "--start",
                             "2016-04-01T12:00", "--seed", "1", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - started > 60:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.05)
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Connection:
    """One keep-alive HTTP/1.1 connection that reads each response to its last byte."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")

    def get(self, path: str) -> bytes:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        status = self.file.readline()
        length = 0
        while (line := self.file.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = self.file.read(length)
        if b" 200 " not in status:
            raise RuntimeError(f"{path}: {status!r}")
        return body

    def close(self) -> None:
        self.sock.close()


def drive(port: int, paths: list[str], seconds: float = SECONDS) -> tuple[float, float]:
    """(requests/s, MB/s) over ``seconds``, CONNECTIONS threads walking ``paths`` round-robin."""
    counts = [0] * CONNECTIONS
    volume = [0] * CONNECTIONS
    stop = time.perf_counter() + seconds

    def worker(n: int) -> None:
        conn = Connection(port)
        i = n
        while time.perf_counter() < stop:
            volume[n] += len(conn.get(paths[i % len(paths)]))
            counts[n] += 1
            i += CONNECTIONS
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return sum(counts) / elapsed, sum(volume) / elapsed / 1e6


def timeline(uid: str, since_id: int | None = None) -> str:
    params = {"type": "uid", "value": uid, "containerid": f"107603{uid}"}
    if since_id:
        params["since_id"] = str(since_id)
    return "/weibo/api/container/getIndex?" + urlencode(params)


def every_page(conn: Connection, uids: list[str]) -> list[str]:
    paths = []
    for uid in uids:
        path: str | None = timeline(uid)
        while path:
            paths.append(path)
            data = json.loads(conn.get(path))
            since = data.get("data", {}).get("cardlistInfo", {}).get("since_id") if data["ok"] == 1 else None
            path = timeline(uid, since) if since else None
    return paths


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    print(f"sandbox benchmark: {CONNECTIONS} keep-alive connections, {SECONDS:.0f} s per run, "
          f"{os.cpu_count()} cores shared by server and client")
    with sandbox() as (port, proc):
        conn = Connection(port)
        accounts = json.loads(conn.get("/_sandbox/accounts?platform=weibo"))
        page_size = len(conn.get(timeline(PRESS)))
        paths = every_page(conn, [a["native_id"] for a in accounts])
        conn.close()
        rows = [("baseline: static bytes, same server", drive(port, [f"/_sandbox/static?bytes={page_size}"])),
                ("timeline, hot (one page)", drive(port, [timeline(PRESS)])),
                (f"timeline, catalogue ({len(paths)} pages)", drive(port, paths))]
        print(f"\n{'what':<42} {'req/s':>8} {'MB/s':>7}   (a timeline page is {page_size:,} bytes)")
        for label, (rate, mbps) in rows:
            print(f"{label:<42} {rate:>8,.0f} {mbps:>7.1f}")
        baseline = rows[0][1][0]
        print(f"\ntimeline / baseline: hot {rows[1][1][0] / baseline:.2f}x, catalogue {rows[2][1][0] / baseline:.2f}x;"
              f" target >= 1,000 req/s: {'met' if min(r[1][0] for r in rows[1:]) >= 1000 else 'NOT met'}")
        print(f"server memory after the runs: {rss_mb(proc.pid):.0f} MB")
    started = time.perf_counter()
    with sandbox("--accounts", "10000") as (port, proc):
        ready = time.perf_counter() - started
        conn = Connection(port)
        synthetic = [a["native_id"] for a in json.loads(conn.get("/_sandbox/accounts?platform=weibo"))
                     if a["synthetic"]]
        memory = rss_mb(proc.pid)
        cold_started = time.perf_counter()
        for uid in synthetic[:1000]:
            conn.get(timeline(uid))
        cold = 1000 / (time.perf_counter() - cold_started)
        conn.close()
        print(f"\n--accounts 10000: process up and serving in {ready:.1f} s, {memory:.0f} MB before any request; "
              f"cold first pages (each generates an account): {cold:,.0f} req/s on one connection; "
              f"{rss_mb(proc.pid):.0f} MB after 1,000 accounts")


if __name__ == "__main__":
    main()
