"""The public micro-site (微网站): approved items only, as mobile pages, JSON Feed 1.1 and Atom 1.0.

Every public output is built here, by path, for the server and for ``govmatrix publish`` alike:
``/`` (pinned first, then the newest), ``/page/<cursor>/`` (older), ``/d/<department>/`` (one
department's), ``/item/<id>/``, ``/feed.json`` and ``/feed.atom``. What is public is decided once,
in the feed's query (``FeedQuery.public``: approved or pinned, each near-duplicate cluster once);
a pending or hidden item is never read here, so it cannot leak into any page or feed.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import quote, unquote

import orjson
from jinja2 import Environment
from lxml import etree

from govmatrix.config import Settings
from govmatrix.errors import ConfigError
from govmatrix.matrix.feed import page
from govmatrix.storage.feed import PUBLIC, FeedQuery
from govmatrix.storage.repo import Repo
from govmatrix.web.common import safe_html

FEED_ITEMS = 50
PINNED_MAX = 10
ATOM = "http://www.w3.org/2005/Atom"
HTML_TYPE = "text/html; charset=utf-8"


class NotFound(Exception):
    """No public page at this path."""


@dataclass(frozen=True)
class Output:
    body: bytes
    content_type: str
    last_modified: datetime  # the newest change it shows (a review, a re-crawled item)

    @cached_property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def item_path(post_id: int) -> str:
    return f"/item/{post_id}/"


def department_path(short: str) -> str:
    return f"/d/{quote(short, safe='')}/"


class Site:
    """Builds the public outputs from the store."""

    def __init__(self, settings: Settings, repo: Repo, env: Environment) -> None:
        self.settings, self.repo, self.env = settings, repo, env
        self.tz = settings.tz
        self.size = settings.web.page_size

    def build(self, path: str, base_url: str) -> Output:
        """The output at ``path``; NotFound if there is none."""
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        if parts == ["feed.json"]:
            return self.json_feed(base_url)
        if parts == ["feed.atom"]:
            return self.atom_feed(base_url)
        department = None
        if len(parts) >= 2 and parts[0] == "d":
            department, parts = self._department(parts[1]), parts[2:]
        if not parts:
            return self.listing(department, None)
        if len(parts) == 2 and parts[0] == "page":
            return self.listing(department, parts[1])
        if len(parts) == 2 and parts[0] == "item" and department is None and parts[1].isdigit():
            return self.item(int(parts[1]))
        raise NotFound(path)

    def _department(self, short: str) -> dict[str, Any]:
        for d in self.repo.accounts.departments():
            if d["short_name"] == short:
                return d
        raise NotFound(short)

    def _page(self, state: str, department: dict[str, Any] | None, cursor: str | None, limit: int) -> Any:
        query = FeedQuery(public=True, review_state=state, limit=limit,
                          department=department["short_name"] if department else None)
        try:
            return page(self.repo, self.tz, query, cursor)
        except ConfigError:
            raise NotFound(cursor or "") from None

    def _changed(self, rows: list[dict[str, Any]]) -> datetime:
        _, reviewed = self.repo.reviews.last_change()
        times = [r["updated_at"] for r in rows] + ([reviewed] if reviewed else [])
        return max(times, default=datetime(2000, 1, 1, tzinfo=UTC))

    def items(self, department: dict[str, Any] | None, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of public items (the first page starts with the pinned ones) and the next page's cursor."""
        pinned = self._page("pinned", department, None, PINNED_MAX).rows if cursor is None else []
        approved = self._page("approved", department, cursor, self.size)
        return [_item(r) for r in pinned + approved.rows], approved.cursor

    def listing(self, department: dict[str, Any] | None, cursor: str | None) -> Output:
        items, more = self.items(department, cursor)
        base = department_path(department["short_name"]) if department else "/"
        body = self.env.get_template("site/list.html").render(
            site_title=self.settings.web.site_title, items=items, department=department,
            departments=self.repo.accounts.departments(), first=cursor is None,
            next=f"{base}page/{more}/" if more else None, home=base)
        return Output(body.encode(), HTML_TYPE, self._changed([i["row"] for i in items]))

    def item(self, post_id: int) -> Output:
        row = self.repo.feed.one(post_id)
        if row is None or row["review_state"] not in PUBLIC:
            raise NotFound(str(post_id))
        body = self.env.get_template("site/item.html").render(
            site_title=self.settings.web.site_title, item=_item(row),
            departments=self.repo.accounts.departments())
        return Output(body.encode(), HTML_TYPE, self._changed([row]))

    def _feed_rows(self) -> list[dict[str, Any]]:
        pinned = self._page("pinned", None, None, PINNED_MAX).rows
        return pinned + self._page("approved", None, None, FEED_ITEMS - len(pinned)).rows

    def json_feed(self, base_url: str) -> Output:
        rows = self._feed_rows()
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": self.settings.web.site_title,
            "home_page_url": base_url + "/",
            "feed_url": base_url + "/feed.json",
            "language": "zh-CN",
            "items": [{
                "id": f"{base_url}{item_path(r['id'])}",
                "url": f"{base_url}{item_path(r['id'])}",
                **({"external_url": r["url"]} if r["url"] else {}),
                "title": _title(r),
                "content_html": str(safe_html(r["html"])) if r["html"] else "",
                "content_text": r["text"],
                "date_published": r["published_at"].astimezone(self.tz).isoformat(),
                "date_modified": r["updated_at"].astimezone(self.tz).isoformat(),
                "authors": [{"name": r["account"]}],
                "tags": [t for t in (r["department_short"], r["platform"]) if t],
            } for r in rows],
        }
        return Output(orjson.dumps(feed), "application/feed+json", self._changed(rows))

    def atom_feed(self, base_url: str) -> Output:
        rows = self._feed_rows()
        changed = self._changed(rows)
        root = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
        root.set("{http://www.w3.org/XML/1998/namespace}lang", "zh-CN")
        _sub(root, "id", base_url + "/")
        _sub(root, "title", self.settings.web.site_title)
        _sub(root, "updated", changed.astimezone(self.tz).isoformat())
        _sub(root, "link", href=base_url + "/")
        _sub(root, "link", rel="self", href=base_url + "/feed.atom", type="application/atom+xml")
        for r in rows:
            entry = _sub(root, "entry")
            _sub(entry, "id", f"{base_url}{item_path(r['id'])}")
            _sub(entry, "title", _title(r))
            _sub(entry, "link", href=f"{base_url}{item_path(r['id'])}")
            if r["url"]:
                _sub(entry, "link", rel="via", href=r["url"])
            _sub(entry, "published", r["published_at"].astimezone(self.tz).isoformat())
            _sub(entry, "updated", r["updated_at"].astimezone(self.tz).isoformat())
            author = _sub(entry, "author")
            _sub(author, "name", r["account"])
            if r["department_short"]:
                _sub(entry, "category", term=r["department_short"])
            _sub(entry, "content", str(safe_html(r["html"])) if r["html"] else r["text"],
                 type="html" if r["html"] else "text")
        body = etree.tostring(root, xml_declaration=True, encoding="utf-8")
        return Output(body, "application/atom+xml; charset=utf-8", changed)


def _sub(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    element = etree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = _xml_text(text)
    return element


def _xml_text(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold (control characters a platform may send)."""
    return "".join(c for c in text if c in "\t\n\r" or c >= " ")


def _title(row: dict[str, Any]) -> str:
    if row["title"]:
        return str(row["title"])
    text = " ".join(str(row["text"]).split())
    return text[:40] + ("…" if len(text) > 40 else "")


def _item(row: dict[str, Any]) -> dict[str, Any]:
    images = [m for m in row.get("media") or [] if isinstance(m, dict) and m.get("type", "image") == "image"
              and str(m.get("url", "")).startswith(("http://", "https://"))]
    return {"row": row, "id": row["id"], "title": _title(row), "has_title": bool(row["title"]), "text": row["text"],
            "html": row["html"], "url": row["url"], "account": row["account"], "platform": row["platform"],
            "department": row["department_short"] or "", "published_at": row["published_at"],
            "pinned": row["review_state"] == "pinned", "path": item_path(row["id"]),
            "images": images if not row["html"] else [], "department_path":
            department_path(row["department_short"]) if row["department_short"] else None}


class SiteCache:
    """Built outputs, kept while no review changed anything and for at most ``ttl`` seconds (a
    re-crawled item shows within that); the newest review event is read on every request, so a
    review in any process is seen at once."""

    def __init__(self, ttl: float = 60.0, size: int = 512) -> None:
        self.ttl, self.size = ttl, size
        self.entries: dict[str, tuple[int, float, Output]] = {}

    def get(self, key: str, version: int) -> Output | None:
        found = self.entries.get(key)
        if found and found[0] == version and time.monotonic() - found[1] < self.ttl:
            return found[2]
        return None

    def put(self, key: str, version: int, output: Output) -> None:
        if len(self.entries) >= self.size:
            self.entries.clear()
        self.entries[key] = (version, time.monotonic(), output)
