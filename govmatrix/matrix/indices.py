"""Influence indices, each with its formula version, computed only from inputs that exist.

- **WCI 2.0** (清博 WeChat communication index): read index 80 % = 0.40·ln(R+1) + 0.45·ln(R/n+1) +
  0.15·ln(Rmax+1), like index 20 % = the same in likes Z; WCI = (0.8·read + 0.2·like)² × 10.
- **WCI 14.2**: overall (60 %), per-article (20 %), headline (10 %) and peak (10 %) reach, each
  0.70·ln(R/x+1) + 0.09·ln(10·Z/x+1) + 0.06·ln(10·L/x+1) + 0.15·ln(10·RE/x+1) over reads R, 在看 Z,
  likes L and shares RE; WCI = (0.6·O + 0.2·A + 0.1·H + 0.1·P)² × 1.2 × 10 (reference: aggregators.md §2.1).
- **BCI** (Weibo communication index, the provincial datasets' text): W1 = ln(posts+1),
  W2 = 0.4·ln(reposts+1) + 0.4·ln(comments+1) + 0.2·ln(likes+1); BCI = (0.2·W1 + 0.8·W2) × 160.
- **活跃度 (activity) govmatrix 1.0**, every platform: 60 × active days / days + 20 × originals /
  posts + 20 × min(posts / days, 1), from 0 to 100: how regularly an account speaks for itself.

An input a platform does not give (no reads for a bridged WeChat account, no 在看 or likes from
datacube) is never guessed: the index is None, names what is missing, and stays out of the ranking.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from govmatrix.models import ARTICLE, ORIGINAL, THREAD

WCI2, WCI14, BCI, ACTIVITY = "WCI 2.0", "WCI 14.2", "BCI", "活跃度 1.0"
INPUT_NAMES = {"articles": "本月文章", "reads": "阅读数", "likes": "点赞数", "wow": "在看数", "shares": "转发数", "reposts": "转发数",
               "comments": "评论数"}


@dataclass(frozen=True)
class IndexValue:
    index: str  # with its version: "WCI 2.0", "BCI", ...
    value: float | None
    missing: tuple[str, ...] = ()  # the inputs that are unavailable (then value is None)
    inputs: dict[str, float] = field(default_factory=dict)


def _ln(x: float) -> float:
    return math.log(x + 1)


def wci_v2(R: float, n: int, Rmax: float, Z: float, Zmax: float) -> float:  # noqa: N803 (the published names)
    read = 0.40 * _ln(R) + 0.45 * _ln(R / n) + 0.15 * _ln(Rmax)
    like = 0.40 * _ln(Z) + 0.45 * _ln(Z / n) + 0.15 * _ln(Zmax)
    return (0.8 * read + 0.2 * like) ** 2 * 10


def _reach(figures: Sequence[float], x: float) -> float:
    """One WCI 14.2 dimension of (reads R, 在看 Z, likes L, shares RE) over x (days or articles)."""
    R, Z, L, RE = figures  # noqa: N806 (the published names)
    return 0.70 * _ln(R / x) + 0.09 * _ln(10 * Z / x) + 0.06 * _ln(10 * L / x) + 0.15 * _ln(10 * RE / x)


def wci_v14_2(total: Sequence[float], headline: Sequence[float], peak: Sequence[float], d: int, n: int) -> float:
    """``total``, ``headline`` and ``peak`` are (reads, 在看, likes, shares) over the period, over its
    headline articles, and of its best article; ``d`` days, ``n`` articles."""
    overall = _reach(total, d)
    per_article = _reach(total, n)
    head = _reach(headline, d)
    best = _reach(peak, 1)
    return (0.6 * overall + 0.2 * per_article + 0.1 * head + 0.1 * best) ** 2 * 1.2 * 10


def bci(posts: int, reposts: float, comments: float, likes: float) -> float:
    w1 = _ln(posts)
    w2 = 0.4 * _ln(reposts) + 0.4 * _ln(comments) + 0.2 * _ln(likes)
    return (0.2 * w1 + 0.8 * w2) * 160


def activity(posts: int, originals: int, active_days: int, days: int) -> float:
    if not posts:
        return 0.0
    return 60 * active_days / days + 20 * originals / posts + 20 * min(posts / days, 1)


def _field(items: Sequence[dict[str, Any]], name: str) -> list[float] | None:
    values = [item.get(name) for item in items]
    return None if not values or any(v is None for v in values) else [float(v) for v in values]  # type: ignore[arg-type]


def wechat_indices(articles: Sequence[dict[str, Any]], days: int) -> list[IndexValue]:
    """WCI 2.0 and 14.2 of one account's articles of a period (dicts with reads, likes, wow, shares, index)."""
    if not articles:
        return [IndexValue(WCI2, None, ("articles",)), IndexValue(WCI14, None, ("articles",))]
    columns = {name: _field(articles, name) for name in ("reads", "likes", "wow", "shares")}
    n = len(articles)
    out = []
    missing = tuple(k for k in ("reads", "likes") if columns[k] is None)
    if missing:
        out.append(IndexValue(WCI2, None, missing))
    else:
        R, Z = columns["reads"], columns["likes"]  # noqa: N806
        assert R is not None and Z is not None
        inputs = {"R": sum(R), "n": n, "Rmax": max(R), "Z": sum(Z), "Zmax": max(Z)}
        out.append(IndexValue(WCI2, round(wci_v2(**inputs), 4), (), inputs))  # type: ignore[arg-type]
    missing = tuple(k for k in ("reads", "wow", "likes", "shares") if columns[k] is None)
    if missing:
        out.append(IndexValue(WCI14, None, missing))
        return out
    rows = [tuple(columns[k][i] for k in ("reads", "wow", "likes", "shares")) for i in range(n)]  # type: ignore[index]
    heads = [r for r, a in zip(rows, articles, strict=True) if a.get("index", 1) == 1]
    total = [sum(r[i] for r in rows) for i in range(4)]
    headline = [sum(r[i] for r in heads) for i in range(4)]
    peak = [max(r[i] for r in rows) for i in range(4)]
    value = wci_v14_2(total, headline, peak, days, n)
    out.append(IndexValue(WCI14, round(value, 4), (), {"R": total[0], "Z": total[1], "L": total[2], "RE": total[3],
                                                       "d": days, "n": n}))
    return out


def weibo_indices(posts: Sequence[dict[str, Any]]) -> list[IndexValue]:
    """BCI of one Weibo account's posts of a period (dicts with reposts, comments, likes)."""
    columns = {name: _field(posts, name) for name in ("reposts", "comments", "likes")}
    missing = tuple(k for k, v in columns.items() if v is None) if posts else ()
    if missing:
        return [IndexValue(BCI, None, missing)]
    sums = {k: sum(v or []) for k, v in columns.items()}
    return [IndexValue(BCI, round(bci(len(posts), sums["reposts"], sums["comments"], sums["likes"]), 4), (),
                       {"posts": len(posts), **sums})]


def activity_index(posts: Sequence[dict[str, Any]], days: int) -> IndexValue:
    """活跃度 of one account's posts of a period (dicts with kind and day, the local date)."""
    originals = sum(p["kind"] in (ORIGINAL, ARTICLE, THREAD) for p in posts)
    active = len({p["day"] for p in posts})
    return IndexValue(ACTIVITY, round(activity(len(posts), originals, active, days), 2), (),
                      {"posts": len(posts), "originals": originals, "active_days": active, "days": days})


def account_indices(platform: str, posts: Sequence[dict[str, Any]], days: int) -> list[IndexValue]:
    """Every index that applies to an account of ``platform``."""
    own = [p for p in posts if p["kind"] != "reply"]
    out = [activity_index(own, days)]
    if platform == "weibo":
        out += weibo_indices(own)
    elif platform == "wechat":
        out += wechat_indices([p for p in own if p["kind"] == ARTICLE], days)
    return out


def missing_text(value: IndexValue) -> str:
    """``缺少：阅读数、点赞数`` for an index left out of the ranking ('' when computed)."""
    return "缺少：" + "、".join(INPUT_NAMES.get(m, m) for m in value.missing) if value.missing else ""


def ranking(values: Iterable[tuple[Any, IndexValue]]) -> list[tuple[Any, IndexValue]]:
    """The computed values best first; values with missing inputs are left out."""
    return sorted((pair for pair in values if pair[1].value is not None), key=lambda pair: -(pair[1].value or 0))
