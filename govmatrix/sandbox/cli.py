"""``govmatrix sandbox``: serve the simulated city on loopback (also ``python -m govmatrix.sandbox``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime

from starlette.routing import Mount

from govmatrix.sandbox.app import Sandbox, SandboxConfig, serve
from govmatrix.sandbox.forum_load import LOAD_ACCOUNT, LOAD_FID, MAX_LOAD_THREADS, POSTS_PER_THREAD
from govmatrix.sandbox.state import FAULT_PROFILES, SHANGHAI
from govmatrix.sandbox.weibo_posts import MAX_ACCOUNTS


def _start(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 date or time, got {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


def _natural(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=_natural, default=8700, help="port (default: 8700)")
    parser.add_argument("--seed", type=_natural, default=1, help="the world's seed (default: 1)")
    parser.add_argument("--start", type=_start, metavar="DATE",
                        help="fix the clock at this date or time (Asia/Shanghai if no offset), e.g. 2016-04-01; "
                             "default: follow the system clock")
    parser.add_argument("--faults", choices=FAULT_PROFILES, default="none", help="fault profile (default: none)")
    parser.add_argument("--latency-ms", type=_natural, default=0, help="delay added to every platform response")
    parser.add_argument("--accounts", type=_natural, default=0,
                        help=f"pad the world to N accounts with synthetic Weibo accounts (at most {MAX_ACCOUNTS} "
                             "on Weibo), for load tests")
    parser.add_argument("--forum-load-threads", type=_natural, default=0, metavar="N",
                        help=f"add a forum board (fid {LOAD_FID}, moderator {LOAD_ACCOUNT}) of N threads of "
                             f"{POSTS_PER_THREAD} posts each (at most {MAX_LOAD_THREADS}), for load tests; default: none")


def build_config(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(seed=args.seed, start=args.start, faults=args.faults, latency_ms=args.latency_ms,
                         accounts=args.accounts, forum_load_threads=args.forum_load_threads)


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Build the world of ``args`` and serve it until interrupted. Needs no settings."""
    sandbox = Sandbox(build_config(args))
    print(banner(sandbox, args.host, args.port), flush=True)
    serve(sandbox, args.host, args.port)
    return 0


def banner(sandbox: Sandbox, host: str, port: int) -> str:
    url = f"http://{host}:{port}"
    state = sandbox.state
    clock = "follows the system clock" if state.live else "fixed; POST /_sandbox/clock moves it"
    lines = [f"govmatrix sandbox on {url} (seed {state.seed}, faults {state.faults}, latency {state.latency_ms} ms)",
             f"  now {state.now.astimezone(SHANGHAI).isoformat()} ({clock}); history from "
             f"{state.history_start.date().isoformat()}"]
    for name, platform in sandbox.platforms.items():
        prefixes = " ".join(f"{url}{route.path}" for route in platform.routes() if isinstance(route, Mount))
        count = len(sandbox.world.on(name))
        lines.append(f"  {name:<8} {prefixes}  ({count} accounts)")
    lines.append(f"  control  {url}/_sandbox  (clock, faults, truth, stats, accounts)")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="govmatrix sandbox", description=__doc__)
    add_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    return cmd_sandbox(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
