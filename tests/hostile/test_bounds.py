"""Every response and every crawl is bounded: body size (decompressed), a total deadline, redirects,
paging that makes no progress. Each case is a hostile server on loopback and one account crawled
through ``govmatrix crawl``; the account records the error, the pass goes on, nothing is stored."""

from __future__ import annotations

import json
import time
import zlib
from functools import lru_cache
from pathlib import Path

import pytest

from .conftest import Hostile, Request, close_before_headers, one_account

GIB = 1024 ** 3
FEED = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>示例</title>'
        '<item><title>通知</title><link>{url}/a/1</link><guid>1</guid><description>正文</description>'
        "<pubDate>Tue, 02 Jul 2024 08:00:00 +0800</pubDate></item></channel></rss>")


@lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """About 1 MB of gzip that inflates to 1 GiB of zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (16 * 1024 * 1024)
    return b"".join(packer.compress(chunk) for _ in range(GIB // len(chunk))) + packer.flush()


def stored_posts(one: object) -> int:
    repo = one.repo()  # type: ignore[attr-defined]
    try:
        return repo.posts.count()
    finally:
        repo.close()


def test_a_gzip_bomb_fails_with_the_size_error(hostile: Hostile, tmp_path: Path, db_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 2 * 1024 * 1024
    hostile.routes["/feed.xml"] = lambda r: r.answer(200, bomb, {"Content-Encoding": "gzip",
                                                                 "Content-Type": "application/rss+xml"})
    one = one_account(tmp_path, hostile, "feeds", db_url, monkeypatch=monkeypatch)
    assert one.crawl() == 0  # the pass ran (its only account failed)
    assert one.last_error() == "feeds site: response larger than 16 MB"
    assert stored_posts(one) == 0


def endless(request: Request) -> None:
    """A body of no stated length that never ends (64 kB at a time, until the client hangs up)."""
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.send_header("Connection", "close")
    request.end_headers()
    block = b"<!-- " + b"x" * 65_500 + b" -->"
    while True:
        request.wfile.write(block)


@pytest.mark.parametrize("declared", [False, True])
def test_a_body_larger_than_the_cap_fails_as_it_streams(hostile: Hostile, tmp_path: Path, db_url: str,
                                                        monkeypatch: pytest.MonkeyPatch, declared: bool) -> None:
    if declared:  # a Content-Length over the cap is refused before the body is read
        hostile.routes["/feed.xml"] = lambda r: r.answer(200, b"x" * 100, {"Content-Length": str(200 * 1024 ** 2)})
    else:
        hostile.routes["/feed.xml"] = endless
    one = one_account(tmp_path, hostile, "feeds", db_url, settings="max_body_bytes = 2097152\n",
                      monkeypatch=monkeypatch)
    assert one.crawl() == 0
    assert one.last_error().startswith("feeds site: response larger than 2 MB")


def trickle(request: Request) -> None:
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.end_headers()
    while True:  # one byte a second, forever
        request.wfile.write(b" ")
        request.wfile.flush()
        time.sleep(1)


def test_a_trickling_server_meets_the_whole_request_deadline(hostile: Hostile, tmp_path: Path, db_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    hostile.routes["/feed.xml"] = trickle
    one = one_account(tmp_path, hostile, "feeds", db_url, settings="timeout = 1.5\n", monkeypatch=monkeypatch)
    assert one.crawl() == 0
    assert one.last_error() == "feeds site: timed out (no complete answer within 1.5 s)"
    assert len(hostile.hits) == 3  # retried twice: a timeout may be transient


def test_a_crawl_deadline_ends_a_crawl_that_would_go_on(hostile: Hostile, tmp_path: Path, db_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    hostile.routes["/feed.xml"] = trickle
    one = one_account(tmp_path, hostile, "feeds", db_url, settings="timeout = 60\ncrawl_timeout = 2\n",
                      monkeypatch=monkeypatch)
    assert one.crawl() == 0
    assert one.last_error() == "feeds site: crawl took longer than 2 s (crawl_timeout)"
    repo = one.repo()
    [account] = repo.accounts.find()
    assert account.error_count == 1 and repo.accounts.leased() == []  # its lease was released
    repo.close()


def test_a_connection_reset_before_headers_is_said_so(hostile: Hostile, tmp_path: Path, db_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    hostile.routes["/feed.xml"] = close_before_headers
    one = one_account(tmp_path, hostile, "feeds", db_url, monkeypatch=monkeypatch)
    assert one.crawl() == 0
    error = one.last_error()
    assert error in ("feeds site: connection reset by the server",
                     "feeds site: the server closed the connection before answering"), error
    assert "timed out" not in error


def test_a_redirect_loop_stops_and_every_hop_is_counted(hostile: Hostile, tmp_path: Path, db_url: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    hostile.routes["/feed.xml"] = lambda r: r.answer(302, b"", {"Location": "/feed.xml"})
    one = one_account(tmp_path, hostile, "feeds", db_url, monkeypatch=monkeypatch)
    assert one.crawl() == 0
    assert one.last_error() == "feeds site: redirect refused (more than 5 redirects)"
    repo = one.repo()
    [run] = repo.runs.of_account(repo.accounts.find()[0].id)
    repo.close()
    assert run["requests"] == len(hostile.hits) == 6  # the first request and five hops, each in the budget


def test_a_redirect_to_another_port_is_refused(hostile: Hostile, other: Hostile, tmp_path: Path, db_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    other.routes["/internal"] = lambda r: r.answer(200, FEED.format(url=other.url).encode())
    hostile.routes["/feed.xml"] = lambda r: r.answer(302, b"", {"Location": f"{other.url}/internal"})
    one = one_account(tmp_path, hostile, "feeds", db_url, monkeypatch=monkeypatch)
    assert one.crawl() == 0
    assert one.last_error().startswith("feeds site: redirect refused (to another host 127.0.0.1:")
    assert other.hits == [] and stored_posts(one) == 0


def test_an_allowed_host_may_be_redirected_to(hostile: Hostile, other: Hostile, tmp_path: Path, db_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    other.routes["/moved.xml"] = lambda r: r.answer(200, FEED.format(url=other.url).encode(),
                                                    {"Content-Type": "application/rss+xml"})
    hostile.routes["/feed.xml"] = lambda r: r.answer(301, b"", {"Location": f"{other.url}/moved.xml"})
    port = other.url.rsplit(":", 1)[1]
    one = one_account(tmp_path, hostile, "feeds", db_url, settings=f'allowed_hosts = ["127.0.0.1:{port}"]\n',
                      monkeypatch=monkeypatch)
    assert one.crawl() == 0 and one.last_error() == "" and stored_posts(one) == 1


WEIBO_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "weibo"


def test_a_weibo_cursor_that_never_moves_stops_at_the_first_page_without_news(
        hostile: Hostile, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = (WEIBO_FIXTURES / "profile_int.json").read_bytes()
    page = json.loads((WEIBO_FIXTURES / "timeline_legacy.json").read_text(encoding="utf-8"))
    page["data"]["cardlistInfo"]["since_id"] = "4383183661430800"  # the same cursor on every page
    for card in page["data"]["cards"]:  # exact times: no statuses/show for each post
        card["mblog"]["created_at"] = "Wed Jun 26 20:00:00 +0800 2019"
    body = json.dumps(page, ensure_ascii=False).encode()

    def getindex(request: Request) -> None:
        request.answer(200, body if "containerid" in request.query else profile)

    hostile.routes["/api/container/getIndex"] = getindex
    one = one_account(tmp_path, hostile, "weibo", db_url, settings="horizon_days = 10000\n",
                      monkeypatch=monkeypatch)
    assert one.crawl(now="2019-06-27T00:20:00+08:00") == 0
    timeline = [hit for hit in hostile.hits if "containerid" in hit]
    assert len(timeline) == 2  # the second page brought no new id: the walk ended there
    assert stored_posts(one) == len(page["data"]["cards"])


def thread_page(tid: int, page: int, pages: int) -> bytes:
    """A Discuz X3.4 thread page of one post, whose pager claims ``pages`` pages."""
    pid = tid * 100_000 + page
    return (f'<html><head><meta charset="utf-8"></head><body><div id="pt"><a href="forum.php?mod=forumdisplay&fid=46">'
            f'菏泽环保</a></div><div class="pg"><strong>{page}</strong><span title="共 {pages} 页"> / {pages} 页</span>'
            f'</div><span id="thread_subject">无尽的帖子</span><div id="postlist"><div id="post_{pid}"><table>'
            f'<tr><td class="pls"><div id="favatar{pid}" class="pls cl favatar"><div class="pi"><div class="authi">'
            f'<a href="home.php?mod=space&uid=9" class="xw1">网友{page}</a></div></div></div></td><td class="plc">'
            f'<div class="pi"><strong><a id="postnum{pid}"><em>{page}</em>#</a></strong><div class="pti">'
            f'<div class="authi"><em id="authorposton{pid}">发表于 <span title="2024-7-2 10:00">昨天 10:00</span>'
            f'</em></div></div></div><table><tr><td class="t_f" id="postmessage_{pid}">第{page}页</td></tr></table>'
            "</td></tr></table></div></div></body></html>").encode()


LIST = ('<html><head><meta charset="utf-8"></head><body><table id="threadlisttableid"><tbody id="normalthread_7">'
        '<tr><th><a class="xst" href="forum.php?mod=viewthread&tid=7">无尽的帖子</a></th><td class="by"><cite>'
        '<a>网友</a></cite><em><span>2024-7-1</span></em></td><td class="num"><a>99999</a><em>5</em></td>'
        '<td class="by"><cite><a>网友</a></cite><em><span title="2024-7-3 10:00">今天 10:00</span></em></td></tr>'
        "</tbody></table></body></html>").encode()


def test_a_forum_pager_of_ten_thousand_pages_is_read_a_slice_per_crawl(
        hostile: Hostile, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def forum(request: Request) -> None:
        if request.query.get("mod") == "forumdisplay":
            request.answer(200, LIST, {"Content-Type": "text/html; charset=utf-8"})
        else:
            request.answer(200, thread_page(7, int(request.query.get("page", "1")), 10_000),
                           {"Content-Type": "text/html; charset=utf-8"})

    hostile.routes["/forum.php"] = forum
    one = one_account(tmp_path, hostile, "forum", db_url, settings="max_thread_pages = 5\n",
                      monkeypatch=monkeypatch)
    assert one.crawl() == 0
    pages = sorted(int(h.split("page=")[1]) for h in hostile.hits if "viewthread" in h)
    assert pages == [1, 9997, 9998, 9999, 10000]  # page 1, then the newest
    hostile.hits.clear()
    assert one.crawl() == 0  # the next crawl goes on from the cursor, though no reply came
    assert sorted(int(h.split("page=")[1]) for h in hostile.hits if "viewthread" in h) == [1, 9993, 9994, 9995, 9996]
    repo = one.repo()
    [account] = repo.accounts.find()
    assert account.cursor["threads"]["7"]["unread"] == [[2, 9992]]
    assert repo.posts.count() == 9
    repo.close()
