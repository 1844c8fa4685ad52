"""Deterministic Chinese text for the simulated city: press releases and everyday posts.

Every function takes the seed and a key, so the same world is generated on every run.
Press releases are what many accounts cross-post with small edits (a 【菏泽发布】 prefix,
a shortened version, traditional script).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

_TOPICS = (
    ("牡丹文化旅游节", "第{n}届菏泽国际牡丹文化旅游节开幕，全市各景区接待游客{m}万人次，同比增长{p}%。"),
    ("食品安全", "市食药监局开展夏季食品安全专项检查，共检查餐饮单位{m}家，责令整改{n}家，立案查处{p}起。"),
    ("环境质量", "{n}月份我市空气质量优良天数{m}天，PM2.5平均浓度同比下降{p}%，全市水环境质量稳中向好。"),
    ("交通出行", "为保障市民出行安全，中华路与长江路交叉口自{n}日起实施为期{p}天的交通管制，请过往车辆提前绕行。"),
    ("脱贫攻坚", "坚决打赢脱贫攻坚战，我市今年已有{m}个贫困村实现脱贫摘帽，帮扶干部走访群众{n}千余户。"),
    ("社会保障", "城乡居民基本养老保险待遇提高，{m}万名参保老人将从{n}月起领取新标准养老金。"),
    ("招聘信息", "菏泽市事业单位公开招聘工作人员{m}名，报名时间为{n}月{p}日至{n}月{q}日，请考生关注。"),
    ("天气预报", "受冷空气影响，预计未来{n}天我市有一次明显降温过程，最低气温{p}℃，请注意防寒保暖。"),
    ("政务公开", "市政府第{n}次常务会议研究部署当前重点工作，审议通过了《菏泽市{m}项民生实事实施方案》。"),
    ("青年志愿", "共青团菏泽市委组织{m}名青年志愿者走进社区，开展“学雷锋”志愿服务活动{n}场次。"),
    ("农业生产", "全市小麦收获进度已达{p}%，农业部门组织农机{m}台次跨区作业，确保颗粒归仓。"),
    ("消费维权", "市消协发布消费警示：节日期间预付卡消费须谨慎，今年已受理投诉{m}件，挽回损失{n}万元。"),
)

_TAILS = (
    "详情请关注后续报道。",
    "欢迎广大市民积极参与。",
    "咨询电话：0530-12345。",
    "",
    "让我们共同努力，建设美丽菏泽！",
)


@dataclass(frozen=True)
class PressRelease:
    key: str
    topic: str
    title: str
    body: str


def rng(seed: int, *key: object) -> random.Random:
    """A random generator fixed by the seed and a key (stable across runs and Python versions)."""
    digest = hashlib.sha256(repr((seed, *key)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def press_release(seed: int, day_index: int) -> PressRelease:
    """The city's press release of world day ``day_index`` (0 = the world's first day)."""
    r = rng(seed, "press", day_index)
    topic, template = _TOPICS[r.randrange(len(_TOPICS))]
    body = template.format(n=r.randint(2, 12), m=r.randint(10, 900), p=r.randint(2, 40), q=r.randint(13, 28))
    title = f"{topic}：{body[:18].rstrip('，。')}"
    return PressRelease(key=f"pr{day_index}", topic=topic, title=title, body=body + r.choice(_TAILS))


def everyday_text(seed: int, *key: object, length: int = 1) -> str:
    """An ordinary post of ``length`` sentences, drawn from the same topics."""
    r = rng(seed, "text", *key)
    parts = []
    for _ in range(length):
        _, template = _TOPICS[r.randrange(len(_TOPICS))]
        parts.append(template.format(n=r.randint(2, 12), m=r.randint(10, 900), p=r.randint(2, 40),
                                     q=r.randint(13, 28)))
    return "".join(parts) + r.choice(_TAILS)
