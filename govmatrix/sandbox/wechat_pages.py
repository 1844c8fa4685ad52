"""HTML of the public article pages (``mp.weixin.qq.com/s/...``) and the RSSHub-style bridge feed.

The article page carries the fields where reference A.2.2 says crawlers find them:
``og:title`` and ``h1#activity-name``, ``#js_name`` and ``.wx_follow_nickname``, ``meta[name=author]``,
``div#js_content.rich_media_content`` (hidden until JS runs, images in ``data-src``) and the
inline script variables ``var ct = "<unix>"``, ``var msg_title``, ``var msg_desc``, ``var nickname``,
``var user_name``, ``var msg_link``, ``var publish_time``. The bridge feed follows RSSHub's
``lib/views/rss.tsx`` output (A.3.1): CDATA titles and descriptions, ``guid isPermaLink="false"``.
"""

from __future__ import annotations

import html
import json
from datetime import datetime

from govmatrix.sandbox.simkit import cdata, http_date
from govmatrix.sandbox.state import SHANGHAI
from govmatrix.sandbox.wechat_world import NewsItem, Publish, biz_of

_HEAD = """<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width,initial-scale=1.0,maximum-scale=1.0,user-scalable=0,viewport-fit=cover">
"""


def _js(value: str) -> str:
    """A double-quoted JavaScript string literal, safe inside <script>."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _script(publish: Publish, item: NewsItem, link: str) -> str:
    """The inline variables crawlers read (``var ct`` is the publish time in Unix seconds)."""
    account = publish.account
    return "\n".join((
        f"var __biz = {_js(biz_of(account))} || \"\";",
        f"var mid = \"{publish.mid}\" || \"\";",
        f"var idx = \"{item.idx}\" || \"\";",
        f"var sn = \"{item.sn}\" || \"\";",
        f"var ct = \"{int(publish.at.timestamp())}\";",
        f"var publish_time = \"{publish.at.astimezone(SHANGHAI):%Y-%m-%d}\" || \"\";",
        f"var user_name = {_js(account.native_id)};",
        f"var nickname = {_js(account.name)};",
        f"var msg_title = {_js(item.title)};",
        f"var msg_desc = {_js(item.digest)};",
        f"var msg_cdn_url = {_js(item.thumb_url)};",
        f"var msg_link = {_js(html.escape(link))};",
        "var msg_source_url = '';",
        "var item_show_type = \"0\";",
        "var real_item_show_type = \"0\";",
    ))


def _meta(item: NewsItem, link: str) -> str:
    e = html.escape
    return (f'<meta name="description" content="{e(item.digest)}" />\n'
            f'<meta name="author" content="{e(item.author)}" />\n'
            f'<meta property="og:title" content="{e(item.title)}" />\n'
            f'<meta property="og:url" content="{e(link)}" />\n'
            f'<meta property="og:image" content="{e(item.thumb_url)}" />\n'
            f'<meta property="og:description" content="{e(item.digest)}" />\n'
            '<meta property="og:site_name" content="微信公众平台" />\n'
            '<meta property="og:type" content="article" />\n'
            f'<meta property="og:article:author" content="{e(item.author)}" />\n'
            f"<title>{e(item.title)}</title>\n")


def article_page(publish: Publish, item: NewsItem, link: str) -> str:
    """The article page; ``link`` is its permanent ``/s?__biz=...`` URL."""
    e, name = html.escape, html.escape(publish.account.name)
    author = (f'<span class="rich_media_meta rich_media_meta_text" id="js_author_name">{e(item.author)}</span>\n'
              if item.author else "")
    return (
        _HEAD + _meta(item, link) + "</head>\n"
        '<body id="activity-detail" class="zh_CN wx_wap_page mm_appmsg discuss_tab appmsg_skin_default">\n'
        "<!--headTrap<body></body><head></head><html></html>-->\n"
        '<div id="js_article" class="rich_media">\n<div class="rich_media_inner">\n'
        '<div id="page-content" class="rich_media_area_primary">\n<div id="img-content" class="rich_media_wrp">\n'
        f'<h1 class="rich_media_title " id="activity-name">\n{e(item.title)}\n</h1>\n'
        f'<div id="meta_content" class="rich_media_meta_list">\n{author}'
        '<span class="rich_media_meta rich_media_meta_nickname" id="profileBt">\n'
        '<a href="javascript:void(0);" class="wx_tap_link js_wx_tap_highlight weui-wa-hotarea" id="js_name">\n'
        f'{name} </a>\n<span class="wx_follow_nickname" id="js_wx_follow_nickname">{name}</span>\n</span>\n'
        '<em id="publish_time" class="rich_media_meta rich_media_meta_text"></em>\n</div>\n'
        '<div class="rich_media_content js_underline_content autoTypeSetting24psection" id="js_content" '
        f'style="visibility: hidden;">\n{item.content}\n</div>\n</div>\n</div>\n</div>\n</div>\n'
        f'<script type="text/javascript" nonce="{item.sn[:9]}">\n{_script(publish, item, link)}\n</script>\n'
        "</body>\n</html>\n"
    )


def message_page(message: str) -> str:
    """The weui message page shown for deleted or unknown articles."""
    return (
        _HEAD + "<title></title>\n</head>\n<body>\n"
        '<div class="weui-msg">\n<div class="weui-msg__icon-area"><i class="weui-icon-info weui-icon_msg"></i></div>\n'
        f'<div class="weui-msg__text-area">\n<h2 class="weui-msg__title">{html.escape(message)}</h2>\n</div>\n'
        "</div>\n</body>\n</html>\n"
    )


def bridge_feed(publishes: list[Publish], name: str, self_url: str, home: str, root: str, now: datetime,
                digest_only: bool) -> str:
    """RSS 2.0 as RSSHub renders a WeChat account route: one item per article."""
    items = []
    for publish in publishes:
        for item in publish.items:
            if item.deleted:
                continue
            link = f"{root}/mp/s/{item.short_id}"
            description = html.escape(item.digest) if digest_only else item.content
            items.append(
                "<item>\n"
                f"<title>{cdata(item.title)}</title>\n"
                f"<description>{cdata(description)}</description>\n"
                f"<pubDate>{http_date(publish.at)}</pubDate>\n"
                f'<guid isPermaLink="false">{html.escape(link)}</guid>\n'
                f"<link>{html.escape(link)}</link>\n"
                + (f"<author>{cdata(item.author)}</author>\n" if item.author else "")
                + "</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss xmlns:atom="http://www.w3.org/2005/Atom" version="2.0">\n<channel>\n'
        f"<title>{cdata(name)}</title>\n<link>{html.escape(home)}</link>\n"
        f'<atom:link href="{html.escape(self_url)}" rel="self" type="application/rss+xml"></atom:link>\n'
        f"<description>{cdata(name + ' - Powered by RSSHub')}</description>\n"
        "<generator>RSSHub</generator>\n<webMaster>contact@rsshub.app (RSSHub)</webMaster>\n"
        f"<language>zh-cn</language>\n<lastBuildDate>{http_date(now)}</lastBuildDate>\n<ttl>5</ttl>\n"
        + "\n".join(items[:20]) + ("\n" if items else "")
        + "</channel>\n</rss>\n"
    )
