"""A report as an Excel workbook (xlsxwriter): numbers as numbers with formats, native charts,
frozen headers, column widths, and an A4 landscape print setup one page wide: these are printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from govmatrix.matrix.reports.content import Report, Sheet, Table

FONT = "Noto Sans CJK SC"  # what LibreOffice finds on Linux; Excel on Windows falls back to its own CJK font
FORMATS = {"int": "#,##0", "pct": "0.00%", "float": "0.00", "date": "@", "text": "@"}


def write_xlsx(report: Report, out: Path) -> None:
    workbook = xlsxwriter.Workbook(str(out), {"strings_to_numbers": False, "default_date_format": "yyyy-mm-dd"})
    workbook.set_properties({"title": f"{report.title}（{report.month}）", "author": "govmatrix"})
    styles = _styles(workbook)
    for sheet in report.sheets:
        _write_sheet(workbook, workbook.add_worksheet(sheet.name), sheet, report, styles)
    workbook.close()


def _styles(workbook: Workbook) -> dict[str, Any]:
    base = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}
    out = {kind: workbook.add_format(base | {"num_format": fmt, "border": 1}) for kind, fmt in FORMATS.items()}
    out["title"] = workbook.add_format(base | {"bold": True, "font_size": 14})
    out["table"] = workbook.add_format(base | {"bold": True, "font_size": 11})
    out["header"] = workbook.add_format(base | {"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True,
                                               "align": "center"})
    out["note"] = workbook.add_format(base | {"font_color": "#555555", "text_wrap": False})
    return out


def _write_sheet(workbook: Workbook, ws: Worksheet, sheet: Sheet, report: Report, styles: dict[str, Any]) -> None:
    ws.write(0, 0, f"{report.title}（{report.month}）— {sheet.name}", styles["title"])
    row = 2
    widths: dict[int, int] = {}
    charts = []
    for n, table in enumerate(sheet.tables):
        ws.write(row, 0, table.title, styles["table"])
        header = row + 1
        ws.set_row(header, 30)  # two lines for the wrapped headers
        for c, column in enumerate(table.columns):
            ws.write(header, c, column.title, styles["header"])
            widths[c] = max(widths.get(c, 0), column.width)
        for r, values in enumerate(table.rows, start=header + 1):
            for c, (value, column) in enumerate(zip(values, table.columns, strict=True)):
                ws.write(r, c, "" if value is None else value, styles[column.kind])
        if n == 0:
            ws.freeze_panes(header + 1, 0)  # the first table's header stays in view
            ws.repeat_rows(header)  # and is printed on every page
        if table.chart is not None and table.rows:
            charts.append((_chart(workbook, sheet.name, table, header), header))
        row = header + len(table.rows) + 2
    for note in sheet.notes:
        ws.write(row, 0, note, styles["note"])
        row += 1
    for c, width in widths.items():
        ws.set_column(c, c, width)
    chart_col = len(max(sheet.tables, key=lambda t: len(t.columns)).columns) + 1
    for chart, at in charts:
        ws.insert_chart(at, chart_col, chart, {"x_scale": 1.3, "y_scale": 1.1})
    _print_setup(ws, sheet.name, report)


def _chart(workbook: Workbook, sheet: str, table: Table, header: int) -> Any:
    spec = table.chart
    assert spec is not None
    last = header + min(len(table.rows), spec.rows or len(table.rows))
    chart = workbook.add_chart({"type": "line" if spec.kind == "line" else "bar"})
    for column in spec.values:
        chart.add_series({"name": [sheet, header, column], "categories": [sheet, header + 1, spec.category, last,
                                                                          spec.category],
                          "values": [sheet, header + 1, column, last, column]})
    font = {"name": FONT}
    chart.set_title({"name": spec.title, "name_font": font | {"size": 12}})
    chart.set_legend({"position": "bottom", "font": font})
    chart.set_x_axis({"num_font": font})
    chart.set_y_axis({"num_font": font, "num_format": "#,##0"})
    if spec.kind == "bar":
        chart.set_y_axis({"reverse": True, "num_font": font})  # the first place on top
        chart.set_legend({"none": True})
    return chart


def _print_setup(ws: Worksheet, name: str, report: Report) -> None:
    ws.set_paper(9)  # A4
    ws.set_landscape()
    ws.fit_to_pages(1, 0)  # one page wide, as many long as needed
    ws.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
    ws.set_header(f"&L&\"{FONT}\"{report.title}&R&\"{FONT}\"{report.month}")
    ws.set_footer(f"&L&\"{FONT}\"{name}&R&\"{FONT}\"第 &P 页，共 &N 页")
