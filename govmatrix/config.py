"""settings.toml -> typed, validated settings; secrets from the environment.

Every key is declared once, in the models below. A wrong file fails at start-up with one line that
names the file and the key path, for example
``settings.toml: departments[3].accounts[1].platform: unknown platform 'weixin' (known: weibo, wechat, forum, feeds)``.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from govmatrix.errors import ConfigError
from govmatrix.models import PLATFORMS

DEFAULT_CONFIG = "settings.toml"


class Secret(BaseModel):
    """A secret is never written in the file: ``{ env = "NAME" }`` names the environment variable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    env: str

    def value(self) -> str:
        return os.environ.get(self.env, "")

    def __repr__(self) -> str:  # never leak the value into logs
        return f"Secret(env={self.env!r})"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageSettings(_Strict):
    url: str = "sqlite:///govmatrix.db"


class SchedulerSettings(_Strict):
    timezone: str = "Asia/Shanghai"
    min_interval: Annotated[int, Field(gt=0)] = 600  # seconds
    max_interval: Annotated[int, Field(gt=0)] = 86_400
    attention_after_days: Annotated[int, Field(gt=0)] = 3  # failing this long -> needs attention

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _ordered(self) -> SchedulerSettings:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval is larger than max_interval")
        return self


class PlatformSettings(_Strict):
    """Connection settings of one platform. Base URLs point at the real platform or at the sandbox."""

    base_url: str
    rate: Annotated[float, Field(gt=0)] = 1.0  # requests per second, shared by all accounts of the platform
    concurrency: Annotated[int, Field(gt=0)] = 2
    timeout: Annotated[float, Field(gt=0)] = 20.0
    horizon_days: Annotated[int, Field(gt=0)] = 30  # how far back the first crawl of an account goes
    user_agent: str = "Mozilla/5.0 (compatible; govmatrix)"
    cookie: Secret | None = None
    access_token: Secret | None = None  # weibo: Open API mode when set
    open_api_url: str = "https://api.weibo.com"
    article_url: str = "https://mp.weixin.qq.com"  # wechat: public article pages
    bridge_url: str = ""  # wechat: RSS bridge (RSSHub / wewe-rss) for accounts the city does not own


_PLATFORM_DEFAULT_URLS = {
    "weibo": "https://m.weibo.cn",
    "wechat": "https://api.weixin.qq.com",
    "forum": "",
    "feeds": "",
}


class AccountSettings(_Strict):
    """One account. Platform-specific keys are optional and checked against the platform."""

    platform: str
    id: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    enabled: bool = True
    interval: Annotated[int, Field(gt=0)] | None = None  # seconds; unset = adaptive
    # wechat
    owned: bool = False
    appid: str | None = None
    secret: Secret | None = None
    start_date: date | None = None
    bridge_path: str | None = None
    # forum
    fid: int | None = None
    speakers: list[str] = []
    title_pattern: str | None = None
    suggestion_keywords: list[str] = ["建议"]
    # feeds
    url: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str) -> str:
        if value not in PLATFORMS:
            raise ValueError(f"unknown platform {value!r} (known: {', '.join(PLATFORMS)})")
        return value

    @model_validator(mode="after")
    def _platform_keys(self) -> AccountSettings:
        if self.platform == "feeds" and not self.url:
            raise ValueError("a feeds account needs url")
        if self.platform == "forum" and self.fid is None:
            raise ValueError("a forum account needs fid")
        if self.platform == "wechat" and self.owned and not (self.appid and self.secret):
            raise ValueError("an owned wechat account needs appid and secret")
        return self

    def options(self) -> dict[str, Any]:
        """The platform-specific keys that were set, as stored on the account (secrets by env name only)."""
        skip = {"platform", "id", "name", "enabled", "interval"}
        data = self.model_dump(exclude=skip, exclude_defaults=True, mode="json")
        return data


class DepartmentSettings(_Strict):
    name: Annotated[str, Field(min_length=1)]
    short_name: Annotated[str, Field(min_length=1)]
    accounts: list[AccountSettings] = []


class Settings(_Strict):
    """The whole settings file."""

    storage: StorageSettings = StorageSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    platforms: dict[str, PlatformSettings] = {}
    departments: list[DepartmentSettings] = []
    path: str = DEFAULT_CONFIG

    @field_validator("platforms", mode="before")
    @classmethod
    def _platform_sections(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = [name for name in value if name not in PLATFORMS]
        if unknown:
            raise ValueError(f"unknown platform {unknown[0]!r} (known: {', '.join(PLATFORMS)})")
        merged = {name: {"base_url": url} for name, url in _PLATFORM_DEFAULT_URLS.items()}
        for name, section in value.items():
            merged[name] = {**merged[name], **section} if isinstance(section, dict) else section
        return merged

    def platform(self, name: str) -> PlatformSettings:
        return self.platforms.get(name) or PlatformSettings(base_url=_PLATFORM_DEFAULT_URLS[name])

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.scheduler.timezone)

    def accounts(self) -> list[tuple[DepartmentSettings, AccountSettings]]:
        return [(dept, acc) for dept in self.departments for acc in dept.accounts]


def load_settings(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read, validate and return the settings; raise ConfigError naming the file and key on any problem.

    The file is ``path``, else ``$GOVMATRIX_CONFIG``, else ``settings.toml``.
    ``$GOVMATRIX_DATABASE_URL`` overrides ``storage.url``.
    """
    env = dict(os.environ) if env is None else env
    file = Path(path or env.get("GOVMATRIX_CONFIG") or DEFAULT_CONFIG)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{file}: settings file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    if "path" in data:
        raise ConfigError(f"{file}: path: unknown key")
    try:
        settings = Settings.model_validate({**data, "path": str(file)})
    except ValidationError as exc:
        raise ConfigError(f"{file}: {_first_error(exc)}") from None
    _check_semantics(settings, file, env)
    if env.get("GOVMATRIX_DATABASE_URL"):
        storage = settings.storage.model_copy(update={"url": env["GOVMATRIX_DATABASE_URL"]})
        settings = settings.model_copy(update={"storage": storage})
    return settings


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith(("function-", "model-")):
            out += f".{part}" if out else part
    return out


_TYPE_WORDS = {
    "int_type": "expected an integer", "int_parsing": "expected an integer",
    "float_type": "expected a number", "float_parsing": "expected a number",
    "bool_type": "expected true or false", "bool_parsing": "expected true or false",
    "string_type": "expected a string", "list_type": "expected a list", "dict_type": "expected a table",
    "model_type": "expected a table", "date_type": "expected a date", "date_from_datetime_parsing": "expected a date",
    "extra_forbidden": "unknown key", "missing": "missing key",
}


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    loc = tuple(err["loc"])
    if err["type"] == "literal_error" or err["type"] not in _TYPE_WORDS:
        message = str(err["msg"]).removeprefix("Value error, ")
    else:
        message = _TYPE_WORDS[err["type"]]
    return f"{_key_path(loc)}: {message}" if loc else message


def _check_semantics(settings: Settings, file: Path, env: dict[str, str]) -> None:
    """Checks across keys: duplicate accounts and missing secrets."""
    seen: dict[tuple[str, str], str] = {}
    for d, dept in enumerate(settings.departments):
        for a, acc in enumerate(dept.accounts):
            where = f"departments[{d}].accounts[{a}]"
            key = (acc.platform, acc.id)
            if key in seen:
                raise ConfigError(f"{file}: {where}.id: duplicate account {acc.platform} {acc.id} (also {seen[key]})")
            seen[key] = where
            if acc.secret is not None and acc.enabled and not env.get(acc.secret.env):
                raise ConfigError(f"{file}: {where}.secret: environment variable {acc.secret.env} is not set")
    for name, section in settings.platforms.items():
        for field in ("cookie", "access_token"):
            secret = getattr(section, field)
            if secret is not None and not env.get(secret.env):
                raise ConfigError(f"{file}: platforms.{name}.{field}: environment variable {secret.env} is not set")

