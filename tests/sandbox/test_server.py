"""The sandbox core: clock, control routes, counters, determinism, faults, latency and big worlds."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from govmatrix.sandbox import faults as f
from govmatrix.sandbox.app import Sandbox, SandboxConfig, SandboxServer
from govmatrix.sandbox.cli import banner, build_config, parse_args
from govmatrix.sandbox.state import SandboxState
from govmatrix.tz import SHANGHAI

START = datetime(2016, 4, 1, tzinfo=SHANGHAI)
PRESS = "2810374651"
TIMELINE = f"/weibo/api/container/getIndex?type=uid&value={PRESS}&containerid=107603{PRESS}"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=3, start=START)) as sandbox:
        yield sandbox


def _first_ids(client: httpx.Client) -> list[str]:
    cards = client.get(TIMELINE).json()["data"]["cards"]
    cards = [c for card in cards for c in (card["card_group"] if card["card_type"] == 11 else [card])]
    return [c["mblog"]["id"] for c in cards if c["mblog"]["mblogtype"] == 0]


def test_the_clock_moves_forward_and_new_posts_appear(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/_sandbox/clock").json()["now"] == "2016-04-01T00:00:00+08:00"
        before = _first_ids(client)
        truth_before = client.get("/_sandbox/truth", params={"platform": "weibo"}).json()
        assert all(p["published_at"] < "2016-04-01" for p in truth_before["posts"])
        moved = client.post("/_sandbox/clock", json={"now": "2016-04-02T00:00:00+08:00"}).json()
        assert moved["now"] == "2016-04-02T00:00:00+08:00" and moved["day"] == 121 and moved["live"] is False
        after = _first_ids(client)
        truth_after = client.get("/_sandbox/truth", params={"platform": "weibo"}).json()
        new = [p for p in truth_after["posts"] if p["published_at"].startswith("2016-04-01")]
        assert new and len(truth_after["posts"]) == len(truth_before["posts"]) + len(new)
        assert set(before) & set(after) and after[0] not in before
        assert [p for p in truth_after["posts"] if p["published_at"] < "2016-04-01"] == truth_before["posts"]
        days = [f["day"] for f in truth_after["followers"] if f["account"] == PRESS]
        assert days[0] == "2015-12-03" and days[-1] == "2016-04-02" and len(days) == 122
        advanced = client.post("/_sandbox/clock", json={"advance_seconds": 3600}).json()
        assert advanced["now"] == "2016-04-02T01:00:00+08:00"
        refused = client.post("/_sandbox/clock", json={"now": "2016-03-01T00:00:00+08:00"})
        assert refused.status_code == 400 and "forward" in refused.json()["error"]
        assert client.post("/_sandbox/clock", json={"now": "yesterday"}).status_code == 400
        assert client.get("/weibo/").headers["date"] == "Fri, 01 Apr 2016 17:00:00 GMT"


def test_truth_filters_and_the_contract_fields(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        truth = client.get("/_sandbox/truth", params={"account": PRESS, "since": "2016-03-25",
                                                      "until": "2016-03-28"}).json()
        assert truth["now"] == "2016-04-01T00:00:00+08:00" and truth["exchanges"] == []
        assert truth["posts"] and {p["account"] for p in truth["posts"]} == {PRESS}
        assert all("2016-03-25" <= p["published_at"] < "2016-03-28" for p in truth["posts"])
        for post in truth["posts"]:
            assert {"platform", "account", "native_id", "kind", "title", "text", "published_at", "url",
                    "parent_native_id", "reposts", "comments", "likes", "reads"} <= set(post)
            assert post["url"] == f"https://m.weibo.cn/detail/{post['native_id']}"
            assert not re.search(r"<[A-Za-z/!]|&[a-z]+;|&#", post["text"])  # plain text: no markup, no entities
        assert set(truth["followers"][0]) == {"platform", "account", "day", "followers", "shown"}
        assert client.get("/_sandbox/truth", params={"platform": "weixin"}).status_code == 400
        in_process = server.truth(accounts=[PRESS])
        assert in_process["posts"] == client.get("/_sandbox/truth", params={"account": PRESS}).json()["posts"]


def test_stats_count_requests_per_route(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        client.post("/_sandbox/stats/reset")
        client.get(TIMELINE)
        client.get(TIMELINE)
        client.get(f"/weibo/api/container/getIndex?type=uid&value={PRESS}")
        client.get("/weibo/statuses/extend?id=1")
        stats = client.get("/_sandbox/stats").json()
        assert stats["requests"] == {"weibo.timeline": 2, "weibo.profile": 1, "weibo.extend": 1}
        assert stats["total"] == 4
        client.post("/_sandbox/stats/reset")
        assert client.get("/_sandbox/stats").json()["total"] == 0


def _bodies(seed: int) -> list[bytes]:
    with SandboxServer(SandboxConfig(seed=seed, start=START)) as sandbox, httpx.Client(base_url=sandbox.url) as c:
        first = c.get(TIMELINE).json()
        since = first["data"]["cardlistInfo"]["since_id"]
        mid = first["data"]["cards"][-1]["mblog"]["id"]
        paths = [f"/weibo/api/container/getIndex?type=uid&value={PRESS}", TIMELINE, f"{TIMELINE}&since_id={since}",
                 f"/weibo/statuses/extend?id={mid}", f"/weibo/statuses/show?id={mid}", f"/weibo/detail/{mid}",
                 "/_sandbox/truth"]
        return [c.get(path).content for path in paths]


def test_the_same_seed_gives_byte_identical_responses() -> None:
    first, again, other = _bodies(5), _bodies(5), _bodies(6)
    assert first == again
    assert all(a != b for a, b in zip(first, other, strict=True))


def _fetch_until_ok(client: httpx.Client, path: str) -> tuple[int, list[str]]:
    """Retry one URL until it answers a JSON ok:1; return the attempts and what went wrong."""
    problems = []
    for attempt in range(1, 10):
        try:
            response = client.get(path)
        except httpx.TransportError as exc:
            problems.append(type(exc).__name__)
            continue
        if response.status_code != 200:
            problems.append(str(response.status_code))
            continue
        try:
            body = response.json()
        except ValueError:
            problems.append("malformed")
            continue
        if body["ok"] != 1:
            problems.append(f"ok:{body['ok']}")
            continue
        return attempt, problems
    raise AssertionError(f"{path} never succeeded: {problems}")


def test_flaky_faults_fail_some_requests_and_retries_get_through(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.url, timeout=1.0) as client:
        client.post("/_sandbox/faults", json={"faults": "flaky", "stall_seconds": 1.2})
        seen: Counter[str] = Counter()
        for n in range(400):
            attempts, problems = _fetch_until_ok(client, f"{TIMELINE}&n={n}")
            assert attempts <= f.MAX_FAILURES + 1
            seen.update(problems)
        assert {"RemoteProtocolError", "ReadTimeout"} <= set(seen) and {"500", "502", "503"} & set(seen)
        assert 8 <= sum(seen.values()) <= 45  # about 5%
        assert client.get("/_sandbox/faults").json()["faults"] == "flaky"
        client.post("/_sandbox/faults", json={"faults": "none"})


def test_hostile_faults_speak_weibo(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.url, timeout=5.0) as client:
        client.post("/_sandbox/faults", json={"faults": "hostile", "slow_seconds": 0.05, "stall_seconds": 0.05})
        seen: Counter[str] = Counter()
        statuses = []
        for n in range(600):
            try:
                response = client.get(f"{TIMELINE}&n={n}")
            except httpx.RemoteProtocolError:
                seen["truncated"] += 1
                statuses.append(0)
                continue
            statuses.append(response.status_code)
            if response.status_code == 432:
                assert not response.text.startswith("{")
            elif response.status_code == 200:
                try:
                    body = response.json()
                except ValueError:
                    seen["malformed"] += 1
                    continue
                if body["ok"] == -100:
                    assert body["url"].startswith("https://m.weibo.cn/") and body["errno"] == "-100"
                    seen["captcha"] += 1
            seen[str(response.status_code)] += 1
        assert seen["418"] >= 3 and seen["432"] and seen["captcha"] and seen["malformed"]
        runs = [len(run) for run in "".join("t" if s == 418 else "." for s in statuses).split(".") if run]
        assert max(runs) >= 3  # 418 comes in bursts
        client.post("/_sandbox/faults", json={"faults": "none"})
        assert client.post("/_sandbox/faults", json={"faults": "evil"}).status_code == 400


def test_fault_draws_are_deterministic_per_url_and_attempt() -> None:
    def run() -> list[str | None]:
        state = SandboxState(9, START, START - timedelta(days=120), "hostile")
        plan = f.FaultPlan(state)
        kinds = f.GENERIC_KINDS | {f.CAPTCHA, f.BLOCKED, f.TEAPOT}
        out = []
        for n in range(300):
            for _ in range(f.MAX_FAILURES + 1):
                fault = plan.draw("weibo", f"GET /x?n={n}", kinds)
                out.append(fault.kind if fault else None)
            assert out[-1] is None  # the attempt after MAX_FAILURES always succeeds
        return out

    assert run() == run()


def test_latency_is_added_to_platform_responses_only(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        client.get(TIMELINE)
        client.post("/_sandbox/faults", json={"latency_ms": 200})
        started = time.perf_counter()
        client.get(TIMELINE)
        assert time.perf_counter() - started >= 0.2
        started = time.perf_counter()
        client.get("/_sandbox/clock")
        assert time.perf_counter() - started < 0.2
        client.post("/_sandbox/faults", json={"latency_ms": 0})


def test_a_big_world_generates_nothing_until_asked() -> None:
    started = time.perf_counter()
    sandbox = Sandbox(SandboxConfig(seed=1, start=START, accounts=10_000))
    assert time.perf_counter() - started < 5
    weibo = sandbox.platforms["weibo"]
    assert len(weibo.posts.accounts) == 10_000 - len([a for a in sandbox.world.accounts
                                                      if a.platform != "weibo"])
    assert weibo.posts.plan.cache_info().currsize == 0
    synthetic = weibo.posts.accounts[-1]
    assert synthetic.synthetic and len({a.native_id for a in weibo.posts.accounts}) == len(weibo.posts.accounts)
    truth = sandbox.truth(accounts=[synthetic.native_id])
    assert {p["account"] for p in truth["posts"]} <= {synthetic.native_id}


def test_a_live_clock_follows_the_system_clock() -> None:
    ticks = iter([datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC),
                  datetime(2026, 1, 1, 0, 0, 6, tzinfo=UTC)])
    state = SandboxState(1, datetime(2026, 1, 1, tzinfo=UTC), START, live=True, system_now=lambda: next(ticks))
    assert state.live
    assert state.now == datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)
    state.set_now(datetime(2026, 2, 1, tzinfo=UTC))
    assert not state.live and state.now == datetime(2026, 2, 1, tzinfo=UTC)


def test_the_default_world_is_the_last_120_days() -> None:
    sandbox = Sandbox(SandboxConfig(seed=1))
    now = datetime.now(SHANGHAI)
    assert sandbox.state.live and abs((sandbox.state.now - now).total_seconds()) < 5
    assert sandbox.world.today() == 120


def test_the_command_line() -> None:
    args = parse_args(["--port", "0", "--seed", "4", "--start", "2016-04-01", "--faults", "flaky",
                       "--latency-ms", "50", "--accounts", "100"])
    config = build_config(args)
    assert config == SandboxConfig(seed=4, start=START, faults="flaky", latency_ms=50, accounts=100)
    text = banner(Sandbox(config), "127.0.0.1", 8700)
    assert "http://127.0.0.1:8700/weibo" in text and "2016-04-01T00:00:00+08:00" in text
    with pytest.raises(SystemExit):
        parse_args(["--faults", "evil"])
