"""The comments under simulated Weibo posts, as m.weibo.cn's ``comments/hotflow`` and
``comments/hotFlowChild`` serve them (shared/reference/weibo.md §1.5).

A post's comments are generated whole on first use, from the seed and the post only, and cut at
``now`` when served, so the clock moving forward only adds comments. Citizens comment (roots);
under a root, citizens reply and the account answers with the account's own reply rate (the
catalogue's ``replies`` option, else one drawn per account; 菏泽住建's is 0: it never answers), after
a delay from ten minutes to five days. Now and then the account answers a citizen's reply
(``回复@name:``) instead of the root, and now and then it adds a root comment of its own to its own
post (which answers nobody).

The traps of the real endpoints, each on purpose:

- roots are listed hot first (likes), 20 a page; ``data.max_id`` is the next page's cursor and
  ``data.max_id_type`` must be sent back with it: it is 1 after the first page, and a cursor with
  the wrong type is ignored (page 1 again, so a client that drops it never progresses);
- the last page says ``max_id: 0``, except on some accounts' posts, where it gives one more
  cursor and that page answers ``{"ok": 0, "msg": "快来发表你的评论吧"}`` (also the answer for a post
  without comments);
- ``data.total_number`` is the post's comment count as the timeline shows it, which counts
  comments the list no longer gives: never a page count;
- a root's ``comments`` holds its first two replies, or ``false`` when it has none; its
  ``total_number`` counts all of them, the rest is only in ``hotFlowChild?cid=<root>``;
- ``created_at`` is always the full ``Sat Jun 04 09:12:00 +0800 2016`` form; ids are integers.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from govmatrix.sandbox.weibo_posts import WeiboPost, mid_to_bid
from govmatrix.sandbox.weibo_shapes import REGION_SINCE, created_at
from govmatrix.sandbox.world import World, WorldAccount

PAGE_SIZE, CHILD_PAGE_SIZE, INLINE_CHILDREN = 20, 20, 2
ROOT_CAP = 45  # the most roots a post's list gives, whatever its count says
ID_STRIDE = 1024  # a comment id is post mid * ID_STRIDE + n: it decodes to its post without an index
CURSOR_BASE = 138_000_000_000_000
NO_COMMENTS = {"ok": 0, "msg": "快来发表你的评论吧"}
_CITIZENS = ("牡丹花开", "菏泽小李", "曹州老王", "鲁西南的风", "单县羊汤", "郓城好汉", "定陶人家", "巨野画乡",
             "东明黄河", "成武小张", "鄄城阿强", "牡丹区居民", "开发区打工人", "菏泽宝妈", "老菏泽", "水浒迷",
             "曹县小伙", "一只菏泽喵", "赵王河畔", "天香公园晨练")
_ASKS = ("请问这个在哪里办理？", "什么时候开始实施？", "我们小区的问题什么时候解决？", "点赞！", "希望多发布这样的信息。",
         "电话打不通怎么办？", "具体要带哪些材料？", "支持！", "农村户口可以申请吗？", "路灯坏了好几天了，能修一下吗？",
         "学生可以参加吗？", "转发了，希望更多人看到。")
_ANSWERS = ("您好，可携带身份证到市民服务中心办理。", "感谢关注，具体时间请留意后续通知。", "您反映的问题已转相关部门处理。",
            "您好，咨询电话0530-12345，工作日可拨打。", "谢谢支持！", "已记录，我们会尽快核实。")
_REMARKS = ("同问", "+1", "我也想知道", "顶一下", "说得对")


@dataclass(frozen=True)
class Comment:
    cid: int
    post: int  # the post's mid
    root: int | None  # the root comment of a reply; None for a root
    author: str
    uid: int
    at: datetime
    text: str  # as written (the served HTML adds the 回复@ link)
    likes: int
    by_account: bool
    reply_to: int | None  # the comment it answers: a reply's root, or the reply named by 回复@
    reply_name: str | None = None  # the author a 回复@ reply names


@dataclass(frozen=True)
class CommentThread:
    roots: tuple[Comment, ...]
    children: dict[int, tuple[Comment, ...]]  # root id -> its replies, oldest first
    shown_total: int  # the post's comment count as shown
    ok0_tail: bool  # the last page hands out one more cursor, answered by ok:0


class WeiboComments:
    """Comments of the posts of a Weibo world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.thread = lru_cache(maxsize=20_000)(self._thread)

    def reply_rate(self, account: WorldAccount) -> float:
        if "replies" in account.options:
            return float(account.options["replies"])
        return self.world.rng("weibo-replies", account.native_id).uniform(0.15, 0.6)

    def ok0_tail(self, account: WorldAccount) -> bool:
        return self.world.rng("weibo-comment-tail", account.native_id).random() < 0.3

    def _thread(self, post: WeiboPost) -> CommentThread:
        r = self.world.rng("weibo-comments", post.mid)
        account = post.account
        roots: list[Comment] = []
        children: dict[int, tuple[Comment, ...]] = {}
        n = 0
        for _ in range(min(post.final[1], ROOT_CAP)):
            root, n = self._root(post, n, r)
            roots.append(root)
            replies, n = self._replies(post, root, n, r)
            children[root.cid] = replies
        if r.random() < 0.05:  # the account adds a note under its own post: a root that answers nobody
            at = post.published + timedelta(seconds=r.randint(300, 7200))
            note = Comment(post.mid * ID_STRIDE + n, post.mid, None, account.name, int(account.native_id), at,
                           "补充说明：详情请关注后续发布。", r.randint(0, 50), True, None)
            roots.append(note)
            children[note.cid] = ()
        return CommentThread(tuple(roots), children, post.final[1], self.ok0_tail(account))

    def _root(self, post: WeiboPost, n: int, r: random.Random) -> tuple[Comment, int]:
        late = r.random() < 0.1
        delay = r.uniform(86_400, 10 * 86_400) if late else r.expovariate(1 / 14_400) + 60
        name = r.choice(_CITIZENS)
        root = Comment(post.mid * ID_STRIDE + n, post.mid, None, name, 7_000_000_000 + _CITIZENS.index(name) * 97,
                       post.published + timedelta(seconds=int(delay)), r.choice(_ASKS), int(r.expovariate(1 / 8)),
                       False, None)
        return root, n + 1

    def _replies(self, post: WeiboPost, root: Comment, n: int, r: random.Random) -> tuple[tuple[Comment, ...], int]:
        account = post.account
        out: list[Comment] = []
        at = root.at
        for _ in range(min(int(r.expovariate(1 / 0.8)), 6)):
            at += timedelta(seconds=int(r.expovariate(1 / 7200)) + 30)
            name = r.choice(_CITIZENS)
            out.append(Comment(post.mid * ID_STRIDE + n, post.mid, root.cid, name,
                               7_000_000_000 + _CITIZENS.index(name) * 97, at, r.choice(_REMARKS),
                               int(r.expovariate(1 / 2)), False, root.cid))
            n += 1
        if r.random() < self.reply_rate(account):
            target = out[-1] if out and r.random() < 0.2 else root
            low, high = r.choices(((600, 6 * 3600), (6 * 3600, 48 * 3600), (48 * 3600, 5 * 86_400)), (6, 3, 1))[0]
            when = target.at + timedelta(seconds=r.randint(low, high))
            named = target.author if target is not root else None
            out.append(Comment(post.mid * ID_STRIDE + n, post.mid, root.cid, account.name, int(account.native_id),
                               when, r.choice(_ANSWERS), r.randint(0, 30), True, target.cid, named))
            n += 1
        return tuple(sorted(out, key=lambda c: (c.at, c.cid))), n

    # -- what is served at ``now`` ------------------------------------------------------------

    def visible(self, post: WeiboPost, now: datetime) -> tuple[list[Comment], dict[int, list[Comment]]]:
        """Roots hot first and each root's replies oldest first, as they stand at ``now``."""
        thread = self.thread(post)
        roots = sorted((c for c in thread.roots if c.at <= now), key=lambda c: (-c.likes, -c.cid))
        return roots, {c.cid: [x for x in thread.children[c.cid] if x.at <= now] for c in roots}

    def hotflow(self, post: WeiboPost, now: datetime, max_id: int, max_id_type: int) -> dict[str, Any]:
        roots, children = self.visible(post, now)
        thread = self.thread(post)
        offset = max_id - CURSOR_BASE if max_id else 0
        expected_type = 0 if offset == 0 else 1
        if offset < 0 or max_id_type != expected_type:
            offset = 0  # a cursor of the wrong type is ignored: page 1 again
        if offset >= len(roots):
            return NO_COMMENTS
        page = roots[offset:offset + PAGE_SIZE]
        more = offset + PAGE_SIZE < len(roots) or (thread.ok0_tail and offset + PAGE_SIZE >= len(roots))
        next_id = CURSOR_BASE + offset + PAGE_SIZE if more else 0
        pages = -(-len(roots) // PAGE_SIZE)
        data = {"data": [self.root_json(c, children[c.cid], now) for c in page], "total_number": thread.shown_total,
                "max_id": next_id, "max": pages, "max_id_type": 0 if next_id == 0 else 1}
        return {"ok": 1, "data": data}

    def child_flow(self, post: WeiboPost, root_id: int, now: datetime, max_id: int) -> dict[str, Any]:
        roots, children = self.visible(post, now)
        root = next((c for c in roots if c.cid == root_id), None)
        if root is None:
            return {"ok": 0, "msg": "评论不存在"}
        replies = children[root_id]
        offset = max(0, max_id - CURSOR_BASE) if max_id else 0
        page = replies[offset:offset + CHILD_PAGE_SIZE]
        more = offset + CHILD_PAGE_SIZE < len(replies)
        return {"ok": 1, "data": [self.comment_json(c, now, replies) for c in page],
                "rootComment": [self.root_json(root, replies, now)], "total_number": len(replies),
                "max_id": CURSOR_BASE + offset + CHILD_PAGE_SIZE if more else 0, "max_id_type": 0}

    def root_json(self, comment: Comment, replies: list[Comment], now: datetime) -> dict[str, Any]:
        out = self.comment_json(comment, now, replies)
        inline = replies[:INLINE_CHILDREN]
        out["comments"] = [self.comment_json(c, now, replies) for c in inline] if inline else False
        out["total_number"] = len(replies)
        return out

    def comment_json(self, c: Comment, now: datetime, siblings: list[Comment]) -> dict[str, Any]:
        text = html.escape(c.text, quote=False)
        out: dict[str, Any] = {"created_at": created_at(c.at), "id": c.cid, "rootid": c.root or c.cid,
                               "rootidstr": str(c.root or c.cid), "floor_number": 0,
                               "text": text, "disable_reply": 0, "restrictOperate": 0, "source_allowclick": 0,
                               "source_type": 1, "source": "来自山东" if c.at >= REGION_SINCE else "",
                               "user": self._user(c), "mid": str(c.cid), "readtimetype": "comment",
                               "max_id": 0, "total_number": 0, "isLikedByMblogAuthor": False, "more_info_type": 0,
                               "bid": mid_to_bid(c.cid), "like_count": c.likes, "liked": False}
        if c.reply_name is not None and c.reply_to is not None:
            target = next((s for s in siblings if s.cid == c.reply_to), None)
            out["text"] = f"回复<a href='/n/{html.escape(c.reply_name)}'>@{html.escape(c.reply_name)}</a>:{text}"
            out["reply_id"] = c.reply_to
            out["reply_original_text"] = html.escape(target.text, quote=False) if target else ""
        return out

    def _user(self, c: Comment) -> dict[str, Any]:
        return {"id": c.uid, "screen_name": c.author,
                "profile_image_url": f"https://tvax1.sinaimg.cn/crop.0.0.180.180.50/{mid_to_bid(c.uid)}.jpg",
                "profile_url": f"https://m.weibo.cn/u/{c.uid}?uid={c.uid}", "verified": c.by_account,
                "verified_type": 1 if c.by_account else -1, "follow_me": False, "following": False}

    def truth(self, post: WeiboPost, now: datetime) -> list[dict[str, Any]]:
        thread = self.thread(post)
        out = []
        for c in [*thread.roots, *(x for replies in thread.children.values() for x in replies)]:
            if c.at <= now:
                out.append({"platform": "weibo", "account": post.account.native_id, "post_native_id": str(post.mid),
                            "native_id": str(c.cid), "root_native_id": str(c.root) if c.root else None,
                            "author": c.author, "author_id": str(c.uid), "text": c.text,
                            "created_at": c.at.isoformat(), "by_account": c.by_account,
                            "reply_to": str(c.reply_to) if c.reply_to is not None else None})
        return out
