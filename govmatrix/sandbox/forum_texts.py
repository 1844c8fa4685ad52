"""Words of the simulated city forum: user names, questions, suggestions, answers, replies.

Every function takes a random generator already keyed by the caller, so the same thread reads
the same on every run. Texts are plain (no markup); :mod:`govmatrix.sandbox.forum_world` turns
them into Discuz message HTML.
"""

from __future__ import annotations

import random

_NAME_HEADS = ("牡丹", "曹州", "鲁西南", "菏泽", "单县", "郓城", "巨野", "东明", "成武", "定陶", "鄄城", "水浒")
_NAME_TAILS = ("老王", "小李", "网友", "人家", "市民", "大叔", "阿姨", "青年", "居民", "老兵", "书生", "花开")
PLACES = ("中华路", "长江路", "人民路", "和平路", "八一路", "西安路", "广州路", "双河路", "青年路", "牡丹路")
COMMUNITIES = ("丹阳街道", "南城街道", "西城街道", "东城街道", "北城街道", "牡丹街道", "万福街道", "何楼街道")
_THINGS = ("路灯", "下水道", "垃圾清运", "停车", "积水", "公交站牌", "健身器材")
_ISSUES = ("夜间施工噪音很大", "小区门口垃圾堆积", "路面积水严重", "有流动摊贩占道经营", "电动车乱停乱放",
           "饭店油烟扰民")
_SERVICES = ("食品经营许可证", "健康证", "居住证", "营业执照", "社保卡", "低保申请", "医保报销", "学籍转移")
_VIOLATIONS = ("销售过期食品", "无证经营", "占道经营", "虚假宣传", "缺斤短两")
_POLICIES = ("城乡居民医保缴费", "养老保险", "农机购置补贴", "大学生创业补贴", "住房公积金提取")
_FACILITIES = ("公交站台", "公共厕所", "非机动车停车点", "便民服务点", "红绿灯")
_ACTIVITIES = ("健康讲座", "法律宣传", "志愿服务", "食品安全宣传")
_OTHERS = ("市住建局", "市交通局", "市城管局", "牡丹区政府", "市市场监管局")

_QUESTIONS = (
    "请问{place}的{thing}问题什么时候能解决？已经反映好几次了。",
    "我家住在{community}，最近{issue}，希望有关部门管一管。",
    "请问{dept}，办理{service}需要带哪些材料？在哪里办理？",
    "{place}附近有商户{violation}，请问可以向哪个部门举报？",
    "想咨询一下，{service}的办理时限是多长时间？",
    "请问今年{policy}有什么新政策？什么时候开始办理？",
    "{community}{issue}，打了几次电话都没人处理，请{dept}给个答复。",
)
_SUGGESTIONS = (
    "【建议】建议在{place}增设{facility}，方便群众出行。",
    "【建议】建议{dept}在网站上公布{service}的办事流程，让群众少跑腿。",
    "【建议】希望在{community}多组织一些{activity}活动。",
    "【建议】建议{dept}开通微信预约，{service}能在网上预约就好了。",
)
_ANSWERS = (
    "您好，您反映的问题我们已转交相关科室，将在{days}个工作日内核实处理，处理结果会及时向您反馈。",
    "您好，办理{service}需携带本人身份证原件及复印件，到市民服务中心{window}号窗口办理。",
    "您好，经核实，该问题属于{other}职责范围，我们已将您的诉求转交{other}办理。",
    "您好，相关政策已在我局网站公布，如有疑问可拨打咨询电话0530-{phone}。",
    "您好，我们已安排执法人员到现场查看，对违法行为将依法查处，感谢您的监督。",
)
_SUGGESTION_ANSWERS = (
    "您好，感谢您的建议，我们会认真研究，在今后的工作中加以改进。",
    "您好，您的建议很好，我们已报请相关部门研究落实。",
)
_TITLES = ("{place}{thing}坏了好几天了", "关于{community}{issue}的问题", "咨询{service}怎么办理",
           "{place}的{thing}谁来管？", "求助：{community}{issue}", "{policy}问题请教")
_BODIES = ("如题，{community}{issue}，已经持续一个多月了，希望有关部门尽快处理。",
           "请问{service}现在去哪里办？网上说法不一，求知情人士告知。",
           "{place}这一段{thing}一直有问题，晚上出行很不方便。\n不知道该找哪个部门，大家有知道的吗？",
           "最近听说{policy}有调整，具体怎么执行？有没有了解的朋友。")
_REPLIES = ("顶一下！", "支持楼主，希望尽快解决。", "同问，我们小区也是这样。", "楼主说的情况确实存在。",
            "已经反映过好几次了，还是没人管。", "关注一下。", "感谢分享。", "希望有关部门重视。",
            "可以打12345市长热线试试。", "上次打电话问过，说是在办理中。")
_DEPT_REPLIES = ("您好，您反映的情况我们已经记录，将尽快安排人员核查。",
                 "感谢网友关注，相关问题正在协调解决中，请耐心等待。")


def citizen_names(r: random.Random, count: int) -> list[str]:
    """``count`` distinct forum user names."""
    names: list[str] = []
    while len(names) < count:
        name = r.choice(_NAME_HEADS) + r.choice(_NAME_TAILS) + (str(r.randint(1, 2016)) if r.random() < 0.6 else "")
        if name not in names:
            names.append(name)
    return names


def _slots(r: random.Random, dept: str) -> dict[str, object]:
    return {"place": r.choice(PLACES), "community": r.choice(COMMUNITIES), "thing": r.choice(_THINGS),
            "issue": r.choice(_ISSUES), "service": r.choice(_SERVICES), "violation": r.choice(_VIOLATIONS),
            "policy": r.choice(_POLICIES), "facility": r.choice(_FACILITIES), "activity": r.choice(_ACTIVITIES),
            "other": r.choice(_OTHERS), "dept": dept, "days": r.choice((3, 5, 7, 10, 15)),
            "window": r.randint(1, 40), "phone": r.randint(5_310_000, 5_399_999)}


def _fill(r: random.Random, template: str, dept: str) -> str:
    return template.format(**_slots(r, dept))


def question(r: random.Random, dept: str, suggestion: bool) -> str:
    return _fill(r, r.choice(_SUGGESTIONS if suggestion else _QUESTIONS), dept)


def answer(r: random.Random, dept: str, suggestion: bool) -> str:
    return _fill(r, r.choice(_SUGGESTION_ANSWERS if suggestion else _ANSWERS), dept)


def opener(dept: str, start: str, end: str) -> str:
    return (f"各位网友：\n大家好！今天{start}至{end}，{dept}在这里与广大网友进行网上在线交流，"
            "欢迎大家踊跃提问、建言献策。\n提问时请写明具体地点和事项，以便我们及时核实答复。")


def closing() -> str:
    return "本期网上在线交流到此结束，感谢广大网友的参与和支持！未及时回复的问题我们将在会后逐一答复。"


# How departments title their sessions: each board keeps one style (a second city's boards used the
# undated "【网上在线交流】...在线交流" form, which the first reading of Discuz titles missed).
SESSION_TITLES = (
    "【在线交流】{dept}{year}年{month}月{day}日网上在线交流",
    "【网上在线交流】{dept}在线交流",
    "{dept}局长在线：{month}月{day}日与网友交流",
    "网络问政｜{dept}{month}月网上问政",
    "{dept}在线访谈（{year}年{month}月{day}日）",
)


def session_title(dept: str, year: int, month: int, day: int, style: int = 0) -> str:
    template = SESSION_TITLES[style % len(SESSION_TITLES)]
    return template.format(dept=dept, year=year, month=month, day=day)


def rules(dept: str) -> tuple[str, str]:
    return (f"【置顶】{dept}网上在线交流须知",
            f"{dept}定期在本版块开展网上在线交流活动。\n请网友文明发言，反映问题时写明时间、地点和具体事项。\n"
            "涉及个人隐私的问题请拨打咨询电话。")


def citizen_thread(r: random.Random) -> tuple[str, str]:
    """A citizen's thread: subject and body about the same place and matter."""
    slots = _slots(r, "")
    return r.choice(_TITLES).format(**slots), r.choice(_BODIES).format(**slots)


def reply(r: random.Random) -> str:
    return r.choice(_REPLIES)


def department_reply(r: random.Random) -> str:
    return r.choice(_DEPT_REPLIES)
