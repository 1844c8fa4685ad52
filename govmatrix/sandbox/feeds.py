"""Simulated department websites' feeds, mounted under ``/sites``.

- ``GET /sites/<feed>``: the site's 20 newest entries as RSS 2.0 (``.xml``) or Atom (``.atom``),
  with ``ETag`` and ``Last-Modified`` (the newest entry's time) and ``304 Not Modified`` on a
  matching ``If-None-Match``, or, without one, an ``If-Modified-Since`` not older than it;
- ``GET /sites/hzxwb.json``: the press office site's entries as JSON Feed 1.1;
- ``GET /sites/<stem>/art/Y/M/D/art_C_A.html``: the article page an entry links to.

See :mod:`govmatrix.sandbox.feeds_world` for the sites' quirks (traditional script with pinyin,
mojibake, no guid, content:encoded).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from govmatrix.sandbox import feeds_render as render
from govmatrix.sandbox.faults import FaultPlan
from govmatrix.sandbox.feeds_world import Entry, FeedsWorld, Site
from govmatrix.sandbox.platform import SimulatedPlatform, TruthQuery
from govmatrix.sandbox.simkit import http_date, iso_local, site_root
from govmatrix.sandbox.world import World

FEED_ENTRIES = 20
JSON_FEEDS = {"hzxwb.json": "hzxwb.xml"}  # JSON Feed name -> the RSS feed it mirrors
_ARTICLE = re.compile(r"art_\d+_(\d+)\.html")


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    """RFC 7232: If-None-Match decides when present; otherwise If-Modified-Since."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    return when.tzinfo is not None and modified.replace(microsecond=0) <= when


class FeedsPlatform(SimulatedPlatform):
    """Department websites: RSS, Atom and JSON feeds with conditional GET, and article pages."""

    name = "feeds"

    def __init__(self, world: World, faults: FaultPlan) -> None:
        super().__init__(world, faults)
        self.sites = FeedsWorld(world)

    def mounts(self) -> dict[str, list[BaseRoute]]:
        """Routes per mount prefix (``/sites``), relative to it."""
        return {"/sites": [Route("/{file}", self.endpoint("feeds.get", self.feed)),
                           Route("/{stem}/art/{y}/{m}/{d}/{page}", self.endpoint("feeds.page", self.article))]}

    def routes(self) -> list[BaseRoute]:
        return [Mount(prefix, routes=routes) for prefix, routes in self.mounts().items()]

    async def feed(self, request: Request) -> Response:
        file = request.path_params["file"]
        site = self.sites.by_file.get(JSON_FEEDS.get(file, file))
        if site is None:
            return HTMLResponse(render.not_found_page(), status_code=404)
        now, root = self.state.now, site_root(request)
        entries = self.sites.entries(site, now)[:FEED_ENTRIES]
        newest = entries[0].published if entries else self.world.state.history_start
        if file in JSON_FEEDS:
            body, ctype = render.json_feed(site, entries, root, file), "application/feed+json; charset=utf-8"
        elif site.kind == "atom":
            body, ctype = render.atom(site, entries, root, newest), "application/atom+xml; charset=utf-8"
        else:
            body = render.rss(site, entries, root, newest)
            ctype = "application/rss+xml; charset=utf-8" if site.press_office else "text/xml; charset=utf-8"
        raw = body.encode()
        etag = '"' + hashlib.sha1(raw).hexdigest()[:20] + '"'
        headers = {"ETag": etag, "Last-Modified": http_date(newest), "Cache-Control": "max-age=600"}
        if _not_modified(request, etag, newest):
            return Response(status_code=304, headers=headers)
        return Response(raw, headers={**headers, "Content-Type": ctype})

    async def article(self, request: Request) -> Response:
        site = self.sites.by_stem.get(request.path_params["stem"])
        match = _ARTICLE.fullmatch(request.path_params["page"])
        entry = self.sites.entry(site, int(match.group(1)), self.state.now) if site and match else None
        tail = "/".join(request.path_params[k] for k in ("y", "m", "d", "page"))
        if entry is None or not entry.path.endswith("/art/" + tail):
            return HTMLResponse(render.not_found_page(), status_code=404)
        return HTMLResponse(render.article_page(entry))

    def truth(self, query: TruthQuery) -> dict[str, Any]:
        posts = [_truth_post(entry) for site in self.sites.sites if query.wants(site.account.native_id)
                 for entry in reversed(self.sites.entries(site, query.now)) if query.covers(entry.published)]
        return {"posts": posts, "followers": [], "exchanges": []}


def _truth_post(entry: Entry) -> dict[str, Any]:
    site: Site = entry.site
    native = entry.atom_id if site.kind == "atom" else entry.guid or entry.path
    return {"platform": "feeds", "account": site.account.native_id, "native_id": native, "kind": "article",
            "title": entry.title, "text": entry.text, "published_at": iso_local(entry.published), "url": entry.path,
            "parent_native_id": None, "reposts": None, "comments": None, "likes": None, "reads": None,
            "feed": site.file, "guid": entry.guid, "clean_text": entry.clean_text,
            "press_release": entry.press_release, "seeded": entry.seeded}
