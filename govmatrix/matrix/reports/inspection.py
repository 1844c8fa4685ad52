"""What the inspection report and the register say, as plain tables (pure); xlsx.py, html.py and
csvout.py render them like the monthly reports.

Inspection (``govmatrix report inspection --date D``): 汇总 (pass rates per platform and per item),
单项否决 (every account, every veto item, why), 证据 (the evidence: the last post, the unanswered
question or comment, the wording hit), 待整改 (what to fix first), 未更新名单 (the silent-account lists)
and 账号台账. Register (``govmatrix report register``): 账号台账, 未备案, 超期未更新, 生命周期问题.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from govmatrix.matrix.inspection import ITEM_NAMES, ITEMS, STATUS_NAMES, AccountInspection, InspectionReport
from govmatrix.matrix.register import STATUS_NAMES as REGISTER_STATUS
from govmatrix.matrix.register import Register, RegisterLine, lifecycle
from govmatrix.matrix.reports.content import PLATFORM_NAMES, Column, Report, Sheet, Table

INSPECTION_KINDS = ("inspection", "register")


def _platform(name: str) -> str:
    return PLATFORM_NAMES.get(name, name)


def _when(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def _label(report: InspectionReport) -> str:
    return f"{report.day.year}年{report.day.month}月{report.day.day}日"


def summary_sheet(report: InspectionReport) -> Sheet:
    cols = [Column("平台", width=10), Column("检查账号", "int", 9), Column("合格", "int", 7), Column("不合格", "int", 7),
            Column("待核实", "int", 7), Column("合格率", "pct", 9)]
    rows = [[_platform(r.name), r.inspected, r.passed, r.failed, r.pending,
             None if r.rate is None else r.rate / 100] for r in [*report.platforms, report.total]]
    items = []
    for item in ITEMS:
        statuses = [a.verdicts[item].status for a in report.accounts if a.overall != "closed"]
        items.append([ITEM_NAMES[item], *(statuses.count(s) for s in ("pass", "fail", "unknown", "na"))])
    item_cols = [Column("单项否决指标", width=26), Column("合格", "int", 7), Column("不合格", "int", 7),
                 Column("待核实", "int", 7), Column("不适用", "int", 7)]
    closed = sum(a.overall == "closed" for a in report.accounts)
    rules = report.rules
    notes = [f"监测时间点：{_when(report.at, report.tz)}。依据《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）"
             "单项否决指标：任一项不合格即判定该账号不合格；粉丝量、发布量、阅读量不作为判定依据。",
             f"内容不更新：监测时间点前{rules.window_days}天内（含当天）无更新即不合格；"
             f"{'转发、回复也算更新' if rules.updates == 'all' else '仅原创算更新'}。",
             "待核实：缺少判定所需的证据（原因见各账号说明），不计入合格。" + (f"已关停账号{closed}个不参与检查。" if closed else ""),
             *report.notes]
    return Sheet("汇总", [Table("各平台合格率", cols, rows), Table("各单项否决指标", item_cols, items)], notes)


def _evidence(a: AccountInspection, tz: tzinfo) -> tuple[str, str, str]:
    """The last post, the unanswered question or comment, the wording hit: as text."""
    last = a.updates.last
    post = f"{_when(last['published_at'], tz)} {_text(last)} {last.get('url') or ''}".strip() if last else ""
    facts = a.verdicts["interaction"].evidence
    open_item = facts.get("unanswered")
    unanswered = ""
    if open_item:
        asked = open_item.get("asked_at") or open_item.get("created_at")
        where = open_item.get("title") or open_item.get("post_url") or ""
        said = _text({"text": open_item.get("text")})  # a question's row also has its session's title
        unanswered = f"{_when(asked, tz)} {open_item.get('author', '')}：{said}（{where}）"
    hits = a.verdicts["security"].evidence.get("hits") or []
    wording = "；".join(f"{h['list']}：{h['span']}" + (f" → {h['suggestion']}" if h.get("suggestion") else "")
                       + f"（{h['post'].get('url') or h['post']['native_id']}）" for h in hits[:3])
    return post, unanswered, wording


def _text(row: dict[str, Any], size: int = 40) -> str:
    text = str(row.get("title") or row.get("text") or "").replace("\n", " ").strip()
    return text if len(text) <= size else text[:size] + "…"


def veto_sheet(report: InspectionReport) -> Sheet:
    cols = [Column("部门", width=24), Column("账号", width=16), Column("平台", width=6), Column("结论", width=7),
            Column(ITEM_NAMES["security"], width=10), Column(ITEM_NAMES["updates"], width=8),
            Column("最近更新（平台时间）", width=16), Column("未更新天数", "int", 7), Column("超两周日期", "date", 11),
            Column(ITEM_NAMES["interaction"], width=8), Column("说明", width=70)]
    rows = []
    for a in report.accounts:
        v = a.verdicts
        reasons = "；".join(f"{ITEM_NAMES[i][:2]}：{v[i].reason}" for i in ITEMS if v[i].status != "pass") \
            if a.overall != "closed" else v["updates"].reason
        last = a.updates.last
        rows.append([a.account.department, a.account.name, _platform(a.account.platform), STATUS_NAMES[a.overall],
                     *(STATUS_NAMES[v[i].status] for i in ("security", "updates")),
                     _when(last["published_at"] if last else None, report.tz), a.updates.silent_days,
                     a.updates.crosses_on.isoformat() if a.updates.crosses_on else "",
                     STATUS_NAMES[v["interaction"].status], reasons])
    return Sheet("单项否决", [Table(f"{_label(report)}各账号单项否决指标", cols, rows)],
                 ["不合格的账号排在前面，其次是待核实的；每个账号的证据见“证据”表。",
                  "未更新天数：最近一次更新当天至监测日的天数（无记录时为可确定的最少天数）。"])


def evidence_sheet(report: InspectionReport) -> Sheet:
    cols = [Column("部门", width=24), Column("账号", width=16), Column("平台", width=6), Column("账号ID", width=14),
            Column("最近发文", width=56), Column("未回复的提问/评论", width=56), Column("错敏词命中", width=44)]
    rows = [[a.account.department, a.account.name, _platform(a.account.platform), a.account.native_id,
             *_evidence(a, report.tz)] for a in report.accounts]
    return Sheet("证据", [Table(f"{_label(report)}判定依据", cols, rows)],
                 ["最近发文：平台时间、标题或开头、链接。未回复的提问/评论：最早的一条。",
                  "错敏词命中来自错敏词检查（pipelines/wording.py）写入的告警；审核人员已排除的命中不计。"])


def fix_sheet(report: InspectionReport, register: Register | None) -> Sheet:
    cols = [Column("序号", "int", 6), Column("优先级", "int", 7), Column("部门", width=26), Column("账号", width=16),
            Column("平台", width=6), Column("项目", width=20), Column("问题", width=60), Column("整改建议", width=36)]
    rows: list[list[Any]] = [[n, f.priority, f.account.department, f.account.name, _platform(f.account.platform),
                              ITEM_NAMES[f.item], f.problem, f.action] for n, f in enumerate(report.fixes, start=1)]
    for line in register.lines if register else []:
        for issue in line.issues:
            rows.append([len(rows) + 1, 6, line.account.department, line.account.name, _platform(line.account.platform),
                         "账号台账", issue, "按程序补办备案或关停手续"])
    return Sheet("待整改", [Table("整改清单（先改优先级小的）", cols, rows)],
                 ["优先级：1 安全问题，2 内容不更新（未更新越久越靠前），3 互动回应差，4 即将超过两周未更新，"
                  "5 缺少判定证据，6 账号台账问题。"])


def silent_sheet(report: InspectionReport) -> Sheet:
    cols = [Column("部门", width=26), Column("账号", width=16), Column("平台", width=6), Column("未更新天数", "int", 9),
            Column("最近更新（平台时间）", width=17)]
    tables = []
    for days, accounts in report.silent.items():
        name = {10: "10天", 14: "2周", 90: "3个月", 365: "1年"}.get(days, f"{days}天")
        rows = [[a.account.department, a.account.name, _platform(a.account.platform), a.updates.silent_days,
                 _when(a.updates.last["published_at"] if a.updates.last else None, report.tz) or "无记录（至少）"]
                for a in accounts]
        tables.append(Table(f"超过{name}未更新（{len(rows)}个）", cols, rows))
    return Sheet("未更新名单", tables, ["无记录（至少）：采集起点以来没有发布，未更新天数是可以确定的最少天数。"])


def _register_row(line: RegisterLine, tz: tzinfo) -> list[Any]:
    ledger = line.ledger
    dates = [d.isoformat() if d else "" for _, d in lifecycle(ledger)]
    silent = line.silent_days if line.silent_exact else (f"≥{line.silent_days}" if line.silent_days is not None else "")
    return [line.account.department, _platform(line.account.platform), line.account.native_id, line.account.name,
            ledger.operator if ledger else "", ledger.frequency if ledger else "", line.recent_updates,
            REGISTER_STATUS[line.status], "是" if line.registered else "否", *dates,
            ledger.change_note if ledger else "", ledger.closing_notice if ledger else "",
            _when(line.last_update, tz), silent, "；".join(line.issues)]


REGISTER_COLUMNS = [Column("部门", width=26), Column("平台", width=6), Column("账号ID", width=14), Column("账号名称", width=16),
                    Column("运维人员", width=8), Column("更新频率（登记）", width=10), Column("近30天更新", "int", 9),
                    Column("状态", width=6), Column("已备案", width=6), Column("开设", "date", 11), Column("变更", "date", 11),
                    Column("关停", "date", 11), Column("注销", "date", 11), Column("变更说明", width=14),
                    Column("停更公告", width=30), Column("最近更新（平台时间）", width=17), Column("未更新天数", width=8),
                    Column("问题", width=36)]


def register_sheets(register: Register, tz: tzinfo, *, all_sheets: bool = True) -> list[Sheet]:
    label = f"{register.day.year}年{register.day.month}月{register.day.day}日"
    main = Sheet("账号台账", [Table(f"政务新媒体账号台账（截至{label}）", REGISTER_COLUMNS,
                                  [_register_row(x, tz) for x in register.lines])],
                 ["状态：已关停（登记的关停或注销日期已到）、睡眠（超过3个月未更新）、正常。已备案：登记了开设日期。",
                  "登记信息来自 settings.toml 中各账号的 register；最近更新、近30天更新来自实际采集。"])
    if not all_sheets:
        return [main]
    return [main,
            Sheet("未备案", [Table("发现在发布但未登记备案的账号", REGISTER_COLUMNS,
                                   [_register_row(x, tz) for x in register.unregistered])]),
            Sheet("超期未更新", [Table("已备案但超过3个月未更新的账号", REGISTER_COLUMNS,
                                     [_register_row(x, tz) for x in register.silent])]),
            Sheet("生命周期问题", [Table("关停手续问题", REGISTER_COLUMNS, [_register_row(x, tz) for x in register.issues])])]


def build_inspection(report: InspectionReport, register: Register | None = None) -> Report:
    sheets = [summary_sheet(report), veto_sheet(report), evidence_sheet(report), fix_sheet(report, register),
              silent_sheet(report)]
    if register is not None:
        sheets += register_sheets(register, report.tz, all_sheets=False)
    return Report("政务新媒体检查（单项否决指标）", _label(report), sheets)


def build_register(register: Register, tz: tzinfo) -> Report:
    label = f"{register.day.year}年{register.day.month}月{register.day.day}日"
    return Report("政务新媒体账号台账", label, register_sheets(register, tz))
