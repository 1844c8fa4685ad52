"""Alerts: keyword rules from settings, and complaints and negative mood on citizens' forum posts,
measured on the labelled set in tests/fixtures/alerts."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from govmatrix.config import AlertRule
from govmatrix.models import ARTICLE, ORIGINAL, REPLY, THREAD, Post
from govmatrix.pipelines.alerts import COMPLAINT, NEGATIVE, AlertsPipeline, is_complaint, is_negative
from govmatrix.pipelines.clean import normalise
from govmatrix.tz import SHANGHAI

LABELLED = Path(__file__).resolve().parents[1] / "fixtures" / "alerts" / "citizen_posts.jsonl"
FORUM = SimpleNamespace(id="hzsyj-forum", options=SimpleNamespace(speakers=["菏泽市食药监局"]))


def post(text: str, *, platform: str = "forum", kind: str = THREAD, author: str = "市民小王") -> Post:
    return Post(platform=platform, native_id="1", published_at=datetime(2016, 5, 17, tzinfo=SHANGHAI), kind=kind,
                text=text, text_norm=normalise(text), author=author)


def alerts(p: Post, rules: list[dict[str, Any]] | None = None, account: Any = FORUM) -> list[dict[str, str]]:
    settings = SimpleNamespace(alerts=[AlertRule(**r) for r in rules or []])
    AlertsPipeline(settings).process(p, account)
    return p.alerts


# -- keyword rules -------------------------------------------------------------------------------

FOOD = {"name": "食品安全", "words": ["食物中毒", "地沟油"], "severity": "high"}


def test_any_word_of_a_rule() -> None:
    assert alerts(post("学校食堂疑似食物中毒", platform="weibo", kind=ORIGINAL), [FOOD], None) == [
        {"rule": "食品安全", "severity": "high"}]
    assert alerts(post("食堂饭菜很好吃", platform="weibo", kind=ORIGINAL), [FOOD], None) == []


def test_rules_written_in_simplified_find_traditional_text() -> None:
    assert [a["rule"] for a in alerts(post("學校食堂疑似食物中毒，地溝油", kind=ARTICLE, platform="feeds"),
                                      [FOOD], None)] == ["食品安全"]


def test_all_words_exclusions_platforms_and_kinds() -> None:
    rules = [{"name": "拆迁", "words": ["强拆", "夜间"], "match": "all", "severity": "high"},
             {"name": "演练", "words": ["火灾"], "exclude": ["演练", "消防演习"]},
             {"name": "微博舆情", "words": ["谣言"], "platforms": ["weibo"]},
             {"name": "论坛回复", "words": ["推诿"], "kinds": ["reply"], "severity": "low"}]
    found = alerts(post("某小区夜间强拆", platform="weibo", kind=ORIGINAL), rules, None)
    assert [a["rule"] for a in found] == ["拆迁"]
    assert alerts(post("某小区强拆", platform="weibo", kind=ORIGINAL), rules, None) == []
    assert alerts(post("今天开展火灾演练", platform="weibo", kind=ORIGINAL), rules, None) == []
    assert [a["rule"] for a in alerts(post("某地发生火灾", platform="weibo", kind=ORIGINAL), rules, None)] == ["演练"]
    assert alerts(post("网传谣言", platform="feeds", kind=ARTICLE), rules, None) == []
    assert [a["rule"] for a in alerts(post("网传谣言", platform="weibo", kind=ORIGINAL), rules, None)] == ["微博舆情"]
    reply = alerts(post("这件事一直推诿", kind=REPLY, author="菏泽市食药监局"), rules)
    assert reply == [{"rule": "论坛回复", "severity": "low"}]


def test_a_bad_rule_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="words"):
        AlertRule(name="空", words=[])
    with pytest.raises(ValueError, match="severity"):
        AlertRule(name="x", words=["y"], severity="urgent")  # type: ignore[arg-type]


# -- citizens' posts ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "complaint"), [
    ("我要投诉牡丹区某小区物业，暖气费收了暖气一直不热，找物业三次都推诿。", True),
    ("举报：定陶区有个黑作坊在做豆腐皮，卫生条件极差。", True),
    ("工地晚上十二点还在施工，噪音扰民，没人管吗？", True),
    ("我们小区没有投诉过物业，大家都挺满意的。", False),  # negated
    ("请问食品安全举报电话是多少？", False),  # asks for a channel
    ("假药和劣药有什么区别？", False),  # asks about the rules
    ("上次反映的路灯问题已经解决了，谢谢城管局！", False),  # settled
    ("上次反映的问题说解决了，但是现在又坏了，拖了一个月没人管。", True),  # ... unless it goes on
])
def test_complaints_with_negation_channels_and_settled_matters(text: str, complaint: bool) -> None:
    assert is_complaint(normalise(text)) is complaint


def test_only_citizens_posts_get_complaint_flags() -> None:
    text = "举报：某饭店使用地沟油，卫生条件极差，投诉多次无人管。"
    citizen = alerts(post(text))
    assert {a["rule"] for a in citizen} == {COMPLAINT, NEGATIVE}
    assert alerts(post(text, author="菏泽市食药监局", kind=REPLY)) == []  # the department's own reply
    assert alerts(post(text, platform="weibo", kind=ORIGINAL), account=None) == []  # not a forum board


def _measured(rows: list[dict[str, Any]], predict: Any, label: str) -> tuple[float, float]:
    tp = sum(1 for r in rows if predict(normalise(r["text"])) and r[label])
    fp = sum(1 for r in rows if predict(normalise(r["text"])) and not r[label])
    fn = sum(1 for r in rows if not predict(normalise(r["text"])) and r[label])
    return tp / (tp + fp), tp / (tp + fn)


def test_precision_and_recall_on_the_labelled_citizen_posts() -> None:
    """The lexicon was tuned on the odd-numbered posts; the even-numbered ones are held out.
    Measured when written: tuned half complaint P 0.95 R 0.84, negative P 0.91 R 0.84; held-out half
    complaint P 0.77 R 0.64, negative P 0.74 R 0.67. The floors sit a little below."""
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 300 and {"complaint", "negative", "text"} <= rows[0].keys()
    assert 0.3 < sum(r["complaint"] for r in rows) / len(rows) < 0.7  # both classes well represented
    tuned = [r for r in rows if int(r["id"][1:]) % 2 == 1]
    held_out = [r for r in rows if int(r["id"][1:]) % 2 == 0]
    floors = {"tuned": (tuned, 0.9, 0.8), "held out": (held_out, 0.7, 0.6)}
    for name, (subset, precision_floor, recall_floor) in floors.items():
        for predict, label in ((is_complaint, "complaint"), (is_negative, "negative")):
            precision, recall = _measured(subset, predict, label)
            assert precision >= precision_floor and recall >= recall_floor, (name, label, precision, recall)
