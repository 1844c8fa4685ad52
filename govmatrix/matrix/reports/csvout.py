"""A report as CSV: UTF-8 with a BOM, so Excel on a Chinese Windows opens it without mojibake.
One file holds every table of the report, each after a line with its sheet and title."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from govmatrix.matrix.reports.content import Report


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f"{report.title}（{report.month}）"])
    for sheet in report.sheets:
        for table in sheet.tables:
            writer.writerow([])
            writer.writerow([f"{sheet.name}：{table.title}"])
            writer.writerow([c.title for c in table.columns])
            writer.writerows([["" if v is None else v for v in row] for row in table.rows])
    return buffer.getvalue()


def write_csv(report: Report, out: Path) -> None:
    out.write_bytes(render_csv(report).encode("utf-8-sig"))
