"""What the simulated Weibo accounts post, and when: a pure function of the seed and the world.

Post ids are real-shaped mids: ``((unix_time - 515483463) << 22) | low bits``, the formula
public tools use to read a post's time from its id. The low 22 bits hold the account's index
and the post's number within its day, so any mid decodes back to the post that owns it
without a global index. Only the skeleton (who posts at which second) is kept per account;
a post's content is rebuilt on demand from its mid.
"""

from __future__ import annotations

import bisect
import html
import random
import string
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from govmatrix.sandbox.simkit import traditional
from govmatrix.sandbox.state import SHANGHAI
from govmatrix.sandbox.texts import PressRelease, everyday_text
from govmatrix.sandbox.world import World, WorldAccount

MID_EPOCH = 515483463
MAX_ACCOUNTS = 0x3FFF  # account indexes fit in 14 bits; the last one marks deleted originals
DELETED_INDEX = MAX_ACCOUNTS
LONG_TEXT = 140  # characters the list APIs show before cutting to "...全文"
ALPHABET = string.digits + string.ascii_lowercase + string.ascii_uppercase

HASHTAGS = ("菏泽发布", "牡丹之都", "平安菏泽", "健康菏泽", "美丽菏泽", "政务公开", "菏泽天气", "我为群众办实事")
EMOJI = (("[赞]", "l_zan-44ddc70637.png"), ("[心]", "l_xin-43af9086c0.png"), ("[鼓掌]", "d_guzhang-cd5cee3c20.png"),
         ("[加油]", "d_jiayou-e7d48cd6c0.png"), ("[话筒]", "o_huatong-aebf0ef2f8.png"), ("[good]", "h_good-0c51afc69c.png"))
SOURCES = ("微博 weibo.com", "iPhone客户端", "微博政务版", "HUAWEI Mate 20", "")
REPOST_REMARKS = ("转发微博", "关注！", "请扩散！", "【转】", "支持！")
DELETED_TEXT = ("抱歉，此微博已被作者删除。查看帮助：<a href=\"https://weibo.cn/sinaurl?u=https%3A%2F%2Fkefu.weibo.com"
                "%2Ffaqdetail%3Fid%3D20000\">网页链接</a>")
INVISIBLE_TEXT = "抱歉，作者已设置仅展示半年内微博，此微博已不可见。"

Token = tuple[str, str]  # (kind, value): t text, topic, at, emoji, br, link


def make_mid(ts: int, index: int, seq: int) -> int:
    return ((ts - MID_EPOCH) << 22) | (index << 8) | seq


def decode_mid(mid: int) -> tuple[int, int, int]:
    """(unix time, account index, number within the day) of a mid."""
    return (mid >> 22) + MID_EPOCH, (mid >> 8) & MAX_ACCOUNTS, mid & 0xFF


def _b62(n: int) -> str:
    out = ""
    while n:
        n, d = divmod(n, 62)
        out = ALPHABET[d] + out
    return out or "0"


def mid_to_bid(mid: int) -> str:
    """The base62 short id of a mid, as used in weibo.com/{uid}/{bid} (7-digit groups)."""
    s, parts = str(mid), []
    while s:
        s, chunk = s[:-7], s[-7:]
        enc = _b62(int(chunk))
        parts.append(enc.rjust(4, "0") if s else enc)
    return "".join(reversed(parts))


def bid_to_mid(bid: str) -> int | None:
    if not bid or any(c not in ALPHABET for c in bid):
        return None
    parts = []
    while bid:
        bid, chunk = bid[:-4], bid[-4:]
        num = str(sum(ALPHABET.index(c) * 62 ** i for i, c in enumerate(reversed(chunk))))
        parts.append(num.rjust(7, "0") if bid else num)
    return int("".join(reversed(parts)))


@dataclass(frozen=True, slots=True)
class Slot:
    ts: int
    role: str  # release (the city's press release) | echo (a cross-post of it) | post


@dataclass(frozen=True, slots=True)
class DeletedOriginal:
    mid: int
    ts: int
    invisible: bool  # "仅展示半年内微博" rather than deleted


@dataclass(frozen=True)
class WeiboPost:
    """One post as the world knows it; counts are the final ones, shown counts grow with age."""

    mid: int
    account: WorldAccount
    published: datetime
    tokens: tuple[Token, ...]
    kind: str = "original"  # original | repost
    variant: str = "post"  # post | release | prefixed | short | traditional | retweet | repost | deleted
    pics: tuple[str, ...] = ()
    video: str | None = None
    source: str = ""
    edited: bool = False
    retweet_of: int | None = None
    deleted: DeletedOriginal | None = None
    final: tuple[int, int, int] = (0, 0, 0)  # reposts, comments, likes
    release: str | None = None

    @property
    def plain(self) -> str:
        return plain_text(self.tokens)

    @property
    def long(self) -> bool:
        return len(self.plain) > LONG_TEXT


def plain_text(tokens: tuple[Token, ...]) -> str:
    """The text a reader sees: emoji as their alt text, links as their text, <br /> as newlines."""
    out = []
    for kind, value in tokens:
        out.append({"t": value, "topic": f"#{value}#", "at": f"@{value}", "emoji": value.split("|")[0],
                    "br": "\n", "link": "网页链接"}[kind])
    return "".join(out)


def render_html(tokens: tuple[Token, ...]) -> str:
    return "".join(_token_html(kind, value) for kind, value in tokens)


def _token_html(kind: str, value: str) -> str:
    if kind == "t":
        return html.escape(value, quote=False)
    if kind == "topic":
        return (f'<a  href="https://m.weibo.cn/search?containerid=231522type%3D1%26q%3D{quote(f"#{value}#", safe="")}'
                f'&isnewpage=1" data-hide=""><span class="surl-text">#{value}#</span></a>')
    if kind == "at":
        return f"<a href='/n/{value}'>@{value}</a>"
    if kind == "emoji":
        alt, src = value.split("|")
        return (f'<span class="url-icon"><img alt={alt} src="//h5.sinaimg.cn/m/emoticon/icon/default/{src}" '
                f'style="width:1em; height:1em;" /></span>')
    if kind == "br":
        return "<br />"
    return (f'<a data-url="http://t.cn/{value}" href="https://weibo.cn/sinaurl?u=http%3A%2F%2Fwww.heze.gov.cn'
            f'%2Fart%2F{value}.html" data-hide=""><span class=\'url-icon\'><img style=\'width: 1rem;height: 1rem\' '
            f"src='https://h5.sinaimg.cn/upload/2015/09/25/3/timeline_card_small_web_default.png'></span>"
            f'<span class="surl-text">网页链接</span></a>')


def truncated_html(post: WeiboPost) -> str:
    """The list form of a long post: about 140 characters, then "...全文"."""
    out, seen = [], 0
    for kind, value in post.tokens:
        size = len(plain_text(((kind, value),)))
        if seen + size > LONG_TEXT:
            if kind == "t":
                out.append(html.escape(value[: LONG_TEXT - seen], quote=False))
            break
        out.append(_token_html(kind, value))
        seen += size
    return "".join(out) + f'...<a href="/status/{post.mid}">全文</a>'


# How a department re-posts the city's press release (the dedup pipeline must see one release).
RELEASE_VARIANTS = ("retweet", "prefixed", "short", "traditional", "hashtag", "teaser", "sourced", "punctuated")
_VARIANT_WEIGHTS = (4, 3, 2, 1.5, 1.5, 1.5, 1, 1)


def release_text(release: PressRelease, variant: str, press_name: str) -> str:
    """The press release as the city posts it, or as a department re-posts it with a small edit."""
    full = f"【{release.title}】{release.body}"
    if variant == "prefixed":
        return f"【{press_name}】{release.body}"
    if variant == "short":
        return release.body.split("。")[0] + "。"
    if variant == "traditional":
        return traditional(full)
    if variant == "hashtag":
        return f"#菏泽# {release.body}"
    if variant == "teaser":  # the opening of the article, and a link to the rest
        return f"【{release.title}】{release.body[:40]}...全文"
    if variant == "sourced":
        return f"{full}（来源：{press_name}）"
    if variant == "punctuated":
        return f"{release.title}：{release.body}".replace("，", "；", 1).replace("。", "！", 1)
    return full


WEATHER = ("晴", "多云", "阴", "小雨", "阵雨", "雷阵雨", "晴转多云", "多云转阴")
WINDS = ("东南风3级", "北风2到3级", "南风3到4级", "西北风4级")


def weather_bulletin(day: int, r: random.Random) -> str:
    """The weather office's daily bulletin: one template, other figures every day (never one release)."""
    low = r.randint(-5, 26)
    return (f"第{day + 1}期：今天白天到夜间{r.choice(WEATHER)}，{r.choice(WINDS)}，最高气温{low + r.randint(4, 12)}℃，"
            f"最低气温{low}℃。请广大市民注意天气变化，合理安排出行。")


class WeiboWorld:
    """Weibo's side of the world: which account posts what, at which second."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.accounts = world.on("weibo")[:DELETED_INDEX]
        self.by_uid = {a.native_id: a for a in self.accounts}
        self.press = self.accounts[0] if self.accounts else None  # the city news office (菏泽发布)
        self.catalogue = [a for a in self.accounts if not a.synthetic]
        self._mids: dict[str, tuple[int, list[int]]] = {}
        self.plan = lru_cache(maxsize=400_000)(self._plan)
        self.post_at = lru_cache(maxsize=50_000)(self._post_at)
        self.pinned = lru_cache(maxsize=20_000)(self._pinned)

    # -- skeleton -------------------------------------------------------------------------

    def release_time(self, day: int) -> int:
        r = self.world.fast_rng("weibo-release-time", day)
        return int(self.world.day_start(day).timestamp()) + 9 * 3600 + r.randrange(2 * 3600)

    def echoes(self, account: WorldAccount, r: random.Random) -> bool:
        """Whether the account cross-posts the day's press release (drawn from the day's plan)."""
        p = {"daily": 0.3, "bursts": 0.2, "weekly": 0.08}.get(account.rhythm, 0.0)
        return r.random() < p * (0.4 if account.synthetic else 1)

    def _plan(self, account: WorldAccount, day: int) -> tuple[Slot, ...]:
        if day < 0:
            return ()
        mean = 3.0 if account.followers >= 50_000 else 1.8
        r = self.world.fast_rng("weibo-plan", account.native_id, day)
        start = int(self.world.day_start(day).timestamp())
        slots = [Slot(start + 7 * 3600 + r.randrange(15 * 3600 + 1800), "post")
                 for _ in range(self.world.activity(account, day, mean, r))]
        if account is self.press:
            slots.append(Slot(self.release_time(day), "release"))
        elif self.echoes(account, r):
            slots.append(Slot(self.release_time(day) + 600 + r.randrange(5 * 3600), "echo"))
        return tuple(sorted(slots, key=lambda s: (s.ts, s.role))[:255])

    def mids(self, account: WorldAccount) -> list[int]:
        """Every mid of the account from day 0 to today (today's may lie in the future), ascending."""
        today = self.world.today()
        covered, mids = self._mids.get(account.native_id, (-1, []))
        if covered < today:
            mids = list(mids)
            for day in range(covered + 1, today + 1):
                mids.extend(make_mid(s.ts, account.index, i) for i, s in enumerate(self.plan(account, day)))
            self._mids[account.native_id] = (today, mids)
        return mids

    def visible(self, account: WorldAccount, now: datetime) -> list[int]:
        """The account's mids published at or before ``now``, ascending."""
        mids = self.mids(account)
        return mids[: bisect.bisect_right(mids, make_mid(int(now.timestamp()), MAX_ACCOUNTS, 0xFF))]

    def _pinned(self, account: WorldAccount, count: int) -> tuple[int, ...]:
        """The account's pinned posts: its first originals of the world's first 60 days."""
        found: list[int] = []
        for day in range(60):
            for i, slot in enumerate(self.plan(account, day)):
                mid = make_mid(slot.ts, account.index, i)
                if len(found) < count and slot.role == "post" and self._kind_roll(account, day, i) >= 0.15:
                    found.append(mid)
            if len(found) == count:
                break
        return tuple(found)

    # -- content --------------------------------------------------------------------------

    def post(self, mid: int) -> WeiboPost | None:
        ts, index, seq = decode_mid(mid)
        if index >= len(self.accounts):
            return None
        account = self.accounts[index]
        day = self.world.day_index(datetime.fromtimestamp(ts, SHANGHAI))
        plan = self.plan(account, day)
        if seq >= len(plan) or plan[seq].ts != ts:
            return None
        return self.post_at(account, day, seq)

    def _kind_roll(self, account: WorldAccount, day: int, seq: int) -> float:
        return self.world.fast_rng("weibo-kind", account.native_id, day, seq).random()

    def _post_at(self, account: WorldAccount, day: int, seq: int) -> WeiboPost:
        slot = self.plan(account, day)[seq]
        r = self.world.fast_rng("weibo-post", account.native_id, day, seq)
        base: dict[str, Any] = dict(mid=make_mid(slot.ts, account.index, seq), account=account,
                    published=datetime.fromtimestamp(slot.ts, SHANGHAI), source=r.choice(SOURCES),
                    edited=r.random() < 0.04, final=self._final_counts(account, r))
        if slot.role in ("release", "echo"):
            return self._release_post(account, day, r, base, slot.role)
        roll = self._kind_roll(account, day, seq)
        if roll < 0.06:
            invisible = r.random() < 0.3
            ts = slot.ts - r.randrange(3600, 40 * 86400)
            gone = DeletedOriginal(make_mid(ts, DELETED_INDEX, r.randrange(256)), ts, invisible)
            return WeiboPost(tokens=(("t", r.choice(REPOST_REMARKS)),), kind="repost", variant="deleted",
                             retweet_of=gone.mid, deleted=gone, **base)
        if roll < 0.15:
            target = self._repost_target(account, day, r)
            if target is not None:
                return WeiboPost(tokens=self._remark(r), kind="repost", variant="repost", retweet_of=target,
                                 **base)
        return WeiboPost(tokens=self._original_tokens(account, day, seq, r), pics=self._pics(account, r),
                         video=self._video(r), **base)

    def _release_post(self, account: WorldAccount, day: int, r: random.Random, base: dict[str, Any],
                      role: str) -> WeiboPost:
        release = self.world.press_release(day)
        assert self.press is not None
        if role == "release":
            base["final"] = tuple(x * 3 for x in base["final"])
            return WeiboPost(tokens=(("t", release_text(release, "release", self.press.name)),), variant="release",
                             pics=self._pics(account, r, at_least=1), release=release.key, **base)
        variant = r.choices(RELEASE_VARIANTS, _VARIANT_WEIGHTS)[0]
        if variant == "retweet":
            plan = self.plan(self.press, day)
            seq = next(i for i, s in enumerate(plan) if s.role == "release")
            return WeiboPost(tokens=self._remark(r), kind="repost", variant="retweet", release=release.key,
                             retweet_of=make_mid(plan[seq].ts, self.press.index, seq), **base)
        return WeiboPost(tokens=(("t", release_text(release, variant, self.press.name)),), variant=variant,
                         release=release.key, **base)

    def _repost_target(self, account: WorldAccount, day: int, r: random.Random) -> int | None:
        others = [a for a in self.catalogue if a is not account]
        if not others:
            return None
        other, back = r.choice(others), 1 + r.randrange(4)
        plan = self.plan(other, day - back)
        candidates = [i for i, s in enumerate(plan) if s.role == "post" and self._kind_roll(other, day - back, i) >= 0.15]
        if not candidates:
            return None
        seq = r.choice(candidates)
        return make_mid(plan[seq].ts, other.index, seq)

    def _remark(self, r: random.Random) -> tuple[Token, ...]:
        tokens: list[Token] = [("t", r.choice(REPOST_REMARKS))]
        if r.random() < 0.3:
            tokens.append(("emoji", "|".join(r.choice(EMOJI))))
        return tuple(tokens)

    def _original_tokens(self, account: WorldAccount, day: int, seq: int, r: random.Random) -> tuple[Token, ...]:
        seed = self.world.seed
        if account.name == "菏泽气象" and seq == 0:
            return (("topic", "菏泽天气"), ("t", weather_bulletin(day, r)))
        tokens: list[Token] = []
        if r.random() < 0.35:
            tokens.append(("topic", r.choice(HASHTAGS)))
        if r.random() < 0.2:  # a long post: paragraphs with line breaks, cut in the list APIs
            for p in range(3 + r.randrange(4)):
                if p:
                    tokens.append(("br", ""))
                tokens.append(("t", everyday_text(seed, "weibo", account.native_id, day, seq, p, length=2)))
        else:
            tokens.append(("t", everyday_text(seed, "weibo", account.native_id, day, seq, length=1 + r.randrange(2))))
            if r.random() < 0.08:
                tokens.append(("link", _b62(r.getrandbits(36)).rjust(7, "A")))
        if r.random() < 0.1 and self.press is not None and account is not self.press:
            tokens.append(("at", self.press.name))
        if r.random() < 0.3:
            tokens.append(("emoji", "|".join(r.choice(EMOJI))))
        return tuple(tokens)

    def _pics(self, account: WorldAccount, r: random.Random, at_least: int = 0) -> tuple[str, ...]:
        if at_least == 0 and r.random() > 0.45:
            return ()
        count = r.choices((1, 2, 3, 4, 6, 9, 12, 15), (40, 12, 10, 8, 8, 10, 2, 1))[0]
        owner = _b62(int(account.native_id)).rjust(8, "0")[:8]
        return tuple(f"{owner}ly1{'gh'[r.randrange(2)]}{_b62(r.getrandbits(100))[:18].lower()}"
                     for _ in range(max(count, at_least)))

    def _video(self, r: random.Random) -> str | None:
        return f"{r.randrange(10**15, 10**16)}" if r.random() < 0.04 else None

    def _final_counts(self, account: WorldAccount, r: random.Random) -> tuple[int, int, int]:
        likes = int(account.followers * r.uniform(0.0003, 0.006)) + r.randrange(5)
        if account.followers >= 40_000 and r.random() < 0.004:  # went viral: shown as "100万+"
            likes = r.randrange(1_000_000, 1_600_000)
        return int(likes * r.uniform(0.1, 0.6)), int(likes * r.uniform(0.05, 0.3)), likes
