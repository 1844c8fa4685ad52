"""The clean pipeline: a post's body as served -> readable text, safe HTML and the search form.

- **Text** (``html_to_text``): what a reader sees. Block elements (``p``, ``div``, ``section``,
  headings, ``li``, ``blockquote``, ``tr``, ...) and ``<br>`` break lines; other whitespace
  collapses as in a browser; an image is its ``alt`` text (Weibo's emoji), a link its text;
  scripts, styles and elements hidden by their style are never text; whitespace-only lines
  between breaks do not count; each line is stripped and blank lines at both ends go.
- **Safe HTML** (``sanitize_html``, nh3): an allow-list of formatting tags; links and images keep
  http(s) URLs only, made absolute against the post's URL; lazy images get their real ``src``
  from ``data-src``; no scripts, styles, event handlers, ``javascript:`` or ``data:`` URLs.
- **Search form** (``normalise``): NFKC, simplified script (OpenCC t2s), one space for any run
  of whitespace; stored as ``text_norm`` for search and dedup.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

import nh3

from govmatrix.models import Post
from govmatrix.pipelines.base import Pipeline

_HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "title", "iframe", "object"})
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
    "pre", "section", "table", "tbody", "tfoot", "thead", "tr", "ul"})
_CELLS = frozenset({"td", "th"})
_SOFT, _HARD = object(), object()  # a line break that merges with its neighbours; one that never does
_SPACES = re.compile(r"[ \t\r\n\f]+")
# Not visibility: hidden, which WeChat sets on #js_content until its script shows the article.
_INVISIBLE = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                   "wbr"})

SAFE_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "section", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "u", "ul"})
SAFE_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"colspan", "rowspan"},
                   "th": {"colspan", "rowspan"}}
_LAZY_SRC = re.compile(r"""<img\b[^>]*\bdata-src\s*=""", re.IGNORECASE)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[Any] = []
        self._hidden: list[list[Any]] = []  # [tag, nesting] of each element whose content is not shown
        self._pre = 0

    def _hides(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        return tag in _HIDDEN or (tag not in _VOID and any(
            name in ("style", "hidden") and (name == "hidden" or _INVISIBLE.search(value or ""))
            for name, value in attrs))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden:
            if tag == self._hidden[-1][0]:
                self._hidden[-1][1] += 1
            return
        if self._hides(tag, attrs):
            self._hidden.append([tag, 0])
            if tag in _BLOCK:
                self.parts.append(_SOFT)
        elif tag == "br":
            self.parts.append(_HARD)
        elif tag in _BLOCK:
            self._pre += tag == "pre"
            self.parts.append(_SOFT)
        elif tag in _CELLS:
            self.parts.append(" ")
        elif tag == "img":
            self.parts.append(dict(attrs).get("alt") or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden or not self._hides(tag, attrs):  # a self-closed <script/> hides nothing
            self.handle_starttag(tag, attrs)
            if tag in _BLOCK:
                self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            if tag == self._hidden[-1][0]:
                self._hidden[-1][1] -= 1
                if self._hidden[-1][1] < 0:
                    self._hidden.pop()
                    if not self._hidden and tag in _BLOCK:
                        self.parts.append(_SOFT)
            return
        if tag in _BLOCK:
            self._pre = max(0, self._pre - (tag == "pre"))
            self.parts.append(_SOFT)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            lines = data.split("\n")
            for n, line in enumerate(lines):
                self.parts += [_HARD, line] if n else [line]
        else:
            self.parts.append(_SPACES.sub(" ", data))


def html_to_text(html: str) -> str:
    """The readable plain text of an HTML fragment (see the module docstring)."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    out: list[str] = []
    blank_line = True  # nothing but whitespace since the last line break
    for part in collector.parts:
        if part is _HARD or (part is _SOFT and not blank_line):
            out.append("\n")
            blank_line = True
        elif part is not _SOFT:
            out.append(part)
            blank_line = blank_line and not part.strip()
    lines = [line.strip() for line in "".join(out).split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _prepared(html: str) -> str:
    """What the sanitiser cannot do itself: lazy images (WeChat, many CMSs) get their ``data-src``
    as ``src``, and elements hidden by their style (Discuz's attachment tips) are dropped, since
    the style attribute is removed and they would show."""
    if not (_LAZY_SRC.search(html) or _INVISIBLE.search(html)):
        return html
    import lxml.html

    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in list(root.iter()):
        if element is not root and _INVISIBLE.search(element.get("style") or ""):
            element.drop_tree()
    for img in root.iter("img"):
        if img.get("data-src"):
            img.set("src", img.get("data-src") or "")
    inner = lxml.html.tostring(root, encoding="unicode")
    return inner[len("<div>"):-len("</div>")]


def sanitize_html(html: str, base_url: str = "") -> str:
    """A safe subset of ``html``: the allow-list above, http(s) links and images made absolute."""
    relative: Any = ("rewrite_with_base", base_url) if base_url.startswith(("http://", "https://")) else "deny"
    return nh3.clean(_prepared(html), tags=set(SAFE_TAGS),
                     attributes={tag: set(names) for tag, names in SAFE_ATTRIBUTES.items()},
                     clean_content_tags=set(_HIDDEN), url_schemes={"http", "https"}, url_relative=relative,
                     link_rel="noopener noreferrer nofollow").strip()


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional script converted to simplified (OpenCC t2s)."""
    return str(_t2s().convert(text))


def normalise(text: str) -> str:
    """The search form: NFKC, simplified script, single spaces."""
    return _SPACES.sub(" ", simplified(unicodedata.normalize("NFKC", text))).strip()


class CleanPipeline(Pipeline):
    """Fills ``text``, ``html`` and ``text_norm`` of every post from its ``body``."""

    name = "clean"

    def process(self, post: Post) -> None:
        if post.body:
            post.text = html_to_text(post.body)
            post.html = sanitize_html(post.body, post.url)
        post.text_norm = normalise(f"{post.title}\n{post.text}" if post.title else post.text)
