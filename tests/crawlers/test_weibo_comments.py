"""Weibo comments: parsing hotflow / hotFlowChild from real-shape fixtures, the sandbox's traps, and the
crawler's comment pass against the sandbox (every comment and reply of the truth), within its bounds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from govmatrix.crawlers import weibo_parse as wbp
from govmatrix.errors import LoginRequired, ParseError
from govmatrix.models import CrawlResult
from govmatrix.sandbox.app import SandboxConfig, SandboxServer
from govmatrix.tz import SHANGHAI

from .kit import account, context, make_crawler

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "weibo"
NOW = datetime(2016, 6, 5, 12, 0, tzinfo=SHANGHAI)
PRESS = "2810374651"  # 菏泽发布
NEVER = "5987234410"  # 菏泽住建: never answers a comment
START = datetime(2016, 6, 1, 9, 0, tzinfo=SHANGHAI)


def fixture(name: str) -> dict[str, Any]:
    return wbp.parse_comment_envelope((FIXTURES / name).read_bytes(), uid=PRESS)


# -- parsing ----------------------------------------------------------------------------------------

def test_a_hotflow_page_gives_roots_inline_replies_and_the_next_cursor() -> None:
    page = wbp.parse_hotflow(fixture("comments_hotflow.json"), uid=PRESS, post_id="398", now=NOW)
    ids = [c.native_id for c in page.comments]
    assert ids == ["3982213120000001", "3982213120000002", "3982213120000003", "3982213120000005",
                   "3982213120000006"]  # the comment with an unreadable date is skipped ...
    assert len(page.warnings) == 1 and "3982213120000007" in page.warnings[0]  # ... with a warning
    root, citizen, answer, plain, orphan = page.comments
    assert root.created_at == datetime(2016, 6, 4, 9, 12, tzinfo=SHANGHAI) and root.root_native_id is None
    assert root.text == "请问这个在哪里办理？[惊讶]" and root.author == "菏泽宝妈" and not root.by_account
    assert (citizen.root_native_id, citizen.reply_to, citizen.by_account) == (root.native_id, root.native_id, False)
    assert answer.by_account and answer.reply_to == root.native_id and answer.author_id == PRESS
    assert plain.likes == 3 and plain.reply_to is None  # "comments": false, a like count as a string
    assert orphan.author == "" and orphan.author_id == ""  # a deleted user comes as null
    assert page.partial_roots == [root.native_id]  # total_number 4, two inline: the rest is in hotFlowChild
    assert (page.max_id, page.max_id_type) == ("138000000000020", "1")  # total_number 128 is not a page count


def test_the_last_page_says_max_id_zero_even_as_a_string() -> None:
    page = wbp.parse_hotflow(fixture("comments_hotflow_last.json"), uid=PRESS, post_id="398", now=NOW)
    assert page.max_id is None and [c.native_id for c in page.comments] == ["3982213120000009"]


def test_ok_0_is_the_end_of_the_list_and_ok_minus_100_a_captcha() -> None:
    assert wbp.is_end_of_list(fixture("comments_none.json"))
    with pytest.raises(LoginRequired, match="captcha"):
        wbp.parse_comment_envelope(b'{"ok":-100,"url":"https://m.weibo.cn/captcha"}', uid=PRESS)
    with pytest.raises(wbp.Refused, match="20101"):
        wbp.parse_comment_envelope(b'{"ok":0,"errno":"20101","msg":"target weibo does not exist!"}', uid=PRESS)
    with pytest.raises(ParseError):
        wbp.parse_hotflow({"ok": 1, "data": {"cards": []}}, uid=PRESS, post_id="1", now=NOW)


def test_child_replies_are_tied_to_the_comment_they_name() -> None:
    page = wbp.parse_child_flow(fixture("comments_child.json"), uid=PRESS, post_id="398", root_id="3982213120000001",
                                now=NOW)
    linked = {c.native_id: c for c in wbp.link_replies(page.comments)}
    named = linked["3982213120000004"]
    assert named.text.startswith("回复@鄄城阿强:") and named.by_account
    assert named.reply_to == "3982213120000002"  # 回复@鄄城阿强: the citizen's reply, not the root
    assert linked["3982213120000003"].reply_to == "3982213120000001"


# -- the sandbox's endpoints -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=3, start=START)) as server:
        yield server


def _busiest_post(sandbox: SandboxServer, uid: str) -> str:
    truth = sandbox.truth(platforms=["weibo"], accounts=[uid], since=START - timedelta(days=3), comments=True)
    per_post: dict[str, int] = {}
    for c in truth["comments"]:
        per_post[c["post_native_id"]] = per_post.get(c["post_native_id"], 0) + (c["root_native_id"] is None)
    return max(per_post, key=lambda mid: per_post[mid])


def test_the_sandbox_pages_with_max_id_type_and_ignores_a_wrong_one(sandbox: SandboxServer) -> None:
    mid = _busiest_post(sandbox, PRESS)
    url = f"{sandbox.url}/weibo/comments/hotflow"
    first = httpx.get(url, params={"id": mid, "mid": mid, "max_id_type": 0}).json()
    data = first["data"]
    assert first["ok"] == 1 and data["max_id"] and data["max_id_type"] == 1 and len(data["data"]) == 20
    assert data["total_number"] > 20 and all(isinstance(c["id"], int) for c in data["data"])
    assert any(c["comments"] is False for c in data["data"])  # no replies: false, not []
    wrong = httpx.get(url, params={"id": mid, "mid": mid, "max_id": data["max_id"], "max_id_type": 0}).json()
    assert [c["id"] for c in wrong["data"]["data"]] == [c["id"] for c in data["data"]]  # page 1 again
    right = httpx.get(url, params={"id": mid, "mid": mid, "max_id": data["max_id"], "max_id_type": 1}).json()
    assert not {c["id"] for c in right["data"]["data"]} & {c["id"] for c in data["data"]}
    created = right["data"]["data"][0]["created_at"]
    assert datetime.strptime(created, "%a %b %d %H:%M:%S %z %Y")  # "Sat Jun 04 09:12:00 +0800 2016"


def test_the_crawler_reads_every_comment_and_reply_of_the_truth(sandbox: SandboxServer) -> None:
    result = _crawl(sandbox, PRESS, comment_requests=10_000)
    truth = sandbox.truth(platforms=["weibo"], accounts=[PRESS], since=START - timedelta(days=14), comments=True)
    expected = {c["native_id"]: (c["post_native_id"], c["root_native_id"], c["reply_to"], c["by_account"],
                                 datetime.fromisoformat(c["created_at"])) for c in truth["comments"]}
    got = {c.native_id: (c.post_native_id, c.root_native_id, c.reply_to, c.by_account, c.created_at)
           for c in result.comments}
    assert got == expected and len(got) > 500
    assert sum(1 for c in truth["comments"] if c["by_account"] and c["reply_to"] != c["root_native_id"]
               and c["reply_to"]) > 0  # answers to a citizen's reply (回复@) are tied to it
    state = result.cursor["comments"]  # type: ignore[index]
    assert state and all(v["read"] == START.isoformat() for v in state.values() if v["count"])


def test_the_comment_pass_keeps_to_its_budget_and_resumes(sandbox: SandboxServer) -> None:
    before = _comment_requests(sandbox)
    first = _crawl(sandbox, PRESS, comment_requests=7)
    assert _comment_requests(sandbox) - before == 7
    state = first.cursor["comments"]  # type: ignore[index]
    read = {mid for mid, v in state.items() if v["read"]}
    assert read and len(read) < sum(1 for v in state.values() if v["count"])
    second = _crawl(sandbox, PRESS, comment_requests=7, cursor={"comments": state})
    again = {mid for mid, v in second.cursor["comments"].items() if v["read"]}  # type: ignore[index]
    assert read < again  # the next crawl reads the posts not read yet, not the same ones


def test_an_account_that_never_answers_has_no_reply_of_its_own(sandbox: SandboxServer) -> None:
    result = _crawl(sandbox, NEVER, comment_requests=10_000)
    assert result.comments and not [c for c in result.comments if c.by_account and c.reply_to]


def test_a_refusal_or_rate_limit_while_reading_comments_keeps_the_posts() -> None:
    timeline = (FIXTURES / "timeline_first_page.json").read_bytes()
    profile = (FIXTURES / "profile_int.json").read_bytes()
    end = (FIXTURES / "end_page.json").read_bytes()
    hits: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(request.url.path)
        if request.url.path.endswith("/comments/hotflow"):
            return httpx.Response(418)
        if request.url.path.endswith("/statuses/extend"):
            return httpx.Response(200, content=(FIXTURES / "statuses_extend.json").read_bytes())
        params = request.url.params
        return httpx.Response(200, content=profile if "containerid" not in params
                              else end if "since_id" in params else timeline)

    result = _run(handler, "5512345678", datetime(2024, 7, 3, 12, 0, tzinfo=SHANGHAI))
    assert result.posts and any("comments not read further" in w and "418" in w for w in result.warnings)
    assert hits.count("/comments/hotflow") == 1  # the first refusal ends the pass


def test_a_cursor_that_brings_page_one_again_ends_the_read() -> None:
    page = json.loads((FIXTURES / "comments_hotflow.json").read_text())
    calls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        if request.url.path.endswith("/comments/hotFlowChild"):
            return httpx.Response(200, content=(FIXTURES / "comments_child.json").read_bytes())
        return httpx.Response(200, json=page)  # whatever the cursor: page 1

    async def go() -> tuple[list[Any], bool]:
        from govmatrix.crawlers.weibo import CommentReader

        crawler = make_crawler("weibo", handler, base_url="https://m.weibo.cn")
        ctx = context(crawler, account("weibo", PRESS), NOW)
        try:
            return await CommentReader(crawler, ctx, CrawlResult()).post_comments("398")  # type: ignore[arg-type]
        finally:
            await crawler.aclose()

    comments, complete = asyncio.run(go())
    assert complete and len(comments) == 6  # five of page 1, one more reply from hotFlowChild
    assert [c.path for c in calls].count("/comments/hotflow") == 2  # page 1, then the cursor that repeats it


# -- helpers ------------------------------------------------------------------------------------------

def _comment_requests(sandbox: SandboxServer) -> int:
    return sandbox.state.requests["weibo.comments"] + sandbox.state.requests["weibo.comments_child"]


def _crawl(sandbox: SandboxServer, uid: str, cursor: dict[str, Any] | None = None, **settings: Any) -> CrawlResult:
    async def go() -> CrawlResult:
        crawler = make_crawler("weibo", None, base_url=f"{sandbox.url}/weibo", **settings)
        try:
            return await crawler.crawl(context(crawler, account("weibo", uid, cursor=cursor), START, horizon_days=30))
        finally:
            await crawler.aclose()

    return asyncio.run(go())


def _run(handler: Any, uid: str, now: datetime) -> CrawlResult:
    async def go() -> CrawlResult:
        crawler = make_crawler("weibo", handler, base_url="https://m.weibo.cn")
        try:
            return await crawler.crawl(context(crawler, account("weibo", uid), now))
        finally:
            await crawler.aclose()

    return asyncio.run(go())
