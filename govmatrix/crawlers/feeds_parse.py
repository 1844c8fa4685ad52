"""Pure parsing of RSS 1.0/2.0, Atom and JSON Feed documents into entries and posts.

The bytes are decoded here (``charset.decode``: a damaged or mislabelled Chinese feed is not left
to feedparser's fallback to a Latin charset), then feedparser reads the XML formats, and like
feedparser bad input comes back as data: a malformed document keeps every entry that parsed
(``ParsedFeed.complete`` is then False), an entry that cannot be read is skipped with a warning,
and ParseError is raised only when nothing usable came back. feedparser does not read JSON Feed
(1.0, 1.1): that is read here with json. Every entry gets a key that is stable across crawls, in
Miniflux's order: its guid (RSS ``guid``, Atom ``id``, JSON Feed ``id``), else its link, else a hash
of its title and content. No I/O and no clock.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from govmatrix.crawlers.charset import REPLACEMENT, decode
from govmatrix.errors import ParseError
from govmatrix.models import ARTICLE, Post
from govmatrix.pipelines.clean import html_to_text
from govmatrix.tz import SHANGHAI

MAX_NATIVE_ID = 200  # the width of posts.native_id
# feedparser flags this although the document parsed completely.
_HARMLESS_BOZO = (feedparser.NonXMLContentType,)
_MEDIA_KINDS = ("image", "audio", "video")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Character references feedparser turns into characters no text can hold (it then crashes on them).
_BAD_REFERENCE = re.compile(r"&#(?:[xX]0*(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0)|0*(?:5[5-7]\d{3}|0));")


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed, format-neutral. ``content`` is HTML (plain-text content is escaped)."""

    key: str
    title: str
    link: str
    content: str
    author: str = ""
    published_at: datetime | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedFeed:
    """The entries of one feed document; ``warning`` says what was wrong with it, if anything.

    ``complete`` is False when the document was cut short or malformed: its entries are kept,
    but its ETag and Last-Modified must not be, or the next conditional GET would hide the rest.
    """

    title: str
    entries: list[FeedEntry]
    warning: str = ""
    complete: bool = True
    lossy: bool = False  # some bytes did not decode: entries holding a replacement character are flagged
    warnings: list[str] = field(default_factory=list)  # entries skipped


def _error(message: str, platform: str, account: str) -> ParseError:
    return ParseError(message, platform=platform, account=account)


def content_key(title: str, content: str) -> str:
    """The key of an entry with neither guid nor link: a hash of what it says."""
    return "sha256:" + hashlib.sha256(f"{title}\n{content}".encode()).hexdigest()[:40]


def _key(guid: str, link: str, title: str, content: str) -> str:
    return guid.strip() or link.strip() or content_key(title, content)


def _replace_reference(match: re.Match[str]) -> str:
    return "" if match[0].rstrip(";").lstrip("&#xX0") == "" else "&#xFFFD;"


def parse_feed(body: bytes, *, content_type: str = "", base_url: str = "", platform: str = "feeds",
               account: str = "") -> ParsedFeed:
    """Parse any supported feed document; ``content_type`` and ``base_url`` come from the response."""
    if "json" in content_type.lower() or body.lstrip().startswith(b"{"):
        return parse_json_feed(body, platform=platform, account=account)
    decoded = decode(body, content_type)
    text = _BAD_REFERENCE.sub(_replace_reference, _XML_DECLARATION.sub("", decoded.text, count=1))
    headers = {"content-type": "application/xml; charset=utf-8", "content-location": base_url}
    parsed = feedparser.parse(('<?xml version="1.0" encoding="utf-8"?>' + text).encode("utf-8", "replace"),
                              response_headers=headers, sanitize_html=False)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    broken = problem is not None and not isinstance(problem, _HARMLESS_BOZO)
    entries, warnings = [], []
    for number, item in enumerate(parsed.entries, start=1):
        try:
            entry = _xml_entry(item)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:  # one entry that cannot be read
            warnings.append(f"entry {number} skipped: {type(exc).__name__}: {exc}")
            continue
        if entry.title or entry.link or entry.content:
            entries.append(entry)
    warning = f"{type(problem).__name__}: {problem}" if problem is not None else ""
    if not entries and (broken or not parsed.get("version")):
        raise _error(f"not a readable feed ({warning or 'no RSS, Atom or JSON Feed found'})", platform, account)
    title = html_to_text(str(parsed.feed.get("title") or ""))
    return ParsedFeed(title=title, entries=entries, warning=warning, complete=not broken, lossy=decoded.lossy,
                      warnings=warnings)


def plain_to_html(text: str) -> str:
    """Plain-text content as HTML that reads the same: escaped, its line breaks kept."""
    return html.escape(text).replace("\r\n", "\n").replace("\n", "<br />")


def _struct_time(value: time.struct_time | None) -> datetime | None:
    # feedparser normalises every date it understands to a UTC struct_time.
    return datetime.fromtimestamp(calendar.timegm(value), UTC) if value else None


def _xml_content(entry: Any) -> str:
    candidates = list(entry.get("content") or []) + ([entry["summary_detail"]] if "summary_detail" in entry else [])
    for detail in candidates:
        value = str(detail.get("value") or "")
        if value.strip():
            return value if "html" in str(detail.get("type") or "html") else plain_to_html(value)
    return ""


def _xml_title(entry: Any) -> str:
    title = str(entry.get("title") or "")
    kind = str((entry.get("title_detail") or {}).get("type") or "")
    return (html_to_text(title) if "html" in kind else title).strip()


def _enclosures(entry: Any) -> list[dict[str, Any]]:
    media = []
    for enclosure in entry.get("enclosures") or []:
        url = enclosure.get("href") or enclosure.get("url")
        if url:
            mime = str(enclosure.get("type") or "")
            kind = mime.split("/")[0] if mime.split("/")[0] in _MEDIA_KINDS else "file"
            media.append({"type": kind, "url": url, "mime": mime})
    return media


def _xml_entry(entry: Any) -> FeedEntry:
    title, link, content = _xml_title(entry), str(entry.get("link") or ""), _xml_content(entry)
    # dict.get: feedparser's own get maps a missing updated_parsed to published_parsed, with a warning
    published = (dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
                 or dict.get(entry, "created_parsed"))
    return FeedEntry(
        key=_key(str(entry.get("id") or ""), link, title, content), title=title, link=link, content=content,
        author=str(entry.get("author") or ""), published_at=_struct_time(published), media=_enclosures(entry),
        # *_parsed values are struct_times: not JSON, and derived from the strings kept beside them
        raw={name: value for name, value in entry.items() if not name.endswith("_parsed")},
    )


def _json_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # RFC 3339 requires an offset; a Chinese site that leaves it out means local time.
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def _json_author(item: dict[str, Any]) -> str:
    authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
    names = [str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")]
    return ", ".join(names)


def _json_media(item: dict[str, Any]) -> list[dict[str, Any]]:
    media = [{"type": "image", "url": item["image"], "mime": ""}] if isinstance(item.get("image"), str) else []
    for attachment in item.get("attachments") or []:
        if isinstance(attachment, dict) and attachment.get("url"):
            mime = str(attachment.get("mime_type") or "")
            kind = mime.split("/")[0] if mime.split("/")[0] in _MEDIA_KINDS else "file"
            media.append({"type": kind, "url": attachment["url"], "mime": mime})
    return media


def _json_entry(item: dict[str, Any]) -> FeedEntry:
    title = str(item.get("title") or "").strip()
    link = str(item.get("url") or item.get("external_url") or "")
    if item.get("content_html"):
        content = str(item["content_html"])
    else:
        content = plain_to_html(str(item.get("content_text") or item.get("summary") or ""))
    guid = item.get("id")
    return FeedEntry(
        key=_key(str(guid) if guid is not None else "", link, title, content), title=title, link=link,
        content=content, author=_json_author(item),
        published_at=_json_time(item.get("date_published")) or _json_time(item.get("date_modified")),
        media=_json_media(item), raw=item,
    )


def load_json(body: bytes, *, platform: str, account: str) -> object:
    """A JSON document; malformed, truncated or absurdly nested JSON is a ParseError."""
    try:
        return json.loads(body)
    except RecursionError:
        raise _error("JSON nested too deeply", platform, account) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise _error(f"malformed or truncated JSON ({exc})", platform, account) from exc


def parse_json_feed(body: bytes, *, platform: str = "feeds", account: str = "") -> ParsedFeed:
    """Parse a JSON Feed (https://jsonfeed.org/version/1 or /1.1) document."""
    document = load_json(body, platform=platform, account=account)
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise _error("not a JSON Feed (no items list)", platform, account)
    entries, warnings = [], []
    for number, item in enumerate(document["items"], start=1):
        if not isinstance(item, dict):
            warnings.append(f"item {number} skipped: not an object")
            continue
        entry = _json_entry(item)
        if entry.title or entry.link or entry.content:
            entries.append(entry)
    return ParsedFeed(title=str(document.get("title") or ""), entries=entries, warnings=warnings)


def dedup_entries(entries: list[FeedEntry], *, by_link: bool = False) -> list[FeedEntry]:
    """The first entry of each key (and, with ``by_link``, of each link too) in document order.

    Plain feeds dedup by key only: some sites link every entry to their home page.
    """
    seen: set[str] = set()
    unique = []
    for entry in entries:
        marks = {entry.key} | ({entry.link} if by_link and entry.link else set())
        if marks & seen:
            continue
        seen |= marks
        unique.append(entry)
    return unique


def feed_native_id(account: str, key: str) -> str:
    """A post id unique across feeds (a guid is unique in its feed only), at most MAX_NATIVE_ID long."""
    native_id = f"{account}:{key}"
    return native_id if len(native_id) <= MAX_NATIVE_ID else f"{account}:{content_key(key, '')}"


def entry_post(entry: FeedEntry, *, native_id: str, platform: str, now: datetime, lossy: bool = False) -> Post:
    """The Post of a feed entry. An undated entry is dated ``now`` and flagged ``extra["undated"]``;
    from a ``lossy`` document, an entry holding a replacement character is flagged ``charset_replaced``."""
    extra: dict[str, Any] = {"key": entry.key}
    if entry.published_at is None:
        extra["undated"] = True
    damaged = lossy and REPLACEMENT in f"{entry.title}{entry.content}"
    return Post(
        platform=platform, native_id=native_id, published_at=entry.published_at or now, title=entry.title,
        body=entry.content, url=entry.link, author=entry.author, kind=ARTICLE, media=entry.media, extra=extra,
        raw=entry.raw, flags=["charset_replaced"] if damaged else [],
    )
