"""Bodies of the simulated Official Account API: errors, ``freepublish/batchget``, ``datacube``.

Pure functions from the world, the account and the parsed request to a JSON-ready dict; the
HTTP side (tokens, counting, faults) lives in :mod:`govmatrix.sandbox.wechat`.
Shapes and limits follow reference A.1.3 (batchget: count 1..20, ``no_content``), A.1.4
(datacube: span at most 7 days, end_date at most yesterday) and A.1.5 (error codes).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any

from starlette.responses import Response

from govmatrix.sandbox.state import SHANGHAI
from govmatrix.sandbox.wechat_world import NewsItem, Publish, WechatWorld, biz_of
from govmatrix.sandbox.world import WorldAccount

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40013: "invalid appid",
    40097: "invalid args",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    43002: "require POST method",
    45009: "reach max api daily quota limit",
    47001: "data format error",
    61500: "date format error",
    61501: "date range error",
}
MAX_BATCH = 20
MAX_SPAN_DAYS = 7
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ApiError(Exception):
    """An error the API answers with ``{"errcode": code, "errmsg": ...}`` (HTTP 200)."""

    def __init__(self, code: int) -> None:
        super().__init__(ERRMSG.get(code, "unknown error"))
        self.code = code


def api_response(body: dict[str, Any]) -> Response:
    """JSON the way api.weixin.qq.com sends it: compact UTF-8, ``encoding=utf-8`` in the type."""
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(raw, media_type="application/json; encoding=utf-8")


def error_body(code: int, rid: str) -> dict[str, Any]:
    return {"errcode": code, "errmsg": f"{ERRMSG.get(code, 'unknown error')} rid: {rid}"}


def json_object(raw: bytes) -> dict[str, Any]:
    """The POSTed JSON object, or 47001 data format error."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ApiError(47001) from exc
    if not isinstance(body, dict):
        raise ApiError(47001)
    return body


def _int_field(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(40097)
    return value


def batchget(ww: WechatWorld, account: WorldAccount, body: dict[str, Any], now: datetime, root: str
             ) -> dict[str, Any]:
    """One page of the account's published (发布) items, newest first."""
    offset = _int_field(body, "offset", 0)
    count = _int_field(body, "count", MAX_BATCH)
    no_content = _int_field(body, "no_content", 0)
    if offset < 0 or not 1 <= count <= MAX_BATCH or no_content not in (0, 1):
        raise ApiError(40097)
    publishes = ww.published(account, now)
    page = publishes[offset:offset + count]
    return {"item": [_item_json(p, root, bool(no_content)) for p in page],
            "total_count": len(publishes), "item_count": len(page)}


def article_url(root: str, publish: Publish, item: NewsItem) -> str:
    """The permanent article link, with the ``chksm`` and ``#rd`` a real one carries."""
    biz = biz_of(publish.account)
    return (f"{root}/mp/s?__biz={biz}&mid={publish.mid}&idx={item.idx}&sn={item.sn}"
            f"&chksm={item.sn[:8]}{item.sn[-16:]}#rd")


def _item_json(publish: Publish, root: str, no_content: bool) -> dict[str, Any]:
    news = []
    for item in publish.items:
        entry: dict[str, Any] = {"title": item.title, "author": item.author, "digest": item.digest}
        if not no_content:
            entry["content"] = item.content
        entry.update({"content_source_url": "", "thumb_media_id": item.thumb_media_id, "show_cover_pic": 0,
                      "url": article_url(root, publish, item), "thumb_url": item.thumb_url,
                      "need_open_comment": 0, "only_fans_can_comment": 0, "is_deleted": item.deleted})
        news.append(entry)
    return {"article_id": publish.article_id, "content": {"news_item": news},
            "update_time": int(publish.at.timestamp())}


def _parse_date(value: object) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ApiError(61500)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(61500) from exc


def datacube(ww: WechatWorld, account: WorldAccount, body: dict[str, Any], now: datetime, cumulate: bool
             ) -> dict[str, Any]:
    """``getusercumulate`` (``cumulate``) or ``getusersummary`` for begin_date..end_date."""
    begin, end = _parse_date(body.get("begin_date")), _parse_date(body.get("end_date"))
    today = now.astimezone(SHANGHAI).date()
    if end < begin or (end - begin).days >= MAX_SPAN_DAYS or end >= today:
        raise ApiError(61501)
    rows: list[dict[str, Any]] = []
    day = begin
    while day <= end:
        index = (day - ww.world.first_day).days
        day += timedelta(days=1)
        if index < 0:
            continue  # before the account's data starts: no rows, as for days before 2014-12-01
        fans = ww.fan_day(account, index)
        ref = fans.day.isoformat()
        if cumulate:
            rows.append({"ref_date": ref, "user_source": 0, "cumulate_user": fans.cumulate})
        else:
            rows.extend({"ref_date": ref, "user_source": s, "new_user": new, "cancel_user": cancel}
                        for s, new, cancel in fans.sources)
    return {"list": rows}


def article_total(ww: WechatWorld, account: WorldAccount, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """``getarticletotal`` for one ref_date (span 1): each article published that day, with one
    ``details`` row per day after it (at most 7, up to yesterday), cumulative. ``msgid`` is
    ``<mid>_<idx>``, the mid and idx of the article's permanent link."""
    begin, end = _parse_date(body.get("begin_date")), _parse_date(body.get("end_date"))
    today = now.astimezone(SHANGHAI).date()
    if end != begin or end >= today:
        raise ApiError(61501)
    index = (begin - ww.world.first_day).days
    rows: list[dict[str, Any]] = []
    for publish in ww.publishes_on(account, index) if index >= 0 else ():
        if publish.at > now:
            continue
        for item in publish.items:
            if item.deleted:
                continue
            details = []
            for after in range(min(MAX_SPAN_DAYS, (today - begin).days)):
                reads, shares, favs = ww.article_reads(publish, item, after)
                details.append({"stat_date": (begin + timedelta(days=after)).isoformat(),
                                "target_user": account.followers, "int_page_read_user": int(reads * 0.8),
                                "int_page_read_count": reads, "ori_page_read_user": 0, "ori_page_read_count": 0,
                                "share_user": int(shares * 0.9), "share_count": shares,
                                "add_to_fav_user": favs, "add_to_fav_count": favs})
            rows.append({"ref_date": begin.isoformat(), "msgid": f"{publish.mid}_{item.idx}", "title": item.title,
                         "details": details})
    return {"list": rows}
