"""Monthly reports: built pure in content.py from what matrix/ computed, rendered at the edge as
xlsx (xlsxwriter), HTML (Jinja2, inline SVG charts) or CSV (UTF-8 with BOM, for Excel on Chinese Windows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, tzinfo
from pathlib import Path

from govmatrix.errors import ConfigError
from govmatrix.matrix.exchange_record import exchange_report
from govmatrix.matrix.followers import followers_report
from govmatrix.matrix.period import Month
from govmatrix.matrix.rankings import index_report
from govmatrix.matrix.reports.content import KINDS, Report, build_report
from govmatrix.storage.repo import Repo

FORMATS = ("xlsx", "html", "csv")


def monthly_reports(repo: Repo, kinds: Sequence[str], month: Month, tz: tzinfo, *,
                    exchange_since: date | None = None) -> dict[str, Report]:
    """The reports of some kinds for a month, read through the repo; each statistic is computed once
    for all of them (the matrix report holds the others' sheets)."""
    for kind in kinds:
        if kind not in KINDS:
            raise ConfigError(f"report: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    wanted = set(kinds)
    followers = followers_report(repo, month) if wanted & {"followers", "matrix"} else None
    indices = index_report(repo, month, tz) if "matrix" in wanted else None
    exchange = exchange_report(repo, month, tz, exchange_since) if wanted & {"exchange", "matrix"} else None
    return {kind: build_report(kind, followers, indices, exchange) for kind in kinds}


def write_report(report: Report, fmt: str, out: Path) -> Path:
    """Render a report to ``out`` in ``fmt``; a partial file never stays behind."""
    from govmatrix.matrix.reports.csvout import write_csv
    from govmatrix.matrix.reports.html import write_html
    from govmatrix.matrix.reports.xlsx import write_xlsx

    writers = {"xlsx": write_xlsx, "html": write_html, "csv": write_csv}
    if fmt not in writers:
        raise ConfigError(f"report: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        writers[fmt](report, partial)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def report_name(kind: str, month: Month, fmt: str) -> str:
    """``matrix-2016-07.xlsx``: the name the scheduled job gives last month's reports."""
    return f"{kind}-{month}.{fmt}"
