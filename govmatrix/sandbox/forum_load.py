"""The forum's load-test board: N threads of exactly 40 posts each, for crawl benchmarks.

Off unless ``SandboxConfig.forum_load_threads`` (``govmatrix sandbox --forum-load-threads N``)
is set; the normal boards are then served exactly as without it. The board (fid 90, the forum
user 压力测试版主 as its moderator) is listed in the forum index, paged by ``forumdisplay`` and
served by ``viewthread`` like any department board, and its posts are in the truth under that
user. It has no online-exchange sessions.

Thread ``k`` (from 0) has ``tid = LOAD_TID_BASE + k``, below the day-numbered ids of the normal
boards, so it leaves theirs untouched. The moderator opens it; 39 replies follow, from citizens
(a quarter of them quoting an earlier post) and now and then from the moderator quoting an
earlier reply. Threads open one after another over the first ``LOAD_SPREAD`` of the history and their
last replies come within a few days, so every post precedes the world's start and all are
visible. Each thread depends only on the seed and the history start; the board is generated on
its first request.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from govmatrix.sandbox import forum_texts as words
from govmatrix.sandbox.forum_world import TID_BASE, Board, ForumWorld, Thread, _Draft
from govmatrix.sandbox.world import World

LOAD_FID, LOAD_NAME, LOAD_ACCOUNT, LOAD_UID = 90, "压力测试", "压力测试版主", 900
LOAD_TID_BASE, POSTS_PER_THREAD = 10_000, 40
MAX_LOAD_THREADS = TID_BASE - LOAD_TID_BASE
LOAD_SPREAD = timedelta(days=90)


class LoadedForumWorld(ForumWorld):
    """The forum world plus the load-test board of ``count`` threads."""

    def __init__(self, world: World, count: int) -> None:
        if not 0 < count <= MAX_LOAD_THREADS:
            raise ValueError(f"the load board holds 1 to {MAX_LOAD_THREADS} threads, not {count}")
        super().__init__(world)
        self.load_board = Board(LOAD_FID, LOAD_NAME, len(self.boards), LOAD_ACCOUNT, LOAD_UID, LOAD_NAME,
                                "none", False, "utf-8", "both")
        self.boards.append(self.load_board)
        self.by_fid[LOAD_FID] = self.load_board
        self.load_count = count
        self._load: tuple[Thread, ...] | None = None
        self._load_lock = threading.Lock()

    def threads(self, board: Board, now: datetime) -> list[Thread]:
        if board is not self.load_board:
            return super().threads(board, now)
        return [t for t in self._load_threads() if t.created <= now]

    def thread(self, tid: int, now: datetime) -> Thread | None:
        if not LOAD_TID_BASE <= tid < LOAD_TID_BASE + self.load_count:
            return super().thread(tid, now)
        found = self._load_threads()[tid - LOAD_TID_BASE]
        return found if found.created <= now else None

    def _load_threads(self) -> tuple[Thread, ...]:
        with self._load_lock:
            if self._load is None:
                self._load = tuple(self._load_thread(k) for k in range(self.load_count))
            return self._load

    def _load_thread(self, k: int) -> Thread:
        board, r = self.load_board, self.world.rng("forum-load", k)
        opened = (self.world.state.history_start + timedelta(days=1) + LOAD_SPREAD * k / self.load_count
                  + timedelta(seconds=r.randint(0, 3600)))
        subject, body = words.citizen_thread(r)
        drafts = [_Draft(opened, board.account or "", board.uid, body, "opener")]
        at = opened
        while len(drafts) < POSTS_PER_THREAD:
            at += timedelta(seconds=int(r.expovariate(1 / 1200)) + 30)
            if r.random() < 0.1:
                quoted = r.randrange(1, len(drafts)) if len(drafts) > 1 else 0
                drafts.append(_Draft(at, board.account or "", board.uid, words.department_reply(r), quote=quoted))
                continue
            author, uid = self.citizen(r.randrange(len(self.citizens)))
            quote = r.randrange(len(drafts)) if r.random() < 0.25 else None
            drafts.append(_Draft(at, author, uid, words.reply(r), quote=quote))
        return self._finish(LOAD_TID_BASE + k, board, f"【压力测试】{subject}", drafts, r.uniform(8, 40))
