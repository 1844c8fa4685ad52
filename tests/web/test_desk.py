"""The review desk and the micro-site through the app: who may do what, CSRF, audit, and what becomes public."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from govmatrix.storage.repo import Repo
from govmatrix.web.auth import new_token, token_hash
from govmatrix.web.commands import publish_command

from .conftest import NOW, Browser

ACTIONS = ("approve", "hide", "pin", "reset")


def state(repo: Repo, post_id: int) -> str:
    row = repo.feed.one(post_id)
    assert row is not None
    return str(row["review_state"])


def public_ids(client: Browser) -> list[int]:
    feed = orjson.loads(client.get("/feed.json").content)
    return [int(item["id"].rstrip("/").rsplit("/", 1)[1]) for item in feed["items"]]


def test_anonymous_visitors_are_sent_to_the_login_page_and_refused_every_action(
        client: Browser, repo: Repo, items: dict[str, int]) -> None:
    for page in ("/desk/", "/dashboard/", "/desk/audit", f"/desk/item/{items['vaccine']}"):
        answer = client.get(page, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/desk/login?next=")
    assert client.act("approve", items["vaccine"]).status_code == 403  # type: ignore[attr-defined]
    assert client.post("/api/review", json={"ids": [items["vaccine"]], "action": "approve"}).status_code == 403
    assert client.get("/api/feed").status_code == 401
    assert client.post("/desk/wording/dismiss", data={"post_id": items["vaccine"], "key": "k"}).status_code == 403
    assert state(repo, items["vaccine"]) == "pending"


def test_a_viewer_reads_but_every_action_is_refused(client: Browser, repo: Repo, items: dict[str, int]) -> None:
    assert client.login("viewer") == 303
    assert client.get("/desk/").status_code == 200 and client.get("/dashboard/").status_code == 200
    for action in (*ACTIONS, "note"):
        answer = client.act(action, items["vaccine"], note="x")
        assert answer.status_code == 403, action  # type: ignore[attr-defined]
    assert client.post("/api/review", json={"ids": [items["vaccine"]], "action": "approve"},
                       headers={"X-CSRF-Token": client.csrf}).status_code == 403
    assert client.get("/desk/audit").status_code == 403
    assert state(repo, items["vaccine"]) == "pending" and repo.reviews.events() == []


def test_a_request_without_the_session_csrf_token_is_refused(client: Browser, repo: Repo,
                                                             items: dict[str, int]) -> None:
    assert client.login("reviewer") == 303
    target = items["vaccine"]
    for token in ("", "forged-token"):
        answer = client.post("/desk/review", data={"csrf": token, "action": "approve", "ids": [str(target)]})
        assert answer.status_code == 403
        assert client.post("/api/review", json={"ids": [target], "action": "approve"},
                           headers={"X-CSRF-Token": token}).status_code == 403
    assert client.post("/desk/logout", data={}).status_code == 403  # logout is a state change too
    assert state(repo, target) == "pending"
    assert client.act("approve", target).status_code == 303  # type: ignore[attr-defined]
    assert state(repo, target) == "approved"


def test_a_reviewer_limited_to_one_department_cannot_act_on_another(client: Browser, repo: Repo,
                                                                    items: dict[str, int]) -> None:
    assert client.login("xinwen") == 303  # 市新闻办 only
    answer = client.act("approve", items["vaccine"])  # 市食药监局's
    assert answer.status_code == 403 and "不在你负责的部门内" in answer.text  # type: ignore[attr-defined]
    assert client.act("approve", items["weather"], items["vaccine"]).status_code == 403  # type: ignore[attr-defined]
    assert state(repo, items["weather"]) == "pending"  # the whole action was refused
    # on a cluster it acts on its own department's member only
    assert client.act("approve", items["release"], cluster=True).status_code == 303  # type: ignore[attr-defined]
    assert [state(repo, items[k]) for k in ("release", "release_wechat", "release_feeds")] == [
        "approved", "pending", "pending"]
    queue = client.get("/desk/?state=all&view=items").text
    assert queue.count('name="item" value="approve:') == 2  # buttons only on 市新闻办's two items


def test_approve_publishes_hide_withdraws_pin_comes_first(client: Browser, repo: Repo, items: dict[str, int]) -> None:
    assert client.get("/").status_code == 200 and public_ids(client) == []
    assert client.login("reviewer") == 303
    for key in ("vaccine", "health", "weather"):
        client.act("approve", items[key])
    assert public_ids(client) == [items["health"], items["vaccine"], items["weather"]]  # newest first
    home = client.get("/").text
    assert "疫苗接种点名单公布" in home and "夏季防溺水提示" in home
    assert client.get(f"/item/{items['vaccine']}/").status_code == 200

    client.act("hide", items["vaccine"])
    assert items["vaccine"] not in public_ids(client)
    assert "疫苗接种点名单公布" not in client.get("/").text and "疫苗" not in client.get("/feed.atom").text
    assert client.get(f"/item/{items['vaccine']}/").status_code == 404

    client.act("pin", items["weather"])
    assert public_ids(client)[0] == items["weather"]
    home = client.get("/").text
    assert home.index("今天白天晴") < home.index("夏季防溺水提示") and "置顶" in home


def test_a_cluster_is_approved_once_and_shown_once(client: Browser, repo: Repo, items: dict[str, int]) -> None:
    assert client.login("reviewer") == 303
    desk = client.get("/desk/").text
    assert desk.count("我市启动食品安全宣传周活动") == 1 and "同时发布：菏泽食药监, 健康菏泽" in desk
    answer = client.act("approve", items["release"], cluster=True)
    assert "通过：3 条" in client.get(answer.headers["location"]).text  # type: ignore[attr-defined]
    assert all(state(repo, items[k]) == "approved" for k in ("release", "release_wechat", "release_feeds"))
    assert public_ids(client) == [items["release"]]
    assert client.get("/").text.count("我市启动食品安全宣传周活动") == 1
    client.act("hide", items["release"])  # the first member hidden: the next approved member stands for it
    assert public_ids(client) == [items["release_wechat"]]


def test_the_audit_page_shows_each_action_with_who_and_the_states(client: Browser, repo: Repo,
                                                                  items: dict[str, int]) -> None:
    assert client.login("reviewer") == 303
    client.act("approve", items["vaccine"])
    client.act("hide", items["vaccine"], note="内容有误，撤下")
    client.act("note", items["health"], note="等待部门确认")
    events = repo.reviews.events()
    assert [(e["actor"], e["from_state"], e["to_state"], e["note"]) for e in events] == [
        ("reviewer", "pending", "pending", "等待部门确认"), ("reviewer", "approved", "hidden", "内容有误，撤下"),
        ("reviewer", "pending", "approved", "")]
    assert client.get("/desk/audit").status_code == 403  # reviewers do not see the audit page
    admin = Browser(client.app, base_url="http://testserver")
    assert admin.login("admin") == 303
    audit = admin.get("/desk/audit").text
    assert audit.count("<td>reviewer</td>") == 3 and "内容有误，撤下" in audit and "已隐藏" in audit
    assert "2016-07-03 09:00:00" in audit  # local time, to the second


def test_logins_are_throttled_after_repeated_failures(client: Browser) -> None:
    for _ in range(3):  # login_attempts = 3 in the test settings
        assert client.login("reviewer", "wrong") == 401
    assert client.login("reviewer") == 429  # even the right password, for the window
    assert client.login("admin") == 303  # another name is not held up


def test_a_disabled_user_or_a_new_password_ends_the_session(client: Browser, repo: Repo) -> None:
    assert client.login("reviewer") == 303
    repo.users.change("reviewer", NOW, disabled=True)
    assert client.get("/desk/", follow_redirects=False).status_code == 303
    assert client.login("reviewer") == 401


def test_login_goes_back_only_to_the_desk(client: Browser) -> None:
    page = client.get("/desk/login?next=//evil.example/x")
    assert 'name="next" value="/desk/"' in page.text
    cookie = client.cookies.get("govmatrix_session")
    assert cookie and "HttpOnly" in page.headers["set-cookie"] and "SameSite=lax" in page.headers["set-cookie"]


def test_scripts_act_with_an_api_token_and_no_csrf(client: Browser, repo: Repo, items: dict[str, int]) -> None:
    token = new_token()
    repo.users.change("reviewer", NOW, token_hash=token_hash(token))
    answer = client.post("/api/review", json={"ids": [items["vaccine"]], "action": "pin"},
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json()["changed"] == 1
    assert client.post("/api/review", json={"ids": [items["vaccine"]], "action": "pin"},
                       headers={"Authorization": "Bearer gm_wrong"}).status_code == 403
    feed = client.get("/api/feed?state=pinned", headers={"Authorization": f"Bearer {token}"}).json()
    assert [i["id"] for i in feed["items"]] == [items["vaccine"]]


@pytest.mark.parametrize("path", ["/", "/feed.json", "/feed.atom", "/desk/login", "/static/site.css", "/nope/",
                                  "/api/feed", "/openapi.json"])
def test_every_response_carries_the_security_headers(client: Browser, items: dict[str, int], path: str) -> None:
    headers = client.get(path).headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"]


def test_public_pages_answer_304_until_a_review_changes_them(client: Browser, items: dict[str, int]) -> None:
    first = client.get("/feed.json")
    assert first.headers["cache-control"].startswith("public") and first.headers["last-modified"]
    again = client.get("/feed.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/feed.json", headers={"If-Modified-Since": first.headers["last-modified"]}).status_code == 304
    client.login("reviewer")
    client.act("approve", items["health"])
    changed = client.get("/feed.json", headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]


def test_every_public_page_announces_its_feeds(client: Browser, items: dict[str, int]) -> None:
    client.login("reviewer")
    client.act("approve", items["vaccine"])
    for path in ("/", f"/item/{items['vaccine']}/", "/d/%E5%B8%82%E9%A3%9F%E8%8D%AF%E7%9B%91%E5%B1%80/"):
        page = client.get(path).text
        assert 'rel="alternate" type="application/feed+json"' in page and 'type="application/atom+xml"' in page
        assert 'name="viewport"' in page and "<script" not in page and "http-equiv" not in page


def _public_text(out: Path) -> str:
    return "\n".join(f.read_text(encoding="utf-8") for f in sorted(out.rglob("*")) if f.is_file()
                     and f.suffix in (".html", ".json", ".atom"))


def test_the_static_export_holds_approved_items_only_and_follows_hiding(
        client: Browser, repo: Repo, items: dict[str, int], settings: Any, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    client.login("reviewer")
    client.act("approve", items["vaccine"])
    client.act("approve", items["release"], cluster=True)
    client.act("hide", items["health"])
    out = tmp_path / "site"
    assert publish_command(repo, settings, str(out), None) == 0
    text = _public_text(out)
    assert "疫苗接种点名单公布" in text and "食品安全宣传周" in text
    assert "夏季防溺水提示" not in text and "今天白天晴" not in text  # hidden, pending
    assert (out / "item" / str(items["vaccine"]) / "index.html").is_file()
    assert (out / "d" / "市食药监局" / "index.html").is_file() and (out / "static" / "site.css").is_file()
    feed = orjson.loads((out / "feed.json").read_bytes())
    assert feed["items"][0]["url"].startswith("https://wx.heze.example/item/")
    client.act("hide", items["vaccine"])
    assert publish_command(repo, settings, str(out), None) == 0
    assert "1 removed" in capsys.readouterr().out.splitlines()[-1]
    assert not (out / "item" / str(items["vaccine"])).exists() and "疫苗" not in _public_text(out)
    assert publish_command(repo, settings, str(out), None) == 0
    assert "0 files written" in capsys.readouterr().out  # nothing changed: nothing written


def test_the_inspection_page_shows_the_veto_items_the_days_alarms_and_its_files(
        client: Browser, repo: Repo, items: dict[str, int], settings: Any) -> None:
    from govmatrix.matrix.inspection import raise_day_alarms
    from govmatrix.storage.repo import AccountSpec

    from .conftest import ACCOUNTS, post, store

    quiet = ("菏泽市统计局", "市统计局", "weibo", "4", "菏泽统计")
    repo.accounts.sync([AccountSpec(department=d, department_short=s, platform=p, native_id=n, name=name,
                                    enabled=True, interval=None, options={}) for d, s, p, n, name in [*ACCOUNTS, quiet]])
    store(repo, "4", post("s1", "统计公报发布", -60 * 24 * 11))  # 2016-06-20: 13 days before NOW, one day left
    [alarm] = [a for a in raise_day_alarms(repo, settings, NOW) if a["account_id"] == repo.accounts.find(native_id="4")[0].id]
    assert alarm["kind"] == "update_warning"
    assert client.get("/dashboard/inspection", follow_redirects=False).status_code == 303  # login first
    assert client.login("viewer") == 303
    page = client.get("/dashboard/inspection").text
    assert "单项否决 · 2016-07-03" in page and "菏泽统计" in page and "健康菏泽" in page
    passed, inspected, percent = re.search(r"合格率：全部 (\d+)/(\d+)（([\d.]+)%）", page).groups()  # type: ignore[union-attr]
    assert inspected == "4" and float(percent) == round(int(passed) / 4 * 100, 1)
    assert alarm["message"] in page.split('id="alarms"')[1].split("</section>")[0]
    assert alarm["message"] in client.get("/desk/").text  # the desk shows the day's alarms
    assert client.get("/dashboard/inspection?date=2016-07-04").status_code == 400  # the future is not inspected
    assert client.get("/dashboard/inspection?date=2016-7").status_code == 400
    xlsx = client.get("/dashboard/reports/inspection-2016-07-03.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    csv_text = client.get("/dashboard/reports/register-2016-07-03.csv").content.decode("utf-8-sig")
    assert "菏泽统计" in csv_text
    monthly = client.get("/dashboard/reports/matrix-2016-07.html")
    assert monthly.status_code == 200 and "2016年7月" in monthly.text and "Last-Modified" in monthly.headers
    assert client.get("/dashboard/reports/matrix-2016-13.xlsx").status_code == 400
    assert client.get("/dashboard/reports/other-2016-07.xlsx").status_code == 404
    api = client.get("/api/inspection", params={"date": "2016-07-03"}).json()
    assert {a["name"] for a in api["accounts"]} == {"菏泽发布", "菏泽食药监", "健康菏泽", "菏泽统计"}
    assert [a["message"] for a in api["alarms"]] == [alarm["message"]] and api["day"] == "2016-07-03"
    assert client.get("/api/inspection", params={"date": "2016-07-04"}).status_code == 400
