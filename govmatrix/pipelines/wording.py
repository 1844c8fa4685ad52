"""The wording pipeline: an offline check of the account's own posts for the 「安全、泄密事故等严重问题」
veto of 国办秘函〔2019〕19号 (严重表述错误, 泄露国家秘密, 发布或链接反动、暴力、色情等内容).

``Checker.check(text)`` is pure: the search form of a post (``text_norm``) in, a list of ``Hit`` out.
Each hit names its list:

- **confusion**: a wrong form of the confusion list (警钟常鸣 -> 警钟长鸣), matched exactly with one
  Aho-Corasick automaton; a match inside a longer match is left out.
- **proper_name**: a protected organ or formulation written with one character (two from 8
  characters on) replaced by one near in sound or shape (荷泽市人民政府, 全面从严治当), found as in
  pycorrector's ProperCorrector (see ``wording_fuzzy``); and a protected person after a title: the
  name garbled the same way (市长周明喆) or the title not theirs (副市长周明哲, 市长柏海燕 for
  副市长柏海燕). A person is checked only right after a title, as running text writes them
  (short title + name): elsewhere three characters are too easily ordinary words (扬帆正远航).
- **forbidden** / **secret**: a word of a forbidden category (violence, pornography, gambling,
  reactionary; ``secret`` for classification marks such as 机密★), unless the match lies wholly inside
  an allowed word (涉密 in 涉密载体管理, 绝密 in 杜绝密集), so ordinary political vocabulary stays quiet.
- **bad_link**: a link whose host is a listed domain or under one (``m.xx-casino.example``), in the
  text or, from the pipeline, in the post's markup (offset -1 there).

The pipeline runs on the account's own posts: on a forum board, only the department's speakers'
(citizens' posts are the alerts pipeline's business). It replaces the ``wording:*`` entries of
``post.alerts`` and leaves every other entry, and the alerts pipeline leaves these, so the two can run
in either order and ``govmatrix reprocess`` gives the same alerts again.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick

from govmatrix.errors import ConfigError
from govmatrix.models import Post
from govmatrix.pipelines.alerts import speakers_of
from govmatrix.pipelines.base import Pipeline
from govmatrix.pipelines.clean import normalise
from govmatrix.pipelines.wording_fuzzy import FuzzyIndex, Nearness, garbled, title_forms, title_variants
from govmatrix.pipelines.wording_lists import Lists, load, resolve

PREFIX = "wording:"
LISTS = ("confusion", "proper_name", "forbidden", "secret", "bad_link")
KEY_MAX = 300
_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+|"
                  r"(?<![A-Za-z0-9\-.@])(?:[A-Za-z0-9-]+\.)+[A-Za-z][A-Za-z0-9-]*(?:/[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?",
                  re.IGNORECASE)
_URL_TAIL = ".,;:!?)]'"
_MARKUP_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


@dataclass(frozen=True)
class Hit:
    """One problem in a text: its list, the span as written and its offset (-1: in the markup only),
    the suggested correction (or what to do) and, for forbidden content and links, the category."""

    list: str
    span: str
    offset: int
    suggestion: str
    category: str = ""

    @property
    def key(self) -> str:
        """Identifies the hit in its post across runs (not the offset: an edit elsewhere keeps a dismissal)."""
        raw = f"{self.list}|{self.span}|{self.suggestion}"
        if len(raw) <= KEY_MAX:
            return raw
        return f"{raw[:KEY_MAX - 41]}#{hashlib.sha256(raw.encode()).hexdigest()[:40]}"

    def alert(self, severity: str) -> dict[str, Any]:
        """The hit as an entry of ``post.alerts``."""
        return {"rule": PREFIX + self.list, "severity": severity, "span": self.span, "suggestion": self.suggestion,
                "key": self.key, "offset": self.offset, "category": self.category}


def _automaton(words: dict[str, Any]) -> Any:
    machine = ahocorasick.Automaton()
    for word, value in words.items():
        machine.add_word(word, (word, value))
    if words:
        machine.make_automaton()
    return machine


def _matches(machine: Any, text: str) -> list[tuple[int, str, Any]]:
    """(start, word, value) of every match, none inside a longer one."""
    if not len(machine):
        return []
    found = sorted(((end - len(word) + 1, word, value) for end, (word, value) in machine.iter(text)),
                   key=lambda m: (m[0], -len(m[1])))
    kept: list[tuple[int, str, Any]] = []
    for start, word, value in found:
        if kept and start + len(word) <= kept[-1][0] + len(kept[-1][1]):
            continue
        kept.append((start, word, value))
    return kept


def _inside(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _overlaps(hit: Hit, others: Iterable[Hit]) -> bool:
    return any(hit.offset < o.offset + len(o.span) and o.offset < hit.offset + len(hit.span) for o in others)


def host_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    return host.split(":", 1)[0].strip(".").lower()


class Checker:
    """The wording check over one set of lists (see the module docstring)."""

    def __init__(self, lists: Lists) -> None:
        n = normalise
        self._confusion = _automaton({n(w): n(r) for w, r in lists.confusion.items()})
        self.near = Nearness(n(g) for g in lists.similar)
        names = {n(e): "organ" for e in lists.organs} | {n(e): "formulation" for e in lists.formulations}
        self._fuzzy = FuzzyIndex(names, self.near)
        self._persons = {n(p.name): p for p in lists.persons}
        self._own = {n(p.name): {n(f) for f in title_forms(n(p.title), n(p.short_title))} for p in lists.persons}
        self._short = {n(p.name): n(p.short_title) or n(p.title) for p in lists.persons}
        titles = {t for forms in self._own.values() for t in forms} | {n(t) for t in lists.titles}
        titles |= {v for t in list(titles) for v in title_variants(t)}
        self._titles = _automaton({t: None for t in titles if t})
        self._exact = _automaton({name: None for name in [*names, *self._persons]})
        self._words = _automaton({n(w): (c.list, c.name, c.label) for c in lists.categories for w in c.words})
        self._allow = _automaton({n(w): None for w in lists.allow})
        self.bad_domains = tuple(sorted({d.lower() for d in lists.bad_domains}))

    def check(self, text: str) -> list[Hit]:
        """Every hit in ``text`` (a post's search form, ``clean.normalise`` of any other text), in text order,
        each key once."""
        confused = self.confusion(text)
        # a title the confusion list corrects (常务付市长邝志宏) is not a second, wrong-title hit
        names = [h for h in self.proper_names(text) if h.category != "title" or not _overlaps(h, confused)]
        hits = [*confused, *names, *self.forbidden(text), *self.links(text)]
        return _unique(sorted(hits, key=lambda h: (h.offset, h.list)))

    def confusion(self, text: str) -> list[Hit]:
        return [Hit("confusion", w, s, right) for s, w, right in _matches(self._confusion, text)]

    def proper_names(self, text: str) -> list[Hit]:
        exact = [(s, s + len(w)) for s, w, _ in _matches(self._exact, text)]
        found = [Hit("proper_name", m.window, m.start, m.name, m.payload) for m in self._fuzzy.find(text)
                 if not _inside(m.start, m.start + len(m.window), exact)]
        found += self._people(text)
        kept: list[Hit] = []  # overlapping hits: the longest (荷泽市人民政府新闻办公室, not 荷泽市人民政府)
        for hit in sorted(found, key=lambda h: (-len(h.span), h.offset)):
            if all(hit.offset + len(hit.span) <= k.offset or k.offset + len(k.span) <= hit.offset for k in kept):
                kept.append(hit)
        return kept

    def _people(self, text: str) -> list[Hit]:
        if not self._persons:
            return []
        before: dict[int, str] = {}  # end of a title -> the longest title ending there
        for end, (title, _) in self._titles.iter(text):
            if len(title) > len(before.get(end + 1, "")):
                before[end + 1] = title
        lengths = sorted({len(name) for name in self._persons}, reverse=True)
        hits = []
        for at, title in before.items():
            for size in lengths:
                window = text[at:at + size]
                if window in self._persons:
                    if title not in self._own[window]:
                        hits.append(Hit("proper_name", title + window, at - len(title),
                                        self._short[window] + window, "title"))
                    break
                meant = next((name for name in self._persons if garbled(window, name, self.near)), None)
                if meant is not None:
                    hits.append(Hit("proper_name", window, at, meant, "person"))
                    break
        return hits

    def forbidden(self, text: str) -> list[Hit]:
        matches = _matches(self._words, text)
        if not matches:
            return []
        allowed = [(s, s + len(w)) for s, w, _ in _matches(self._allow, text)]
        return [Hit(kind, word, start, f"删除或核实（{label}）", name) for start, word, (kind, name, label) in matches
                if not _inside(start, start + len(word), allowed)]

    def bad_domain(self, url: str) -> str | None:
        host = host_of(url)
        return next((d for d in self.bad_domains if host == d or host.endswith("." + d)), None)

    def links(self, text: str) -> list[Hit]:
        if not self.bad_domains:
            return []
        hits = []
        for match in _URL.finditer(text):
            url = match.group().rstrip(_URL_TAIL)
            domain = self.bad_domain(url)
            if domain:
                hits.append(Hit("bad_link", url, match.start(), f"删除链接（{domain}）", domain))
        return hits

    def markup_links(self, markup: str) -> list[Hit]:
        """The bad links among the ``href``/``src`` of a post's HTML (offset -1: not in the text)."""
        hits = []
        for match in _MARKUP_LINK.finditer(markup or ""):
            url = htmllib.unescape(match.group(1)).strip()
            domain = self.bad_domain(url)
            if domain:
                hits.append(Hit("bad_link", url, -1, f"删除链接（{domain}）", domain))
        return hits


def _unique(hits: Iterable[Hit]) -> list[Hit]:
    seen: set[str] = set()
    out = []
    for hit in hits:
        if hit.key not in seen:
            seen.add(hit.key)
            out.append(hit)
    return out


@lru_cache(maxsize=8)
def _cached(files: tuple[tuple[str, tuple[tuple[str, float], ...]], ...], replace: tuple[str, ...]) -> Checker:
    return Checker(load({kind: [Path(p) for p, _ in paths] for kind, paths in files}, replace))


def checker_of(settings: Any = None) -> Checker:
    """The checker of ``[pipelines.wording]`` (the built-in lists without settings); one per set of files
    as they are now (an edited file gives a new checker)."""
    wording = getattr(getattr(settings, "pipelines", None), "wording", None)
    base = Path(getattr(settings, "path", "settings.toml")).parent
    files = []
    for kind in ("confusion", "protected", "forbidden"):
        paths = []
        for n, raw in enumerate(getattr(wording, kind, None) or ()):
            path = resolve(raw, base)
            where = f"{getattr(settings, 'path', 'settings')}: pipelines.wording.{kind}[{n}]"
            if not path.is_file():
                raise ConfigError(f"{where}: list file not found: {path}")
            paths.append((str(path), path.stat().st_mtime))
        files.append((kind, tuple(paths)))
    return _cached(tuple(files), tuple(sorted(getattr(wording, "replace", None) or ())))


def own_post(post: Post, account: Any) -> bool:
    """Posted by the account itself: anything but a forum post by someone not among its speakers."""
    speakers = speakers_of(account)
    return speakers is None or post.author in speakers


def wording_alerts(alerts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The wording hits among a post's alerts."""
    return [a for a in alerts or () if str(a.get("rule", "")).startswith(PREFIX)]


class WordingPipeline(Pipeline):
    """Puts the wording hits of the account's own posts into ``post.alerts`` (``wording:<list>``)."""

    name = "wording"

    def __init__(self, settings: Any = None) -> None:
        super().__init__(settings)
        self.checker = checker_of(settings)
        wording = getattr(getattr(settings, "pipelines", None), "wording", None)
        self.severity = str(getattr(wording, "severity", "high"))

    def process(self, post: Post, account: Any = None) -> None:
        kept = [a for a in post.alerts if not str(a.get("rule", "")).startswith(PREFIX)]
        hits: list[Hit] = []
        if own_post(post, account):
            hits = _unique([*self.checker.check(post.text_norm), *self.checker.markup_links(post.html)])
        post.alerts = kept + [hit.alert(self.severity) for hit in hits]
