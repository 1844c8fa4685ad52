"""The department sites' feed documents: RSS 2.0, Atom 1.0 and JSON Feed 1.1, and article pages.

Feed documents depend on the entries only (``lastBuildDate``/``updated`` is the newest
entry's time, not the request's), so an unchanged feed has an unchanged ETag.
"""

from __future__ import annotations

import html
import json
from datetime import datetime

from govmatrix.sandbox.feeds_world import Entry, Site
from govmatrix.sandbox.simkit import cdata, iso_local, rfc822_local

e = html.escape


def rss(site: Site, entries: list[Entry], root: str, newest: datetime) -> str:
    """RSS 2.0 as a government CMS writes it."""
    items = []
    for entry in entries:
        guid = f'<guid isPermaLink="false">{entry.guid}</guid>\n' if entry.guid else ""
        if site.quirk == "content_encoded":
            body = (f"<description>{e(entry.summary)}</description>\n"
                    f"<content:encoded>{cdata(entry.content)}</content:encoded>\n")
        else:
            body = f"<description>{cdata(entry.content)}</description>\n"
        items.append(f"<item>\n<title>{e(entry.title)}</title>\n<link>{e(root + entry.path)}</link>\n{guid}"
                     f"<pubDate>{rfc822_local(entry.published)}</pubDate>\n"
                     f"<category>{e(site.account.name)}</category>\n{body}</item>")
    name = site.account.name
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">\n<channel>\n'
        f"<title>{e(name)}</title>\n<link>{e(root)}/sites/{site.stem}/</link>\n"
        f"<description>{e(name)}最新信息</description>\n<language>zh-cn</language>\n"
        f"<lastBuildDate>{rfc822_local(newest)}</lastBuildDate>\n<generator>TRS WCM</generator>\n"
        + "".join(item + "\n" for item in items) + "</channel>\n</rss>\n"
    )


def atom(site: Site, entries: list[Entry], root: str, newest: datetime) -> str:
    """Atom 1.0 with ``published``, ``updated``, ``summary`` and ``content type="html"``."""
    parts = []
    for entry in entries:
        stamp = iso_local(entry.published)
        parts.append(
            f'<entry>\n<title type="html">{e(entry.title)}</title>\n<id>{entry.atom_id}</id>\n'
            f'<link rel="alternate" type="text/html" href="{e(root + entry.path)}"/>\n'
            f"<published>{stamp}</published>\n<updated>{stamp}</updated>\n"
            f"<author><name>{e(entry.author)}</name></author>\n"
            f'<summary type="text">{e(entry.summary)}</summary>\n'
            f'<content type="html">{e(entry.content)}</content>\n</entry>')
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">\n'
        f"<title>{e(site.account.name)}</title>\n<id>tag:{site.stem}.heze.gov.cn,2016:feed</id>\n"
        f'<link rel="alternate" type="text/html" href="{e(root)}/sites/{site.stem}/"/>\n'
        f'<link rel="self" type="application/atom+xml" href="{e(root)}/sites/{site.file}"/>\n'
        f"<updated>{iso_local(newest)}</updated>\n"
        + "".join(part + "\n" for part in parts) + "</feed>\n"
    )


def json_feed(site: Site, entries: list[Entry], root: str, file: str) -> str:
    """JSON Feed 1.1 with the same entries (and ids) as the site's RSS."""
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": site.account.name,
        "home_page_url": f"{root}/sites/{site.stem}/",
        "feed_url": f"{root}/sites/{file}",
        "language": "zh-CN",
        "items": [{"id": entry.guid or root + entry.path, "url": root + entry.path, "title": entry.title,
                   "content_html": entry.content, "summary": entry.summary,
                   "date_published": iso_local(entry.published), "authors": [{"name": entry.author}]}
                  for entry in entries],
    }
    return json.dumps(feed, ensure_ascii=False, indent=2) + "\n"


def article_page(entry: Entry) -> str:
    """The article page an entry links to."""
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(entry.title)}_{e(entry.site.account.name)}</title>\n"
        f'<meta name="ArticleTitle" content="{e(entry.title)}">\n'
        f'<meta name="PubDate" content="{entry.published:%Y-%m-%d %H:%M}">\n</head>\n<body>\n'
        f'<div class="article">\n<h1>{e(entry.title)}</h1>\n'
        f'<div class="info">发布时间：{entry.published:%Y-%m-%d %H:%M}　来源：{e(entry.author)}</div>\n'
        f'<div class="content" id="zoom">\n{entry.content}\n</div>\n</div>\n</body>\n</html>\n'
    )


def not_found_page() -> str:
    return ('<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>404 页面不存在</title>\n</head>\n'
            '<body>\n<div class="error"><h1>404</h1><p>对不起，您访问的页面不存在或已被删除！</p></div>\n</body>\n</html>\n')
