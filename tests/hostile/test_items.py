"""One bad item never blocks an account: it is skipped (or made storable) with a warning on the crawl
run, shown by ``govmatrix status``, and the rest of the crawl is stored, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from govmatrix.cli import main
from govmatrix.storage.feed import FeedQuery

from .conftest import Hostile, Request, one_account

WEIBO = Path(__file__).resolve().parent.parent / "fixtures" / "weibo"


def json_feed(items: list[dict[str, Any]]) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "示例", "items": items},
                      ensure_ascii=True).encode()


def item(n: int, **fields: str) -> dict[str, Any]:
    return {"id": str(n), "url": f"https://site.example/{n}", "title": f"通知{n}",
            "content_html": f"<p>正文{n}</p>", "date_published": "2024-07-02T08:00:00+08:00", **fields}


def rows(one: Any) -> dict[str, dict[str, Any]]:
    repo = one.repo()
    try:
        return {r["native_id"]: r for r in repo.feed.page(FeedQuery())}
    finally:
        repo.close()


def test_nul_and_lone_surrogates_are_made_storable(hostile: Hostile, tmp_path: Path, db_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    body = json_feed([item(1, title="含\u0000空字符"), item(2, content_html="<p>半个\ud800代理</p>"), item(3)])
    hostile.routes["/feed.xml"] = lambda r: r.answer(200, body, {"Content-Type": "application/feed+json"})
    one = one_account(tmp_path, hostile, "feeds", db_url, monkeypatch=monkeypatch)
    assert one.crawl() == 0 and one.last_error() == ""
    stored = rows(one)
    assert stored["site:1"]["title"] == "含空字符"
    assert stored["site:2"]["text"] == "半个\ufffd代理" and stored["site:3"]["text"] == "正文3"


def test_a_surrogate_reference_in_xml_does_not_crash_the_feed_reader(hostile: Hostile, tmp_path: Path,
                                                                     db_url: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    rss = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>示例</title>'
           '<item><title>坏&#xD800;字</title><guid isPermaLink="false">n1</guid><description>甲&#55296;乙&#0;丙</description>'
           '<pubDate>Tue, 02 Jul 2024 08:00:00 +0800</pubDate></item>'
           '<item><title>好</title><guid isPermaLink="false">n2</guid><description>正常</description>'
           '<pubDate>Tue, 02 Jul 2024 09:00:00 +0800</pubDate></item></channel></rss>').encode()
    hostile.routes["/feed.xml"] = lambda r: r.answer(200, rss, {"Content-Type": "application/rss+xml"})
    one = one_account(tmp_path, hostile, "feeds", db_url, monkeypatch=monkeypatch)
    assert one.crawl() == 0 and one.last_error() == ""
    stored = rows(one)
    assert (stored["site:n1"]["title"], stored["site:n1"]["text"]) == ("坏\ufffd字", "甲\ufffd乙丙")
    assert stored["site:n2"]["text"] == "正常"


def test_json_nested_too_deep_is_a_parse_error(hostile: Hostile, tmp_path: Path, db_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    deep = b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    hostile.routes["/feed.xml"] = lambda r: r.answer(200, deep, {"Content-Type": "application/feed+json"})
    one = one_account(tmp_path, hostile, "feeds", db_url, monkeypatch=monkeypatch)
    assert one.crawl() == 0
    assert one.last_error() == "feeds site: JSON nested too deeply"


def weibo_server(hostile: Hostile, timeline: dict[str, Any], show: bytes | None = None) -> None:
    profile = (WEIBO / "profile_int.json").read_bytes()
    body = json.dumps(timeline, ensure_ascii=False).encode()

    def getindex(request: Request) -> None:
        request.answer(200, body if "containerid" in request.query else profile)

    hostile.routes["/api/container/getIndex"] = getindex
    no_comments = (WEIBO / "comments_none.json").read_bytes()  # the comments of the inspection's interaction check
    hostile.routes["/comments/hotflow"] = lambda r: r.answer(200, no_comments)
    if show is not None:
        hostile.routes["/statuses/show"] = lambda r: r.answer(200, show)


def test_a_weibo_card_without_an_id_is_skipped_and_shown(hostile: Hostile, tmp_path: Path, db_url: str,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    page = json.loads((WEIBO / "timeline_legacy.json").read_text(encoding="utf-8"))
    page["data"]["cardlistInfo"]["since_id"] = None
    cards = page["data"]["cards"]
    for card in cards:
        card["mblog"]["created_at"] = "Wed Jun 26 20:00:00 +0800 2019"
    for key in ("id", "idstr", "mid"):
        cards[1]["mblog"].pop(key, None)
    weibo_server(hostile, page)
    one = one_account(tmp_path, hostile, "weibo", db_url, settings="horizon_days = 10000\n", monkeypatch=monkeypatch)
    assert one.crawl(now="2019-06-27T00:20:00+08:00") == 0 and one.last_error() == ""
    assert len(rows(one)) == len(cards) - 1
    capsys.readouterr()
    assert main(["--config", str(one.config), "--now", "2019-06-27T00:30:00+08:00", "status"]) == 0
    out = capsys.readouterr().out
    assert f"ok +{len(cards) - 1}/~0 !1" in out
    assert "weibo 5512345678: 1 items skipped in the last crawl: post without an id" in out


@pytest.mark.parametrize("refusal", [
    b'{"ok": 0, "msg": "\\u8fd9\\u91cc\\u8fd8\\u6ca1\\u6709\\u5185\\u5bb9", "data": {"cards": []}}',
    b'{"ok": 0, "errno": "20101", "msg": "\\u5fae\\u535a\\u4e0d\\u5b58\\u5728\\u6216\\u6682\\u65e0\\u67e5\\u770b\\u6743\\u9650"}',
])
def test_a_post_whose_detail_is_refused_keeps_its_listed_text_and_time(hostile: Hostile, tmp_path: Path,
                                                                        db_url: str, refusal: bytes,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    page = json.loads((WEIBO / "timeline_legacy.json").read_text(encoding="utf-8"))
    page["data"]["cardlistInfo"]["since_id"] = None
    card = page["data"]["cards"][0]
    card["mblog"].update(created_at="昨天 08:15", isLongText=False, text="已删除前抓到的原文")
    page["data"]["cards"] = [card]
    weibo_server(hostile, page, show=refusal)
    one = one_account(tmp_path, hostile, "weibo", db_url, monkeypatch=monkeypatch)
    assert one.crawl(now="2019-06-27T00:20:00+08:00") == 0 and one.last_error() == ""
    [stored] = rows(one).values()
    assert stored["text"] == "已删除前抓到的原文"
    assert stored["published_at"].isoformat() == "2019-06-26T00:15:00+00:00"  # 昨天 08:15 in Shanghai
    repo = one.repo()
    [post] = [p for batch in repo.posts.iter_stored() for _, _, p in batch]
    repo.close()
    assert post.extra["time_approximate"] is True
