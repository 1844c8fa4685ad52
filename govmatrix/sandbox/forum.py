"""Simulated Discuz! X3.4 city forum, mounted under ``/forum`` (reference part B).

- ``forum.php`` (no ``mod``): the forum index, one link per board;
- ``forum.php?mod=forumdisplay&fid=N&page=K[&orderby=dateline]``: 20 threads a page, ordered by
  last post (or creation), sticky threads first; a page past the end lists nothing; pages past
  1000 give page 1;
- ``forum.php?mod=viewthread&tid=T&page=P[&authorid=U]``: 10 posts a page; a page past the end
  gives the last page;
- ``forum.php?mod=rss&fid=N``: the 20 newest threads (by creation), no ``<guid>``.

Boards differ in charset: most are UTF-8; some GBK, declared in the Content-Type header and/or
the ``<meta>``; one (fid 44) sends GBK bytes and declares no charset anywhere. Only the
department boards are in the truth; the general board (fid 2) is citizens' noise. On request
a load-test board (fid 90) is added: see :mod:`govmatrix.sandbox.forum_load`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from govmatrix.sandbox import forum_html as page
from govmatrix.sandbox.faults import FaultPlan
from govmatrix.sandbox.forum_load import LoadedForumWorld
from govmatrix.sandbox.forum_world import Board, ForumPost, ForumWorld, Thread
from govmatrix.sandbox.platform import SimulatedPlatform, TruthQuery
from govmatrix.sandbox.simkit import cdata, iso_local, rfc822_utc, site_root
from govmatrix.sandbox.state import SHANGHAI
from govmatrix.sandbox.world import World

THREADS_PER_PAGE, POSTS_PER_PAGE, MAX_PAGES, RSS_THREADS = 20, 10, 1000, 20
NO_THREAD = "抱歉，指定的主题不存在或已被删除或正在被审核"
NO_FORUM = "抱歉，指定的版块不存在"


def _mod_key(request: Request) -> str:
    mod = request.query_params.get("mod", "index")
    return f"forum.{mod if mod in ('forumdisplay', 'viewthread', 'rss') else 'index'}"


def _int(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() else default


class ForumPlatform(SimulatedPlatform):
    """The city forum: department boards with online-exchange sessions, and a citizens' board."""

    name = "forum"

    def __init__(self, world: World, faults: FaultPlan) -> None:
        super().__init__(world, faults)
        load = world.forum_load_threads
        self.forum = LoadedForumWorld(world, load) if load else ForumWorld(world)

    def mounts(self) -> dict[str, list[BaseRoute]]:
        """Routes per mount prefix (``/forum``), relative to it."""
        return {"/forum": [Route("/forum.php", self.endpoint(_mod_key, self.dispatch)),
                           Route("/", self.endpoint("forum.index", self.dispatch))]}

    def routes(self) -> list[BaseRoute]:
        return [Mount(prefix, routes=routes) for prefix, routes in self.mounts().items()]

    async def dispatch(self, request: Request) -> Response:
        mod = request.query_params.get("mod", "")
        root, now = site_root(request), self.state.now
        if mod == "forumdisplay":
            return self.forumdisplay(request, root, now)
        if mod == "viewthread":
            return self.viewthread(request, root, now)
        if mod == "rss":
            return self.rss(request, root, now)
        return self._html(None, page.frame(None, page.BBNAME, root, self._index_body(), "pg_index"))

    def _html(self, board: Board | None, text: str) -> Response:
        charset = board.charset if board is not None else "utf-8"
        declare = board.declare if board is not None else "both"
        ctype = f"text/html; charset={charset}" if declare in ("both", "header") else "text/html"
        return Response(text.encode(charset, errors="xmlcharrefreplace"), headers={"Content-Type": ctype})

    def _index_body(self) -> str:
        rows = "\n".join(f'<tr><td class="fl_g"><h2><a href="forum.php?mod=forumdisplay&amp;fid={b.fid}">'
                         f"{page.e(b.name)}</a></h2></td></tr>" for b in self.forum.boards)
        return f'<div id="ct" class="wp cl"><div class="fl bm"><table class="fl_tb">\n{rows}\n</table></div></div>'

    # -- pages ----------------------------------------------------------------------------

    def forumdisplay(self, request: Request, root: str, now: datetime) -> Response:
        board = self.forum.by_fid.get(_int(request.query_params.get("fid"), -1))
        if board is None:
            return self._html(None, page.show_message(None, NO_FORUM, root))
        number = max(1, _int(request.query_params.get("page"), 1))
        number = 1 if number > MAX_PAGES else number
        threads = self.forum.threads(board, now)
        by_creation = request.query_params.get("orderby") == "dateline"
        ordered = [t for t in threads if t.sticky] + sorted(
            (t for t in threads if not t.sticky), reverse=True,
            key=lambda t: (t.created if by_creation else t.visible(now)[-1].at, t.tid))
        rows = ordered[(number - 1) * THREADS_PER_PAGE:number * THREADS_PER_PAGE]
        today = now.astimezone(SHANGHAI).date()
        today_count = sum(1 for t in threads for p in t.visible(now) if p.at.astimezone(SHANGHAI).date() == today)
        body = page.forumdisplay_body(board, rows, now, number, len(ordered), POSTS_PER_PAGE, THREADS_PER_PAGE,
                                      today_count)
        return self._html(board, page.frame(board, f"{board.name} - {page.BBNAME}", root, body, "pg_forumdisplay"))

    def viewthread(self, request: Request, root: str, now: datetime) -> Response:
        q = request.query_params
        thread = self.forum.thread(_int(q.get("tid"), -1), now)
        if thread is None:
            return self._html(None, page.show_message(None, NO_THREAD, root))
        posts = list(thread.visible(now))
        url = f"forum.php?mod=viewthread&amp;tid={thread.tid}"
        author = _int(q.get("authorid"), 0)
        if author:
            posts = [p for p in posts if p.uid == author] or posts[:1]
            url += f"&amp;authorid={author}"
        pages = -(-len(posts) // POSTS_PER_PAGE)
        number = min(max(1, _int(q.get("page"), 1)), pages)
        chosen = posts[(number - 1) * POSTS_PER_PAGE:number * POSTS_PER_PAGE]
        body = page.viewthread_body(thread, chosen, now, number, len(posts), POSTS_PER_PAGE, url)
        title = f"{thread.subject} - {thread.board.name} - {page.BBNAME}"
        return self._html(thread.board, page.frame(thread.board, title, root, body, "pg_viewthread"))

    def rss(self, request: Request, root: str, now: datetime) -> Response:
        fid = request.query_params.get("fid")
        boards = self.forum.boards if fid is None else [b for b in self.forum.boards if str(b.fid) == fid]
        if not boards:
            return Response(b"Specified forum not found", media_type="text/plain")
        threads = sorted((t for b in boards for t in self.forum.threads(b, now)), key=lambda t: t.tid, reverse=True)
        charset = boards[0].charset if fid is not None else "utf-8"
        body = _rss(boards[0] if fid is not None else None, threads[:RSS_THREADS], f"{root}/forum/", now, charset)
        return Response(body.encode(charset, errors="xmlcharrefreplace"), headers={"Content-Type": "application/xml"})

    # -- truth ----------------------------------------------------------------------------

    def truth(self, query: TruthQuery) -> dict[str, Any]:
        posts: list[dict[str, Any]] = []
        exchanges: list[dict[str, Any]] = []
        for board in self.forum.boards:
            if board.account is None or not query.wants(board.account):
                continue
            for thread in self.forum.threads(board, query.now):
                posts += [_truth_post(thread, p, query.now) for p in thread.visible(query.now) if query.covers(p.at)]
                if thread.session is not None and query.covers(thread.session.start):
                    exchanges.append(_truth_exchange(thread, query.now))
        return {"posts": posts, "followers": [], "exchanges": exchanges}


def _rss(board: Board | None, threads: list[Thread], siteurl: str, now: datetime, charset: str) -> str:
    name = board.name if board is not None else page.BBNAME
    link = f"{siteurl}forum.php?mod=forumdisplay&amp;fid={board.fid}" if board is not None else siteurl
    items = []
    for thread in threads:
        first = thread.posts[0]
        text = first.text
        items.append(
            f"    <item>\n      <title>{page.e(thread.subject)}</title>\n"
            f"      <link>{siteurl}forum.php?mod=viewthread&amp;tid={thread.tid}</link>\n"
            f"      <description>{cdata(text[:250])}</description>\n"
            f"      <category>{page.e(thread.board.name)}</category>\n"
            f"      <author>{page.e(first.author)}</author>\n"
            f"      <pubDate>{rfc822_utc(thread.created)}</pubDate>\n    </item>")
    return (
        f'<?xml version="1.0" encoding="{charset}"?>\n<rss version="2.0">\n  <channel>\n'
        f"    <title>{page.BBNAME} - {page.e(name)}</title>\n    <link>{link}</link>\n"
        f"    <description>Latest {RSS_THREADS} threads of {page.e(name)}</description>\n"
        f"    <copyright>Copyright(C) {page.BBNAME}</copyright>\n"
        "    <generator>Discuz! Board by Comsenz Inc.</generator>\n"
        f"    <lastBuildDate>{rfc822_utc(now)}</lastBuildDate>\n    <ttl>60</ttl>\n"
        f"    <image>\n      <url>{siteurl}static/image/common/logo_88_31.gif</url>\n"
        f"      <title>{page.BBNAME}</title>\n      <link>{siteurl}</link>\n    </image>\n"
        + "".join(item + "\n" for item in items)
        + "  </channel>\n</rss>"
    )


def _truth_post(thread: Thread, post: ForumPost, now: datetime) -> dict[str, Any]:
    first = post.floor == 1
    visible = thread.visible(now)
    return {"platform": "forum", "account": thread.board.account, "native_id": str(post.pid),
            "kind": "thread" if first else "reply", "title": thread.subject if first else "",
            "text": post.text,
            "published_at": iso_local(post.at),
            "url": f"/forum/forum.php?mod=viewthread&tid={thread.tid}" if first else
                   f"/forum/forum.php?mod=redirect&goto=findpost&ptid={thread.tid}&pid={post.pid}",
            "parent_native_id": None if first else str(thread.posts[0].pid),
            "reposts": None, "comments": len(visible) - 1 if first else None, "likes": None,
            "reads": thread.views(now) if first else None,
            "fid": thread.board.fid, "tid": thread.tid, "floor": post.floor, "author": post.author,
            "quote_pid": post.quote_pid, "press_release": thread.press_release if first else None}


def _truth_exchange(thread: Thread, now: datetime) -> dict[str, Any]:
    assert thread.session is not None
    questions = []
    for q in thread.session.questions:
        post = thread.post(q.pid)
        assert post is not None
        if post.at > now:
            continue
        answer = thread.post(q.answer_pid) if q.answer_pid is not None else None
        if answer is not None and answer.at > now:
            answer = None  # answered later than the world's now
        questions.append({"pid": q.pid, "author": post.author, "text": post.text,
                          "asked_at": iso_local(post.at), "answered_at": iso_local(answer.at) if answer else None,
                          "answer_pid": answer.pid if answer else None, "suggestion": q.suggestion})
    return {"account": thread.board.account, "fid": thread.board.fid, "tid": thread.tid, "title": thread.subject,
            "start": iso_local(thread.session.start), "end": iso_local(thread.session.end), "questions": questions}
