"""What the department websites publish, including the flaws some sites' feeds really have.

One site per ``feeds`` account of the catalogue (``options["feed"]`` is its file name). Entries
are generated per site and day on first use, from the seed and the world's first day only.
Site quirks, chosen by feed file:

- ``hzwgx.xml``: a site converter turned everything into traditional script and left pinyin
  after some characters (``堅決打贏脫貧攻堅戰(zhàn)``);
- ``hzzj.xml``: runs of mojibake in some entries (UTF-8 bytes read as GBK);
- ``hzny.xml``: entries without ``<guid>`` (the link is the only key);
- ``hzyy.xml``: a short ``<description>`` and the full text in ``<content:encoded>``.

The press office's site posts the day's press release; other sites cross-post it now and
then with a 【菏泽发布】 prefix or shortened.

One site was hacked: two days after the sandbox's start (world day HISTORY_DAYS + 2) its first
entry of the day ends with a gambling link (``SEEDED_LINK``), the 「发布或链接反动、暴力、色情等内容」
branch of the security veto; the truth marks that entry ``"seeded": "forbidden_link"``.
"""

from __future__ import annotations

import html
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from govmatrix.sandbox.simkit import traditional
from govmatrix.sandbox.texts import everyday_text
from govmatrix.sandbox.world import HISTORY_DAYS, World, WorldAccount

QUIRKS = {"hzwgx.xml": "pinyin", "hzzj.xml": "mojibake", "hzny.xml": "no_guid", "hzyy.xml": "content_encoded"}
PRESS_OFFICE_NAME = "菏泽发布"
AID_BASE, AID_SLOTS, MAX_PER_DAY = 10_000, 8, 3
SEEDED_SITE, SEEDED_DAY = "hzmd.xml", HISTORY_DAYS + 2
SEEDED_LINK = "http://m.xx-casino.example/hz?from=mudan"
_PINYIN = {"戰": "zhàn", "質": "zhì", "險": "xiǎn", "溫": "wēn", "權": "quán", "節": "jié", "願": "yuàn", "檢": "jiǎn"}


@dataclass(frozen=True)
class Site:
    account: WorldAccount
    file: str  # the feed's file name, e.g. "hzxwb.xml"
    stem: str
    kind: str  # rss | atom
    quirk: str  # plain | pinyin | mojibake | no_guid | content_encoded
    column: int
    press_office: bool


@dataclass(frozen=True)
class Entry:
    site: Site
    aid: int
    title: str
    content: str  # HTML as served
    summary: str  # plain text as served (the first sentences)
    published: datetime
    author: str
    clean_text: str  # the text before the site's converter or encoding mangled it
    text: str  # the paragraphs as written (as served, quirks included), one a line: never read back from HTML
    press_release: str | None = None  # the city's press release this entry copies, if any
    seeded: str | None = None  # "forbidden_link": the hacked entry (see the module docstring)

    @property
    def guid(self) -> str | None:
        return None if self.site.quirk == "no_guid" else f"{self.site.stem}-{self.aid}"

    @property
    def atom_id(self) -> str:
        return f"tag:{self.site.stem}.heze.gov.cn,{self.published:%Y-%m-%d}:art-{self.aid}"

    @property
    def path(self) -> str:
        """The article page, relative to the sandbox root."""
        p = self.published
        return f"/sites/{self.site.stem}/art/{p.year}/{p.month}/{p.day}/art_{self.site.column}_{self.aid}.html"

class FeedsWorld:
    """Sites and their lazily generated entries."""

    def __init__(self, world: World) -> None:
        self.world = world
        press = {a.department for a in world.accounts if a.name == PRESS_OFFICE_NAME}
        self.sites = [self._site(a, press) for a in world.on("feeds")]
        self.by_file = {s.file: s for s in self.sites}
        self.by_stem = {s.stem: s for s in self.sites}
        self._days: dict[tuple[str, int], tuple[Entry, ...]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _site(account: WorldAccount, press: set[str]) -> Site:
        file = str(account.options["feed"])
        stem, _, ext = file.rpartition(".")
        return Site(account, file, stem, "atom" if ext == "atom" else "rss", QUIRKS.get(file, "plain"),
                    100 + account.index, account.department in press)

    def entries(self, site: Site, now: datetime) -> list[Entry]:
        """Every entry of ``site`` in [history_start, now], newest first."""
        start = self.world.state.history_start
        return [e for day in range(self.world.day_index(now), -1, -1) for e in reversed(self.entries_on(site, day))
                if start <= e.published <= now]

    def entry(self, site: Site, aid: int, now: datetime) -> Entry | None:
        day, n = divmod(aid - AID_BASE, AID_SLOTS)
        entries = self.entries_on(site, day) if day >= 0 else ()
        found = entries[n] if n < len(entries) else None
        if found is None or not self.world.state.history_start <= found.published <= now:
            return None
        return found

    def entries_on(self, site: Site, day: int) -> tuple[Entry, ...]:
        key = (site.file, day)
        with self._lock:
            cached = self._days.get(key)
        if cached is None:
            cached = self._generate(site, day)
            with self._lock:
                self._days[key] = cached
        return cached

    def _generate(self, site: Site, day: int) -> tuple[Entry, ...]:
        count = min(MAX_PER_DAY, self.world.activity(site.account, day, mean=1.2))
        if site.press_office or (site.file, day) == (SEEDED_SITE, SEEDED_DAY):
            count = max(count, 1)
        r = self.world.rng("feeds-times", site.file, day)
        seconds = sorted(r.sample(range(8 * 3600, 18 * 3600), count))
        start = self.world.day_start(day)
        return tuple(self._entry(site, day, n, start + timedelta(seconds=s)) for n, s in enumerate(seconds))

    def _entry(self, site: Site, day: int, n: int, published: datetime) -> Entry:
        r = self.world.rng("feeds-entry", site.file, day, n)
        title, sentences, release = self._text(site, day, n, r)
        seeded = "forbidden_link" if (site.file, day, n) == (SEEDED_SITE, SEEDED_DAY, 0) else None
        if seeded:
            sentences = [*sentences, f"更多精彩活动详见{SEEDED_LINK}。"]
        clean = title, sentences
        if site.quirk == "pinyin":
            clean = traditional(title), [traditional(s) for s in sentences]
            title, sentences = _with_pinyin(clean[0]), [_with_pinyin(s) for s in clean[1]]
        elif site.quirk == "mojibake" and r.random() < 0.4:
            target = r.randrange(len(sentences))
            sentences = [_mojibake(s, r) if i == target else s for i, s in enumerate(sentences)]
        sizes = _paragraph_sizes(len(sentences), r)
        paragraphs = _grouped(sentences, sizes)
        return Entry(site, AID_BASE + day * AID_SLOTS + n, title, markup(paragraphs, site.column), "".join(sentences[:1]),
                     published, site.account.name, "\n".join(_grouped(clean[1], sizes)), "\n".join(paragraphs),
                     release, seeded)

    def _text(self, site: Site, day: int, n: int, r: random.Random) -> tuple[str, list[str], str | None]:
        if n == 0 and (site.press_office or r.random() < 0.3):
            release = self.world.press_release(day)
            sentences = _sentences(release.body)
            if site.press_office:
                return release.title, sentences, release.key
            if r.random() < 0.5:
                return "【菏泽发布】" + release.title, sentences, release.key
            return release.title, sentences[:1], release.key
        body = everyday_text(self.world.seed, "feeds", site.file, day, n, length=r.randint(2, 4))
        return body.split("，")[0].split("。")[0][:26], _sentences(body), None


def _sentences(text: str) -> list[str]:
    out, current = [], ""
    for char in text:
        current += char
        if char in "。！？":
            out.append(current)
            current = ""
    return out + ([current] if current else [])


def _paragraph_sizes(count: int, r: random.Random) -> list[int]:
    """How many sentences each paragraph holds: one to three."""
    sizes: list[int] = []
    while sum(sizes) < count:
        sizes.append(min(r.randint(1, 3), count - sum(sizes)))
    return sizes


def _grouped(sentences: list[str], sizes: list[int]) -> list[str]:
    out, start = [], 0
    for size in sizes:
        out.append("".join(sentences[start:start + size]))
        start += size
    return out


def markup(paragraphs: list[str], variant: int) -> str:
    """Paragraphs as a site's editor saves them; each site its own way, as real CMSs differ.

    Nothing but the block structure separates the paragraphs (no newlines between tags), so only a
    reader that breaks lines at block elements gets the paragraphs back.
    """
    esc = [html.escape(p, quote=False) for p in paragraphs]
    style = variant % 4
    if style == 0:
        return "".join(f"<p>{p}</p>" for p in esc)
    if style == 1:  # TRS WCM, common on Chinese government sites
        return '<div class="TRS_Editor"><div class="Custom_UnionStyle">' + "".join(f"<div>{p}</div>" for p in esc) \
            + "</div></div>"
    if style == 2:
        inner = "".join(f'<section><p style="text-indent:2em">{p}</p></section>' for p in esc[1:])
        return f"<section><section><p>{esc[0]}</p></section>{inner}</section>"
    return "<p>" + "<br />\r\n".join(esc) + "</p>"


def _with_pinyin(text: str) -> str:
    """What the site's converter left: pinyin in brackets after some characters."""
    return "".join(f"{c}({_PINYIN[c]})" if c in _PINYIN else c for c in text)


def _mojibake(sentence: str, r: random.Random) -> str:
    """A run of Chinese characters whose UTF-8 bytes were decoded as GBK (repairable)."""
    for _ in range(12):
        length = r.choice((2, 4, 6))
        start = r.randrange(max(1, len(sentence) - length))
        run = sentence[start:start + length]
        if len(run) != length or not all("\u4e00" <= c <= "\u9fff" for c in run):
            continue
        try:
            garbled = run.encode("utf-8").decode("gbk")
        except UnicodeDecodeError:
            continue
        return sentence[:start] + garbled + sentence[start + length:]
    return sentence
