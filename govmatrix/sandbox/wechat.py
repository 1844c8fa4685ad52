"""Simulated WeChat: the Official Account API, public article pages and an RSSHub bridge.

Served under three prefixes (:meth:`WechatPlatform.mounts`), each the stand-in for one real host:

- ``/wechat-api`` (https://api.weixin.qq.com), for accounts the city owns (``{"owned": True}``
  in city.py; appid from the options, any non-empty secret except ``wrong``):
  ``GET cgi-bin/token``, ``POST cgi-bin/stable_token``, ``POST cgi-bin/freepublish/batchget``,
  ``POST datacube/getusercumulate`` and ``POST datacube/getusersummary``;
- ``/mp`` (https://mp.weixin.qq.com): article pages ``/s/<id>`` and ``/s?__biz=&mid=&idx=&sn=``;
- ``/rsshub`` (an RSSHub instance): ``/wechat/mp/homepage/<__biz>/<hid>``, the 20 latest articles
  of any account (every third account's bridge gives only the digest as description).

Platform faults: under ``hostile`` a token dies after a few calls (40001 or 42001 on the next
call with it; a new token works) and some batchget/datacube calls answer 45009, at most twice
per request body, so a client that refreshes and retries gets everything.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from govmatrix.sandbox.faults import FaultPlan
from govmatrix.sandbox.platform import SimulatedPlatform, TruthQuery
from govmatrix.sandbox.simkit import RetryFaults, iso_local, site_root, stable_hex
from govmatrix.sandbox.state import SHANGHAI
from govmatrix.sandbox.wechat_api import (
    ApiError,
    api_response,
    article_total,
    article_url,
    batchget,
    datacube,
    error_body,
    json_object,
)
from govmatrix.sandbox.wechat_pages import article_page, bridge_feed, message_page
from govmatrix.sandbox.wechat_tokens import TokenDesk
from govmatrix.sandbox.wechat_world import NewsItem, Publish, WechatWorld, biz_of
from govmatrix.sandbox.world import World, WorldAccount

QUOTA_FAULT_RATE = 0.15
RSS_ITEMS = 20
ApiCall = Callable[[WorldAccount, dict[str, Any], Request], dict[str, Any]]


class WechatPlatform(SimulatedPlatform):
    """WeChat official accounts: API for owned accounts, article pages and bridge feeds for all."""

    name = "wechat"

    def __init__(self, world: World, faults: FaultPlan) -> None:
        super().__init__(world, faults)
        self.articles = WechatWorld(world)
        self.tokens = TokenDesk(world.seed)
        self.quota = RetryFaults(world.seed)
        self._rid = 0
        self._rid_lock = threading.Lock()

    def mounts(self) -> dict[str, list[BaseRoute]]:
        """Routes per mount prefix (``/wechat-api``, ``/mp``, ``/rsshub``), relative to it."""
        return {
            "/wechat-api": [
                Route("/cgi-bin/token", self.endpoint("wechat.token", self.token), methods=["GET", "POST"]),
                Route("/cgi-bin/stable_token", self.endpoint("wechat.token", self.stable_token),
                      methods=["GET", "POST"]),
                Route("/cgi-bin/freepublish/batchget", self.endpoint("wechat.batchget", self._api(self._batchget)),
                      methods=["GET", "POST"]),
                Route("/datacube/getusercumulate", self.endpoint("wechat.datacube", self._api(self._cumulate)),
                      methods=["GET", "POST"]),
                Route("/datacube/getarticletotal", self.endpoint("wechat.datacube", self._api(self._articles)),
                      methods=["POST"]),
                Route("/datacube/getusersummary", self.endpoint("wechat.datacube", self._api(self._summary)),
                      methods=["GET", "POST"]),
            ],
            "/mp": [Route("/s", self.endpoint("wechat.article", self.long_link)),
                    Route("/s/{short_id}", self.endpoint("wechat.article", self.short_link))],
            "/rsshub": [Route("/wechat/mp/homepage/{biz}/{hid}", self.endpoint("wechat.rss", self.bridge)),
                        Route("/wechat/mp/homepage/{biz}/{hid}/{cid}", self.endpoint("wechat.rss", self.bridge))],
        }

    def routes(self) -> list[BaseRoute]:
        """The routes of every prefix, to be mounted at the root of the sandbox app."""
        return [Mount(prefix, routes=routes) for prefix, routes in self.mounts().items()]

    # -- tokens -------------------------------------------------------------------------------

    def _rid_text(self) -> str:
        with self._rid_lock:
            self._rid += 1
            serial = self._rid
        return "-".join(stable_hex(self.world.seed, "wx-rid", serial, part, length=8) for part in range(3))

    def _error(self, code: int) -> Response:
        return api_response(error_body(code, self._rid_text()))

    def _credentials(self, params: dict[str, Any]) -> str:
        """The appid of a valid credential set, or raise the API's error."""
        if params.get("grant_type") != "client_credential":
            raise ApiError(40002)
        appid = params.get("appid") or ""
        if not appid:
            raise ApiError(41002)
        if appid not in self.articles.by_appid:
            raise ApiError(40013)
        secret = params.get("secret") or ""
        if not secret:
            raise ApiError(41004)
        if secret == "wrong":
            raise ApiError(40125)
        return str(appid)

    async def token(self, request: Request) -> Response:
        try:
            appid = self._credentials(dict(request.query_params))
        except ApiError as exc:
            return self._error(exc.code)
        token, expires_in = self.tokens.issue(appid, "token", self.state.now)
        return api_response({"access_token": token, "expires_in": expires_in})

    async def stable_token(self, request: Request) -> Response:
        if request.method != "POST":
            return self._error(43002)
        try:
            body = json_object(await request.body())
            appid = self._credentials(body)
        except ApiError as exc:
            return self._error(exc.code)
        token, expires_in = self.tokens.issue(appid, "stable", self.state.now,
                                              force=body.get("force_refresh") is True)
        return api_response({"access_token": token, "expires_in": expires_in})

    # -- authenticated calls ------------------------------------------------------------------

    def _api(self, call: ApiCall) -> Callable[[Request], Awaitable[Response]]:
        """Wrap an API call with the POST check, the token check, quota faults and body parsing."""

        async def handler(request: Request) -> Response:
            if request.method != "POST":
                return self._error(43002)
            raw = await request.body()
            appid, code = self.tokens.check(request.query_params.get("access_token", ""), self.state.now,
                                            hostile=self.state.faults == "hostile")
            if appid is None:
                return self._error(code)
            quota_key = f"{request.url.path}|{appid}|{raw!r}"
            if self.state.faults == "hostile" and self.quota.fails(quota_key, QUOTA_FAULT_RATE):
                return self._error(45009)
            try:
                return api_response(call(self.articles.by_appid[appid], json_object(raw), request))
            except ApiError as exc:
                return self._error(exc.code)

        return handler

    def _batchget(self, account: WorldAccount, body: dict[str, Any], request: Request) -> dict[str, Any]:
        return batchget(self.articles, account, body, self.state.now, site_root(request))

    def _cumulate(self, account: WorldAccount, body: dict[str, Any], request: Request) -> dict[str, Any]:
        return datacube(self.articles, account, body, self.state.now, cumulate=True)

    def _summary(self, account: WorldAccount, body: dict[str, Any], request: Request) -> dict[str, Any]:
        return datacube(self.articles, account, body, self.state.now, cumulate=False)

    def _articles(self, account: WorldAccount, body: dict[str, Any], request: Request) -> dict[str, Any]:
        return article_total(self.articles, account, body, self.state.now)

    # -- pages and bridge ---------------------------------------------------------------------

    def _page(self, found: tuple[Publish, NewsItem] | None, request: Request) -> Response:
        if found is None:
            return HTMLResponse(message_page("参数错误"))
        publish, item = found
        if item.deleted:
            return HTMLResponse(message_page("该内容已被发布者删除"))
        return HTMLResponse(article_page(publish, item, article_url(site_root(request), publish, item)))

    async def short_link(self, request: Request) -> Response:
        return self._page(self.articles.find(request.path_params["short_id"], self.state.now), request)

    async def long_link(self, request: Request) -> Response:
        q = request.query_params
        found = self.articles.find_long(q.get("__biz", ""), q.get("mid", ""), q.get("idx", ""), q.get("sn", ""),
                                        self.state.now)
        return self._page(found, request)

    async def bridge(self, request: Request) -> Response:
        biz, hid = request.path_params["biz"], request.path_params["hid"]
        account = self.articles.by_biz.get(biz)
        if account is None:
            return HTMLResponse("<h1>Looks like something went wrong</h1><p>Error: route not found</p>",
                                status_code=404)
        now, root = self.state.now, site_root(request)
        publishes: list[Publish] = []
        for publish in self.articles.published(account, now):
            publishes.append(publish)
            if sum(len(p.items) for p in publishes) >= RSS_ITEMS + 3:
                break
        body = bridge_feed(publishes, account.name, str(request.url), f"{root}/mp/homepage?__biz={biz}&hid={hid}",
                           root, now, digest_only=account.index % 3 == 2)
        return Response(body, media_type="application/xml; charset=utf-8")

    # -- truth --------------------------------------------------------------------------------

    def truth(self, query: TruthQuery) -> dict[str, Any]:
        posts: list[dict[str, Any]] = []
        followers: list[dict[str, Any]] = []
        for account in self.articles.accounts:
            if not query.wants(account.native_id):
                continue
            for publish in reversed(self.articles.published(account, query.now)):
                if query.covers(publish.at):
                    posts.extend(_truth_posts(publish, self.articles))
            if account.options.get("owned"):
                followers.extend(self._truth_followers(account, query))
        return {"posts": posts, "followers": followers, "exchanges": []}

    def _truth_followers(self, account: WorldAccount, query: TruthQuery) -> list[dict[str, Any]]:
        """Daily cumulate_user up to yesterday: the days datacube serves."""
        yesterday = query.now.astimezone(SHANGHAI).date() - timedelta(days=1)
        last = (yesterday - self.world.first_day).days
        return [{"platform": "wechat", "account": account.native_id, "day": self.world.day_date(d).isoformat(),
                 "followers": self.articles.fan_day(account, d).cumulate} for d in range(0, last + 1)]


def _truth_posts(publish: Publish, ww: WechatWorld) -> list[dict[str, Any]]:
    """The articles of a publish; an owned account's also with their datacube figures after 7 days
    (``figures``: reads, shares, favourites), what getarticletotal reports once the days are over."""
    account = publish.account
    owned = bool(account.options.get("owned"))
    return [{"platform": "wechat", "account": account.native_id, "native_id": item.short_id, "kind": "article",
             "title": item.title, "text": item.text, "published_at": iso_local(publish.at),
             "clean_text": item.text.removesuffix("\n" + item.footer), "press_release": item.press_release,
             "url": f"/mp/s/{item.short_id}", "parent_native_id": None, "reposts": None, "comments": None,
             "likes": None, "reads": None, "author": item.author, "owned": bool(account.options.get("owned")),
             "article_id": publish.article_id, "idx": item.idx, "biz": biz_of(account), "mid": str(publish.mid),
             "sn": item.sn, "figures": list(ww.article_reads(publish, item, 6)) if owned else None}
            for item in publish.items if not item.deleted]
