"""The desk, the dashboard and the micro-site in a real headless Chromium (Debian's), on SQLite:
log in, filter and search, approve / hide / pin, a cluster once, the audit page, keyboard shortcuts,
screenshots at phone width with the fonts Chromium drew, and the XSS corpus never executing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from govmatrix.clock import Clock
from govmatrix.config import load_settings
from govmatrix.models import ORIGINAL
from govmatrix.pipelines.clean import CleanPipeline
from govmatrix.storage.repo import Repo
from govmatrix.web.app import create_app

from ..pipelines.test_xss import PAYLOADS
from .conftest import NOW, PASSWORD, post, store
from .live import PHONE, SCREENSHOTS, chromium, fonts_of, need_chromium, served


@pytest.fixture
def db_url(tmp_path: Path) -> str:  # one backend: the browser sees the same pages on both
    return f"sqlite:///{tmp_path / 'web.db'}"


@pytest.fixture
def site(repo: Repo, tmp_path: Path) -> Iterator[str]:
    need_chromium()
    config = tmp_path / "settings.toml"
    config.write_text('[web]\nsite_title = "菏泽发布 微网站"\npage_size = 100\n', encoding="utf-8")
    app = create_app(load_settings(config, env={}), repo, Clock(fixed=NOW), secret="browser-test")
    with served(app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    need_chromium()
    with chromium() as b:
        yield b


def login(browser: Any, site: str, name: str, **context: Any) -> Any:
    page = browser.new_context(**context).new_page()
    page.goto(f"{site}/desk/")
    assert "/desk/login" in page.url
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{site}/desk/")
    return page


def feed_titles(page: Any, site: str) -> list[str]:
    answer = page.request.get(f"{site}/feed.json")
    return [item["title"] for item in orjson.loads(answer.body())["items"]]


def item_button(page: Any, action: str, post_id: int) -> Any:
    return page.locator(f'button[name="item"][value="{action}:{post_id}"]')


def test_review_in_the_browser_reaches_the_micro_site_and_the_audit_page(
        browser: Any, site: str, repo: Repo, items: dict[str, int]) -> None:
    desk = login(browser, site, "reviewer")
    assert desk.locator(".queue .item").count() == 4  # the release once, with its copies named
    assert "同时发布：菏泽食药监, 健康菏泽" in desk.inner_text(".queue")

    desk.fill('input[name="q"]', "疫苗")
    desk.click('.filters button[type="submit"]')
    assert desk.locator(".queue .item").count() == 1 and "疫苗接种点名单公布" in desk.inner_text(".queue")
    item_button(desk, "approve", items["vaccine"]).click()
    desk.wait_for_selector(".done")
    assert "通过：1 条" in desk.inner_text(".done")

    public = browser.new_context(viewport=PHONE).new_page()
    public.goto(f"{site}/")
    assert "疫苗接种点名单公布" in public.inner_text(".items")
    assert feed_titles(public, site) == ["疫苗接种点名单公布"]

    desk.goto(f"{site}/desk/?state=approved")
    item_button(desk, "hide", items["vaccine"]).click()
    desk.wait_for_selector(".done")
    public.reload()
    assert "疫苗接种点名单公布" not in public.inner_text("main") and feed_titles(public, site) == []

    desk.goto(f"{site}/desk/")  # pending, alerts first: approve the release for all three accounts at once
    item_button(desk, "approve", items["release"]).click()
    desk.wait_for_selector(".done")
    assert "通过：3 条" in desk.inner_text(".done")
    desk.goto(f"{site}/desk/?department=市卫计委")
    item_button(desk, "pin", items["health"]).click()
    desk.wait_for_selector(".done")
    public.reload()
    titles = [t.strip() for t in public.locator(".items .title").all_inner_texts()]
    assert titles[0].startswith("健康菏泽：夏季防溺水提示") and len(titles) == 2  # pinned first; the release once
    assert feed_titles(public, site)[0] == "健康菏泽：夏季防溺水提示"

    admin = login(browser, site, "admin")
    admin.goto(f"{site}/desk/audit")
    rows = admin.locator(".events tbody tr").all_inner_texts()
    assert len(rows) == 1 + 1 + 3 + 1  # approve, hide, the release's three members, pin
    assert all("reviewer" in r for r in rows) and "置顶" in rows[0] and "已隐藏" in " ".join(rows)


def test_keyboard_shortcuts_move_and_approve(browser: Any, site: str, repo: Repo, items: dict[str, int]) -> None:
    desk = login(browser, site, "reviewer")
    first = int(desk.locator(".queue .item").nth(1).get_attribute("data-id"))
    desk.keyboard.press("j")
    desk.keyboard.press("j")
    assert desk.locator(".queue .item.focused").get_attribute("data-id") == str(first)
    desk.keyboard.press("a")
    desk.wait_for_selector(".done")
    row = repo.feed.one(first)
    assert row is not None and row["review_state"] == "approved"


def _cjk_drawn(page: Any, selector: str) -> None:
    fonts = fonts_of(page, selector)
    assert any("CJK" in family for family in fonts), f"{selector} drawn with {fonts} (no CJK font: tofu)"


def test_screenshots_at_phone_width_render_chinese(browser: Any, site: str, repo: Repo,
                                                   items: dict[str, int]) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    desk = login(browser, site, "admin", viewport=PHONE)
    desk.screenshot(path=str(SCREENSHOTS / "desk-phone.png"), full_page=True)
    _cjk_drawn(desk, ".queue .item .open")
    item_button(desk, "approve", items["release"]).click()
    desk.wait_for_selector(".done")
    desk.goto(f"{site}/dashboard/?month=2016-07")
    assert "矩阵看板" in desk.inner_text("h1")
    desk.screenshot(path=str(SCREENSHOTS / "dashboard-phone.png"), full_page=True)
    _cjk_drawn(desk, "h1")
    desk.goto(f"{site}/dashboard/inspection?date=2016-07-03")
    assert "单项否决" in desk.inner_text("h1") and "健康菏泽" in desk.inner_text("main")
    desk.screenshot(path=str(SCREENSHOTS / "inspection-phone.png"), full_page=True)
    _cjk_drawn(desk, ".sheet h2")
    public = browser.new_context(viewport=PHONE).new_page()
    public.goto(f"{site}/")
    public.screenshot(path=str(SCREENSHOTS / "site-phone.png"), full_page=True)
    _cjk_drawn(public, ".items .title")
    public.click(".items .link")
    public.screenshot(path=str(SCREENSHOTS / "site-item-phone.png"), full_page=True)
    _cjk_drawn(public, ".post .heading")
    assert public.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling


def test_the_xss_corpus_published_through_the_desk_never_executes(browser: Any, site: str, repo: Repo) -> None:
    clean = CleanPipeline()
    posts = []
    for n, payload in enumerate(PAYLOADS):
        p = post(f"x{n}", "", n, "feeds", html=payload, kind=ORIGINAL, title=f"样本{n}")
        p.body = payload
        clean.process(p)
        posts.append(p)
    ids = store(repo, "3", *posts)
    desk = login(browser, site, "reviewer")
    executed: list[str] = []
    for context in browser.contexts:
        context.add_init_script("window.alert = window.confirm = window.prompt = function () { window.__xss = 1; };")
    desk.on("dialog", lambda dialog: (executed.append(dialog.message), dialog.dismiss()))
    # the payloads' foreign addresses fail at once (an unreachable host would hold each page's load event);
    # a handler that survived would still run on the error
    desk.route(lambda url: not url.startswith(site), lambda route: route.abort())

    def check(where: str) -> None:
        if desk.evaluate("window.__xss") is not None:
            executed.append(where)

    desk.goto(f"{site}/desk/?department=市卫计委&view=items")
    check("desk queue")
    while desk.locator('.queue input[name="ids"]').count():  # page by page, 100 at a time, as a reviewer would
        desk.check(".select-all")
        desk.click('.bulk button[value="approve"]')
        desk.wait_for_selector(".done")
        check("desk queue, after approving")
    assert all(repo.feed.one(i)["review_state"] == "approved" for i in ids)  # type: ignore[index]
    desk.goto(f"{site}/desk/?department=市卫计委&view=items&state=approved")
    check("desk queue, approved")
    for post_id in ids[:10]:  # navigated to, under the pages' own CSP
        for path in (f"/desk/item/{post_id}", f"/item/{post_id}/"):
            desk.goto(site + path)
            check(path)
    for base in ("/desk/item/{}", "/item/{}/"):  # every item page's body, 50 to a document without any CSP
        for start in range(0, len(ids), 50):
            bodies = [desk.request.get(site + base.format(i)).text() for i in ids[start:start + 50]]
            assert all("样本" in body for body in bodies)  # the item pages, not a login page or an error
            desk.goto("about:blank")
            desk.set_content("".join(b.split("<body>", 1)[1].rsplit("</body>", 1)[0] for b in bodies))
            desk.wait_for_timeout(300)
            check(f"{base} bodies from {start}")
    for path in ("/", "/feed.atom"):
        desk.goto(site + path)
        check(path)
    feed = orjson.loads(desk.request.get(f"{site}/feed.json").body())
    # a feed reader shows content_html as HTML: put it in a page with no CSP at all
    desk.goto("about:blank")
    desk.set_content("<div>" + "".join(item["content_html"] for item in feed["items"]) + "</div>")
    desk.wait_for_timeout(300)
    check("JSON Feed content_html")
    atom = desk.request.get(f"{site}/feed.atom").text()
    desk.goto("about:blank")
    desk.set_content(atom.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&"))
    desk.wait_for_timeout(300)
    check("Atom content")
    assert executed == []
    desk.goto("about:blank")
    desk.set_content('<img src="/nothing" onerror="window.__xss = 1">')  # the sentinel does see an execution
    desk.wait_for_timeout(300)
    check("control")
    assert executed == ["control"]
