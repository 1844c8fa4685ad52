"""A report as one HTML page: the same tables, phone-readable, charts as inline SVG (no CDN, no
script), and a print stylesheet (A4 landscape, a sheet per page)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from govmatrix.matrix.reports.content import Chart, Column, Report, Table

PALETTE = ("#2b5797", "#e67e22", "#27ae60", "#8e44ad")
WARN = ("未达标", "不合格")


def cell_text(value: Any, column: Column) -> str:
    if value is None:
        return ""
    if column.kind == "int" and isinstance(value, int | float):
        return f"{int(value):,}"
    if column.kind == "pct" and isinstance(value, int | float):
        return f"{value * 100:.2f}%"
    if column.kind == "float" and isinstance(value, int | float):
        return f"{value:.2f}"
    return str(value)


def line_svg(chart: Chart, table: Table, width: int = 720, height: int = 240) -> str:
    series = [[row[c] or 0 for row in table.rows] for c in chart.values]
    top = max((max(s) for s in series if s), default=0) or 1
    n = max(len(table.rows) - 1, 1)
    pad, parts = 48, []
    for i, (values, column) in enumerate(zip(series, chart.values, strict=True)):
        points = " ".join(f"{pad + x * (width - 2 * pad) / n:.1f},{height - pad - v / top * (height - 2 * pad):.1f}"
                          for x, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{PALETTE[i % 4]}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{pad + 90 * i}" y="{height - 8}" fill="{PALETTE[i % 4]}" font-size="12">'
                     f'{escape(table.columns[column].title)}</text>')
    first, last = table.rows[0][chart.category], table.rows[-1][chart.category]
    return (f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(chart.title)}">'
            f'<text x="{pad}" y="16" font-size="13">{escape(chart.title)}（最高 {int(top):,}）</text>'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
            f'<text x="{pad}" y="{height - pad + 16}" font-size="11">{escape(str(first))}</text>'
            f'<text x="{width - pad}" y="{height - pad + 16}" font-size="11" text-anchor="end">{escape(str(last))}</text>'
            + "".join(parts) + "</svg>")


def bar_svg(chart: Chart, table: Table, width: int = 720) -> str:
    rows = table.rows[: chart.rows or len(table.rows)]
    column = chart.values[0]
    top = max((abs(r[column] or 0) for r in rows), default=0) or 1
    bar, label = 20, 150
    height = 24 + bar * len(rows)
    parts = [f'<text x="0" y="14" font-size="13">{escape(chart.title)}</text>']
    for i, row in enumerate(rows):
        y, value = 22 + i * bar, row[column] or 0
        length = abs(value) / top * (width - label - 80)
        parts.append(f'<text x="{label - 6}" y="{y + 14}" font-size="12" text-anchor="end">'
                     f'{escape(str(row[chart.category]))}</text>'
                     f'<rect x="{label}" y="{y + 2}" width="{length:.1f}" height="{bar - 6}" fill="{PALETTE[0]}"/>'
                     f'<text x="{label + length + 4:.1f}" y="{y + 14}" font-size="12">{value:,}</text>')
    return f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(chart.title)}">' + "".join(parts) + "</svg>"


def _table(table: Table) -> dict[str, Any]:
    svg = ""
    if table.chart is not None and table.rows:
        svg = line_svg(table.chart, table) if table.chart.kind == "line" else bar_svg(table.chart, table)
    rows = [{"warn": any(v in WARN for v in row),
             "cells": [{"text": cell_text(v, c), "number": c.kind in ("int", "pct", "float")}
                       for v, c in zip(row, table.columns, strict=True)]} for row in table.rows]
    return {"title": table.title, "columns": table.columns, "rows": rows, "svg": svg}


def sheet_tables(report: Report) -> list[dict[str, Any]]:
    """The report's sheets ready for a template: each table's cells as text, its chart as inline SVG
    (the HTML report and the web app's dashboard render these)."""
    return [{"name": s.name, "notes": s.notes, "tables": [_table(t) for t in s.tables]} for s in report.sheets]


def render_html(report: Report) -> str:
    env = Environment(loader=PackageLoader("govmatrix.matrix.reports", "templates"), autoescape=select_autoescape())
    return env.get_template("report.html").render(report={"title": report.title, "month": report.month,
                                                          "sheets": sheet_tables(report)})


def write_html(report: Report, out: Path) -> None:
    out.write_text(render_html(report), encoding="utf-8")
