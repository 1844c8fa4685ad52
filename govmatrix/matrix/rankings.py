"""The month's indices per account and the rankings built from them, per platform and for the matrix."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from govmatrix.matrix.indices import ACTIVITY, BCI, WCI2, WCI14, IndexValue, account_indices, ranking
from govmatrix.matrix.period import Month
from govmatrix.models import Account
from govmatrix.storage.repo import Repo

# Which index ranks which platform's accounts; the matrix is ranked by activity, the one index
# every platform has.
PLATFORM_INDICES = {"weibo": (BCI, ACTIVITY), "wechat": (WCI2, WCI14, ACTIVITY), "forum": (ACTIVITY,),
                    "feeds": (ACTIVITY,)}
MATRIX_INDEX = ACTIVITY


@dataclass
class AccountIndices:
    account: Account
    values: dict[str, IndexValue]


@dataclass
class IndexReport:
    month: Month
    accounts: list[AccountIndices]

    def ranking(self, index: str, platform: str | None = None) -> list[tuple[AccountIndices, IndexValue]]:
        """Accounts (of a platform, or all) by an index, best first; those missing an input are left out."""
        return ranking((a, a.values[index]) for a in self.accounts
                       if index in a.values and platform in (None, a.account.platform))

    def left_out(self, index: str) -> list[tuple[AccountIndices, IndexValue]]:
        """Accounts the index applies to but could not be computed for, with what is missing."""
        return [(a, a.values[index]) for a in self.accounts if index in a.values and a.values[index].value is None]


def build(accounts: Sequence[Account], figures: Sequence[dict[str, Any]], month: Month, tz: tzinfo) -> IndexReport:
    """The month's indices (pure) from the accounts and the figures of their posts."""
    by_account: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in figures:
        by_account[row["account_id"]].append({
            "kind": row["kind"], "day": row["published_at"].astimezone(tz).date(), "reposts": row["reposts"],
            "comments": row["comments"], "likes": row["likes"], "reads": row["reads"], "wow": None,
            "shares": row.get("shares"), "index": (row["extra"] or {}).get("index", 1)})
    out = []
    for account in accounts:
        values = account_indices(account.platform, by_account.get(account.id, []), month.days)
        out.append(AccountIndices(account, {v.index: v for v in values}))
    return IndexReport(month, out)


def index_report(repo: Repo, month: Month, tz: tzinfo) -> IndexReport:
    """The month's indices of every enabled account and of every account that posted in the month."""
    since, until = month.bounds(tz)
    figures = repo.figures.of_period(since, until)
    posting = {row["account_id"] for row in figures}
    accounts = [a for a in repo.accounts.find() if a.enabled or a.id in posting]
    return build(accounts, figures, month, tz)
