"""The simulated city forum's content: boards, threads, posts and online-exchange sessions.

One board per forum account of the catalogue (its ``fid``) plus a general board where only
citizens post. Each day a board may get a session thread, a department notice and citizen
threads; each thread is generated whole (its future replies included) on first use and cut
at ``now`` when served, so the clock moving forward only adds replies.

In a session thread the department's forum user opens the thread; citizens ask (some posts
are suggestions, starting with 【建议】); the department answers either by quoting the
question or by the very next post after it (never an unquoted post anywhere else, apart from
the opening post and a closing post that follows one of its own); some questions stay
unanswered and some answers come after the session has ended (on a board whose account has
``answers = "never"``, every question stays unanswered).

Ids decode without search: ``tid = TID_BASE + ((day * boards) + board) * SLOTS + n`` and
``pid = tid * PID_STRIDE + floor``.
"""

from __future__ import annotations

import html
import random
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from govmatrix.sandbox import forum_texts as words
from govmatrix.sandbox.state import SHANGHAI
from govmatrix.sandbox.world import World, WorldAccount, poisson

GENERAL_FID, GENERAL_NAME = 2, "民生杂谈"
TID_BASE, SLOTS, PID_STRIDE = 100_000, 32, 256
SESSION_LENGTH = timedelta(hours=1)
# Board charsets as served: (charset, where it is declared: both | meta | header | none).
_CHARSETS = {41: ("gbk", "both"), 43: ("gbk", "meta"), 44: ("gbk", "none"), 46: ("gbk", "header")}


@dataclass(frozen=True)
class Board:
    fid: int
    name: str
    index: int
    account: str | None  # the forum account's native id: the department's forum user
    uid: int
    department: str
    schedule: str  # weekly | monthly | none
    skips: bool
    charset: str
    declare: str
    answers: bool = True  # False: the department never answers a question (an inspection case)

    @property
    def template(self) -> str:
        """The board's post template: X3.4 (the author in ``div#favatarPID``) or X2 (no wrapper)."""
        return "x2" if self.fid % 2 else "x34"


@dataclass(frozen=True)
class ForumPost:
    pid: int
    floor: int
    author: str
    uid: int
    at: datetime
    message: str  # Discuz message HTML, without the quote block
    text: str  # what the author wrote: the truth of the post's text, never read back from the HTML
    quote_pid: int | None


@dataclass(frozen=True)
class Question:
    pid: int
    suggestion: bool
    answer_pid: int | None


@dataclass(frozen=True)
class Session:
    start: datetime
    end: datetime
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Thread:
    tid: int
    board: Board
    subject: str
    created: datetime
    posts: tuple[ForumPost, ...]  # every post, future ones included, in floor order
    sticky: bool = False
    session: Session | None = None
    views_per_post: float = 1.0  # how many views each visible post brings
    press_release: str | None = None  # a department notice that reposts the city's press release

    def visible(self, now: datetime) -> tuple[ForumPost, ...]:
        return tuple(p for p in self.posts if p.at <= now)

    def post(self, pid: int) -> ForumPost | None:
        floor = pid - self.tid * PID_STRIDE
        return self.posts[floor - 1] if 1 <= floor <= len(self.posts) else None

    def views(self, now: datetime) -> int:
        """Views grow with the replies (a function of what is visible, so of the cut only)."""
        return 12 + int(self.views_per_post * len(self.visible(now)))


@dataclass
class _Draft:
    at: datetime
    author: str
    uid: int
    text: str
    role: str = "reply"  # opener | question | answer | closing | reply
    quote: int | None = None  # index of the quoted draft
    answers: int | None = None  # for an answer: index of the question draft
    suggestion: bool = False


def message_html(text: str) -> str:
    """Plain text as Discuz renders a message: escaped, newlines as ``<br />`` plus CRLF."""
    return "<br />\r\n".join(html.escape(line, quote=False) for line in text.split("\n"))


class ForumWorld:
    """Boards and lazily generated threads of the simulated Discuz! forum."""

    def __init__(self, world: World) -> None:
        self.world = world
        accounts = world.on("forum")
        self.boards = [Board(GENERAL_FID, GENERAL_NAME, 0, None, 1, "", "none", False, "utf-8", "both")]
        self.boards += [self._board(a, i + 1) for i, a in enumerate(accounts)]
        self.daily_boards = len(self.boards)  # boards whose thread ids are numbered by day (see above)
        self.by_fid = {b.fid: b for b in self.boards}
        self.citizens = words.citizen_names(world.rng("forum-users"), 80)
        self._days: dict[tuple[int, int], tuple[Thread, ...]] = {}
        self._lock = threading.Lock()

    def _board(self, account: WorldAccount, index: int) -> Board:
        fid = int(account.options["fid"])
        charset, declare = _CHARSETS.get(fid, ("utf-8", "both"))
        schedule = str(account.options.get("schedule", "monthly"))
        return Board(fid, account.name.replace("(论坛)", "") + "在线", index, account.native_id, 500 + account.index,
                     account.department, schedule, bool(account.options.get("skips")), charset, declare,
                     account.options.get("answers") != "never")

    def citizen(self, index: int) -> tuple[str, int]:
        return self.citizens[index], 10_001 + index * 3

    # -- lookup ---------------------------------------------------------------------------

    def threads(self, board: Board, now: datetime) -> list[Thread]:
        """Threads of ``board`` that exist by ``now``, oldest first."""
        start = self.world.state.history_start
        return [t for day in range(0, self.world.day_index(now) + 1) for t in self.threads_on(board, day)
                if start <= t.created <= now]

    def thread(self, tid: int, now: datetime) -> Thread | None:
        offset = tid - TID_BASE
        if offset < 0:
            return None
        rest, n = divmod(offset, SLOTS)
        day, index = divmod(rest, self.daily_boards)
        threads = self.threads_on(self.boards[index], day)
        found = threads[n] if n < len(threads) else None
        if found is None or not self.world.state.history_start <= found.created <= now:
            return None
        return found

    def threads_on(self, board: Board, day: int) -> tuple[Thread, ...]:
        key = (board.fid, day)
        with self._lock:
            cached = self._days.get(key)
        if cached is None:
            cached = self._generate(board, day)
            with self._lock:
                self._days[key] = cached
        return cached

    # -- generation -----------------------------------------------------------------------

    def session_start(self, board: Board, day: int) -> datetime | None:
        """When the board's online exchange starts on ``day``, if it has one that day."""
        date = self.world.day_date(day)
        pick = self.world.rng("forum-schedule", board.fid)
        weekday, monthday, hour = pick.randrange(5), 8 + pick.randrange(14), pick.choice((9, 15))
        if board.schedule == "weekly":
            held = date.weekday() == weekday
        elif board.schedule == "monthly":
            skipped = board.skips and (date.year * 12 + date.month + board.fid) % 3 == 0
            held = date.day == monthday and not skipped
        else:
            held = False
        return self.world.day_start(day) + timedelta(hours=hour, minutes=30 if hour == 9 else 0) if held else None

    def _generate(self, board: Board, day: int) -> tuple[Thread, ...]:
        r = self.world.rng("forum-day", board.fid, day)
        day_start = self.world.day_start(day)
        specs: list[tuple[datetime, str]] = []
        if board.account is not None:
            if day == 0:
                specs.append((max(day_start + timedelta(hours=9),
                                  self.world.state.history_start + timedelta(minutes=10)), "rules"))
            start = self.session_start(board, day)
            if start is not None:
                specs.append((start, "session"))
            if r.random() < 0.12:
                specs.append((day_start + timedelta(seconds=r.randint(8 * 3600, 18 * 3600)), "notice"))
            citizens = 1 if r.random() < 0.35 else 0
        else:
            citizens = min(poisson(r, 2.0), 6)
        specs += [(day_start + timedelta(seconds=r.randint(6 * 3600, 23 * 3600)), "citizen") for _ in range(citizens)]
        specs.sort()
        return tuple(self._build(board, day, n, at, kind) for n, (at, kind) in enumerate(specs))

    def _build(self, board: Board, day: int, n: int, at: datetime, kind: str) -> Thread:
        tid = TID_BASE + (day * self.daily_boards + board.index) * SLOTS + n
        r = self.world.rng("forum-thread", board.fid, day, n)
        if kind == "session":
            return self._session(board, tid, at, r.uniform(30, 90))
        if kind == "rules":
            subject, body = words.rules(board.department)
            drafts = [_Draft(at, board.account or "", board.uid, body, "opener")]
            return self._finish(tid, board, subject, drafts, r.uniform(200, 900), sticky=True)
        if kind == "notice":
            release = self.world.press_release(day)
            subject = ("【菏泽发布】" if r.random() < 0.5 else "") + release.title
            drafts = [_Draft(at, board.account or "", board.uid, release.body, "opener")]
            self._add_replies(board, drafts, r.choices(range(6), (8, 6, 5, 4, 3, 3))[0], r)
            return replace(self._finish(tid, board, subject, drafts, r.uniform(8, 40)), press_release=release.key)
        else:
            author, uid = self.citizen(r.randrange(len(self.citizens)))
            subject, body = words.citizen_thread(r)
            drafts = [_Draft(at, author, uid, body, "opener")]
        self._add_replies(board, drafts, r.choices(range(13), (8, 6, 5, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1))[0], r)
        return self._finish(tid, board, subject, drafts, r.uniform(8, 40))

    def _add_replies(self, board: Board, drafts: list[_Draft], count: int, r: random.Random) -> None:
        at = drafts[0].at
        for k in range(count):
            at += timedelta(seconds=int(r.expovariate(1 / 14_400)) + 60)
            if board.account is not None and k == 0 and r.random() < 0.3:
                drafts.append(_Draft(at, board.account, board.uid, words.department_reply(r), quote=0))
                continue
            author, uid = self.citizen(r.randrange(len(self.citizens)))
            quote = r.randrange(len(drafts)) if r.random() < 0.25 else None
            drafts.append(_Draft(at, author, uid, words.reply(r), quote=quote))

    def _session(self, board: Board, tid: int, start: datetime, views_per_post: float) -> Thread:
        r = self.world.rng("forum-session", board.fid, tid)
        user, dept, end = board.account or "", board.department, start + SESSION_LENGTH
        local, local_end = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
        drafts = [_Draft(start, user, board.uid, words.opener(dept, f"{local:%H:%M}", f"{local_end:%H:%M}"),
                         "opener")]
        seconds = sorted(r.sample(range(120, 3420), r.randint(6, 14)))
        for i, s in enumerate(seconds):
            suggestion = r.random() < 0.2
            author, uid = self.citizen(r.randrange(len(self.citizens)))
            drafts.append(_Draft(start + timedelta(seconds=s), author, uid, words.question(r, dept, suggestion),
                                 "question", suggestion=suggestion))
            q = len(drafts) - 1
            fate = r.choices(("none", "next", "quote", "late"), (20, 30, 35, 15))[0]
            if not board.answers:
                fate = "none"
            gap = (seconds[i + 1] if i + 1 < len(seconds) else 3600) - s
            if fate == "none":
                continue
            if fate == "late":
                delay, quote = 3600 - s + r.randint(1800, 3 * 86_400), q
            elif fate == "next" and gap > 60:
                delay, quote = r.randint(20, min(600, gap - 20)), None
            else:
                delay, quote = min(r.randint(60, 900), 3590 - s), q
            drafts.append(_Draft(start + timedelta(seconds=s + delay), user, board.uid,
                                 words.answer(r, dept, suggestion), "answer", quote=quote, answers=q))
        on_time = sorted((d for d in drafts if d.at < end), key=lambda d: d.at)
        if on_time[-1].role in ("opener", "answer"):
            drafts.append(_Draft(end, user, board.uid, words.closing(), "closing"))
        subject = words.session_title(dept, local.year, local.month, local.day, style=board.index)
        return self._finish(tid, board, subject, drafts, views_per_post, window=(start, end))

    def _finish(self, tid: int, board: Board, subject: str, drafts: list[_Draft], views_per_post: float,
                sticky: bool = False, window: tuple[datetime, datetime] | None = None) -> Thread:
        order = sorted(range(len(drafts)), key=lambda i: (drafts[i].at, i))
        floor = {i: k + 1 for k, i in enumerate(order)}
        for k, i in enumerate(order):  # an unquoted answer must come right after its question
            d = drafts[i]
            if d.role == "answer" and d.quote is None and (k == 0 or order[k - 1] != d.answers):
                drafts[i] = replace(d, quote=d.answers)
        pid = {i: tid * PID_STRIDE + floor[i] for i in order}
        posts = tuple(ForumPost(pid[i], floor[i], drafts[i].author, drafts[i].uid, drafts[i].at,
                                message_html(drafts[i].text), drafts[i].text,
                                pid[q] if (q := drafts[i].quote) is not None else None)
                      for i in order)
        session = None
        if window is not None:
            answered = {d.answers: pid[i] for i, d in enumerate(drafts) if d.role == "answer"}
            questions = tuple(Question(pid[i], d.suggestion, answered.get(i))
                              for i in order if (d := drafts[i]).role == "question")
            session = Session(window[0], window[1], questions)
        return Thread(tid, board, subject, drafts[order[0]].at, posts, sticky, session, views_per_post)
