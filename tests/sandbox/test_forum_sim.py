"""The simulated Discuz! X3.4 forum over HTTP, against the reference notes (part B) and the truth."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import httpx
import pytest
from parsel import Selector

from govmatrix.pipelines.clean import html_to_text
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.sandbox.city import DEPARTMENTS
from govmatrix.tz import SHANGHAI

START = datetime(2016, 4, 1, 10, 0, tzinfo=SHANGHAI)
BOARDS = {int(str(a.options["fid"])): a for d in DEPARTMENTS for a in d.accounts if a.platform == "forum"}
GBK_BOARDS = {41: ("header", "meta"), 43: ("meta",), 44: (), 46: ("header",)}
FLOOR_NAMES = {"楼主": 1, "沙发": 2, "板凳": 3, "地板": 4}


@contextmanager
def forum_sandbox(seed: int = 9, start: datetime = START) -> Iterator[SandboxServer]:
    """A running sandbox."""
    with SandboxServer(SandboxConfig(seed=seed, start=start)) as server:
        yield server


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with forum_sandbox() as server:
        yield server


@pytest.fixture(scope="module")
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url + "/forum", timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def truth(sandbox: SandboxServer) -> dict[str, Any]:
    return httpx.get(f"{sandbox.url}/_sandbox/truth", params={"platform": "forum"}, timeout=30).json()


def _page(client: httpx.Client, **params: Any) -> Selector:
    """A forum page, decoded by its declared charset (header, else meta, else GBK as browsers guess here)."""
    response = client.get("/forum.php", params=params)
    assert response.status_code == 200
    declared = re.search(rb"charset=([\w-]+)", response.headers["content-type"].encode() + b" " + response.content[:600])
    return Selector(response.content.decode(declared.group(1).decode() if declared else "gbk"))


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, (pattern, text)
    return int(found.group(1))


def _total_pages(page: Selector) -> int:
    label = page.css("div.pg label span::text").get()
    return _number(r"/ (\d+) 页", label) if label else 1


def _absolute_time(em: Selector) -> datetime:
    stamp = em.css("span::attr(title)").get() or em.xpath("string()").get("").replace("发表于", "").strip()
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)


def _thread_posts(client: httpx.Client, tid: int) -> list[dict[str, Any]]:
    """Every post of a thread, paging with the pager as a crawler would."""
    posts: list[dict[str, Any]] = []
    page = _page(client, mod="viewthread", tid=tid)
    pages = _total_pages(page)
    for number in range(1, pages + 1):
        if number > 1:
            page = _page(client, mod="viewthread", tid=tid, page=number)
        for node in page.css("div#postlist > div[id^=post_]"):
            pid = int(node.attrib["id"].removeprefix("post_"))
            body = node.css(f"td.t_f#postmessage_{pid}")[0]
            quoted = body.css('div.quote blockquote a[href*="goto=findpost"]::attr(href)').get()
            for quote in body.css("div.quote"):
                quote.drop()
            floor_text = node.css(f"a#postnum{pid}").xpath("string()").get("").strip()
            posts.append({"pid": pid, "author": node.css("div.authi a.xw1::text").get(),
                          "at": _absolute_time(node.css(f"em#authorposton{pid}")[0]),
                          "text": html_to_text(body.get()), "floor": FLOOR_NAMES.get(floor_text) or
                          int(floor_text.rstrip("#")),
                          "quote": _number(r"pid=(\d+)", quoted) if quoted else None})
    return posts


def _thread_list(client: httpx.Client, fid: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    number = 1
    while True:
        page = _page(client, mod="forumdisplay", fid=fid, page=number)
        for body in page.css("tbody[id^=normalthread_], tbody[id^=stickthread_]"):
            kind, tid = body.attrib["id"].split("_")
            rows.append({"tid": int(tid), "sticky": kind == "stickthread", "page": number,
                         "subject": body.css("a.s.xst::text").get(), "replies": int(body.css("td.num a.xi2::text").get("")),
                         "author": body.css("td.by cite a::text").get()})
        if not page.css("div.pg a.nxt"):
            return rows
        number += 1


def test_boards_are_served_in_their_charsets(sandbox: SandboxServer, client: httpx.Client) -> None:
    counted = dict(sandbox.state.requests)
    index = _page(client)
    fids = {int(m) for m in re.findall(r"fid=(\d+)", " ".join(index.css("a::attr(href)").getall()))}
    assert fids == {2, *BOARDS}
    for fid in (2, *BOARDS):
        response = client.get("/forum.php", params={"mod": "forumdisplay", "fid": fid})
        raw, ctype = response.content, response.headers["content-type"]
        meta = re.search(rb'<meta http-equiv="Content-Type" content="text/html; charset=([\w-]+)" />', raw)
        assert b'<meta name="generator" content="Discuz! X3.4" />' in raw
        if fid not in GBK_BOARDS:
            assert ctype == "text/html; charset=utf-8" and meta and meta.group(1) == b"utf-8"
            raw.decode("utf-8")
            continue
        where = GBK_BOARDS[fid]
        assert ctype == ("text/html; charset=gbk" if "header" in where else "text/html")
        assert (meta.group(1) if meta else None) == (b"gbk" if "meta" in where else None)
        assert BOARDS[fid].native_id in raw.decode("gbk")
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    requests = sandbox.state.requests
    assert requests["forum.index"] - counted.get("forum.index", 0) == 1
    assert requests["forum.forumdisplay"] - counted.get("forum.forumdisplay", 0) == len(BOARDS) + 1


def test_thread_lists_page_to_the_end_and_match_the_truth(client: httpx.Client, truth: dict[str, Any]) -> None:
    threads = {p["tid"]: p for p in truth["posts"] if p["kind"] == "thread"}
    for fid in BOARDS:
        rows = _thread_list(client, fid)
        assert [r["tid"] for r in rows if r["sticky"]] == [r["tid"] for r in rows[:1] if r["sticky"]]
        assert {r["page"] for r in rows if r["sticky"]} == {1}
        expected = {tid for tid, p in threads.items() if p["fid"] == fid}
        assert [r["tid"] for r in rows if r["tid"] in expected] == [r["tid"] for r in rows]
        assert {r["tid"] for r in rows} == expected
        for row in rows:
            assert row["replies"] == threads[row["tid"]]["comments"]
            assert row["subject"] == threads[row["tid"]]["title"] and row["author"] == threads[row["tid"]]["author"]
        last = max(r["page"] for r in rows)
        assert "尚无主题" in _page(client, mod="forumdisplay", fid=fid, page=last + 1).get()
    assert "指定的版块不存在" in _page(client, mod="forumdisplay", fid=999).css("#messagetext.alert_error p::text").get("")
    by_creation = _page(client, mod="forumdisplay", fid=43, orderby="dateline").css("tbody::attr(id)").getall()
    tids = [int(t.split("_")[1]) for t in by_creation if t.startswith("normalthread_")]
    sticky = [t for t in by_creation if t.startswith("stickthread_")]
    assert tids == sorted(tids, reverse=True) and len(sticky) == 1 and len(tids) + len(sticky) == 20
    first = _page(client, mod="forumdisplay", fid=41).css("tbody::attr(id)").getall()
    assert _page(client, mod="forumdisplay", fid=41, page=1001).css("tbody::attr(id)").getall() == first


def test_thread_pages_match_the_truth(client: httpx.Client, truth: dict[str, Any]) -> None:
    by_tid: dict[int, list[dict[str, Any]]] = {}
    for post in truth["posts"]:
        by_tid.setdefault(post["tid"], []).append(post)
    busy = sorted(by_tid, key=lambda t: len(by_tid[t]))[-3:]
    quiet = sorted(by_tid)[:: max(1, len(by_tid) // 6)]
    for tid in busy + quiet:
        served = _thread_posts(client, tid)
        expected = sorted(by_tid[tid], key=lambda p: p["floor"])
        assert [p["floor"] for p in served] == list(range(1, len(expected) + 1))
        for got, want in zip(served, expected, strict=True):
            assert got["pid"] == int(want["native_id"]) and got["author"] == want["author"]
            assert got["at"] == datetime.fromisoformat(want["published_at"])
            assert got["text"] == want["text"] and got["quote"] == want["quote_pid"]
    last = _total_pages(_page(client, mod="viewthread", tid=busy[-1]))
    beyond = _page(client, mod="viewthread", tid=busy[-1], page=last + 5)
    assert beyond.css("div[id^=post_]::attr(id)").getall() == _page(
        client, mod="viewthread", tid=busy[-1], page=last).css("div[id^=post_]::attr(id)").getall()
    missing = _page(client, mod="viewthread", tid=99)
    assert missing.css("div#messagetext.alert_error p::text").get() == "抱歉，指定的主题不存在或已被删除或正在被审核"


def test_recent_times_are_relative_with_the_absolute_time_in_the_title(client: httpx.Client,
                                                                       truth: dict[str, Any]) -> None:
    recent = max((p for p in truth["posts"] if p["fid"] in (42, 47, 49)), key=lambda p: p["published_at"])
    raw = client.get("/forum.php", params={"mod": "viewthread", "tid": recent["tid"], "page": 99}).text
    stamps = re.findall(r'发表于 (<span title="[^"]+">[^<]+</span>|[\d-]+ [\d:]+)</em>', raw)
    assert any(re.fullmatch(r'<span title="2016-\d+-\d+ \d\d:\d\d:\d\d">'
                            r"(\d+&nbsp;(小时|分钟|秒)前|半小时前|(昨天|前天)&nbsp;\d\d:\d\d|\d&nbsp;天前)</span>", s)
               for s in stamps)
    old = min(truth["posts"], key=lambda p: p["published_at"])
    raw = client.get("/forum.php", params={"mod": "viewthread", "tid": old["tid"]}).text
    assert re.search(r'发表于 2015-12-\d+ \d\d:\d\d:\d\d</em>', raw)


def _derive_exchange(posts: list[dict[str, Any]], user: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Questions and answers by the rules a crawler follows: quoted, or the department's very next post."""
    questions = {p["pid"]: {"pid": p["pid"], "author": p["author"], "text": p["text"], "asked_at": p["at"],
                            "answered_at": None, "answer_pid": None, "suggestion": p["text"].startswith("【建议】")}
                 for p in posts[1:] if p["author"] != user and start <= p["at"] <= end}
    for before, post in zip(posts, posts[1:], strict=False):
        target = post["quote"] if post["quote"] is not None else before["pid"]
        if post["author"] == user and target in questions and questions[target]["answer_pid"] is None:
            questions[target].update(answered_at=post["at"], answer_pid=post["pid"])
    return [questions[pid] for pid in sorted(questions)]


def test_online_exchanges_can_be_read_off_the_thread_pages(client: httpx.Client, truth: dict[str, Any]) -> None:
    sessions = [e for e in truth["exchanges"] if e["fid"] in (41, 45)]
    kinds = {"unanswered": 0, "late": 0, "suggestion": 0}
    for exchange in sessions:
        start, end = datetime.fromisoformat(exchange["start"]), datetime.fromisoformat(exchange["end"])
        assert end - start == timedelta(hours=1) and exchange["account"] == BOARDS[exchange["fid"]].native_id
        posts = _thread_posts(client, exchange["tid"])
        assert posts[0]["author"] == exchange["account"] and posts[0]["at"] == start
        derived = _derive_exchange(posts, exchange["account"], start, end)
        expected = [{**q, "asked_at": datetime.fromisoformat(q["asked_at"]),
                     "answered_at": q["answered_at"] and datetime.fromisoformat(q["answered_at"])}
                    for q in exchange["questions"]]
        assert derived == expected
        kinds["unanswered"] += sum(q["answer_pid"] is None for q in expected)
        kinds["late"] += sum(q["answered_at"] is not None and q["answered_at"] > end for q in expected)
        kinds["suggestion"] += sum(q["suggestion"] for q in expected)
    assert all(kinds.values()), kinds


def _skipped_months(starts: list[datetime], first: datetime, now: datetime) -> int:
    """Months in [first, now] whose session day passed without a session."""
    day, held = starts[0], {(s.year, s.month) for s in starts}
    skipped, year, month = 0, first.year, first.month
    while (year, month) <= (now.year, now.month):
        due = day.replace(year=year, month=month)
        skipped += first <= due <= now and (year, month) not in held
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return skipped


def test_sessions_are_weekly_or_monthly_and_some_months_are_skipped(truth: dict[str, Any]) -> None:
    first = datetime.fromisoformat(truth["history_start"])
    for fid, account in BOARDS.items():
        starts = [datetime.fromisoformat(e["start"]) for e in truth["exchanges"] if e["fid"] == fid]
        assert starts == sorted(starts) and len(starts) >= 2
        gaps = {b - a for a, b in zip(starts, starts[1:], strict=False)}
        if account.options.get("schedule") == "weekly":
            assert gaps == {timedelta(days=7)} and START - starts[-1] < timedelta(days=7)
        else:
            assert all(timedelta(days=28) <= g <= timedelta(days=62) for g in gaps)
            assert (_skipped_months(starts, first, START) > 0) == bool(account.options.get("skips")), fid


def test_rss_lists_the_newest_threads_without_guid(client: httpx.Client, truth: dict[str, Any]) -> None:
    threads = {p["tid"]: p for p in truth["posts"] if p["kind"] == "thread"}
    for fid in BOARDS:
        response = client.get("/forum.php", params={"mod": "rss", "fid": fid})
        assert response.headers["content-type"] == "application/xml"
        charset = "gbk" if fid in GBK_BOARDS else "utf-8"
        assert response.content.startswith(f'<?xml version="1.0" encoding="{charset}"?>'.encode())
        feed = feedparser.parse(response.content)
        assert not feed.bozo and feed.encoding == charset
        expected = sorted((t for t in threads if threads[t]["fid"] == fid), reverse=True)[:20]
        assert [_number(r"tid=(\d+)", e.link) for e in feed.entries] == expected
        for entry, tid in zip(feed.entries, expected, strict=True):
            assert "id" not in entry and entry.title == threads[tid]["title"]
            published = datetime.fromtimestamp(calendar.timegm(entry.published_parsed), UTC)
            assert published == datetime.fromisoformat(threads[tid]["published_at"])
            assert entry.author == threads[tid]["author"]
            assert threads[tid]["text"].startswith(entry.description[:100])
    assert client.get("/forum.php", params={"mod": "rss", "fid": 999}).text == "Specified forum not found"


def test_the_clock_adds_threads_and_replies() -> None:
    with forum_sandbox() as server, httpx.Client(base_url=server.url + "/forum", timeout=10) as client:
        before = server.truth(platforms=["forum"])
        rows_before = {r["tid"]: r["replies"] for r in _thread_list(client, 2)}
        server.state.set_now(START + timedelta(days=3))
        after = server.truth(platforms=["forum"])
        rows_after = {r["tid"]: r["replies"] for r in _thread_list(client, 2)}
        assert set(rows_before) < set(rows_after)
        assert all(rows_after[t] >= n for t, n in rows_before.items()) and any(
            rows_after[t] > n for t, n in rows_before.items())
        old = {p["native_id"]: {**p, "comments": None, "reads": None} for p in before["posts"]}
        kept = {p["native_id"]: {**p, "comments": None, "reads": None} for p in after["posts"]
                if p["native_id"] in old}
        assert kept == old and len(after["posts"]) > len(before["posts"])


def test_the_same_seed_gives_identical_bytes() -> None:
    def snapshot(seed: int) -> list[bytes]:
        with forum_sandbox(seed=seed) as server, httpx.Client(base_url=server.url + "/forum", timeout=10) as client:
            tid = max(p["tid"] for p in server.truth(platforms=["forum"])["posts"] if p["fid"] == 44)
            requests = [{"mod": "forumdisplay", "fid": 44}, {"mod": "forumdisplay", "fid": 2, "page": 2},
                        {"mod": "viewthread", "tid": tid}, {"mod": "rss", "fid": 41}]
            return [client.get("/forum.php", params=p).content.replace(server.url.encode(), b"ROOT") for p in requests]

    first = snapshot(4)
    assert snapshot(4) == first
    assert snapshot(5) != first


def test_the_load_board_holds_threads_of_40_posts_and_leaves_the_others_alone(sandbox: SandboxServer,
                                                                            client: httpx.Client) -> None:
    config = SandboxConfig(seed=9, start=START, forum_load_threads=25)
    with SandboxServer(config) as server, httpx.Client(base_url=server.url + "/forum", timeout=10) as loaded:
        rows = _thread_list(loaded, 90)
        assert len({r["tid"] for r in rows}) == 25 and {r["replies"] for r in rows} == {39}
        assert max(r["page"] for r in rows) == 2
        truth = server.truth(platforms=["forum"], accounts=["压力测试版主"])["posts"]
        assert len(truth) == 25 * 40 and {p["fid"] for p in truth} == {90}
        for row in rows[::8]:
            served = _thread_posts(loaded, row["tid"])
            assert [p["floor"] for p in served] == list(range(1, 41)) and served[0]["author"] == "压力测试版主"
            assert max(p["at"] for p in served) < START and any(p["quote"] for p in served)
            expected = sorted((p for p in truth if p["tid"] == row["tid"]), key=lambda p: p["floor"])
            assert [p["text"] for p in served] == [p["text"] for p in expected]
        tid = max(p["tid"] for p in server.truth(platforms=["forum"])["posts"] if p["fid"] == 44)
        for params in ({"mod": "forumdisplay", "fid": 41, "page": 2}, {"mod": "viewthread", "tid": tid}):
            ours, theirs = loaded.get("/forum.php", params=params), client.get("/forum.php", params=params)
            assert ours.content.replace(server.url.encode(), b"ROOT") == theirs.content.replace(
                sandbox.url.encode(), b"ROOT")
