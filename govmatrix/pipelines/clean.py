"""The clean pipeline: a post's body as served -> readable text, safe HTML and the search form.

Before the text is read, the body (and the title) are repaired where that is certain:

- **Converter pinyin** (``攻堅戰(zhàn)``): a bracketed syllable is removed only when it is a reading
  of the character before it (pypinyin, every reading of the character); ``(2016)`` or ``(試行)`` stay.
- **Mojibake** (UTF-8 bytes shown as GBK, ``鑿忔兢甯傚``): a run is replaced by what it was only when
  encoding it as GBK gives valid UTF-8 that is Chinese text again (a strict round trip). What stays
  garbled (``锟斤拷``, replacement characters, UTF-8 read as Latin-1, a run that will not round trip)
  flags the post ``mojibake``; the span is kept for display, marked (``<mark class="mojibake">``),
  and left out of the search form.
- **Boilerplate** at the head and tail of articles (``data/boilerplate.toml``, extended in settings):
  editor and source footers, image file names, contact footers, follow prompts, related reading,
  breadcrumbs. Lines in the middle of an article are never removed.

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
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nh3

from govmatrix.models import ARTICLE, Post
from govmatrix.pipelines.base import Pipeline

DATA = Path(__file__).with_name("data")

_HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "title", "iframe", "object"})
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
    "pre", "section", "table", "tbody", "tfoot", "thead", "tr", "ul"})
_CELLS = frozenset({"td", "th"})
_SOFT, _HARD = object(), object()  # a line break that merges with its neighbours; one that never does
_SPACES = re.compile(r"[ \t\r\n\f]+")
_OPEN_TAG = re.compile(r"<[A-Za-z/!?]")
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
MARK_VALUES = {"mark": {"class": {"mojibake"}}}
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

    def close(self) -> None:
        if _OPEN_TAG.match(self.rawdata):  # a tag the input never closed: a browser shows none of it
            self.rawdata = ""
        super().close()

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
    return nh3.clean(_prepared(html), tags=set(SAFE_TAGS) | {"mark"}, tag_attribute_values=MARK_VALUES,
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


# Punctuation that means the same, unified for search and dedup (after NFKC has made full-width
# letters, digits and most punctuation half-width).
_PUNCTUATION = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"', "『": '"', "』": '"',
                              "《": '"', "》": '"', "〈": '"', "〉": '"', "【": "[", "】": "]", "〔": "[", "〕": "]",
                              "—": "-", "–": "-", "－": "-", "～": "~", "〜": "~", "…": "...", "·": "·", "•": "·",
                              "、": ",", "。": ".", "．": "."})


def normalise(text: str) -> str:
    """The search form: NFKC, simplified script, unified punctuation, single spaces."""
    return _SPACES.sub(" ", simplified(unicodedata.normalize("NFKC", text)).translate(_PUNCTUATION)).strip()


# -- converter pinyin ---------------------------------------------------------------------------------

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
_BRACKETED = re.compile(rf"([\u3400-\u9fff])[(（]([a-z{_TONED}]{{1,7}})[)）]")


@lru_cache(maxsize=8192)
def _readings(char: str) -> frozenset[str]:
    from pypinyin import Style, pinyin

    return frozenset(pinyin(char, style=Style.TONE, heteronym=True)[0])


def remove_pinyin(text: str) -> str:
    """``戰(zhàn)`` -> ``戰`` where the bracket holds a reading of the character before it."""
    if "(" not in text and "（" not in text:
        return text
    return _BRACKETED.sub(lambda m: m[1] if m[2].replace("v", "ü") in _readings(m[1]) else m[0], text)


# -- mojibake -------------------------------------------------------------------------------------------

_HAN = re.compile(r"[\u3400-\u9fff]")
_GARBLED = re.compile("(?:锟斤拷)+|烫{3,}|屯{3,}|\ufffd+|[ÃÂ][\x80-\xbf\xa0-\xff€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]+|(?:[åæçèéä][\x80-\xbf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ¡-¿]{2})+")
_LONGEST = 30  # GBK characters of one mojibake run (20 Chinese characters)


@lru_cache(maxsize=1)
def _mojibake_starts() -> re.Pattern[str]:
    """Characters whose GBK lead byte is a UTF-8 lead byte of Chinese (0xE4-0xE9): every run of
    UTF-8 Chinese shown as GBK begins with one (and has one every third character)."""
    chars = []
    for lead in range(0xE4, 0xEA):
        for trail in range(0x40, 0xFF):
            try:
                chars.append(bytes([lead, trail]).decode("gbk"))
            except UnicodeDecodeError:
                continue
    return re.compile("[" + re.escape("".join(chars)) + "]")


def _round_trip(span: str) -> str | None:
    """What ``span`` was, if it is UTF-8 Chinese shown as GBK, else None (a strict round trip whose
    result is common Chinese: every character in GB2312)."""
    try:
        fixed = span.encode("gbk").decode("utf-8")
        fixed.encode("gb2312")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if all(_HAN.match(c) for c in fixed) else None


def _repairs(text: str) -> list[tuple[int, int, str]]:
    """(start, end, original) of each span that round-trips, longest first at each start."""
    found, last = [], 0
    for match in _mojibake_starts().finditer(text):
        i = match.start()
        if i < last:
            continue
        for length in range(min(_LONGEST, len(text) - i) // 3 * 3, 2, -3):
            fixed = _round_trip(text[i:i + length])
            if fixed is not None:
                found.append((i, i + length, fixed))
                last = i + length
                break
    return found


def repair_mojibake(text: str) -> str:
    """Runs of UTF-8-as-GBK mojibake replaced by the text they were (see the module docstring)."""
    if not _mojibake_starts().search(text):
        return text
    out, at = [], 0
    for start, end, fixed in _repairs(text):
        out += [text[at:start], fixed]
        at = end
    return "".join(out) + text[at:]


def garbled_spans(text: str) -> list[str]:
    """What still reads as mojibake: the classic replacement runs, and UTF-8 read as Latin-1."""
    return [m[0] for m in _GARBLED.finditer(text)]


# -- boilerplate ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    name: str
    where: str  # head | tail | both
    pattern: re.Pattern[str]


def load_rules(extra: Sequence[dict[str, str]] = ()) -> tuple[Rule, ...]:
    """The built-in boilerplate rules and a department's own (``[pipelines.clean] boilerplate``)."""
    data = tomllib.loads((DATA / "boilerplate.toml").read_text(encoding="utf-8"))
    return tuple(Rule(r.get("name", r["pattern"]), r.get("where", "both"), re.compile(r["pattern"]))
                 for r in [*data["rule"], *extra])


def _boilerplate_at(lines: list[str], rules: Sequence[Rule], where: str) -> int:
    """How many lines from the head (or, with ``where="tail"``, the tail) are boilerplate or blank."""
    order = lines if where == "head" else lines[::-1]
    count = 0
    for line in order:
        if line.strip() and not any(r.where in (where, "both") and r.pattern.search(line) for r in rules):
            break
        count += 1
    return count


def strip_boilerplate(body: str, rules: Sequence[Rule]) -> str:
    """``body`` without the boilerplate blocks at its head and tail."""
    lines = html_to_text(body).split("\n")
    head, tail = _boilerplate_at(lines, rules, "head"), _boilerplate_at(lines, rules, "tail")
    if not (head or tail) or head >= len(lines):
        return body
    import lxml.html

    root = lxml.html.fragment_fromstring(body, create_parent="div")
    leaves = [el for el in root.iter() if el is not root and el.tag in _BLOCK | {"p", "div"}
              and not any(child.tag in _BLOCK for child in el.iterdescendants())]
    doomed = {line.strip() for line in lines[:head] + lines[len(lines) - tail:] if line.strip()}
    for order in (leaves, leaves[::-1]):  # from the head, then from the tail, while leaves are boilerplate
        for leaf in order:
            if leaf.getparent() is None:
                continue
            text = html_to_text(lxml.html.tostring(leaf, encoding="unicode"))
            if text and text not in doomed:
                break
            if text:
                leaf.drop_tree()
    inner = lxml.html.tostring(root, encoding="unicode")
    return inner[len("<div>"):-len("</div>")]


def _trim_lines(text: str, rules: Sequence[Rule]) -> str:
    """The same rules on the text itself (lines a <br> separates inside one block)."""
    lines = text.split("\n")
    head = _boilerplate_at(lines, rules, "head")
    tail = _boilerplate_at(lines[head:], rules, "tail")
    return "\n".join(lines[head:len(lines) - tail]) if head or tail else text


def _mark(html: str, spans: Sequence[str]) -> str:
    for span in sorted(set(spans), key=len, reverse=True):
        html = html.replace(span, f'<mark class="mojibake">{span}</mark>')
    return html


class CleanPipeline(Pipeline):
    """Fills ``text``, ``html`` and ``text_norm`` of every post from its ``body`` (see the module docstring)."""

    name = "clean"
    flags = frozenset({"mojibake"})

    def __init__(self, settings: Any = None) -> None:
        super().__init__(settings)
        extra = getattr(getattr(getattr(settings, "pipelines", None), "clean", None), "boilerplate", ())
        self.rules = load_rules([rule.model_dump() if hasattr(rule, "model_dump") else rule for rule in extra])

    def process(self, post: Post, options: Any = None) -> None:
        title, body = repair_mojibake(remove_pinyin(post.title)), repair_mojibake(remove_pinyin(post.body))
        if post.kind == ARTICLE and body:
            body = strip_boilerplate(body, self.rules)
        text = html_to_text(body) if body else post.text
        if post.kind == ARTICLE:
            text = _trim_lines(text, self.rules)
        spans = garbled_spans(f"{title}\n{text}")
        if spans:
            post.flags.append("mojibake")
            body = _mark(body, spans)
        if getattr(options, "display_script", "original") == "simplified":
            title, text, body = simplified(title), simplified(text), simplified(body)
        post.title, post.text = title, text
        post.html = sanitize_html(body, post.url) if body else ""
        searchable = f"{title}\n{text}" if title else text
        for span in spans:
            searchable = searchable.replace(span, " ")
        post.text_norm = normalise(searchable)
