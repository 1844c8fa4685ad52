"""Simulated Sina Weibo, as m.weibo.cn serves it (shared/reference/weibo.md).

Endpoints, relative to the mount point (``/weibo``, the stand-in for https://m.weibo.cn):

- ``GET /api/container/getIndex?type=uid&value=UID`` (or ``containerid=100505UID``): profile
  (``userInfo``, ``tabsInfo``);
- ``GET /api/container/getIndex?[type=uid&value=UID&]containerid=107603UID[&since_id=MID]``:
  the timeline, 10 posts a page, ``cardlistInfo.since_id`` to the next page, ``ok:0`` past the
  end (``page=N`` paging and container ``230413UID`` are served too);
- ``GET /statuses/extend?id=MID``: full text; ``GET /statuses/show?id=MID|BID``: one post with
  ``longText``; ``GET /detail/MID`` and ``/status/MID``: the HTML page with ``$render_data``;
- ``GET /comments/hotflow?id=MID&mid=MID&max_id_type=0[&max_id=N]`` and
  ``GET /comments/hotFlowChild?cid=ROOT&max_id=0&max_id_type=0``: the comments, with the traps
  listed in weibo_comments;
- ``GET /`` (sets visitor cookies) and ``GET /api/config`` (login probe).
"""

from __future__ import annotations

import bisect
import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from govmatrix.sandbox import faults as f
from govmatrix.sandbox.faults import Fault
from govmatrix.sandbox.platform import SimulatedPlatform, TruthQuery, json_response, php_json
from govmatrix.sandbox.weibo_comments import ID_STRIDE, NO_COMMENTS, WeiboComments
from govmatrix.sandbox.weibo_posts import (
    WeiboPost,
    WeiboWorld,
    bid_to_mid,
    mid_to_bid,
    render_html,
)
from govmatrix.sandbox.weibo_shapes import (
    PIN_MARKERS,
    Shapes,
    Traits,
    count_shown,
    followers_shown,
    image_url,
    video_url,
)
from govmatrix.sandbox.world import World, WorldAccount

PAGE_SIZE = 10
EMPTY = php_json({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}})
NOT_FOUND = php_json({"ok": 0, "errno": "20101", "msg": "target weibo does not exist!", "extra": ""})
CAPTCHA_URLS = ("https://m.weibo.cn/captcha?scene=limit&referer=/", "https://m.weibo.cn/api/geetest?testType=1&backUrl=/")

# The catalogue accounts' peculiarities; synthetic accounts draw theirs from the seed.
CATALOGUE_TRAITS = {
    "2810374651": Traits(pinned=2, pin_markers=PIN_MARKERS, card_group=True),  # 菏泽发布
    "2398765410": Traits(pinned=1),  # 菏泽公安
    "5231467780": Traits(pinned=1, pin_markers=frozenset({"title", "mblogtype"})),  # 健康菏泽
    "2987610034": Traits(pinned=1, pin_markers=frozenset({"profile_type_id", "mblogtype"}), pics_map=True),  # 菏泽旅游
    "3387410256": Traits(pinned=1, card_group=True),  # 菏泽环保
    "3498127760": Traits(card_group=True),  # 菏泽交通
    "5602318845": Traits(legacy_dates=True),  # 菏泽林业
    "5640092183": Traits(legacy_dates=True, pinned=1),  # 菏泽消协
    "5823301746": Traits(no_tabs=True),  # 菏泽质监
}


class WeiboPlatform(SimulatedPlatform):
    """m.weibo.cn: profiles, timelines, long text, and its rate-limit and captcha failures."""

    name = "weibo"
    fault_kinds = f.GENERIC_KINDS | {f.TEAPOT, f.CAPTCHA, f.BLOCKED}

    def __init__(self, world: World, faults: f.FaultPlan) -> None:
        super().__init__(world, faults)
        self.posts = WeiboWorld(world)
        self.traits = {a.native_id: self._traits(a) for a in self.posts.accounts}
        self.shapes = Shapes(self.posts, self.traits)
        self.comments = WeiboComments(world)
        self._page = lru_cache(maxsize=2048)(self._render_page)

    def _traits(self, account: WorldAccount) -> Traits:
        if not account.synthetic:
            return CATALOGUE_TRAITS.get(account.native_id, Traits())
        r = self.world.rng("weibo-traits", account.native_id)
        return Traits(legacy_dates=r.random() < 0.05, pinned=1 if r.random() < 0.1 else 0,
                      card_group=r.random() < 0.1)

    def routes(self) -> list[BaseRoute]:
        return [Mount("/weibo", routes=[
            Route("/api/container/getIndex", self.endpoint(_index_key, self.get_index)),
            Route("/statuses/extend", self.endpoint("weibo.extend", self.extend)),
            Route("/statuses/show", self.endpoint("weibo.show", self.show)),
            Route("/detail/{mid}", self.endpoint("weibo.detail", self.detail)),
            Route("/status/{mid}", self.endpoint("weibo.detail", self.detail)),
            Route("/api/config", self.endpoint("weibo.config", self.config)),
            Route("/comments/hotflow", self.endpoint("weibo.comments", self.hotflow)),
            Route("/comments/hotFlowChild", self.endpoint("weibo.comments_child", self.hot_flow_child)),
            Route("/", self.endpoint("weibo.home", self.home)),
        ])]

    # -- getIndex ---------------------------------------------------------------------------

    async def get_index(self, request: Request) -> Response:
        params = request.query_params
        containerid = params.get("containerid", "")
        if not containerid and params.get("type") == "uid":
            return self.profile(params.get("value", ""))
        for prefix in ("107603", "230413"):
            if containerid.startswith(prefix):
                uid = containerid[len(prefix):].split("_-_")[0]
                return self.timeline(uid, containerid, params.get("since_id"), params.get("page"))
        if containerid.startswith("100505"):
            return self.profile(containerid[6:])
        return json_response(EMPTY)

    def profile(self, uid: str) -> Response:
        account = self.posts.by_uid.get(uid)
        if account is None:
            return json_response(EMPTY)
        now = self.state.now
        data: dict[str, Any] = {"avatar_guide": [], "isStarStyle": 0, "userInfo": self.shapes.user(account, now)}
        data["userInfo"]["toolbar_menus"] = [{"type": "profile_follow", "name": "关注", "pic": "",
                                              "params": {"uid": int(uid)}}]
        data["fans_scheme"] = (f"https://m.weibo.cn/p/index?containerid=231051_-_fans_intimacy_-_{uid}"
                               f"&luicode=10000011&lfid=100505{uid}")
        data["follow_scheme"] = (f"https://m.weibo.cn/p/index?containerid=231051_-_followersrecomm_-_{uid}"
                                 f"&luicode=10000011&lfid=100505{uid}")
        if not self.traits[uid].no_tabs:
            data["tabsInfo"] = {"selectedTab": 1, "tabs": _tabs(uid)}
        data["scheme"] = f"sinaweibo://userinfo?uid={uid}&type=uid&value={uid}&luicode=10000011&lfid=100505{uid}&v_p=42"
        data["showAppTips"] = 1
        return json_response(php_json({"ok": 1, "data": data}))

    def timeline(self, uid: str, containerid: str, since_id: str | None, page: str | None) -> Response:
        account = self.posts.by_uid.get(uid)
        if account is None:
            return json_response(EMPTY)
        if page is not None and since_id is None:
            cursor: tuple[str, int] = ("page", _int(page, 0))
        else:
            cursor = ("since_id", _int(since_id, 0) if since_id is not None else 0)
        # A page is a function of these arguments only; on a fixed clock it is built once.
        return json_response(self._page(account, containerid, cursor, self.state.now))

    def _render_page(self, account: WorldAccount, containerid: str, cursor: tuple[str, int], at: datetime) -> bytes:
        visible = self.posts.visible(account, at)
        n_visible = len(visible)
        traits = self.traits[account.native_id]
        mode, value = cursor
        if mode == "page":
            start = (value - 1) * PAGE_SIZE
            top = n_visible - start if value >= 1 else 0
        else:
            top = bisect.bisect_right(visible, value) if value else n_visible
        chosen = visible[max(0, top - PAGE_SIZE):top][::-1]
        if not chosen:
            return EMPTY
        first_page = value == (1 if mode == "page" else 0)
        cards = []
        if first_page:
            for mid in self.posts.pinned(account, traits.pinned):
                post = self._post(mid)
                cards.append(self.shapes.card(post, at, containerid, legacy=traits.legacy_dates,
                                              pinned=traits.pin_markers))
        cards += [self.shapes.card(self._post(mid), at, containerid, legacy=traits.legacy_dates) for mid in chosen]
        if first_page and traits.card_group:
            cards[0] = {"card_type": 11, "itemid": "", "show_type": 0, "card_group": [cards[0]]}
        info: dict[str, Any] = {"containerid": containerid, "v_p": 42, "show_style": 1,
                                "total": self.shapes.statuses_count(account, at), "autoLoadMoreIndex": 30}
        more = top - PAGE_SIZE > 0
        if mode == "page":
            if more:
                info["page"] = value + 1
        elif more:
            info["since_id"] = visible[top - PAGE_SIZE - 1]
        uid = account.native_id
        data = {"cardlistInfo": info, "cards": cards,
                "scheme": f"sinaweibo://cardlist?containerid={containerid}&type=uid&value={uid}&v_p=42",
                "showAppTips": 0}
        return php_json({"ok": 1, "data": data})

    # -- single posts -----------------------------------------------------------------------

    def _post(self, mid: int) -> WeiboPost:
        post = self.posts.post(mid)
        assert post is not None
        return post

    def _find(self, ident: str) -> WeiboPost | None:
        mid = int(ident) if ident.isdigit() else bid_to_mid(ident)
        post = self.posts.post(mid) if mid is not None else None
        if post is None or post.published > self.state.now:
            return None
        return post

    async def extend(self, request: Request) -> Response:
        post = self._find(request.query_params.get("id", ""))
        if post is None:
            return json_response(NOT_FOUND)
        reposts, comments, likes = (count_shown(n) for n in post.final)
        data = {"ok": 1, "longTextContent": render_html(post.tokens), "reposts_count": reposts,
                "comments_count": comments, "attitudes_count": likes}
        return json_response(php_json({"ok": 1, "data": data}))

    async def show(self, request: Request) -> Response:
        post = self._find(request.query_params.get("id", ""))
        if post is None:
            return json_response(NOT_FOUND)
        return json_response(php_json({"ok": 1, "data": self.shapes.mblog(post, self.state.now, full=True)}))

    async def detail(self, request: Request) -> Response:
        post = self._find(request.path_params["mid"])
        if post is None:
            return HTMLResponse("<html><body><p>微博不存在或暂无查看权限!</p></body></html>", status_code=200)
        status = self.shapes.mblog(post, self.state.now, full=True)
        render = json.dumps([{"status": status, "call": "1"}], ensure_ascii=False, indent=4)
        page = (f'<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>微博</title>\n</head>\n<body>\n'
                f'<div id="app"></div>\n<script>\n    var $render_data = {render}[0] || {{}};\n</script>\n'
                f"</body>\n</html>\n")
        return HTMLResponse(page)

    async def hotflow(self, request: Request) -> Response:
        params = request.query_params
        post = self._find(params.get("id", "") or params.get("mid", ""))
        if post is None:
            return json_response(NOT_FOUND)
        body = self.comments.hotflow(post, self.state.now, _int(params.get("max_id"), 0),
                                     _int(params.get("max_id_type"), 0))
        return json_response(php_json(body))

    async def hot_flow_child(self, request: Request) -> Response:
        params = request.query_params
        root = _int(params.get("cid"), 0)
        post = self._find(str(root // ID_STRIDE)) if root else None
        if post is None:
            return json_response(php_json(NO_COMMENTS))
        return json_response(php_json(self.comments.child_flow(post, root, self.state.now,
                                                               _int(params.get("max_id"), 0))))

    async def config(self, request: Request) -> Response:
        return json_response(php_json({"ok": 1, "data": {"login": False, "st": "", "uid": ""}}))

    async def home(self, request: Request) -> Response:
        response = HTMLResponse('<!DOCTYPE html><html><head><meta charset="utf-8"><title>微博</title></head>'
                                '<body><div id="app"></div></body></html>')
        token = mid_to_bid(self.world.seed * 7919 + 1).rjust(6, "0")
        response.set_cookie("_T_WM", f"{self.world.seed % 10**11:011d}", path="/")
        response.set_cookie("XSRF-TOKEN", token, path="/", max_age=1200)
        response.set_cookie("WEIBOCN_FROM", "1110006030", path="/")
        response.set_cookie("MLOGIN", "0", path="/", max_age=3600)
        return response

    # -- faults -----------------------------------------------------------------------------

    async def render_fault(self, fault: Fault, request: Request) -> Response:
        if fault.kind == f.TEAPOT:
            return Response(b"", status_code=418, media_type="text/html")
        if fault.kind == f.BLOCKED:
            return Response("<html><body>request blocked</body></html>", status_code=432, media_type="text/html")
        body = {"ok": -100, "errno": "-100", "msg": "", "url": CAPTCHA_URLS[int(fault.draw * 2)], "extra": ""}
        return json_response(php_json(body))

    # -- truth ------------------------------------------------------------------------------

    def truth(self, query: TruthQuery) -> dict[str, Any]:
        posts: list[dict[str, Any]] = []
        followers: list[dict[str, Any]] = []
        for account in self.posts.accounts:
            uid = account.native_id
            if not query.wants(uid):
                continue
            pinned = set(self.posts.pinned(account, self.traits[uid].pinned))
            for mid in reversed(self.posts.visible(account, query.now)):
                post = self._post(mid)
                if query.covers(post.published):
                    posts.append(self._post_truth(post, mid in pinned))
            for day in range(self.world.day_index(query.now) + 1):
                n = self.world.followers(account, day)
                followers.append({"platform": "weibo", "account": uid, "day": self.world.day_date(day).isoformat(),
                                  "followers": n, "shown": followers_shown(n)})
        out: dict[str, Any] = {"posts": posts, "followers": followers, "exchanges": []}
        if query.comments:
            out["comments"] = [c for p in posts for c in self.comments.truth(self._post(int(p["native_id"])), query.now)]
        return out

    def _post_truth(self, post: WeiboPost, pinned: bool) -> dict[str, Any]:
        """A post in the contract's shape, plus Weibo extras (bid, pinned, variant, media, ...)."""
        reposts, comments, likes = post.final
        media = [{"type": "image", "url": image_url(pid, post.mid)} for pid in post.pics]
        if post.video:
            media.append({"type": "video", "url": video_url(post)})
        truth: dict[str, Any] = {
            "platform": "weibo", "account": post.account.native_id, "native_id": str(post.mid), "kind": post.kind,
            "title": "", "text": post.plain, "published_at": post.published.isoformat(),
            "url": f"https://m.weibo.cn/detail/{post.mid}",
            "parent_native_id": str(post.retweet_of) if post.retweet_of is not None else None,
            "reposts": reposts, "comments": comments, "likes": likes, "reads": None,
            "author": post.account.name, "bid": mid_to_bid(post.mid), "pinned": pinned, "long": post.long,
            "variant": post.variant, "press_release": post.release, "edited": post.edited, "media": media,
        }
        if post.kind == "repost":
            truth["original"] = self._original_truth(post)
        return truth

    def _original_truth(self, post: WeiboPost) -> dict[str, Any]:
        if post.deleted is not None:
            return {"native_id": str(post.deleted.mid), "deleted": True}
        assert post.retweet_of is not None
        original = self._post(post.retweet_of)
        return {"native_id": str(original.mid), "author": original.account.name, "text": original.plain}


def _index_key(request: Request) -> str:
    containerid = request.query_params.get("containerid", "")
    return "weibo.timeline" if containerid.startswith(("107603", "230413")) else "weibo.profile"


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _tabs(uid: str) -> list[dict[str, Any]]:
    return [
        {"id": 1, "tabKey": "profile", "must_show": 1, "hidden": 0, "title": "主页", "tab_type": "profile",
         "containerid": f"230283{uid}"},
        {"id": 2, "tabKey": "weibo", "must_show": 1, "hidden": 0, "title": "微博", "tab_type": "weibo",
         "containerid": f"107603{uid}", "apipath": "/profile/statuses", "url": "/index/my"},
        {"id": 4, "tabKey": "original_video", "must_show": 0, "hidden": 0, "title": "视频", "tab_type": "video",
         "containerid": f"231567{uid}"},
        {"id": 10, "tabKey": "album", "must_show": 0, "hidden": 0, "title": "相册", "tab_type": "album",
         "containerid": f"107803{uid}"},
    ]

