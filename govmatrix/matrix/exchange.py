"""Online exchanges (网上在线交流): a department's Q&A sessions with citizens on its forum board.

Derived from the store, never inside a fetcher: ``derive`` reads an account's stored forum posts
through the repo, ``build_sessions`` (pure) finds the sessions among their threads, and the
repo's exchange store is made equal to them. Run after every crawl for the threads it touched, and
for every thread of an account by ``govmatrix exchange rebuild`` (and by ``init`` when the
account's rules changed), so a changed ``title_pattern`` or speaker list re-derives history.

- Speakers are the department's forum users: the account's ``speakers`` option, by default the
  account's own forum user (its native id).
- A session is a thread whose first floor was posted by a speaker and whose title matches
  ``title_pattern`` (a regular expression searched in the title; ``DEFAULT_TITLE_PATTERN`` when
  unset: the names departments give them, 网上在线交流, 在线交流, 在线访谈, 网络问政, 网上问政,
  局长在线, 访谈, ..., with or without 【】 or a date, but not a board's rules, notices or
  summaries about them, such as "网上在线交流须知").
- Start and end are the times the opening post announces ("今天09:30至10:30", read on the day of the
  opening post); without them, start is the opening post's time and end one hour later.
- Every post by a non-speaker is a citizen question. It is answered by the first speaker post that
  quotes it; failing that, by a speaker post that quotes nobody and comes right after it. An unquoted
  post can only be tied to what it directly follows: tying it to an earlier question as well would
  count one answer for several questions.
- A question is a suggestion when marked 【建议】 or when it contains one of ``suggestion_keywords``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from govmatrix.models import THREAD, Account, ExchangeQuestion, ExchangeSession, Post
from govmatrix.storage.repo import Repo, UpsertCounts
from govmatrix.tz import SHANGHAI

NAMES = ("网上在线交流", "在线交流", "网上交流", "在线访谈", "网上访谈", "在线答疑", "网上答疑", "网络问政", "网上问政",
         "局长在线", "书记在线", "访谈")
# Threads about the sessions that are not sessions: rules, notices, previews, summaries.
NOT_SESSIONS = ("须知", "通知", "公告", "预告", "规则", "办法", "说明", "汇总", "总结")
DEFAULT_TITLE_PATTERN = rf"^(?!.*(?:{'|'.join(NOT_SESSIONS)})).*(?:{'|'.join(NAMES)})"
DEFAULT_LENGTH = timedelta(hours=1)
_STATED_WINDOW = re.compile(r"(\d{1,2})[:：](\d{2})\s*(?:至|到|—|–|-|~|～)\s*(\d{1,2})[:：](\d{2})")
_SUGGESTION_MARK = re.compile(r"^\s*[【\[［]\s*建议\s*[】\]］]")


@dataclass(frozen=True)
class ExchangeRules:
    """How one account's sessions are recognised."""

    speakers: frozenset[str]
    title: re.Pattern[str]
    suggestion_keywords: tuple[str, ...] = ("建议",)
    fid: str | None = None

    @classmethod
    def of(cls, native_id: str, options: Any) -> ExchangeRules | None:
        """The rules of an account's options, or None for options that hold no exchange rules
        (``speakers``, ``title_pattern``, ``suggestion_keywords``; ``fid`` when the account has a board)."""
        if not all(hasattr(options, key) for key in ("speakers", "title_pattern", "suggestion_keywords")):
            return None
        fid = getattr(options, "fid", None)
        return cls(speakers=frozenset(options.speakers or [native_id]),
                   title=re.compile(options.title_pattern or DEFAULT_TITLE_PATTERN),
                   suggestion_keywords=tuple(options.suggestion_keywords), fid=str(fid) if fid is not None else None)


def is_suggestion(text: str, keywords: Iterable[str]) -> bool:
    """Marked 【建议】, or containing one of ``keywords``."""
    return bool(_SUGGESTION_MARK.match(text)) or any(word and word in text for word in keywords)


def session_window(opening: Post) -> tuple[datetime, datetime]:
    """Start and end of a session: the times its opening post states, else its time and one hour."""
    match = _STATED_WINDOW.search(opening.text)
    if match is None:
        return opening.published_at, opening.published_at + DEFAULT_LENGTH
    day = opening.published_at.astimezone(SHANGHAI).date()
    start = datetime.combine(day, time(int(match[1]), int(match[2])), tzinfo=SHANGHAI)
    end = datetime.combine(day, time(int(match[3]), int(match[4])), tzinfo=SHANGHAI)
    return start, end if end > start else end + timedelta(days=1)


def _quoted_pid(post: Post) -> str | None:
    quote = post.extra.get("quote")
    return str(quote["pid"]) if isinstance(quote, dict) and quote.get("pid") else None


def _answers(posts: Sequence[Post], speakers: frozenset[str]) -> dict[str, Post]:
    """Question pid -> the speaker post that answers it (see the module docstring)."""
    found: dict[str, Post] = {}
    for post in posts:
        pid = _quoted_pid(post)
        if post.author in speakers and pid is not None and pid not in found:
            found[pid] = post
    for question, following in zip(posts, posts[1:], strict=False):
        if (question.author not in speakers and question.native_id not in found
                and following.author in speakers and _quoted_pid(following) is None):
            found[question.native_id] = following
    return found


def build_session(posts: Sequence[Post], rules: ExchangeRules) -> ExchangeSession | None:
    """The session a thread holds, or None when the thread is not one of the account's sessions."""
    ordered = sorted(posts, key=lambda p: (int(p.extra.get("floor", 0)), p.published_at))
    if not ordered or ordered[0].kind != THREAD:
        return None
    opening = ordered[0]
    board = opening.extra.get("fid")
    if (opening.author not in rules.speakers or not rules.title.search(opening.title)
            or (rules.fid is not None and board is not None and str(board) != rules.fid)):
        return None
    answers = _answers(ordered, rules.speakers)
    questions = []
    for post in ordered:
        if post.author in rules.speakers:
            continue
        answer = answers.get(post.native_id)
        questions.append(ExchangeQuestion(
            native_id=post.native_id, author=post.author, text=post.text, asked_at=post.published_at,
            answered_at=answer.published_at if answer else None, answer_native_id=answer.native_id if answer else None,
            suggestion=is_suggestion(post.text, rules.suggestion_keywords)))
    start, end = session_window(opening)
    tid = str(opening.extra.get("tid") or opening.native_id)
    return ExchangeSession(native_id=tid, title=opening.title, start=start, end=end, url=opening.url,
                           questions=questions)


def build_sessions(threads: Iterable[Sequence[Post]], rules: ExchangeRules,
                   since: datetime | None = None) -> list[ExchangeSession]:
    """The sessions among a board's threads (each a list of its posts), those starting at or after ``since``."""
    sessions = [s for s in (build_session(posts, rules) for posts in threads) if s is not None]
    return sorted((s for s in sessions if since is None or s.start >= since), key=lambda s: (s.start, s.native_id))


def by_thread(posts: Iterable[Post]) -> dict[str, list[Post]]:
    """Posts grouped by their thread (``extra["tid"]``)."""
    threads: dict[str, list[Post]] = defaultdict(list)
    for post in posts:
        if post.extra.get("tid") is not None:
            threads[str(post.extra["tid"])].append(post)
    return threads


def derive(repo: Repo, account: Account, options: Any, now: datetime,
           threads: Sequence[str] | None = None) -> UpsertCounts | None:
    """Re-derive an account's sessions from its stored posts: of ``threads``, or of all of them.

    None when the account's options hold no exchange rules (it is not a forum board).
    """
    rules = ExchangeRules.of(account.native_id, options)
    if rules is None:
        return None
    tids = list(threads) if threads is not None else repo.posts.thread_ids(account.id)
    grouped = by_thread(repo.posts.of_threads(account.id, tids))
    sessions = build_sessions(grouped.values(), rules)
    return repo.exchanges.replace(account.id, sessions, now, threads=tids if threads is not None else None)
