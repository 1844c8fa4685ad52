"""settings.toml -> typed, validated settings, assembled from each crawler's own models.

The common keys are declared here; each crawler declares its platform's settings (a
``PlatformSettings`` subclass) and its account options (an ``AccountOptions`` subclass), and this
module validates every ``[platforms.<name>]`` section and every account against the models of the
registered crawler. A wrong file fails at start-up with one line naming the file and the key path:
``settings.toml: departments[3].accounts[1].platform: unknown platform 'weixin' (known: weibo, ...)``.

Secrets are never written in the file: ``{ env = "NAME" }`` names the environment variable, whose
value is read once, here, when the settings are loaded.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from govmatrix.errors import ConfigError

DEFAULT_CONFIG = "settings.toml"
MB = 1024 * 1024


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Secret(_Strict):
    """``{ env = "NAME" }``: the value is read from the environment once, when the settings load."""

    env: Annotated[str, Field(min_length=1)]
    _value: str = PrivateAttr(default="")

    def value(self) -> str:
        return self._value

    def __repr__(self) -> str:  # never leak the value into logs
        return f"Secret(env={self.env!r})"


class StorageSettings(_Strict):
    url: str = "sqlite:///govmatrix.db"
    busy_timeout: Annotated[float, Field(gt=0)] = 30.0  # seconds SQLite waits for another writer


class SchedulerSettings(_Strict):
    timezone: str = "Asia/Shanghai"
    min_interval: Annotated[int, Field(gt=0)] = 600  # seconds
    max_interval: Annotated[int, Field(gt=0)] = 86_400
    attention_after_days: Annotated[int, Field(gt=0)] = 3  # failing this long -> needs attention
    lease_seconds: Annotated[int, Field(gt=0)] = 900  # longer than any crawl: an expired lease means a dead worker

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


def regular_expression(value: str) -> str:
    """``value`` if it compiles as a regular expression (a settings validator)."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return value


class BoilerplateRule(_Strict):
    """A line the clean pipeline removes at the head or tail of an article (a regular expression)."""

    pattern: str
    where: Literal["head", "tail", "both"] = "both"
    name: str = ""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return regular_expression(value)


class CleanSettings(_Strict):
    boilerplate: list[BoilerplateRule] = []  # added to the built-in rules (pipelines/data/boilerplate.toml)


class DedupSettings(_Strict):
    window_days: Annotated[int, Field(gt=0)] = 7  # posts further apart are never one release
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.8  # estimated Jaccard of the 3-character shingles


class WordingSettings(_Strict):
    """``[pipelines.wording]``: the department's lists for the wording check (pipelines/wording_lists.py),
    each added to the built-in one (data/wording_*). A path is relative to the settings file;
    ``govmatrix:`` starts a path inside the installed package."""

    confusion: list[str] = []  # files of `wrong<TAB>right` lines
    protected: list[str] = []  # TOML: [[person]] name, title, short_title; [[organ]] name; [[formulation]] text
    forbidden: list[str] = []  # TOML: [[category]] name, words; [allow] words; [links] bad_domains
    replace: list[Literal["confusion", "protected", "forbidden"]] = []  # built-in lists not used
    severity: Literal["low", "medium", "high"] = "high"  # of every hit: the veto item, so first in the queue


class AlertRule(_Strict):
    """A keyword rule of the alerts pipeline, matched on the search form (simplified script)."""

    name: Annotated[str, Field(min_length=1)]
    words: Annotated[list[str], Field(min_length=1)]
    match: Literal["any", "all"] = "any"
    exclude: list[str] = []  # a post with one of these is not an alert of this rule
    platforms: list[str] = []  # empty: every platform
    kinds: list[str] = []  # empty: every kind (original, repost, article, thread, reply)
    severity: Literal["low", "medium", "high"] = "medium"

    @field_validator("name")
    @classmethod
    def _not_wording(cls, value: str) -> str:
        if value.startswith("wording:"):
            raise ValueError("names starting with 'wording:' are the wording pipeline's")
        return value


class PipelineSettings(_Strict):
    order: list[str] = ["clean", "dedup", "alerts", "wording"]
    clean: CleanSettings = CleanSettings()
    dedup: DedupSettings = DedupSettings()
    wording: WordingSettings = WordingSettings()


class ReportSettings(_Strict):
    dir: str = "reports"  # where the scheduler writes last month's reports on the 1st
    formats: list[Literal["xlsx", "html", "csv"]] = ["xlsx", "html"]
    exchange_since: date | None = None  # running totals of the online exchanges from this day (default: all)


class InspectionSettings(_Strict):
    """``[inspection]``: the single-veto items of 国办秘函〔2019〕19号 checked live, the day's alarms and the
    account register (matrix/inspection.py, matrix/register.py)."""

    window_days: Annotated[int, Field(gt=0)] = 14  # 「监测时间点前2周内无更新」: the calendar days that must hold an update
    alarm_days: Annotated[int, Field(ge=0)] = 4  # the alarm comes this many days before an account crosses the line
    updates: Literal["all", "originals"] = "all"  # what is an update: reposts and replies too, or originals only
    silent_lists: list[Annotated[int, Field(gt=0)]] = [10, 14, 90, 365]  # days: the silent-account lists
    sleeping_days: Annotated[int, Field(gt=0)] = 90  # silent this long: 睡眠 in the register
    interaction_days: Annotated[int, Field(gt=0)] = 14  # Weibo: the comments on the posts of these days
    unanswered_days: Annotated[int, Field(gt=0)] = 5  # forum: a question unanswered this long is overdue
    question_days: Annotated[int, Field(gt=0)] = 90  # forum: the sessions whose questions are looked at
    content_days: Annotated[int, Field(gt=0)] = 90  # the posts whose wording hits count against the account


class WebSettings(_Strict):
    """``[web]``: the review desk, the dashboards and the public micro-site (``govmatrix serve``)."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(gt=0, lt=65536)] = 8800
    secret: Secret | None = None  # signs the session cookies; unset: a new one each start (logins end with serve)
    site_title: Annotated[str, Field(min_length=1)] = "政务新媒体矩阵 微网站"
    base_url: str = ""  # the micro-site's public address, for the links in its feeds; empty: the request's
    page_size: Annotated[int, Field(gt=0, le=100)] = 20  # items per page of the desk and the micro-site
    session_hours: Annotated[int, Field(gt=0)] = 12  # a login lasts this long
    login_attempts: Annotated[int, Field(gt=0)] = 5  # failures of one user name (4x: of one address) ...
    login_window_minutes: Annotated[int, Field(gt=0)] = 15  # ... within this long refuse logins for as long
    publish_dir: str = "site"  # where `govmatrix publish` writes the static micro-site by default


class PlatformSettings(_Strict):
    """What every platform has; a crawler's own model adds its keys and its real default base URL."""

    base_url: str = ""
    rate: Annotated[float, Field(gt=0)] = 1.0  # requests per second, shared by all accounts of the platform
    concurrency: Annotated[int, Field(gt=0)] = 2
    timeout: Annotated[float, Field(gt=0)] = 20.0  # seconds: the whole of one request (connect, headers, body)
    crawl_timeout: Annotated[float, Field(gt=0)] = 600.0  # seconds: the whole crawl of one account
    horizon_days: Annotated[int, Field(gt=0)] = 30  # how far back the first crawl of an account goes
    max_body_bytes: Annotated[int, Field(gt=0)] = 16 * MB  # decompressed, per response
    allowed_hosts: list[str] = []  # hosts a redirect may lead to besides the one asked
    user_agent: str = "Mozilla/5.0 (compatible; govmatrix)"


class AccountOptions(_Strict):
    """The platform-specific keys of an account; a crawler's own model declares them."""


COMMON_ACCOUNT_KEYS = frozenset({"platform", "id", "name", "enabled", "interval", "display_script", "register"})


class AccountRegister(_Strict):
    """``register = { ... }``: the account's line in the register (台账) as filed in the 全国政务新媒体信息报送系统.

    An account without ``opened`` is not filed: the register lists it as found posting but not registered.
    """

    opened: date | None = None  # 开设: when it was opened and filed
    operator: str = ""  # 运维人员
    frequency: str = ""  # 更新频率 as declared (每日, 每周, ...)
    changed: date | None = None  # 变更: the last change filed (name, subject, operator)
    change_note: str = ""  # what that change was
    closed: date | None = None  # 关停: no more posts from this day
    cancelled: date | None = None  # 注销: the account is gone
    closing_notice: str = ""  # 停更公告: where the notice was published (a link), required when closing

    @model_validator(mode="after")
    def _ordered(self) -> AccountRegister:
        days = [("opened", self.opened), ("closed", self.closed), ("cancelled", self.cancelled)]
        known = [(name, day) for name, day in days if day is not None]
        for (first, a), (then, b) in zip(known, known[1:], strict=False):
            if b < a:
                raise ValueError(f"{then} ({b}) is before {first} ({a})")
        return self


class AccountSettings(_Strict):
    """One account: the keys every platform has, and the platform's typed ``options``."""

    platform: str
    id: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    enabled: bool = True
    interval: Annotated[int, Field(gt=0)] | None = None  # seconds; unset = adaptive
    display_script: Literal["original", "simplified"] = "original"  # how its text is shown
    # its line in the register (台账), key ``register`` (BaseModel has a ``register`` of its own); None: not filed
    ledger: AccountRegister | None = Field(default=None, alias="register")
    options: Any = None

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, value: Any) -> Any:
        """An account table is written flat: every key that is not common is one of the platform's."""
        if not isinstance(value, dict) or "options" in value:
            return value
        common = {k: v for k, v in value.items() if k in COMMON_ACCOUNT_KEYS}
        return {**common, "options": {k: v for k, v in value.items() if k not in COMMON_ACCOUNT_KEYS}}

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @property
    def label(self) -> str:
        return f"{self.platform} {self.id}"


class DepartmentSettings(_Strict):
    name: Annotated[str, Field(min_length=1)]
    short_name: Annotated[str, Field(min_length=1)]
    accounts: list[AccountSettings] = []


class Settings(_Strict):
    """The whole settings file."""

    storage: StorageSettings = StorageSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    pipelines: PipelineSettings = PipelineSettings()
    alerts: list[AlertRule] = []
    reports: ReportSettings = ReportSettings()
    inspection: InspectionSettings = InspectionSettings()
    web: WebSettings = WebSettings()
    platforms: dict[str, Any] = {}
    departments: list[DepartmentSettings] = []
    path: str = DEFAULT_CONFIG

    def platform(self, name: str) -> PlatformSettings:
        """The platform's settings (its crawler's model; the defaults when the file has no section)."""
        section = self.platforms.get(name)
        if section is None:
            raise ConfigError(f"{self.path}: no crawler for platform {name!r}")
        return section

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.scheduler.timezone)

    def accounts(self) -> list[tuple[DepartmentSettings, AccountSettings]]:
        return [(dept, acc) for dept in self.departments for acc in dept.accounts]

    @cached_property
    def _by_key(self) -> dict[tuple[str, str], AccountSettings]:
        return {(acc.platform, acc.id): acc for _, acc in self.accounts()}

    def account(self, platform: str, native_id: str) -> AccountSettings:
        """The settings of one account; ConfigError when the file does not have it."""
        found = self._by_key.get((platform, native_id))
        if found is None:
            raise ConfigError(f"{platform} {native_id}: not in {self.path} (run `govmatrix init` after editing it)")
        return found

    def secrets(self, *, enabled_only: bool = False) -> Iterator[tuple[str, Secret]]:
        """Every secret of the file with its key path (of enabled accounts only, if asked)."""
        for name, section in self.platforms.items():
            for key, value in section:
                if isinstance(value, Secret):
                    yield f"platforms.{name}.{key}", value
        for d, dept in enumerate(self.departments):
            for a, acc in enumerate(dept.accounts):
                for key, value in acc.options or ():
                    if isinstance(value, Secret) and (acc.enabled or not enabled_only):
                        yield f"departments[{d}].accounts[{a}].{key}", value

    def missing_secrets(self) -> list[tuple[str, Secret]]:
        """Secrets (of enabled accounts) whose environment variable is not set."""
        return [(where, secret) for where, secret in self.secrets(enabled_only=True) if not secret.value()]

    def secret_values(self) -> list[str]:
        """Every known secret value, to redact from messages (longest first)."""
        return sorted({s.value() for _, s in self.secrets() if s.value()}, key=len, reverse=True)


def load_settings(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None, *,
                  require_secrets: bool = True) -> Settings:
    """Read, validate and return the settings; raise ConfigError naming the file and key on any problem.

    The file is ``path``, else ``$GOVMATRIX_CONFIG``, else ``settings.toml``.
    ``$GOVMATRIX_DATABASE_URL`` overrides ``storage.url``. With ``require_secrets`` a secret whose
    variable is not set is an error; without, ``Settings.missing_secrets()`` lists them.
    """
    env = dict(os.environ) if env is None else env
    file = Path(path or env.get("GOVMATRIX_CONFIG") or DEFAULT_CONFIG)
    data = _read_toml(file)
    if "path" in data:
        raise ConfigError(f"{file}: path: unknown key")
    try:
        raw = Settings.model_validate({**data, "path": str(file)})
        resolve_secrets(raw.web, env)
        settings = raw.model_copy(update={"platforms": _platforms(raw.platforms, env),
                                          "departments": _departments(raw.departments, env)})
    except ValidationError as exc:
        raise ConfigError(f"{file}: {_first_error(exc)}") from None
    except _KeyError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    _check_semantics(settings, file)
    if require_secrets and (missing := settings.missing_secrets()):
        where, secret = missing[0]
        raise ConfigError(f"{file}: {where}: environment variable {secret.env} is not set")
    if env.get("GOVMATRIX_DATABASE_URL"):
        storage = settings.storage.model_copy(update={"url": env["GOVMATRIX_DATABASE_URL"]})
        settings = settings.model_copy(update={"storage": storage})
    return settings


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{file}: settings file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{file}: is a folder, not a settings file") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the settings file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")  # Notepad writes a byte-order mark
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None


class _KeyError(Exception):
    """A key path and a message (turned into a ConfigError naming the file)."""


def _crawler(platform: str, where: str) -> Any:
    from govmatrix.crawlers.base import REGISTRY, crawler_class

    if platform not in REGISTRY:
        raise _KeyError(f"{where}: unknown platform {platform!r} (known: {', '.join(REGISTRY)})")
    return crawler_class(platform)


def resolve_secrets(model: BaseModel, env: dict[str, str]) -> BaseModel:
    """Read the value of every secret of ``model`` from ``env`` (once, when the settings load)."""
    for _, field in model:
        if isinstance(field, Secret):
            field._value = env.get(field.env, "")
    return model


def _validated(model: type[BaseModel], data: Any, where: str, env: dict[str, str]) -> Any:
    try:
        return resolve_secrets(model.model_validate(data), env)
    except ValidationError as exc:
        raise _KeyError(_first_error(exc, where)) from None


def _platforms(sections: dict[str, Any], env: dict[str, str]) -> dict[str, PlatformSettings]:
    from govmatrix.crawlers.base import REGISTRY

    for name in sections:
        _crawler(name, "platforms")
    return {name: _validated(_crawler(name, "platforms").settings_model, sections.get(name) or {},
                             f"platforms.{name}", env) for name in REGISTRY}


def _departments(departments: list[DepartmentSettings], env: dict[str, str]) -> list[DepartmentSettings]:
    out = []
    for d, dept in enumerate(departments):
        accounts = []
        for a, acc in enumerate(dept.accounts):
            where = f"departments[{d}].accounts[{a}]"
            cls = _crawler(acc.platform, f"{where}.platform")
            options = _validated(cls.options_model, acc.options or {}, where, env)
            accounts.append(acc.model_copy(update={"options": options}))
        out.append(dept.model_copy(update={"accounts": accounts}))
    return out


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "options" or part.startswith(("function-", "model-")):
            continue
        else:
            out += f".{part}" if out else part
    return out


_TYPE_WORDS = {
    "int_type": "expected an integer", "int_parsing": "expected an integer", "int_from_float": "expected an integer",
    "float_type": "expected a number", "float_parsing": "expected a number",
    "bool_type": "expected true or false", "bool_parsing": "expected true or false",
    "string_type": "expected a string", "list_type": "expected a list", "dict_type": "expected a table",
    "model_type": "expected a table", "date_type": "expected a date", "date_from_datetime_parsing": "expected a date",
    "date_parsing": "expected a date", "extra_forbidden": "unknown key", "missing": "missing key",
}


def _first_error(exc: ValidationError, where: str = "") -> str:
    """``key.path: message`` of the first error, the path under ``where``."""
    err = exc.errors(include_url=False)[0]
    path = _key_path(tuple(err["loc"]))
    path = f"{where}.{path}" if where and path and not path.startswith("[") else f"{where}{path}"
    if err["type"] in ("greater_than", "greater_than_equal", "less_than", "string_too_short"):
        message = str(err["msg"]).lower()
    elif err["type"] == "literal_error" or err["type"] not in _TYPE_WORDS:
        message = str(err["msg"]).removeprefix("Value error, ")
    else:
        message = _TYPE_WORDS[err["type"]]
    return f"{path}: {message}" if path else message


def _check_semantics(settings: Settings, file: Path) -> None:
    """Checks across keys: duplicate accounts, crawl deadlines below the lease."""
    seen: dict[tuple[str, str], str] = {}
    for d, dept in enumerate(settings.departments):
        for a, acc in enumerate(dept.accounts):
            where = f"departments[{d}].accounts[{a}]"
            key = (acc.platform, acc.id)
            if key in seen:
                raise ConfigError(f"{file}: {where}.id: duplicate account {acc.platform} {acc.id} (also {seen[key]})")
            seen[key] = where
    from govmatrix.pipelines.base import REGISTRY as PIPELINES

    for name in settings.pipelines.order:
        if name not in PIPELINES:
            raise ConfigError(f"{file}: pipelines.order: unknown pipeline {name!r} (known: {', '.join(PIPELINES)})")
    if "wording" in settings.pipelines.order:  # the lists are read when the pipeline starts; a missing one fails now
        from govmatrix.pipelines.wording_lists import resolve

        for kind in ("confusion", "protected", "forbidden"):
            for n, raw in enumerate(getattr(settings.pipelines.wording, kind)):
                if not resolve(raw, file.parent).is_file():
                    raise ConfigError(f"{file}: pipelines.wording.{kind}[{n}]: list file not found: {raw}")
    lease = settings.scheduler.lease_seconds
    for name, section in settings.platforms.items():
        if section.crawl_timeout >= lease:
            raise ConfigError(f"{file}: platforms.{name}.crawl_timeout: must be below scheduler.lease_seconds "
                              f"({section.crawl_timeout:g} >= {lease})")

