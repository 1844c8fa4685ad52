"""What a monthly report says, as plain tables (pure); xlsx.py, html.py and csv.py only render it.

Sheets: 汇总 (the matrix at a glance), 粉丝增长 (every account's month), 排名 (by size and by
growth), 传播指数 (the indices, with what is missing), 在线交流 (the exchange record, missed first).
A report kind picks its sheets: ``followers`` the first three, ``exchange`` the last, ``matrix`` all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from govmatrix.matrix.exchange_record import ExchangeReport
from govmatrix.matrix.followers import FollowerReport, ranks
from govmatrix.matrix.indices import ACTIVITY, BCI, WCI2, WCI14, missing_text
from govmatrix.matrix.rankings import IndexReport

KINDS = ("followers", "exchange", "matrix")
PLATFORM_NAMES = {"weibo": "微博", "wechat": "微信", "forum": "论坛", "feeds": "网站"}
LOWER_BOUND_NOTE = "下限（平台只显示“100万+”）"


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = "text"  # text | int | pct | float | date
    width: int = 12


@dataclass(frozen=True)
class Chart:
    kind: str  # line | bar
    title: str
    category: int  # the column of the categories (days, account names)
    values: tuple[int, ...]  # the columns of the series
    rows: int | None = None  # chart only the first rows (a top 10)


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    chart: Chart | None = None


@dataclass
class Sheet:
    name: str
    tables: list[Table]
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    title: str
    month: str
    sheets: list[Sheet]


def _platform(name: str) -> str:
    return PLATFORM_NAMES.get(name, name)


def summary_sheet(f: FollowerReport, x: ExchangeReport | None) -> Sheet:
    totals = [[_platform(t.name), t.accounts, t.followers, t.growth, "≥（含下限）" if t.lower_bound else ""]
              for t in f.platforms]
    totals.append([f.matrix.name, f.matrix.accounts, f.matrix.followers, f.matrix.growth,
                   "≥（含下限）" if f.matrix.lower_bound else ""])
    cols = [Column("平台", width=14), Column("账号数", "int"), Column("粉丝总数", "int", 14),
            Column("本月增长", "int"), Column("备注", width=16)]
    tables = [Table("矩阵粉丝总量", cols, totals)]
    days = [d.day for d in f.accounts[0].series] if f.accounts else []
    daily = [[day.isoformat(), *(_day_total(f, i, p) for p in ("weibo", "wechat"))] for i, day in enumerate(days)]
    tables.append(Table("每日粉丝总数", [Column("日期", "date"), Column("微博", "int", 14), Column("微信", "int", 14)],
                        daily, Chart("line", "矩阵每日粉丝总数", 0, (1, 2))))
    depts = [[t.name, t.accounts, t.followers, t.growth, "≥" if t.lower_bound else ""] for t in f.departments]
    tables.append(Table("各部门粉丝合计", [Column("部门", width=30), Column("账号数", "int"), Column("粉丝合计", "int", 14),
                                     Column("本月增长", "int"), Column("备注")], depts))
    notes = [f"统计月份：{f.month.label}。粉丝数为当月最后一次读数；无读数的日期沿用此前最近一次读数。"]
    if x is not None:
        t = x.total
        missed = sum(d.missed for d in x.departments)
        notes.append(f"在线交流：{len(x.departments)}个部门中{missed}个未按要求开展；本月网友提问{t.questions}个，"
                     f"回答{t.answered}个，收集意见建议{t.suggestions}条。")
    return Sheet("汇总", tables, notes)


def _day_total(f: FollowerReport, i: int, platform: str) -> int:
    return sum(a.series[i].followers or 0 for a in f.accounts if a.account.platform == platform)


def growth_sheet(f: FollowerReport) -> Sheet:
    cols = [Column("部门", width=28), Column("账号", width=18), Column("平台", width=6), Column("月初粉丝", "int", 12),
            Column("月末粉丝", "int", 12), Column("增长", "int"), Column("增长率", "pct"), Column("新增", "int"),
            Column("取关", "int"), Column("缺读数天数", "int"), Column("备注", width=24)]
    rows = [[a.account.department, a.account.name, _platform(a.account.platform), a.month.start, a.month.end,
             a.month.growth, None if a.month.growth_pct is None else a.month.growth_pct / 100, a.month.new,
             a.month.lost, a.gaps, LOWER_BOUND_NOTE if a.month.lower_bound else _note(a.month.note)]
            for a in sorted(f.accounts, key=lambda a: (a.account.department, a.account.platform, a.account.name))]
    return Sheet("粉丝增长", [Table(f"{f.month.label}各账号粉丝增长", cols, rows)],
                 ["增长 = 月末粉丝 − 上月末粉丝（无上月读数时为本月首次读数）；增长率 = 增长 ÷ 月初粉丝。",
                  "新增、取关仅微信自有账号有（数据来自微信公众平台用户分析）。"])


def _note(note: str) -> str:
    return {"no reading": "本月无读数", "no start count": "无月初读数", "a count is a lower bound": LOWER_BOUND_NOTE}.get(
        note, note)


def ranking_sheet(f: FollowerReport) -> Sheet:
    size = f.by_size()
    by_size = [[r, a.account.name, _platform(a.account.platform), a.month.end, "≥" if a.month.lower_bound else ""]
               for r, a in zip(ranks([a.month.end for a in size]), size, strict=True)]
    grown = f.by_growth()
    by_growth = [[r, a.account.name, _platform(a.account.platform), a.month.growth,
                  None if a.month.growth_pct is None else a.month.growth_pct / 100]
                 for r, a in zip(ranks([a.month.growth for a in grown]), grown, strict=True)]
    losing = [[a.account.name, _platform(a.account.platform), a.month.growth] for a in f.losing()]
    return Sheet("排名", [
        Table("粉丝总数排名", [Column("名次", "int", 6), Column("账号", width=18), Column("平台", width=6),
                         Column("粉丝数", "int", 12), Column("备注", width=6)], by_size),
        Table("粉丝增长排名", [Column("名次", "int", 6), Column("账号", width=18), Column("平台", width=6),
                         Column("增长", "int"), Column("增长率", "pct")], by_growth,
              Chart("bar", "粉丝增长前十名", 1, (3,), rows=10)),
        Table("粉丝减少的账号", [Column("账号", width=18), Column("平台", width=6), Column("减少", "int")], losing),
    ])


def index_sheet(ix: IndexReport) -> Sheet:
    tables = []
    for index, platform in ((BCI, "weibo"), (WCI2, "wechat"), (WCI14, "wechat"), (ACTIVITY, None)):
        ranked = ix.ranking(index, platform)
        rows = [[r, a.account.name, _platform(a.account.platform), v.value, _inputs(v.inputs)]
                for r, (a, v) in zip(ranks([v.value for _a, v in ranked]), ranked, strict=True)]
        rows += [[None, a.account.name, _platform(a.account.platform), None, missing_text(v) + "，不参与排名"]
                 for a, v in ix.left_out(index) if platform in (None, a.account.platform)]
        scope = _platform(platform) if platform else "矩阵"
        tables.append(Table(f"{scope} {index}", [Column("名次", "int", 6), Column("账号", width=18),
                                                Column("平台", width=6), Column("指数", "float"),
                                                Column("输入 / 说明", width=48)], rows))
    return Sheet("传播指数", tables, [
        "WCI 2.0、WCI 14.2：清博微信传播指数；BCI：微博传播指数（省级数据集公布的公式）；活跃度 1.0：本系统"
        "（60×发文天数/当月天数 + 20×原创占比 + 20×min(日均发文,1)）。",
        "平台不提供的输入（如微信数据接口不提供“在看”“点赞”）不做估算：该账号不参与该指数排名。"])


def _inputs(inputs: dict[str, float]) -> str:
    return "，".join(f"{k}={int(v) if float(v).is_integer() else v}" for k, v in inputs.items())


def exchange_sheet(x: ExchangeReport) -> Sheet:
    cols = [Column("部门", width=28), Column("账号", width=16), Column("要求", width=6), Column("应开展", "int", 7),
            Column("已开展", "int", 7), Column("是否达标", width=8), Column("提问", "int", 7), Column("已回答", "int", 7),
            Column("回答率", "pct", 8), Column("回复时长中位数(小时)", "float", 10), Column("最长(小时)", "float", 10),
            Column("超时回答", "int", 8), Column("意见建议", "int", 8), Column("累计回答", "int", 9),
            Column("累计建议", "int", 9)]
    rows = [[d.account.department, d.account.name, "每周" if d.frequency == "weekly" else "每月", d.required,
             d.month.sessions, "未达标" if d.missed else "达标", d.month.questions, d.month.answered,
             None if d.month.answer_rate is None else d.month.answer_rate / 100, _hours(d.median_delay), _hours(d.max_delay),
             d.month.late, d.month.suggestions, d.since_start.answered, d.since_start.suggestions]
            for d in x.departments]
    since = f"自{x.since.isoformat()}起" if x.since else "自有记录起"
    return Sheet("在线交流", [Table(f"{x.month.label}网上在线交流开展情况", cols, rows)],
                 ["未按要求开展的部门排在前面。超时回答：在交流结束后才回答的提问。", f"累计：{since}至本月末。"])


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def build_report(kind: str, f: FollowerReport | None, ix: IndexReport | None, x: ExchangeReport | None) -> Report:
    """The sheets of one report kind from what matrix/ computed."""
    month = (f or ix or x).month  # type: ignore[union-attr]
    sheets: list[Sheet] = []
    if kind in ("followers", "matrix") and f is not None:
        sheets += [summary_sheet(f, x if kind == "matrix" else None), growth_sheet(f), ranking_sheet(f)]
    if kind == "matrix" and ix is not None:
        sheets.append(index_sheet(ix))
    if kind in ("exchange", "matrix") and x is not None:
        sheets.append(exchange_sheet(x))
    title = {"followers": "政务新媒体粉丝统计月报", "exchange": "网上在线交流月报", "matrix": "政务新媒体矩阵月报"}[kind]
    return Report(title, month.label, sheets)
