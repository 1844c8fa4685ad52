"""The wording check (pipelines/wording.py): each list on real-shape sentences, the pipeline on posts
(own posts only, beside the alerts pipeline in either order, idempotent), the lists from settings,
the dismissals store on SQLite and PostgreSQL, and precision and recall per list measured on the
labelled set in tests/fixtures/wording (run with -s to see the figures)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from govmatrix.config import load_settings
from govmatrix.errors import ConfigError
from govmatrix.models import ORIGINAL, REPLY, THREAD, Post
from govmatrix.pipelines.base import build, run
from govmatrix.pipelines.clean import normalise
from govmatrix.pipelines.wording import KEY_MAX, Checker, Hit, WordingPipeline, checker_of
from govmatrix.pipelines.wording_fuzzy import looks_alike, sounds_alike
from govmatrix.pipelines.wording_lists import Lists, load, read_confusion, read_forbidden, read_protected
from govmatrix.storage.posts import alert_level
from govmatrix.storage.repo import AccountSpec, Repo
from govmatrix.tz import SHANGHAI
from tests.test_config import BASE, write

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wording"
NOW = datetime(2016, 7, 2, 14, 0, tzinfo=SHANGHAI)
FORUM = SimpleNamespace(id="hzwjw-forum", options=SimpleNamespace(speakers=["菏泽市卫健委"]))
CITY_FILES = {"confusion": [FIXTURES / "confusion.txt"], "protected": [FIXTURES / "protected_names.toml"],
              "forbidden": [FIXTURES / "forbidden.toml"]}


@cache
def city() -> Checker:
    """The sandbox city's checker: the fixture lists alone (the built-in ones replaced)."""
    return Checker(load(CITY_FILES, replace=("confusion", "protected", "forbidden")))


def check(text: str) -> list[tuple[str, str, str]]:
    return [(h.list, h.span, h.suggestion) for h in city().check(normalise(text))]


# -- confusion -----------------------------------------------------------------------------------

def test_a_listed_wrong_form_is_found_with_its_correction_and_offset() -> None:
    text = normalise("副市长童立群强调，安全生产要警钟常鸣，决不能麻痹大意。")
    [hit] = city().check(text)
    assert (hit.list, hit.span, hit.suggestion) == ("confusion", "警钟常鸣", "警钟长鸣")
    assert text[hit.offset:hit.offset + len(hit.span)] == "警钟常鸣"
    assert check("副市长童立群强调，安全生产要警钟长鸣。") == []


def test_anchored_wrong_forms_leave_correct_text_alone() -> None:
    assert check("市委付书记冉晓东出席启动仪式并讲话。") == [("confusion", "市委付书记", "市委副书记")]
    # 付市长 is not listed bare: 付 is a surname, and 支付市长期护理保险 holds it
    assert check("我市将逐步支付市长期护理保险待遇，惠及失能老人。") == []
    assert check("市政协委员付书记在座谈会上发言。") == []


def test_a_wrong_title_the_confusion_list_corrects_is_reported_once() -> None:
    assert check("连日来，常务付市长邝志宏主持会议并作具体安排。") == [("confusion", "常务付市长", "常务副市长")]


# -- protected names -----------------------------------------------------------------------------

def test_a_garbled_person_name_after_a_title() -> None:
    assert check("11月3日，市长周明喆、副市长童立群参加座谈。") == [("proper_name", "周明喆", "周明哲")]
    assert check("市市场监管局局长诸文静到东明县调研特种设备安全工作。") == [("proper_name", "诸文静", "褚文静")]
    assert check("近日，牡丹区委书记官振宇到大黄集镇调研项目建设工作。") == [("proper_name", "官振宇", "宫振宇")]


def test_a_title_that_is_not_the_persons() -> None:
    assert check("副市长周明哲在主持会议时指出，做好秋冬季疫病防控至关重要。") == [
        ("proper_name", "副市长周明哲", "市长周明哲")]
    # 市长 is the end of 副市长, but not what stands before her name
    assert check("今天上午，市长柏海燕带队检查成武县危险化学品企业安全生产工作。") == [
        ("proper_name", "市长柏海燕", "副市长柏海燕")]
    assert check("常务副市长童立群在主持会议时指出，要排查到位。") == [("proper_name", "常务副市长童立群", "副市长童立群")]
    assert check("市政协副主席葛春林出席并讲话。") == [("proper_name", "市政协副主席葛春林", "市政协主席葛春林")]


def test_correct_titles_and_names_are_quiet() -> None:
    assert check("市委书记郑远航、市长周明哲到成武县现场观摩重点项目，副市长童立群、柏海燕参加。") == []
    assert check("7月13日，市纪委书记、市监委主任阎书廷到定陶区调研基层监督工作。") == []
    assert check("市监委主任阎书廷强调，要把监督挺在前面。") == []
    assert check("市委常委、常务副市长邝志宏出席会议并讲话。") == []
    # a person is checked after a title only: 正远航 is 郑远航 in sound, and an ordinary phrase
    assert check("新征程上，菏泽扬帆正远航。") == []


def test_a_garbled_organ_or_formulation() -> None:
    assert check("荷泽市人民政府办公室关于印发安全生产工作方案的通知。") == [
        ("proper_name", "荷泽市人民政府", "菏泽市人民政府")]
    assert check("市科协认真落实全面从严治当主体责任。") == [("proper_name", "全面从严治当", "全面从严治党")]
    assert check("20日下午，郓城县举办“推动构建人类命运共同休”主题报告会。") == [  # 休 for 体: shape
        ("proper_name", "人类命运共同休", "人类命运共同体")]
    assert check("菏泽市文化与旅游局发布假期文旅消费提示。") == [  # 与 for 和: a group of the data
        ("proper_name", "菏泽市文化与旅游局", "菏泽市文化和旅游局")]
    assert check("要积极发展全过程人民明主。") == [("proper_name", "全过程人民明主", "全过程人民民主")]  # in / ing


def test_correct_names_one_character_from_a_protected_one_are_quiet() -> None:
    assert check("菏泽市气象台发布暴雨黄色预警，菏泽市气象局启动应急响应。") == []
    assert check("菏泽市政府与菏泽市政协联合召开座谈会。") == []
    assert check("全镇四个自然村全部完成改厕，坚定四个自信。") == []
    assert check("从两个维度评估成效，做到两个维护。") == []
    assert check("牢固树立安全发展理念，贯彻新发展理念。") == []


def test_sound_and_shape() -> None:
    assert sounds_alike("明", "民") and sounds_alike("设", "色") and sounds_alike("闫", "阎")
    assert not sounds_alike("休", "体") and looks_alike("休", "体") and looks_alike("官", "宫")
    assert not looks_alike("财", "民") and not sounds_alike("财", "民")


# -- forbidden content, secrets, links -----------------------------------------------------------

def test_forbidden_words_by_category_unless_inside_an_allowed_word() -> None:
    [hit] = city().check(normalise("转发：网上赌场火爆上线，注册即送体验金。"))
    assert (hit.list, hit.span, hit.category) == ("forbidden", "网上赌场", "gambling") and "赌博" in hit.suggestion
    assert check("警方提醒：警惕裸聊诈骗，守好钱袋子。") == []
    assert check("学习宣传反分裂国家法，坚决反对分裂国家。") == []
    assert check("市公安局开展打击网络赌博专项行动，扫黄打非工作持续推进。") == []
    assert check("市气象台发布暴雨黄色预警。") == []


def test_classification_marks_are_secrets() -> None:
    assert [(h.list, h.span, h.category) for h in city().check(normalise("机密★3年 《全市冬季供暖工作情况内部通报》"))] == [
        ("secret", "机密", "secrets")]
    assert check("关于成武县重大项目选址的请示（内部资料，请勿外传）") == [
        ("secret", "内部资料,请勿外传", "删除或核实（涉密）")]
    assert check("加强涉密载体管理，手机密码不要告诉他人，杜绝密集人群聚集。") == []


def test_bad_links_in_the_text_and_in_the_markup() -> None:
    assert check("高清直播入口https://m.lucky-slots88.example/index.php?from=wb，复制到浏览器打开。") == [
        ("bad_link", "https://m.lucky-slots88.example/index.php?from=wb", "删除链接（lucky-slots88.example）")]
    assert check("巨野县的朋友看过来，www.xx-casino.example/reg?id=109注册就送大礼包。")[0][1] == \
        "www.xx-casino.example/reg?id=109"
    assert check("详见 http://www.heze.gov.cn/art/2024/1/1.html 和 www.12377.cn 。") == []
    assert check("详见 https://notxx-casino.example/ 。") == []  # not under the listed domain
    markup = '<p>点击<a href="https://vip.bet365-hz.example/h5/#/home?a=1&amp;b=2">这里</a></p>'
    [hit] = city().markup_links(markup)
    assert (hit.span, hit.offset, hit.category) == ("https://vip.bet365-hz.example/h5/#/home?a=1&b=2", -1,
                                                     "bet365-hz.example")


def test_keys_are_stable_short_and_once_per_post() -> None:
    hits = city().check(normalise("要警钟常鸣。再说一遍：警钟常鸣！"))
    assert [h.key for h in hits] == ["confusion|警钟常鸣|警钟长鸣"]
    url = "http://m.xx-casino.example/" + "a" * 500
    [hit] = city().check(url)
    assert len(hit.key) <= KEY_MAX and hit.key == Hit("bad_link", url, 99, hit.suggestion, "x").key
    assert hit.key != Hit("bad_link", url + "b", 0, hit.suggestion).key


# -- the pipeline --------------------------------------------------------------------------------

def post(body: str, *, platform: str = "weibo", kind: str = ORIGINAL, author: str = "") -> Post:
    return Post(platform=platform, native_id="1", published_at=NOW, kind=kind, body=body, author=author,
                raw={"id": "1"})


def settings_with(tmp_path: Path, extra: str = "") -> Any:
    lists = tmp_path / "lists"
    lists.mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "protected_names.toml", lists / "city.toml")
    text = BASE + f"""
[[alerts]]
name = "安全生产"
words = ["安全生产"]
severity = "medium"

[pipelines]
order = ["clean", "dedup", "alerts", "wording"]

[pipelines.wording]
protected = ["lists/city.toml"]
{extra}"""
    return load_settings(write(tmp_path, text), env={})


def test_the_pipeline_puts_hits_into_the_alerts_beside_the_keyword_rules(tmp_path: Path) -> None:
    settings = settings_with(tmp_path)
    p = post("<p>副市长周明哲强调，安全生产要警钟常鸣。详见<a href='https://m.xx-casino.example/a'>链接</a></p>")
    first = build(settings.pipelines.order, settings)
    run(first, [p])
    rules = [a["rule"] for a in p.alerts]
    assert rules == ["安全生产", "wording:proper_name", "wording:confusion", "wording:bad_link"]  # in text order
    confusion = p.alerts[2]
    assert {k: confusion[k] for k in ("severity", "span", "suggestion", "key")} == {
        "severity": "high", "span": "警钟常鸣", "suggestion": "警钟长鸣", "key": "confusion|警钟常鸣|警钟长鸣"}
    assert p.alerts[3]["offset"] == -1 and alert_level(p) == 3
    before = [dict(a) for a in p.alerts]
    run(first, [p])  # reprocess: the same alerts again
    assert p.alerts == before


def test_either_order_keeps_both_pipelines_entries_and_stays_idempotent(tmp_path: Path) -> None:
    settings = settings_with(tmp_path)
    for order in (["clean", "alerts", "wording"], ["clean", "wording", "alerts"]):
        p = post("<p>安全生产要警钟常鸣。</p>")
        steps = build(order, settings)
        run(steps, [p])
        once = [dict(a) for a in p.alerts]
        run(steps, [p])
        assert p.alerts == once and sorted(a["rule"] for a in once) == ["wording:confusion", "安全生产"]


def test_a_fixed_text_loses_its_hit(tmp_path: Path) -> None:
    steps = build(["clean", "wording"], settings_with(tmp_path))
    p = post("<p>要警钟常鸣。</p>")
    run(steps, [p])
    assert p.alerts
    p.body = "<p>要警钟长鸣。</p>"
    run(steps, [p])
    assert p.alerts == []


def test_citizens_forum_posts_are_not_checked_but_the_departments_are(tmp_path: Path) -> None:
    pipeline = WordingPipeline(settings_with(tmp_path))
    citizen = Post(platform="forum", native_id="2", published_at=NOW, kind=THREAD, author="市民小王",
                   text_norm=normalise("请问网上赌场的事有人管吗？"))
    answer = Post(platform="forum", native_id="3", published_at=NOW, kind=REPLY, author="菏泽市卫健委",
                  text_norm=normalise("已转交公安机关查处网上赌场。"))
    pipeline.process(citizen, FORUM)
    pipeline.process(answer, FORUM)
    assert citizen.alerts == [] and [a["rule"] for a in answer.alerts] == ["wording:forbidden"]


def test_lists_from_settings_extend_or_replace_the_built_in_ones(tmp_path: Path) -> None:
    (tmp_path / "more.txt").write_text("# ours\n荷泽\t菏泽\n", encoding="utf-8")
    settings = settings_with(tmp_path, 'confusion = ["more.txt"]\n')
    checker = checker_of(settings)
    found = {(h.list, h.span) for h in checker.check(normalise("荷泽市民要警钟常鸣，市长周明喆强调。"))}
    assert found == {("confusion", "荷泽"), ("confusion", "警钟常鸣"), ("proper_name", "周明喆")}
    alone = checker_of(settings_with(tmp_path, 'confusion = ["more.txt"]\nreplace = ["confusion"]\n'))
    assert [h.span for h in alone.check(normalise("荷泽市民要警钟常鸣。"))] == ["荷泽"]
    # the built-in lists: national formulations, the general confusion and forbidden lists, no people
    builtin = checker_of(None)
    assert [h.suggestion for h in builtin.check(normalise("坚持全面从严治当，警钟常鸣，市长周明喆"))] == [
        "全面从严治党", "警钟长鸣"]


def test_the_sandbox_city_settings_point_at_its_list_inside_the_package() -> None:
    settings = load_settings(Path(__file__).resolve().parents[2] / "settings.toml", require_secrets=False)
    assert "wording" in settings.pipelines.order
    assert [h.span for h in checker_of(settings).check(normalise("市长周明喆"))] == ["周明喆"]


def test_list_problems_are_settings_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"pipelines\.wording\.forbidden\[0\]: list file not found"):
        settings_with(tmp_path, 'forbidden = ["nowhere.toml"]\n')
    (tmp_path / "bad.txt").write_text("警钟常鸣 警钟长鸣 多余\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.txt:1: expected 'wrong<TAB>right'"):
        checker_of(settings_with(tmp_path, 'confusion = ["bad.txt"]\n'))
    (tmp_path / "bad.toml").write_text('[[person]]\ntitle = "市长"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"person\[0\]\.name: missing key"):
        read_protected(tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match="wording"):
        load_settings(write(tmp_path, BASE + '[[alerts]]\nname = "wording:x"\nwords = ["a"]\n'), env={})


# -- dismissals (SQLite and PostgreSQL) ----------------------------------------------------------

def stored(repo: Repo, posts: list[Post]) -> list[int]:
    """The posts stored under one account; their ids, in order."""
    repo.accounts.sync([AccountSpec("市新闻办", "新闻办", "weibo", "2810374651", "菏泽发布", True, None, {})])
    [account] = repo.accounts.find()
    assert account.id is not None
    repo.posts.upsert(account.id, posts, NOW)
    ids = {p.native_id: post_id for batch in repo.posts.iter_stored() for post_id, _, p in batch}
    return [ids[p.native_id] for p in posts]


def test_dismissed_hits_stop_blocking(repo: Repo) -> None:
    steps = build(["clean", "alerts", "wording"], SimpleNamespace(alerts=[], pipelines=None))
    posts = [post("<p>要警钟常鸣，坚持全面从严治当。</p>"), post("<p>今天天气很好。</p>")]
    posts[1].native_id = "2"
    run(steps, posts)
    first, second = stored(repo, posts)
    blocking = repo.wording.blocking([first, second, 999])
    assert list(blocking) == [first] and [h["span"] for h in blocking[first]] == ["警钟常鸣", "全面从严治当"]
    key = blocking[first][0]["key"]
    assert repo.wording.dismiss(first, key, "审核员甲", NOW, "原文引用，不改") is True
    assert repo.wording.dismiss(first, key, "审核员乙", NOW + timedelta(hours=1)) is False  # the first is kept
    assert repo.wording.dismissed([first, second]) == {first: {key}}
    assert [h["span"] for h in repo.wording.blocking([first])[first]] == ["全面从严治当"]
    [row] = repo.wording.dismissals(first)
    assert (row["actor"], row["note"], row["at"]) == ("审核员甲", "原文引用，不改", NOW)
    record = {"id": first, "alerts": posts[0].alerts}
    assert [h["span"] for h in repo.wording.open_hits(record)] == ["全面从严治当"]
    repo.wording.dismiss(first, blocking[first][1]["key"], "审核员甲", NOW)
    assert repo.wording.blocking([first]) == {} and repo.wording.open_hits(record) == []
    assert repo.wording.open_hits(SimpleNamespace(id=second, alerts=[])) == []


def test_dismissing_nothing_or_no_post_is_refused(repo: Repo) -> None:
    [first] = stored(repo, [post("<p>要警钟常鸣。</p>")])
    with pytest.raises(ValueError, match="not a wording hit key"):
        repo.wording.dismiss(first, " ", "审核员甲", NOW)
    with pytest.raises(ValueError, match="no such post"):
        repo.wording.dismiss(first + 100, "confusion|警钟常鸣|警钟长鸣", "审核员甲", NOW)
    assert repo.wording.blocking([]) == {} and repo.wording.dismissed([]) == {}


# -- measured on the labelled set ----------------------------------------------------------------

LISTS = ("confusion", "proper_name", "forbidden", "secret", "bad_link")
# Floors just under what was measured (see the figures printed with -s); recall of the confusion list
# counts the 32 sentences whose error is in no list (a recall probe an exact list must miss).
PRECISION_FLOOR = {"confusion": 0.98, "proper_name": 0.98, "forbidden": 0.98, "secret": 0.97, "bad_link": 0.97}
RECALL_FLOOR = {"confusion": 0.74, "proper_name": 0.98, "forbidden": 0.98, "secret": 0.97, "bad_link": 0.97}


def test_precision_and_recall_per_list_on_the_labelled_set() -> None:
    rows = [json.loads(line) for line in (FIXTURES / "labelled.jsonl").read_text(encoding="utf-8").splitlines()]
    found, wrong, total, exact, in_list = Counter(), Counter(), Counter(), Counter(), Counter()
    clean_hits = []
    for row in rows:
        text, label = normalise(row["text"]), row["label"]
        hits = city().check(text)
        if label == "clean":
            clean_hits += [(row["id"], h) for h in hits]
            continue
        total[label] += 1
        span = normalise(row["span"])
        start = text.find(span)
        mine = [h for h in hits if h.list == label and h.offset < start + len(span) and start < h.offset + len(h.span)]
        found[label] += bool(mine)
        in_list[label] += bool(mine) and row.get("in_list") is True
        exact[label] += any(h.span == span and normalise(row["expected"]) in (h.suggestion, h.category) for h in mine)
        wrong.update(h.list for h in hits if h not in mine)
    print(f"\nwording check on {len(rows)} labelled sentences "
          f"({sum(r['label'] == 'clean' for r in rows)} clean): hits on clean sentences {len(clean_hits)}")
    for name in LISTS:
        precision = found[name] / ((found[name] + wrong[name]) or 1)
        recall = found[name] / total[name]
        print(f"  {name:12} precision {precision:.3f}  recall {recall:.3f} ({found[name]}/{total[name]}; "
              f"span and correction exact {exact[name]}; false hits {wrong[name]})")
        assert precision >= PRECISION_FLOOR[name] and recall >= RECALL_FLOOR[name], name
    listed = sum(r.get("in_list") is True for r in rows)
    print(f"  confusion, wrong form in the list: recall {in_list['confusion'] / listed:.3f} "
          f"({in_list['confusion']}/{listed}); not in the list: {found['confusion'] - in_list['confusion']}/"
          f"{total['confusion'] - listed} (an exact list cannot find them)")
    assert in_list["confusion"] / listed >= 0.98
    assert clean_hits == []


def test_the_lists_read_as_the_fixture_readme_says() -> None:
    lists: Lists = read_confusion(FIXTURES / "confusion.txt")
    assert len(lists.confusion) == 276 and lists.confusion["警钟常鸣"] == "警钟长鸣"
    protected = read_protected(FIXTURES / "protected_names.toml")
    assert (len(protected.persons), len(protected.organs), len(protected.formulations)) == (20, 28, 23)
    forbidden = read_forbidden(FIXTURES / "forbidden.toml")
    assert {c.name: c.list for c in forbidden.categories}["secrets"] == "secret" and len(forbidden.bad_domains) == 9
