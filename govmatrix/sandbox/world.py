"""The simulated world every platform draws from: accounts, days, followers, press releases.

Everything here is a pure function of the seed, the world's first day and the arguments, so
the same world comes back on every run, whatever order it is asked in. Nothing is generated
before somebody asks for it: a world of 10,000 accounts costs a list of 10,000 small records.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from govmatrix.sandbox.city import DEPARTMENTS
from govmatrix.sandbox.state import SHANGHAI, SandboxState
from govmatrix.sandbox.texts import PressRelease, press_release, rng

HISTORY_DAYS = 120  # how far back the world goes from the moment it starts

_COUNTIES = ("牡丹区", "定陶区", "曹县", "单县", "成武县", "巨野县", "郓城县", "鄄城县", "东明县", "开发区")
_BUREAUS = ("发布", "公安", "交警", "市场监管", "卫健", "教育", "人社", "环保", "农业", "林业", "水务",
            "文旅", "团委", "妇联", "法院", "检察", "税务", "气象", "应急", "民政", "城管", "司法",
            "消防", "交通", "住建", "自然资源", "统计", "医保", "退役军人", "融媒")


@dataclass(frozen=True)
class WorldAccount:
    """One account of the simulated world, on one platform.

    ``index`` numbers the accounts of one platform from 0 (catalogue first, then synthetic ones).
    """

    platform: str
    native_id: str
    name: str
    department: str
    department_short: str
    rhythm: str
    followers: int
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    index: int = 0
    synthetic: bool = False

    def describe(self) -> dict[str, Any]:
        return {"platform": self.platform, "native_id": self.native_id, "name": self.name,
                "department": self.department, "department_short": self.department_short,
                "rhythm": self.rhythm, "synthetic": self.synthetic}


def _catalogue() -> list[WorldAccount]:
    accounts: list[WorldAccount] = []
    per_platform: dict[str, int] = {}
    for dept in DEPARTMENTS:
        for acc in dept.accounts:
            index = per_platform.get(acc.platform, 0)
            per_platform[acc.platform] = index + 1
            accounts.append(WorldAccount(acc.platform, acc.native_id, acc.name, dept.name, dept.short_name,
                                         acc.rhythm, acc.followers, dict(acc.options), index))
    return accounts


def _synthetic_weibo(seed: int, count: int, first_index: int) -> list[WorldAccount]:
    """County-level department accounts that pad the Weibo matrix for load tests."""
    accounts = []
    for n in range(count):
        r = rng(seed, "synthetic", n)
        county = _COUNTIES[n % len(_COUNTIES)]
        bureau = _BUREAUS[(n // len(_COUNTIES)) % len(_BUREAUS)]
        round_ = n // (len(_COUNTIES) * len(_BUREAUS))
        name = f"{county}{bureau}" + (str(round_ + 1) if round_ else "")
        rhythm = r.choices(("daily", "weekly", "bursts", "silent"), (5, 3, 1, 1))[0]
        followers = int(math.exp(r.uniform(math.log(300), math.log(60_000))))
        accounts.append(WorldAccount("weibo", str(6_000_000_000 + n * 37), name, f"菏泽市{county}{bureau}",
                                     f"{county}{bureau}", rhythm, followers, {}, first_index + n, True))
    return accounts


_MASK = (1 << 64) - 1


class FastRandom(random.Random):
    """A random.Random whose seeding is cheap (splitmix64 instead of MT19937's 624 words).

    For hot paths that draw a handful of numbers per key (a day's posting plan), where seeding
    the Mersenne Twister would cost more than everything else.
    """

    def seed(self, a: object = None, version: int = 2) -> None:
        self._state = int(a) & _MASK if isinstance(a, int) else 0

    def _next(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def random(self) -> float:
        return (self._next() >> 11) * (1.0 / 9007199254740992.0)

    def getrandbits(self, k: int) -> int:
        bits, value = 0, 0
        while bits < k:
            value = (value << 64) | self._next()
            bits += 64
        return value >> (bits - k)


def fast_rng(seed: int, *key: object) -> FastRandom:
    """Like texts.rng (fixed by the seed and a key, stable across runs), but cheap to create."""
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return FastRandom(int.from_bytes(digest, "big"))


def poisson(r: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth); small means only."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= r.random()
        if p <= limit:
            return k
        k += 1


class World:
    """The simulated city: its accounts and the shared, deterministic facts about them.

    ``state`` carries the clock and fault settings; everything else derives from ``seed`` and
    ``state.history_start`` (day 0 of the world). Platforms keep their own content generators
    and use these helpers so that the same press release, follower series and activity rhythm
    show up consistently across platforms. ``forum_load_threads`` asks the forum for its
    load-test board (see :mod:`govmatrix.sandbox.forum_load`); 0 means none.
    """

    def __init__(self, state: SandboxState, accounts: int = 0, forum_load_threads: int = 0) -> None:
        self.state = state
        self.seed = state.seed
        self.forum_load_threads = forum_load_threads
        self.accounts: list[WorldAccount] = _catalogue()
        extra = accounts - len(self.accounts)
        if extra > 0:
            first = sum(1 for a in self.accounts if a.platform == "weibo")
            self.accounts.extend(_synthetic_weibo(self.seed, extra, first))
        self._by_key = {(a.platform, a.native_id): a for a in self.accounts}
        self._followers: dict[tuple[str, str], list[int]] = {}
        self._followers_lock = threading.Lock()  # the truth may be read from another thread
        self._weekday = lru_cache(maxsize=65536)(self._draw_weekday)
        self._burst = lru_cache(maxsize=65536)(self._draw_burst)
        self.first_day: date = state.history_start.astimezone(SHANGHAI).date()

    # -- accounts -------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.state.now

    def on(self, platform: str) -> list[WorldAccount]:
        return [a for a in self.accounts if a.platform == platform]

    def account(self, platform: str, native_id: str) -> WorldAccount | None:
        return self._by_key.get((platform, native_id))

    def rng(self, *key: object) -> random.Random:
        return rng(self.seed, *key)

    def fast_rng(self, *key: object) -> random.Random:
        return fast_rng(self.seed, *key)

    # -- days -----------------------------------------------------------------------------

    def day_index(self, when: datetime) -> int:
        """World day of a moment (0 = the world's first day, in Asia/Shanghai)."""
        return (when.astimezone(SHANGHAI).date() - self.first_day).days

    def day_date(self, day: int) -> date:
        return self.first_day + timedelta(days=day)

    def day_start(self, day: int) -> datetime:
        return datetime.combine(self.day_date(day), time(0), SHANGHAI)

    def today(self) -> int:
        return self.day_index(self.now)

    # -- shared facts ---------------------------------------------------------------------

    def press_release(self, day: int) -> PressRelease:
        return _press_release(self.seed, day)

    def activity(self, account: WorldAccount, day: int, mean: float = 2.0, r: random.Random | None = None) -> int:
        """How many items the account publishes on world day ``day``, following its rhythm.

        ``mean`` is the platform's usual count on an active day of a daily account; ``r`` a
        generator of the caller's to draw from (default: one of the account's and the day's).
        """
        key = (account.platform, account.native_id)
        r = r or self.rng("activity", *key, day)
        weekday = self.day_date(day).weekday()
        if account.rhythm == "daily":
            return poisson(r, mean * (0.5 if weekday >= 5 else 1.0))
        if account.rhythm == "weekly":
            own_day = self._weekday(key)
            if weekday == own_day:
                return 1 + poisson(r, mean / 2)
            return 1 if r.random() < 0.04 else 0
        if account.rhythm == "bursts":
            block, offset = divmod(day, 14)
            start, length = self._burst(key, block)
            if start <= offset < start + length:
                return 3 + poisson(r, mean * 3)
            return 1 if r.random() < 0.15 else 0
        if account.rhythm == "silent":
            return 1 if r.random() < 0.03 else 0
        if account.rhythm == "lapsed":  # posts daily, then stops for good (see lapsed_day)
            last = self.lapsed_day(account)
            if day > last:
                return 0
            count = poisson(r, mean * (0.5 if weekday >= 5 else 1.0))
            return max(count, 1) if day == last else count
        return 1 if r.random() < 0.05 else 0  # monthly and unknown rhythms: rare items

    def lapsed_day(self, account: WorldAccount) -> int:
        """The world day of a ``lapsed`` account's last post: ``silent_days`` before the day the
        sandbox started (day HISTORY_DAYS), so at the start it has been silent that many days."""
        return HISTORY_DAYS - int(account.options.get("silent_days", 0))

    def _draw_weekday(self, key: tuple[str, str]) -> int:
        return self.rng("weekday", *key).randrange(5)

    def _draw_burst(self, key: tuple[str, str], block: int) -> tuple[int, int]:
        b = self.rng("burst", *key, block)
        return b.randrange(12), 1 + b.randrange(3)

    def followers(self, account: WorldAccount, day: int) -> int:
        """Follower count on world day ``day``: grows with noise, with an occasional drop."""
        key = (account.platform, account.native_id)
        series = self._followers.get(key)
        if series is not None and day < len(series):
            return series[max(day, 0)]
        with self._followers_lock:
            return self._extend_followers(account, key, day)

    def _extend_followers(self, account: WorldAccount, key: tuple[str, str], day: int) -> int:
        series = self._followers.setdefault(key, [account.followers])
        while len(series) <= day:
            d = len(series)
            r = self.rng("followers", *key, d)
            base = account.followers
            if r.random() < 0.04:  # a purge of zombie followers, or an unpopular post
                delta = -int(base * r.uniform(0.001, 0.008)) - 1
            else:
                delta = int(base * r.uniform(0.0, 0.003) + r.random() * 3)
            series.append(max(0, series[-1] + delta))
        return series[max(day, 0)]


@lru_cache(maxsize=4096)
def _press_release(seed: int, day: int) -> PressRelease:
    return press_release(seed, day)
