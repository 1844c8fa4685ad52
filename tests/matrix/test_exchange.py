"""Online-exchange sessions built from a board's threads: recognition, windows, answers, suggestions."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govmatrix.crawlers import forum_parse as fp
from govmatrix.crawlers.forum import ForumOptions, thread_posts
from govmatrix.matrix.exchange import (
    DEFAULT_TITLE_PATTERN,
    ExchangeRules,
    build_session,
    build_sessions,
    is_suggestion,
    session_window,
)
from govmatrix.models import REPLY, THREAD, ExchangeSession, Post
from govmatrix.pipelines.clean import CleanPipeline
from govmatrix.tz import SHANGHAI

FORUM_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "forum"
START = datetime(2016, 5, 20, 9, 30, tzinfo=SHANGHAI)
DEPT = "健康菏泽"
TITLE = "【在线交流】菏泽市卫生和计划生育委员会2016年5月20日网上在线交流"
OPENER = "各位网友：\n大家好！今天09:30至10:30，菏泽市卫生和计划生育委员会在这里与广大网友进行网上在线交流。"


def rules_of(native_id: str = DEPT, **options: object) -> ExchangeRules:
    rules = ExchangeRules.of(native_id, ForumOptions.model_validate({"fid": 42} | options))
    assert rules is not None
    return rules


RULES = rules_of()


def floor(n: int, author: str, minutes: float, text: str = "请问怎么办理？", quote: int | None = None,
          title: str = TITLE, tid: str = "700") -> Post:
    extra: dict[str, Any] = {"tid": tid, "fid": "42", "floor": n}
    if quote is not None:
        extra["quote"] = {"pid": str(quote), "author": "某人", "text": "..."}
    return Post(platform="forum", native_id=str(n), published_at=START + timedelta(minutes=minutes), text=text,
                title=title if n == 1 else "", author=author, kind=THREAD if n == 1 else REPLY, extra=extra)


def session(*replies: Post, opener_text: str = OPENER, title: str = TITLE) -> ExchangeSession:
    built = build_session([floor(1, DEPT, 0, opener_text, title=title), *replies], RULES)
    assert built is not None
    return built


def answers(built: ExchangeSession) -> dict[str, str | None]:
    return {q.native_id: q.answer_native_id for q in built.questions}


def test_a_speaker_post_quoting_a_question_answers_it() -> None:
    built = session(floor(2, "网友甲", 5), floor(3, "网友乙", 6), floor(4, DEPT, 10, "您好，...", quote=2))
    assert answers(built) == {"2": "4", "3": None}
    first = built.questions[0]
    assert first.answered_at == START + timedelta(minutes=10)
    assert first.answer_delay == 300


def test_an_unquoted_speaker_post_answers_only_the_question_right_before_it() -> None:
    built = session(floor(2, "网友甲", 5), floor(3, "网友乙", 6), floor(4, DEPT, 8, "您好，..."),
                    floor(5, "网友丙", 9), floor(6, DEPT, 12, "本期交流到此结束"))
    assert answers(built) == {"2": None, "3": "4", "5": "6"}


def test_a_quote_wins_over_the_post_that_follows() -> None:
    built = session(floor(2, "网友甲", 5), floor(3, DEPT, 7, "您好，关于另一个问题……", quote=9),
                    floor(4, "网友乙", 8), floor(5, DEPT, 9, "稍后答复"), floor(6, DEPT, 20, "您好，...", quote=4))
    assert answers(built) == {"2": None, "4": "6"}  # floor 3 quotes someone else: it answers nobody here


def test_late_answers_and_unanswered_questions() -> None:
    built = session(floor(2, "网友甲", 5), floor(3, "网友乙", 50), floor(4, DEPT, 59, "本期到此结束"),
                    floor(5, DEPT, 60 * 26, "您好，会后答复：……", quote=2))
    late, closing_answer = built.questions
    assert built.end == START + timedelta(hours=1)
    assert late.answered_at is not None and late.answered_at > built.end
    assert late.answer_delay == (60 * 26 - 5) * 60
    assert closing_answer.answer_native_id == "4"  # the unquoted post right after it
    unanswered = session(floor(2, "网友甲", 5), floor(3, "网友乙", 7)).questions
    assert [(q.answered_at, q.answer_native_id, q.answer_delay) for q in unanswered] == [(None, None, None)] * 2


@pytest.mark.parametrize(("text", "keywords", "expected"), [
    ("【建议】建议在中华路增设公交站台。", ("建议",), True),
    ("【建议】在中华路增设公交站台。", (), True),
    ("[建议] 多组织健康讲座", ("意见",), True),
    ("希望多组织健康讲座，这是我的意见。", ("意见",), True),
    ("请问健康证在哪里办理？", ("建议",), False),
    ("请问健康证在哪里办理？", ("",), False),
])
def test_suggestions_are_marked_or_match_a_keyword(text: str, keywords: tuple[str, ...], expected: bool) -> None:
    assert is_suggestion(text, keywords) is expected


def test_suggestion_keywords_come_from_the_account() -> None:
    rules = rules_of(suggestion_keywords=["意见"])
    posts = [floor(1, DEPT, 0, OPENER), floor(2, "网友甲", 5, "我的意见是延长窗口时间"), floor(3, "网友乙", 6, "建议延长")]
    built = build_session(posts, rules)
    assert built is not None
    assert [q.suggestion for q in built.questions] == [True, False]


@pytest.mark.parametrize(("title", "is_session"), [
    (TITLE, True),
    ("[在线访谈] 市交通运输局2024年5月20日在线答疑", True),
    ("市人社局5月20日网上交流活动", True),
    ("【置顶】菏泽市卫生和计划生育委员会网上在线交流须知", False),
    ("关于中华路路灯的问题", False),
    # the names a second city's departments give their sessions
    ("【网上在线交流】市环保局在线交流", True),
    ("菏泽市人社局局长在线：就业创业政策解答", True),
    ("网络问政｜市住建局回应物业管理问题", True),
    ("市交通局网上问政", True),
    ("在线访谈：市教育局谈义务教育招生", True),
    ("关于开展2016年6月网上在线交流活动的通知", False),
    ("5月网上在线交流问题汇总", False),
    ("网上在线交流预告", False),
])
def test_the_default_title_pattern(title: str, is_session: bool) -> None:
    assert bool(re.search(DEFAULT_TITLE_PATTERN, title)) is is_session
    assert (build_session([floor(1, DEPT, 0, OPENER, title=title)], RULES) is not None) is is_session


def test_only_threads_opened_by_a_speaker_on_the_board_are_sessions() -> None:
    assert build_session([floor(1, "网友甲", 0, OPENER), floor(2, DEPT, 5)], RULES) is None
    other_board = floor(1, DEPT, 0, OPENER)
    other_board.extra["fid"] = "43"
    assert build_session([other_board], RULES) is None
    assert build_session([floor(2, "网友甲", 5)], RULES) is None  # no first floor
    rules = rules_of(speakers=["卫计委小编", DEPT], title_pattern="答疑")
    built = build_session([floor(1, "卫计委小编", 0, title="每周答疑"), floor(2, "网友甲", 5),
                           floor(3, DEPT, 6, "您好")], rules)
    assert built is not None and answers(built) == {"2": "3"}


def test_the_window_is_what_the_opening_post_states() -> None:
    stated = session().start, session().end
    assert stated == (START, START + timedelta(hours=1))
    early = floor(1, DEPT, -20, "今天 9:30-11:00 在线交流")
    assert session_window(early) == (START, START + timedelta(minutes=90))
    night = floor(1, DEPT, 0, "今晚23:30至00:30在线答疑")
    assert session_window(night) == (START.replace(hour=23, minute=30), START.replace(hour=23, minute=30)
                                     + timedelta(hours=1))
    silent = floor(1, DEPT, 7, "欢迎提问")
    assert session_window(silent) == (START + timedelta(minutes=7), START + timedelta(minutes=67))


def test_sessions_start_inside_the_horizon_oldest_first() -> None:
    threads = [[floor(1, DEPT, 60 * 24 * 7, tid="702")], [floor(1, DEPT, 0, tid="701")],
               [floor(1, "网友甲", 10, tid="703")]]
    assert [s.native_id for s in build_sessions(threads, RULES)] == ["701", "702"]
    assert [s.native_id for s in build_sessions(threads, RULES, since=START + timedelta(days=1))] == ["702"]


@pytest.mark.parametrize("stem", ["viewthread_gbk", "viewthread_utf8", "viewthread_nocharset"])
def test_sessions_of_the_fixture_threads_equal_the_truth(stem: str) -> None:
    headers = json.loads((FORUM_FIXTURES / "headers.json").read_text(encoding="utf-8"))
    truth = json.loads((FORUM_FIXTURES / "truth.json").read_text(encoding="utf-8"))
    now = datetime.fromisoformat(truth["now"])
    names = sorted(n for n in headers if n.startswith(stem + "_p"))
    pages = [fp.parse_thread_page((FORUM_FIXTURES / n).read_bytes(), headers[n], now, account="t", tid="0",
                                  requested=i) for i, n in enumerate(names, start=1)]
    posts = thread_posts(pages, base_url="")
    CleanPipeline().process_batch(posts)
    account = posts[0].author
    built = build_session(posts, rules_of(account, fid=int(str(posts[0].extra["fid"]))))
    assert built is not None
    [expected] = [e for e in truth["exchanges"] if e["account"] == account]
    got = {"title": built.title, "start": built.start.isoformat(), "end": built.end.isoformat(), "questions": [
        {"pid": int(q.native_id), "author": q.author, "text": q.text, "asked_at": q.asked_at.isoformat(),
         "answered_at": q.answered_at.isoformat() if q.answered_at else None,
         "answer_pid": int(q.answer_native_id) if q.answer_native_id else None, "suggestion": q.suggestion}
        for q in built.questions]}
    assert got == {k: expected[k] for k in ("title", "start", "end", "questions")}
