"""The one incremental rule: stop at what is stored or older than the horizon; pinned items never stop it.

Every crawler walks what a platform lists newest first (a Weibo timeline, a WeChat publishing list,
a Discuz board) or reads one document (a feed). The rule, for each item in order:

- an item already stored, or older than the horizon, is not collected;
- in a newest-first listing the first such item ends the walk, unless it is *pinned*: a pinned
  post or a sticky thread is an old item shown on top, so it is skipped and the walk goes on;
- in a document without a reliable order (``ordered=False``: a feed) nothing ends the walk;
  every item is judged on its own;
- ``revisit=True`` collects stored items inside the horizon again, so an edited feed entry is
  updated (the store skips unchanged ones); an item without its own time is never revisited,
  since its only time is that of the crawl.

Items without a time count as inside the horizon. ``known`` answers which ids are stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")
CURSOR_KEY = "horizon"


def _never(_: Any) -> bool:
    return False


def select_new(items: Sequence[T], *, native_id: Callable[[T], str], published_at: Callable[[T], datetime | None],
               horizon: datetime, known: Callable[[Iterable[str]], set[str]] | None = None,
               pinned: Callable[[T], bool] = _never, ordered: bool = True,
               revisit: bool = False) -> tuple[list[T], bool]:
    """The items to collect, and whether the walk ends here (see the module docstring)."""
    stored = known([native_id(item) for item in items]) if known is not None else set()
    fresh: list[T] = []
    for item in items:
        when = published_at(item)
        old = when is not None and when < horizon
        seen = native_id(item) in stored and not (revisit and when is not None)
        if not (old or seen):
            fresh.append(item)
        elif ordered and not pinned(item):
            return fresh, True
    return fresh, False


def horizon_of(cursor: dict[str, Any], now: datetime, days: int) -> datetime:
    """Nothing older than this is collected: on the first crawl ``now - days``, then that same start."""
    start = cursor.get(CURSOR_KEY)
    return datetime.fromisoformat(start) if start else now - timedelta(days=days)
