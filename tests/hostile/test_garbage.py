"""Never store garbage with status ok: mislabelled and damaged Chinese text, datacube answers that do
not add up, times far in the future, links that are not http(s)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from govmatrix.storage.feed import FeedQuery

from .conftest import Hostile, Request, one_account
from .test_bounds import LIST, thread_page

NEWS = ["菏泽市召开安全生产工作会议", "市食药监局开展夏季食品安全专项检查", "城乡居民基本养老保险待遇提高"]


def rss(titles: list[str], encoding: str = "utf-8") -> str:
    items = "".join(f'<item><title>{t}</title><guid isPermaLink="false">g{n}</guid><description>{t}。</description>'
                    f"<pubDate>Tue, 02 Jul 2024 0{n}:00:00 +0800</pubDate></item>" for n, t in enumerate(titles))
    return f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>示例</title>{items}</channel></rss>'


def rows(one: Any) -> dict[str, dict[str, Any]]:
    repo = one.repo()
    try:
        return {r["native_id"]: r for r in repo.feed.page(FeedQuery())}
    finally:
        repo.close()


def test_one_bad_byte_in_a_utf8_feed_damages_one_entry_not_the_feed(hostile: Hostile, tmp_path: Path,
                                                                     db_url: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    body = rss(NEWS).encode("utf-8").replace("食药监".encode(), "食药".encode() + b"\xff")
    hostile.routes["/feed.xml"] = lambda r: r.answer(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})
    one = one_account(tmp_path, hostile, "feeds", db_url, monkeypatch=monkeypatch)
    assert one.crawl() == 0 and one.last_error() == ""
    stored = rows(one)
    assert [stored[f"site:g{n}"]["title"] for n in (0, 2)] == [NEWS[0], NEWS[2]]  # not re-read as a Latin charset
    assert (stored["site:g0"]["flags"], stored["site:g2"]["flags"]) == ([], [])
    assert stored["site:g1"]["title"] == "市食药\ufffd局开展夏季食品安全专项检查"
    # never clean text with status ok: the fetch says what it replaced, clean marks the span
    assert stored["site:g1"]["flags"] == ["charset_replaced", "mojibake"]


def forum_with(body: bytes, content_type: str) -> Any:
    def forum(request: Request) -> None:
        if request.query.get("mod") == "forumdisplay":
            request.answer(200, LIST, {"Content-Type": "text/html; charset=utf-8"})
        else:
            request.answer(200, body, {"Content-Type": content_type})
    return forum


@pytest.mark.parametrize(("encoding", "declared"), [("gbk", "utf-8"), ("utf-8", "gbk")])
def test_a_forum_page_that_lies_about_its_charset_is_read_right(hostile: Hostile, tmp_path: Path, db_url: str,
                                                                encoding: str, declared: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    page = thread_page(7, 1, 1).decode().replace("第1页", "市环保局：关于噪音扰民的答复已经转交城管部门处理")
    page = page.replace('charset="utf-8"', f'charset="{declared}"')
    hostile.routes["/forum.php"] = forum_with(page.encode(encoding), f"text/html; charset={declared}")
    one = one_account(tmp_path, hostile, "forum", db_url, monkeypatch=monkeypatch)
    assert one.crawl() == 0 and one.last_error() == ""
    [stored] = rows(one).values()
    assert (stored["title"], stored["text"]) == ("无尽的帖子", "市环保局：关于噪音扰民的答复已经转交城管部门处理")
    assert stored["author"] == "网友1" and stored["flags"] == []


def test_times_in_the_future_and_links_that_are_not_http(hostile: Hostile, tmp_path: Path, db_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>示例</title>'
            '<item><title>来自未来</title><guid isPermaLink="false">f</guid><link>https://site.example/f</link>'
            "<pubDate>Fri, 01 Jan 2100 08:00:00 +0800</pubDate></item>"
            '<item><title>危险链接</title><guid isPermaLink="false">j</guid><link>javascript:alert(1)</link>'
            "<pubDate>Tue, 02 Jul 2024 08:00:00 +0800</pubDate></item></channel></rss>").encode()
    hostile.routes["/feed.xml"] = lambda r: r.answer(200, body, {"Content-Type": "application/rss+xml"})
    one = one_account(tmp_path, hostile, "feeds", db_url, monkeypatch=monkeypatch)
    assert one.crawl() == 0 and one.last_error() == ""
    stored = rows(one)
    future, link = stored["site:f"], stored["site:j"]
    assert future["published_at"].isoformat() == "2024-07-03T04:00:00+00:00"  # when first seen, not 2100
    assert future["flags"] == ["future_date"] and link["url"] == ""
    repo = one.repo()
    [run] = repo.runs.of_account(repo.accounts.find()[0].id)
    [post] = [p for batch in repo.posts.iter_stored() for _, _, p in batch if p.native_id == "site:f"]
    repo.close()
    assert post.extra["platform_published_at"] == "2100-01-01T00:00:00+00:00"
    assert run["warnings"] == 2 and any("javascript:alert(1)" in w for w in run["warning_samples"])


class Datacube:
    """The Official Account API of one account whose datacube answers are wrong in every way but one."""

    def __init__(self, hostile: Hostile) -> None:
        self.calls: list[dict[str, str]] = []
        self.empty = False
        for path in ("/cgi-bin/stable_token", "/cgi-bin/freepublish/batchget", "/datacube/getusercumulate",
                     "/datacube/getusersummary"):
            hostile.routes[path] = self

    def __call__(self, request: Request) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length) or b"{}")
        path = request.path.split("?")[0]
        if path.endswith("stable_token"):
            answer: dict[str, Any] = {"access_token": "86_tok", "expires_in": 7200}
        elif path.endswith("batchget"):
            answer = {"item": [], "total_count": 0, "item_count": 0}
        elif path.endswith("getusersummary"):
            answer = {"list": []}
        else:
            self.calls.append(body)
            answer = {"list": [] if self.empty else self.rows(date.fromisoformat(body["begin_date"]),
                                                              date.fromisoformat(body["end_date"]))}
        request.answer(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    @staticmethod
    def rows(begin: date, end: date) -> list[dict[str, Any]]:
        days = [begin + timedelta(days=n) for n in range((end - begin).days + 1)]
        out: list[dict[str, Any]] = [{"ref_date": d.isoformat(), "user_source": 0, "cumulate_user": str(1000 + i)}
                                     for i, d in enumerate(days)]  # numbers as strings
        out.append({"ref_date": days[0].isoformat(), "user_source": 0, "cumulate_user": 5})  # a day given twice
        out += [{"ref_date": "2016-01-01", "user_source": 0, "cumulate_user": 7},  # outside the window asked
                {"ref_date": "2099-01-01", "user_source": 0, "cumulate_user": 9}]
        return out


def test_datacube_answers_are_validated_and_an_empty_one_moves_nothing(hostile: Hostile, tmp_path: Path,
                                                                       db_url: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cube = Datacube(hostile)
    one = one_account(tmp_path, hostile, "wechat", db_url, monkeypatch=monkeypatch)
    cube.empty = True
    assert one.crawl() == 0 and one.last_error() == ""
    repo = one.repo()
    [account] = repo.accounts.find()
    assert "datacube_day" not in account.cursor and repo.snapshots.of_account(account.id) == []
    repo.close()
    cube.empty = False
    cube.calls.clear()
    assert one.crawl() == 0
    assert cube.calls[0]["begin_date"] == "2024-06-12"  # the same first window again: nothing was lost
    repo = one.repo()
    [account] = repo.accounts.find()
    days = {s["day"]: s["followers"] for s in repo.snapshots.of_account(account.id) if s["source"] == "datacube"}
    [run] = repo.runs.of_account(account.id)[:1]
    repo.close()
    first_days = {date(2024, 6, 12) + timedelta(days=7 * w) for w in range(3)}  # each window's day given twice
    assert set(days) == {date(2024, 6, 12) + timedelta(days=n) for n in range(21)} - first_days
    assert days[date(2024, 6, 13)] == 1001 and date(2099, 1, 1) not in days and date(2016, 1, 1) not in days
    # per window: the day given twice, and two days outside it; and this server has no getarticletotal (404)
    assert run["warnings"] == 10
