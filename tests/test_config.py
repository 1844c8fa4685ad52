"""Settings: every kind of error names the file and the key path; the example file matches the sandbox city."""

from __future__ import annotations

from pathlib import Path

import pytest

from govmatrix.config import load_settings
from govmatrix.errors import ConfigError
from govmatrix.sandbox.city import DEPARTMENTS

from .conftest import ROOT, SANDBOX_SECRETS

BASE = """
[[departments]]
name = "菏泽市人民政府新闻办公室"
short_name = "市新闻办"

[[departments.accounts]]
platform = "weibo"
id = "2810374651"
name = "菏泽发布"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), env=env or {})
    return str(info.value)


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, BASE), env={})
    assert settings.storage.url == "sqlite:///govmatrix.db"
    assert settings.scheduler.timezone == "Asia/Shanghai"
    assert settings.platform("weibo").base_url == "https://m.weibo.cn"
    [(dept, acc)] = settings.accounts()
    assert (dept.short_name, acc.platform, acc.id, acc.enabled, acc.interval) == ("市新闻办", "weibo", "2810374651",
                                                                                  True, None)


@pytest.mark.parametrize(("text", "expected"), [
    (BASE.replace('platform = "weibo"', 'platform = "weixin"'),
     "departments[0].accounts[0].platform: unknown platform 'weixin' (known: weibo, wechat, forum, feeds)"),
    (BASE + "colour = 1\n", "departments[0].accounts[0].colour: unknown key"),
    ("[storage]\nurl = 5\n" + BASE, "storage.url: expected a string"),
    ("[scheduler]\nmin_interval = \"often\"\n", "scheduler.min_interval: expected an integer"),
    ("[scheduler]\ntimezone = \"Mars/Olympus\"\n", "scheduler.timezone: unknown time zone 'Mars/Olympus'"),
    ("[scheduler]\nmin_interval = 900\nmax_interval = 60\n", "scheduler: min_interval is larger than max_interval"),
    ("[platforms.weibo]\nrate = \"fast\"\n", "platforms.weibo.rate: expected a number"),
    ("[platforms.weixin]\nrate = 1\n", "platforms: unknown platform 'weixin'"),
    (BASE + BASE.split("\n[[departments.accounts]]")[0].replace("新闻办", "x") + "\n[[departments.accounts]]\n"
     'platform = "weibo"\nid = "2810374651"\nname = "again"\n',
     "departments[1].accounts[0].id: duplicate account weibo 2810374651 (also departments[0].accounts[0])"),
    (BASE.replace('name = "菏泽发布"', ""), "departments[0].accounts[0].name: missing key"),
    (BASE.replace('platform = "weibo"', 'platform = "feeds"'), "departments[0].accounts[0].url: missing key"),
    (BASE.replace('platform = "weibo"', 'platform = "feeds"') + 'url = "javascript:alert(1)"\n',
     "departments[0].accounts[0].url: String should match pattern"),
    (BASE.replace('platform = "weibo"', 'platform = "forum"'), "departments[0].accounts[0].fid: missing key"),
    (BASE.replace('platform = "weibo"', 'platform = "forum"') + 'fid = 3\ntitle_pattern = "(["\n',
     "departments[0].accounts[0].title_pattern: not a regular expression"),
    (BASE.replace('platform = "weibo"', 'platform = "wechat"') + "owned = true\n",
     "departments[0].accounts[0]: an owned wechat account needs appid and secret"),
    (BASE + "fid = 3\n", "departments[0].accounts[0].fid: unknown key"),
    ("[platforms.weibo]\nmax_body_bytes = 0\n", "platforms.weibo.max_body_bytes: input should be greater than 0"),
    ("[platforms.feeds]\ncrawl_timeout = 900\n",
     "platforms.feeds.crawl_timeout: must be below scheduler.lease_seconds (900 >= 900)"),
    ("[pipelines]\norder = \"clean\"\n", "pipelines.order: expected a list"),
    ("[storage\n", "not valid TOML"),
])
def test_errors_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'settings.toml'}: ")
    assert expected in message
    assert "\n" not in message


def test_missing_secret_names_the_variable(tmp_path: Path) -> None:
    text = BASE + '\n[[departments.accounts]]\nplatform = "wechat"\nid = "gh_x"\nname = "x"\nowned = true\n' \
                  'appid = "wx1"\nsecret = { env = "HZ_SECRET" }\n'
    message = error_of(tmp_path, text)
    assert message.endswith("departments[0].accounts[1].secret: environment variable HZ_SECRET is not set")
    settings = load_settings(write(tmp_path, text), env={"HZ_SECRET": "s3cret"})
    secret = settings.departments[0].accounts[1].options.secret
    assert secret.value() == "s3cret" and "s3cret" not in repr(secret)
    assert settings.departments[0].accounts[1].options.model_dump(mode="json")["secret"] == {"env": "HZ_SECRET"}
    assert settings.secret_values() == ["s3cret"]


def test_commands_without_secrets_load_and_list_what_is_missing(tmp_path: Path) -> None:
    text = BASE + '\n[[departments.accounts]]\nplatform = "wechat"\nid = "gh_x"\nname = "x"\nowned = true\n' \
                  'appid = "wx1"\nsecret = { env = "HZ_SECRET" }\n'
    settings = load_settings(write(tmp_path, text), env={}, require_secrets=False)
    [(where, secret)] = settings.missing_secrets()
    assert (where, secret.env) == ("departments[0].accounts[1].secret", "HZ_SECRET")
    disabled = load_settings(write(tmp_path, text + "enabled = false\n"), env={})  # a disabled account needs none
    assert disabled.missing_secrets() == []


@pytest.mark.parametrize(("content", "expected"), [
    ("\ufeff" + BASE, None),  # Notepad's byte-order mark is accepted
    (BASE.replace("菏泽发布", "菏泽发布").encode("gbk"), "not UTF-8 text"),
])
def test_encodings(tmp_path: Path, content: str | bytes, expected: str | None) -> None:
    path = tmp_path / "settings.toml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    if expected is None:
        assert load_settings(path, env={}).accounts()[0][1].name == "菏泽发布"
    else:
        with pytest.raises(ConfigError, match=expected):
            load_settings(path, env={})


def test_a_folder_is_not_a_settings_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder, not a settings file"):
        load_settings(tmp_path, env={})


def test_literal_secret_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[platforms.weibo]\ncookie = "SUB=abc"\n')
    assert "platforms.weibo.cookie" in message


def test_file_from_environment_and_database_override(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    settings = load_settings(None, env={"GOVMATRIX_CONFIG": str(path), "GOVMATRIX_DATABASE_URL": "sqlite:///x.db"})
    assert settings.storage.url == "sqlite:///x.db"
    with pytest.raises(ConfigError, match="settings file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_example_settings_describe_the_sandbox_city() -> None:
    settings = load_settings(ROOT / "settings.toml", env=SANDBOX_SECRETS)
    configured = {(d.name, a.platform, a.id) for d, a in settings.accounts()}
    city = {(d.name, a.platform, a.native_id) for d in DEPARTMENTS for a in d.accounts}
    assert configured == city
    assert len(settings.departments) >= 20
    assert any(a.name == "菏泽发布" and a.platform == "weibo" for _, a in settings.accounts())
