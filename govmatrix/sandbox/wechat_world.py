"""What the simulated WeChat official accounts publish, and their follower figures.

A *publish* is one 发布 (one ``article_id`` in ``freepublish/batchget``) holding one to three
articles (``news_item``). Everything is generated per account and day on first use, from the
seed and the world's first day only, and cached, so the clock moving forward only adds.

Article ids are self-describing: the short link id ``/mp/s/<id>`` encodes the account, day
and slot under a keyed checksum, so a page request finds its article without generating the
rest of the world.
"""

from __future__ import annotations

import base64
import hashlib
import html
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from govmatrix.sandbox.simkit import stable_hex, stable_token, traditional
from govmatrix.sandbox.texts import everyday_text
from govmatrix.sandbox.world import World, WorldAccount

MID_BASE = 2_247_483_648  # real mids of newer accounts start here
MAX_PER_DAY = 3
PRESS_OFFICE_NAME = "菏泽发布"
_SOURCES = (0, 1, 17, 30, 57, 161)  # datacube user_source codes a city account sees
_SOURCE_WEIGHTS = (1, 3, 1, 6, 2, 1)


@dataclass(frozen=True)
class NewsItem:
    """One article of a publish, as ``news_item`` and as the page ``/mp/s/<short_id>``."""

    short_id: str
    idx: int
    sn: str
    title: str
    author: str
    digest: str
    content: str
    thumb_media_id: str
    thumb_url: str
    deleted: bool
    text: str  # the paragraphs as written, one a line: the truth, never read back from the HTML
    press_release: str | None = None  # the city's press release this article copies, if any
    footer: str = ""  # the 来源 line the account appends: boilerplate a reader of the feed should not see


@dataclass(frozen=True)
class Publish:
    account: WorldAccount
    day: int
    n: int
    at: datetime
    mid: int
    article_id: str
    items: tuple[NewsItem, ...]


READ_CURVE = (0.55, 0.75, 0.85, 0.91, 0.95, 0.98, 1.0)  # an article's reads by day after publication


@dataclass(frozen=True)
class FanDay:
    """One row of follower analytics: the day's total and the per-source gains and losses."""

    day: date
    cumulate: int
    sources: tuple[tuple[int, int, int], ...]  # (user_source, new_user, cancel_user)


def biz_of(account: WorldAccount) -> str:
    """The account's ``__biz`` (base64 of a decimal id); bridge accounts use it as native id."""
    if account.native_id.startswith("Mz"):
        return account.native_id
    number = 3_000_000_000 + int(hashlib.sha256(account.native_id.encode()).hexdigest(), 16) % 999_999_999
    return base64.b64encode(str(number).encode()).decode()


class WechatWorld:
    """Lazily generated publishes and follower rows of every WeChat account of a world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.seed = world.seed
        self.accounts = world.on("wechat")
        self.by_biz = {biz_of(a): a for a in self.accounts}
        self.by_appid = {str(a.options["appid"]): a for a in self.accounts if a.options.get("owned")}
        self._days: dict[tuple[int, int], tuple[Publish, ...]] = {}
        self._lock = threading.Lock()

    # -- article figures (datacube getarticletotal) -----------------------------------------

    def article_reads(self, publish: Publish, item: NewsItem, days_after: int) -> tuple[int, int, int]:
        """(reads, shares, favourites) of an article, cumulative by the end of ``days_after`` days
        after its publication day (0: that day); datacube stops counting after day 6."""
        r = self.world.rng("wechat-reads", publish.account.index, publish.day, publish.n, item.idx)
        total = int(publish.account.followers * r.uniform(0.02, 0.25) / item.idx) + r.randint(0, 40)
        share = READ_CURVE[min(days_after, len(READ_CURVE) - 1)]
        reads = int(total * share)
        return reads, int(reads * r.uniform(0.01, 0.06)), int(reads * r.uniform(0.002, 0.01))

    # -- publishes ------------------------------------------------------------------------

    def publishes_on(self, account: WorldAccount, day: int) -> tuple[Publish, ...]:
        key = (account.index, day)
        with self._lock:
            cached = self._days.get(key)
        if cached is None:
            cached = self._generate_day(account, day)
            with self._lock:
                self._days[key] = cached
        return cached

    def published(self, account: WorldAccount, now: datetime) -> list[Publish]:
        """Every publish in [history_start, now], newest first."""
        start = self.world.state.history_start
        out = [p for day in range(self.world.day_index(now), -1, -1)
               for p in reversed(self.publishes_on(account, day)) if start <= p.at <= now]
        return out

    def find(self, short_id: str, now: datetime) -> tuple[Publish, NewsItem] | None:
        """The publish and article behind a short link id, if it exists by ``now``."""
        decoded = self._decode(short_id)
        if decoded is None:
            return None
        index, day, n, idx = decoded
        accounts = [a for a in self.accounts if a.index == index]
        if not accounts:
            return None
        return self._lookup(accounts[0], day, n, idx, now)

    def find_long(self, biz: str, mid: str, idx: str, sn: str, now: datetime) -> tuple[Publish, NewsItem] | None:
        """The article behind a permanent link ``?__biz=&mid=&idx=&sn=``."""
        account = self.by_biz.get(biz)
        if account is None or not mid.isdigit() or not idx.isdigit():
            return None
        slot = int(mid) - MID_BASE
        found = self._lookup(account, slot // 8, slot % 8, int(idx), now) if slot >= 0 else None
        return found if found is not None and found[1].sn == sn else None

    def _lookup(self, account: WorldAccount, day: int, n: int, idx: int, now: datetime
                ) -> tuple[Publish, NewsItem] | None:
        publishes = self.publishes_on(account, day)
        if n >= len(publishes) or not 1 <= idx <= len(publishes[n].items):
            return None
        publish = publishes[n]
        if not self.world.state.history_start <= publish.at <= now:
            return None
        return publish, publish.items[idx - 1]

    def _generate_day(self, account: WorldAccount, day: int) -> tuple[Publish, ...]:
        count = min(MAX_PER_DAY, self.world.activity(account, day, mean=1.0))
        if account.name == PRESS_OFFICE_NAME:
            count = max(count, 1)  # the press office publishes the daily release every day
        r = self.world.rng("wx-times", account.native_id, day)
        seconds = sorted(r.sample(range(7 * 3600, 21 * 3600 + 1800, 60), count))
        start = self.world.day_start(day)
        return tuple(self._make_publish(account, day, n, start + timedelta(seconds=s))
                     for n, s in enumerate(seconds))

    def _make_publish(self, account: WorldAccount, day: int, n: int, at: datetime) -> Publish:
        r = self.world.rng("wx-publish", account.native_id, day, n)
        size = 1 + (r.random() < 0.3) + (r.random() < 0.1)
        items = tuple(self._make_item(account, day, n, idx) for idx in range(1, size + 1))
        return Publish(account, day, n, at, MID_BASE + day * 8 + n,
                       stable_token(self.seed, "wx-aid", account.native_id, day, n), items)

    def _make_item(self, account: WorldAccount, day: int, n: int, idx: int) -> NewsItem:
        r = self.world.rng("wx-item", account.native_id, day, n, idx)
        title, sentences, release = self._article_text(account, day, n, idx)
        key = (account.native_id, day, n, idx)
        footer = f"来源：{account.department_short}"
        paragraphs = _paragraphs(sentences) + [footer]
        content = _content_html(paragraphs, stable_token(self.seed, "wx-img", *key, length=54))
        return NewsItem(
            short_id=self._encode(account.index, day, n, idx),
            idx=idx, sn=stable_hex(self.seed, "wx-sn", *key),
            title=title, author=r.choice((account.department_short, "", account.name)),
            digest="".join(sentences)[:54], content=content,
            thumb_media_id=stable_token(self.seed, "wx-thumb", *key),
            thumb_url=f"http://mmbiz.qpic.cn/mmbiz_jpg/{stable_token(self.seed, 'wx-cover', *key, length=54)}/0"
                      "?wx_fmt=jpeg",
            deleted=r.random() < 0.03, text="\n".join(paragraphs), press_release=release, footer=footer)

    def _article_text(self, account: WorldAccount, day: int, n: int,
                      idx: int) -> tuple[str, list[str], str | None]:
        """Title, sentences and the press release copied: the day's release (with the account's
        edits) or own news."""
        r = self.world.rng("wx-text", account.native_id, day, n, idx)
        first = n == 0 and idx == 1
        if first and account.name == PRESS_OFFICE_NAME:
            release = self.world.press_release(day)
            return release.title, _sentences(release.body), release.key
        if first and r.random() < 0.3:
            release = self.world.press_release(day)
            edit = r.choice(("prefix", "short", "traditional"))
            if edit == "prefix":
                return "【菏泽发布】" + release.title, _sentences(release.body), release.key
            if edit == "short":
                return release.title, _sentences(release.body)[:1], release.key
            return traditional(release.title), _sentences(traditional(release.body)), release.key
        body = everyday_text(self.seed, "wechat", account.native_id, day, n, idx, length=r.randint(2, 4))
        return _title_from(body), _sentences(body), None

    # -- short ids ------------------------------------------------------------------------

    def _tag(self, payload: bytes) -> bytes:
        return hashlib.sha256(repr((self.seed, "wx-sid", payload)).encode()).digest()[:10]

    def _mask(self, tag: bytes) -> bytes:
        return hashlib.sha256(repr((self.seed, "wx-mask", tag)).encode()).digest()[:6]

    def _encode(self, index: int, day: int, n: int, idx: int) -> str:
        payload = index.to_bytes(3, "big") + day.to_bytes(2, "big") + bytes([n * 16 + idx])
        tag = self._tag(payload)
        masked = bytes(a ^ b for a, b in zip(payload, self._mask(tag), strict=True))
        return base64.urlsafe_b64encode(masked + tag).decode().rstrip("=")

    def _decode(self, short_id: str) -> tuple[int, int, int, int] | None:
        try:
            raw = base64.urlsafe_b64decode(short_id + "==")
        except ValueError:
            return None
        if len(raw) != 16:
            return None
        tag = raw[6:]
        payload = bytes(a ^ b for a, b in zip(raw[:6], self._mask(tag), strict=True))
        if self._tag(payload) != tag:
            return None
        return int.from_bytes(payload[:3], "big"), int.from_bytes(payload[3:5], "big"), payload[5] // 16, payload[5] % 16

    # -- followers ------------------------------------------------------------------------

    def fan_day(self, account: WorldAccount, day: int) -> FanDay:
        """Day ``day``'s cumulate_user and per-source new/cancel that add up to its change."""
        cumulate = self.world.followers(account, day)
        net = cumulate - (self.world.followers(account, day - 1) if day > 0 else cumulate)
        r = self.world.rng("wx-fans", account.native_id, day)
        churn = int(account.followers * r.uniform(0.0002, 0.0008)) + r.randint(0, 2)
        new, cancel = max(net, 0) + churn, max(-net, 0) + churn
        news, cancels = _split(new, r.random()), _split(cancel, r.random())
        rows = tuple((s, a, c) for s, a, c in zip(_SOURCES, news, cancels, strict=True) if a or c)
        return FanDay(self.world.day_date(day), cumulate, rows or ((0, 0, 0),))


def _split(total: int, jitter: float) -> list[int]:
    """Share ``total`` among the sources by weight; the remainder goes to QR-code scans."""
    weights = [w * (1 + jitter * (i % 3)) for i, w in enumerate(_SOURCE_WEIGHTS)]
    scale = total / sum(weights)
    shares = [int(w * scale) for w in weights]
    shares[3] += total - sum(shares)
    return shares


def _sentences(text: str) -> list[str]:
    parts, current = [], ""
    for char in text:
        current += char
        if char in "。！？":
            parts.append(current)
            current = ""
    if current:
        parts.append(current)
    return parts


def _title_from(body: str) -> str:
    clause = body.split("，")[0].split("。")[0]
    return clause[:24]


def _paragraphs(sentences: list[str]) -> list[str]:
    """Two sentences a paragraph."""
    return ["".join(sentences[i:i + 2]) for i in range(0, len(sentences), 2)]


def _content_html(paragraphs: list[str], image: str) -> str:
    """The article body as the WeChat editor saves it: nested sections on one line, lazy ``data-src``
    images, the source line on the right. Only the block structure separates the paragraphs."""
    img = (f'<section style="text-align: center;"><img class="rich_pages wxw-img" data-ratio="0.6667" '
           f'data-src="https://mmbiz.qpic.cn/mmbiz_jpg/{image}/640?wx_fmt=jpeg" data-type="jpeg" '
           f'data-w="1080" /></section>')
    body, source = paragraphs[:-1], paragraphs[-1]
    parts = ['<section style="line-height: 1.75em;"><section data-role="paragraph">']
    for i, para in enumerate(body):
        parts.append(f'<p style="text-indent: 2em;"><span style="font-size: 15px;">{html.escape(para, quote=False)}'
                     "</span></p>" + (img if i == 0 else ""))
    parts.append(f'</section><p style="text-align: right;"><span style="color: #888888;">{html.escape(source)}'
                 "</span></p></section>")
    return "".join(parts)
