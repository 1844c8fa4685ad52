"""The register (台账) on hand-made evidence, and the inspection report: the xlsx read back by openpyxl, the
CSV's BOM, the HTML marking failures, and the xlsx printed by LibreOffice to PDF pages and PNG images with
the Chinese intact."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest

from govmatrix.config import AccountRegister
from govmatrix.matrix import register
from govmatrix.matrix.reports import write_report
from govmatrix.matrix.reports.csvout import render_csv
from govmatrix.matrix.reports.html import render_html
from govmatrix.matrix.reports.inspection import build_inspection, build_register
from govmatrix.tz import SHANGHAI

from .test_inspection import _comment, _question, _session, acc, days_ago, post, report

LEDGERS = {
    ("weibo", "weibo1"): AccountRegister(opened=date(2013, 5, 20), operator="王磊", frequency="每日"),
    ("weibo", "weibo2"): AccountRegister(opened=date(2014, 3, 1), operator="李娜", frequency="每周"),
    ("wechat", "wechat3"): None,
    ("forum", "forum4"): AccountRegister(opened=date(2012, 1, 1), operator="张伟", frequency="每月在线交流"),
    ("weibo", "weibo5"): AccountRegister(opened=date(2012, 1, 1), closed=date(2016, 5, 1)),
    ("weibo", "weibo6"): AccountRegister(opened=date(2012, 1, 1), cancelled=date(2016, 6, 2),
                                         closing_notice="http://www.heze.gov.cn/tgg.html"),
}


def sample():  # type: ignore[no-untyped-def]
    accounts = [acc(1), acc(2), acc(3, "wechat", interaction=True), acc(4, "forum"), acc(5), acc(6)]
    for a, name, dept in zip(accounts, ("菏泽发布", "菏泽档案", "菏泽旅游", "菏泽物价(论坛)", "菏泽质监", "菏泽畜牧"),
                             ("市新闻办", "市档案局", "市旅游局", "市物价局", "市质监局", "市畜牧局"), strict=True):
        a.name, a.department = name, dept
    start = days_ago(12, 9)
    hit = {"rule": "wording:links", "span": "http://m.xx-casino.example/hz", "suggestion": "", "key": "links:1"}
    r = report(accounts, ledgers=LEDGERS,
               last={1: post(1, days_ago(0, 8)), 2: post(2, days_ago(100)), 3: post(3, days_ago(2)),
                     4: post(4, start, kind="thread", author="forum4"), 5: post(5, days_ago(5)), 6: None},
               comments=[_comment("c", days_ago(1, 9)), _comment("r", days_ago(1, 10), by_account=True, reply_to="c")],
               sessions=[_session(4, start)], questions=[_question(4, start, start + timedelta(minutes=3), None)],
               alerted=[post(9, days_ago(3), alerts=[hit], account_id=3)])
    reg = register.build(r, LEDGERS, {1: 40, 2: 0, 3: 6, 4: 2, 5: 1, 6: 0}, 90)
    return r, reg


def test_the_register_lists_status_lifecycle_and_its_problems() -> None:
    r, reg = sample()
    lines = {x.account.id: x for x in reg.lines}
    assert (lines[1].status, lines[2].status, lines[5].status, lines[6].status) == ("active", "sleeping", "closed",
                                                                                      "closed")
    assert [x.account.id for x in reg.unregistered] == [3]  # found posting, no 开设 filed
    assert [x.account.id for x in reg.silent] == [2]  # filed, silent 100 days
    assert any("未登记停更公告" in i for i in lines[5].issues)
    assert any("关停（2016-05-01）后仍有发布" in i for i in lines[5].issues)  # posted 5 days ago
    assert not lines[6].issues  # cancelled with a 停更公告, nothing posted since
    assert lines[1].recent_updates == 40 and lines[2].silent_days == 100 and lines[2].silent_exact


def test_the_inspection_xlsx_has_every_sheet_item_and_evidence(tmp_path: Path) -> None:
    r, reg = sample()
    out = write_report(build_inspection(r, reg), "xlsx", tmp_path / "inspection.xlsx")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["汇总", "单项否决", "证据", "待整改", "未更新名单", "账号台账"]
    veto = {row[1]: row for row in book["单项否决"].iter_rows(min_row=5, values_only=True) if row[1]}
    assert veto["菏泽档案"][3] == "不合格" and veto["菏泽档案"][5] == "不合格" and veto["菏泽档案"][7] == 100
    assert veto["菏泽旅游"][4] == "不合格" and veto["菏泽物价(论坛)"][9] == "不合格"
    assert veto["菏泽发布"][3] == "合格" and veto["菏泽质监"][3] == "已关停"
    evidence = {row[1]: row for row in book["证据"].iter_rows(min_row=5, values_only=True) if row[1]}
    assert "xx-casino.example" in evidence["菏泽旅游"][6]  # the wording hit
    assert "网友：问题" in evidence["菏泽物价(论坛)"][5]  # the unanswered question
    assert "第1条" in evidence["菏泽发布"][4] and evidence["菏泽发布"][3] == "weibo1"  # the last post
    rates = {row[0]: row for row in book["汇总"].iter_rows(min_row=5, max_row=9, values_only=True)}
    assert rates["微博"][1:5] == (2, 1, 1, 0) and rates["微博"][5] == pytest.approx(0.5)
    fixes = [row for row in book["待整改"].iter_rows(min_row=5, values_only=True) if row[0]]
    assert fixes[0][1] == 1 and fixes[0][3] == "菏泽旅游"  # the security problem first
    assert any(row[5] == "账号台账" and "未备案" in row[6] for row in fixes)
    silent = [c for row in book["未更新名单"].iter_rows(values_only=True) for c in row if c]
    assert "超过3个月未更新（1个）" in silent


def test_register_report_csv_and_html() -> None:
    r, reg = sample()
    text = render_csv(build_register(reg, SHANGHAI))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["政务新媒体账号台账（2016年6月20日）"]
    header = next(row for row in rows if row and row[0] == "部门")
    assert header[:9] == ["部门", "平台", "账号ID", "账号名称", "运维人员", "更新频率（登记）", "近30天更新", "状态", "已备案"]
    assert ["未备案：发现在发布但未登记备案的账号"] in rows
    page = render_html(build_inspection(r, reg))
    assert 'class="warn"' in page and "不合格" in page and "<script" not in page


@pytest.mark.skipif(not shutil.which("soffice") or not shutil.which("pdftoppm"),
                    reason="LibreOffice and poppler are not installed (.ci/run installs them)")
def test_libreoffice_prints_the_inspection_xlsx_with_chinese(tmp_path: Path) -> None:
    r, reg = sample()
    xlsx = write_report(build_inspection(r, reg), "xlsx", tmp_path / "inspection.xlsx")
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(xlsx)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "inspection.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          timeout=60).stdout.decode()
    for words in ("单项否决", "菏泽档案", "内容不更新", "互动回应差", "待整改", "账号台账", "不合格"):
        assert words in text, words  # the Chinese came through as text, not boxes
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, timeout=60).stdout.decode()
    assert "CJK" in fonts  # a CJK font was embedded, so it prints
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 5 and all(p.stat().st_size > 2000 for p in pages)  # a page per sheet at least, not blank
    assert "2016年6月20日" in text


def test_the_dashboard_page_data_is_json_and_holds_what_the_report_holds() -> None:
    import json

    from govmatrix.matrix.inspection_view import dashboard

    r, reg = sample()
    alarm = {"id": 1, "day": date(2016, 6, 20), "kind": "update_warning", "message": "将超过两周未更新", "account_id": 2,
             "raised_at": None}
    page = json.loads(json.dumps(dashboard(r, reg, [alarm]), ensure_ascii=False))
    accounts = {a["name"]: a for a in page["accounts"]}
    assert accounts["菏泽档案"]["verdicts"]["updates"]["status"] == "fail" and accounts["菏泽档案"]["silent_days"] == 100
    assert accounts["菏泽旅游"]["verdicts"]["security"]["evidence"]["hits"][0]["list"] == "links"
    assert accounts["菏泽发布"]["last_update"]["published_at"].endswith("+08:00")
    assert page["total"]["inspected"] == r.total.inspected and page["fixes"][0]["priority"] == 1
    assert [s["label"] for s in page["silent"]] == ["10天", "2周", "3个月", "1年"]
    assert page["register"]["unregistered"] == [3] and page["alarms"][0]["day"] == "2016-06-20"
    assert {i["item"]: i["fail"] for i in page["items"]}["security"] == 1
