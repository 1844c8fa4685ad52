"""Influence indices against hand-computed values, and inputs that are missing are named, never guessed."""

from __future__ import annotations

from datetime import date

import pytest

from govmatrix.matrix.indices import (
    ACTIVITY,
    BCI,
    WCI2,
    WCI14,
    account_indices,
    activity,
    missing_text,
    ranking,
    wci_v2,
    wechat_indices,
    weibo_indices,
)


def test_wci_2_0_worked_example() -> None:
    # aggregators.md §2.1: R=10000, n=100, Rmax=300, Z=4000, Zmax=60 -> 411.4875079
    assert wci_v2(10000, 100, 300, 4000, 60) == pytest.approx(411.4875079, abs=1e-6)


def article(reads: int | None, wow: int | None, likes: int | None, shares: int | None, index: int = 1) -> dict:
    return {"kind": "article", "reads": reads, "wow": wow, "likes": likes, "shares": shares, "index": index,
            "day": date(2016, 7, 1)}


def test_wci_14_2_by_hand() -> None:
    # totals (15000, 110, 350, 850), headline articles (13000, 100, 320, 800), peaks (8000, 60, 200, 500),
    # d=30, n=3, each dimension 0.70·ln(R/x+1)+0.09·ln(10Z/x+1)+0.06·ln(10L/x+1)+0.15·ln(10RE/x+1),
    # (0.6·O+0.2·A+0.1·H+0.1·P)²×12 = 512.9563 (worked out separately)
    articles = [article(5000, 40, 120, 300), article(2000, 10, 30, 50, index=2), article(8000, 60, 200, 500)]
    wci2, wci14 = wechat_indices(articles, 30)
    assert wci14.index == WCI14 and wci14.value == pytest.approx(512.9563, abs=1e-4)
    assert wci2.index == WCI2 and wci2.value == pytest.approx(wci_v2(15000, 3, 8000, 350, 200), abs=1e-4)


def test_what_datacube_does_not_give_is_named_not_guessed() -> None:
    # datacube gives reads and shares but no 在看 and no likes; a bridged account gives no reads at all
    owned = [article(5000, None, None, 300), article(2000, None, None, 50)]
    wci2, wci14 = wechat_indices(owned, 30)
    assert wci2.value is None and wci2.missing == ("likes",)
    assert wci14.value is None and wci14.missing == ("wow", "likes")
    assert missing_text(wci14) == "缺少：在看数、点赞数"
    bridged = wechat_indices([article(None, None, None, None)], 30)
    assert bridged[0].missing == ("reads", "likes") and bridged[1].missing == ("reads", "wow", "likes", "shares")
    # one article without its figure is enough to leave the account out
    partial = wechat_indices([article(5000, 1, 1, 1), article(None, 1, 1, 1)], 30)
    assert [v.value for v in partial] == [None, None]


def test_bci_by_hand_and_activity() -> None:
    # 10 posts, 50 reposts, 20 comments, 300 likes:
    # (0.2·ln 11 + 0.8·(0.4·ln 51 + 0.4·ln 21 + 0.2·ln 301)) × 160 = 580.0237
    posts = [{"kind": "original", "reposts": 5, "comments": 2, "likes": 30, "day": date(2016, 7, 1 + i % 5)}
             for i in range(10)]
    [value] = weibo_indices(posts)
    assert value.index == BCI and value.value == pytest.approx(580.0237, abs=1e-4)
    # 10 posts on 5 of 30 days, all original: 60·5/30 + 20·10/10 + 20·min(10/30, 1)
    assert activity(10, 10, 5, 30) == pytest.approx(10 + 20 + 20 / 3)
    indices = {v.index: v for v in account_indices("weibo", posts, 30)}
    assert indices[ACTIVITY].value == pytest.approx(36.67) and indices[ACTIVITY].inputs["active_days"] == 5
    assert weibo_indices([{"kind": "original", "reposts": None, "comments": 1, "likes": 1}])[0].missing == ("reposts",)


def test_ranking_leaves_out_what_is_missing() -> None:
    values = [("a", wechat_indices([article(100, 1, 1, 1)], 30)[1]), ("b", wechat_indices([article(None, 1, 1, 1)], 30)[1]),
              ("c", wechat_indices([article(900, 9, 9, 9)], 30)[1])]
    assert [name for name, _ in ranking(values)] == ["c", "a"]
