"""Online exchanges (网上在线交流): a department's Q&A sessions with citizens on its forum board.

Pure: from the posts of a board's threads and the account's settings, build ``ExchangeSession``
records. No I/O, no clock.

- Speakers are the department's forum users: the account's ``speakers`` option, by default the
  account's own forum user (its native id).
- A session is a thread whose first floor was posted by a speaker and whose title matches
  ``title_pattern`` (a regular expression searched in the title; ``DEFAULT_TITLE_PATTERN`` when unset).
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from govmatrix.clock import SHANGHAI
from govmatrix.models import THREAD, Account, ExchangeQuestion, ExchangeSession, Post

_TOPICS = "在线交流|网上交流|在线访谈|网上访谈|在线答疑|网上答疑"
# A bracketed tag ("【在线交流】...") or a dated title ("...5月20日网上在线交流"): a board's standing
# rules thread ("...网上在线交流须知") names the exchange too, but carries neither.
DEFAULT_TITLE_PATTERN = rf"^\s*[【\[](?:{_TOPICS})[】\]]|\d{{1,2}}月.*(?:{_TOPICS})"
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
    def for_account(cls, account: Account) -> ExchangeRules:
        """The rules an account's options give (``speakers``, ``title_pattern``, ``suggestion_keywords``, ``fid``)."""
        options = account.options
        fid = options.get("fid")
        return cls(speakers=frozenset(options.get("speakers") or [account.native_id]),
                   title=re.compile(options.get("title_pattern") or DEFAULT_TITLE_PATTERN),
                   suggestion_keywords=tuple(options.get("suggestion_keywords", ("建议",))),
                   fid=str(fid) if fid is not None else None)


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
