"""Monthly reports: the xlsx read back by openpyxl (sheets, types, charts, print setup), the CSV's BOM,
the HTML's offline charts, and the xlsx printed by LibreOffice to PDF pages with the Chinese intact."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from govmatrix.matrix import exchange_record, followers, rankings
from govmatrix.matrix.period import Month
from govmatrix.matrix.reports import write_report
from govmatrix.matrix.reports.content import build_report
from govmatrix.matrix.reports.csvout import render_csv
from govmatrix.matrix.reports.html import render_html
from govmatrix.models import Account
from govmatrix.tz import SHANGHAI

JUNE = Month(2016, 6)


def sample_report(kind: str = "matrix"):  # type: ignore[no-untyped-def]
    accounts = [Account(id=1, platform="weibo", native_id="1", name="菏泽发布", department="市新闻办"),
                Account(id=2, platform="wechat", native_id="2", name="菏泽食药监", department="市食药监局"),
                Account(id=3, platform="forum", native_id="3", name="菏泽食药监(论坛)", department="市食药监局",
                        options={"frequency": "weekly"}),
                Account(id=4, platform="forum", native_id="4", name="菏泽民政(论坛)", department="市民政局")]
    days = [date(2016, 5, 31) + timedelta(days=d) for d in range(31)]
    rows = [{"account_id": 1, "day": d, "source": "profile", "followers": 280_000 + 100 * n,
             "followers_lower_bound": False, "extra": {}} for n, d in enumerate(days)]
    rows += [{"account_id": 2, "day": d, "source": "datacube", "followers": 5000 - 3 * n,
              "followers_lower_bound": False, "extra": {}} for n, d in enumerate(days)]
    f = followers.build(accounts, rows, JUNE)
    at = datetime(2016, 6, 8, 9, 30, tzinfo=SHANGHAI)
    figures = [{"account_id": 1, "platform": "weibo", "kind": "original", "published_at": at, "reposts": 5,
                "comments": 3, "likes": 20, "reads": None, "extra": {}},
               {"account_id": 2, "platform": "wechat", "kind": "article", "published_at": at, "reposts": None,
                "comments": None, "likes": None, "reads": None, "extra": {"index": 1}}]
    ix = rankings.build(accounts, figures, JUNE, SHANGHAI)
    session = {"account_id": 3, "start_at": at, "questions": 4, "answered": 3, "late": 1, "suggestions": 1}
    x = exchange_record.build([a for a in accounts if a.platform == "forum"], JUNE, SHANGHAI, [session], [],
                              [{"account_id": 3, "answer_delay": 600}, {"account_id": 3, "answer_delay": 7200}], None)
    return build_report(kind, f, ix, x)


def test_xlsx_sheets_types_charts_and_print_setup(tmp_path: Path) -> None:
    out = write_report(sample_report(), "xlsx", tmp_path / "matrix-2016-06.xlsx")
    assert not list(tmp_path.glob("*.partial"))
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["汇总", "粉丝增长", "排名", "传播指数", "在线交流"]
    growth = book["粉丝增长"]
    header = [c.value for c in growth[4]]
    assert header[:6] == ["部门", "账号", "平台", "月初粉丝", "月末粉丝", "增长"]
    weibo = next(r for r in growth.iter_rows(min_row=5, values_only=True) if r[1] == "菏泽发布")
    assert weibo[3:6] == (280_000, 283_000, 3000) and isinstance(weibo[5], int)
    assert weibo[6] == pytest.approx(3000 / 280_000)  # a percentage stored as a number ...
    pct_cell = next(r for r in growth.iter_rows(min_row=5) if r[1].value == "菏泽发布")[6]
    assert pct_cell.number_format == "0.00%"  # ... with a number format
    assert growth.freeze_panes == "A5"
    assert growth.page_setup.orientation == "landscape" and growth.page_setup.paperSize == 9
    assert growth.sheet_properties.pageSetUpPr.fitToPage  # fitted: one page wide (1 is the default width) ...
    assert growth.page_setup.fitToWidth in (None, 1) and growth.page_setup.fitToHeight == 0  # ... any pages long
    assert len(book["汇总"]._charts) == 1 and len(book["排名"]._charts) == 1  # growth lines, ranking bars
    missed = [r for r in book["在线交流"].iter_rows(min_row=5, values_only=True) if r[1]]
    assert [r[1] for r in missed] == ["菏泽民政(论坛)", "菏泽食药监(论坛)"]  # both missed: 民政 none, 食药监 1 of 4 weeks
    assert missed[1][3:5] == (4, 1) and missed[1][9] == pytest.approx(1.08)  # median of 600 s and 7200 s, in hours


def test_an_index_without_its_inputs_is_left_out_with_the_reason(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(write_report(sample_report(), "xlsx", tmp_path / "r.xlsx"))
    texts = [str(c) for row in book["传播指数"].iter_rows(values_only=True) for c in row if c]
    assert any("缺少：阅读数、点赞数，不参与排名" in t for t in texts)  # the WeChat account has no articles' figures


def test_csv_has_a_bom_and_every_table() -> None:
    text = render_csv(sample_report("followers"))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["政务新媒体粉丝统计月报（2016年6月）"]
    assert ["粉丝增长：2016年6月各账号粉丝增长"] in rows


def test_csv_file_opens_as_utf8_with_bom(tmp_path: Path) -> None:
    out = write_report(sample_report("exchange"), "csv", tmp_path / "x.csv")
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") and "网上在线交流" in out.read_text(encoding="utf-8-sig")


def test_html_is_offline_with_charts_and_a_print_stylesheet() -> None:
    page = render_html(sample_report())
    assert page.count("<svg") == 2 and "@media print" in page and "size: A4 landscape" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "菏泽发布" in page and "未达标" in page


@pytest.mark.skipif(not shutil.which("soffice") or not shutil.which("pdftoppm"),
                    reason="LibreOffice and poppler are not installed (.ci/run installs them)")
def test_libreoffice_prints_the_xlsx_with_chinese_and_charts(tmp_path: Path) -> None:
    xlsx = write_report(sample_report(), "xlsx", tmp_path / "matrix.xlsx")
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(xlsx)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "matrix.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          timeout=60).stdout.decode()
    assert "菏泽发布" in text and "粉丝增长" in text  # the Chinese came through as text, not boxes
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, timeout=60).stdout.decode()
    assert "CJK" in fonts  # a CJK font was embedded, so it prints
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    assert len(list(tmp_path.glob("page*.png"))) >= 5  # at least a page per sheet
