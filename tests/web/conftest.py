"""A store with three departments' items (one near-duplicate cluster across two of them) and one user
of each kind, and a client of the web app over it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from govmatrix.clock import Clock
from govmatrix.config import load_settings
from govmatrix.models import ARTICLE, ORIGINAL, Post
from govmatrix.pipelines.clean import normalise
from govmatrix.storage import schema as t
from govmatrix.storage.repo import AccountSpec, Repo
from govmatrix.tz import SHANGHAI
from govmatrix.web.app import create_app
from govmatrix.web.auth import hash_password

NOW = datetime(2016, 7, 3, 9, 0, tzinfo=SHANGHAI)
T0 = datetime(2016, 7, 1, 8, 0, tzinfo=SHANGHAI)
PASSWORD = "correct horse battery"
USERS = {"admin": ("admin", ()), "reviewer": ("reviewer", ()), "xinwen": ("reviewer", ("市新闻办",)),
         "viewer": ("viewer", ())}
ACCOUNTS = [("菏泽市人民政府新闻办公室", "市新闻办", "weibo", "1", "菏泽发布"),
            ("菏泽市食品药品监督管理局", "市食药监局", "wechat", "2", "菏泽食药监"),
            ("菏泽市卫生和计划生育委员会", "市卫计委", "feeds", "3", "健康菏泽")]


def post(native_id: str, text: str, minutes: int, platform: str = "weibo", html: str = "", **kw: object) -> Post:
    values: dict[str, object] = {
        "platform": platform, "native_id": native_id, "text": text, "body": html or text, "html": html,
        "text_norm": normalise(text), "published_at": T0 + timedelta(minutes=minutes),
        "kind": ARTICLE if platform == "wechat" else ORIGINAL, "url": f"https://example.gov.cn/{platform}/{native_id}"}
    values.update(kw)
    return Post(**values)  # type: ignore[arg-type]


def account_id(repo: Repo, native_id: str) -> int:
    [account] = repo.accounts.find(native_id=native_id)
    return account.id


def store(repo: Repo, account: str, *posts: Post) -> list[int]:
    repo.posts.upsert(account_id(repo, account), list(posts), NOW)
    return [post_id(repo, p.platform, p.native_id) for p in posts]


def post_id(repo: Repo, platform: str, native_id: str) -> int:
    from sqlalchemy import select

    with repo.engine.connect() as conn:
        return int(conn.execute(select(t.posts.c.id).where(
            t.posts.c.platform == platform, t.posts.c.native_id == native_id)).scalar_one())


def cluster(repo: Repo, ids: list[int]) -> None:
    """What the dedup pipeline records for a near-duplicate cluster: every member points at the first."""
    with repo.engine.begin() as conn:
        conn.execute(update(t.posts).where(t.posts.c.id.in_(ids)).values(cluster_id=min(ids)))


@pytest.fixture
def repo(repo: Repo) -> Repo:
    repo.accounts.sync([AccountSpec(department=d, department_short=s, platform=p, native_id=n, name=name,
                                    enabled=True, interval=None, options={}) for d, s, p, n, name in ACCOUNTS])
    for name, (role, departments) in USERS.items():
        repo.users.add(name, role, hash_password(PASSWORD), NOW, departments)
    return repo


@pytest.fixture
def items(repo: Repo) -> dict[str, int]:
    """Named items: a release posted by three accounts (one cluster), and items of each department."""
    release = "【菏泽发布】我市启动食品安全宣传周活动，市民可到各区县服务大厅参与体验。"
    first, = store(repo, "1", post("w1", release, 10))
    second, = store(repo, "2", post("m1", release, 20, "wechat", html=f"<p>{release}</p>"))
    third, = store(repo, "3", post("f1", release, 30, "feeds"))
    cluster(repo, [first, second, third])
    named = {"release": first, "release_wechat": second, "release_feeds": third}
    named["weather"], = store(repo, "1", post("w2", "#菏泽天气# 今天白天晴，最高气温30度。", 40))
    named["vaccine"], = store(repo, "2", post("m2", "疫苗接种点名单公布", 50, "wechat",
                                              html='<p>疫苗接种点名单公布</p><p><img src="https://mmbiz.qpic.cn/a.jpg"></p>'))
    named["health"], = store(repo, "3", post("f2", "健康菏泽：夏季防溺水提示", 60, "feeds"))
    return named


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = tmp_path / "settings.toml"
    config.write_text('[web]\nsite_title = "菏泽发布 微网站"\nbase_url = "https://wx.heze.example"\n'
                      "login_attempts = 3\n", encoding="utf-8")
    return load_settings(config, env={})


class Browser(TestClient):
    """A client of the app that can log in and send forms with the page's CSRF token."""

    csrf = ""

    def login(self, name: str, password: str = PASSWORD) -> int:
        page = self.get("/desk/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None
        answer = self.post("/desk/login", data={"name": name, "password": password, "csrf": token[1]},
                           follow_redirects=False)
        if answer.status_code == 303:
            desk = self.get("/desk/")
            found = re.search(r'name="csrf-token" content="([^"]+)"', desk.text)
            assert found is not None
            self.csrf = found[1]
        return answer.status_code

    def act(self, action: str, *ids: int, cluster: bool = False, note: str = "") -> object:
        return self.post("/desk/review", data={"csrf": self.csrf, "action": action, "ids": [str(i) for i in ids],
                                               "cluster": "1" if cluster else "0", "note": note},
                         follow_redirects=False)


@pytest.fixture
def client(repo: Repo, settings) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    app = create_app(settings, repo, Clock(fixed=NOW), secret="test-secret")
    with Browser(app, base_url="http://testserver") as browser:
        yield browser
