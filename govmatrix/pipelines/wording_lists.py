"""The lists of the wording check, as data files the department edits (see ``wording.py``).

- **confusion** (``wrong<TAB>right`` per line, ``#`` comments): built in ``data/wording_confusion.txt``.
- **protected** (TOML): ``[[person]] name, title, short_title``, ``[[organ]] name``,
  ``[[formulation]] text``, ``[titles] extra`` (more titles that may stand before a name) and
  ``[similar] groups`` (characters confused for their meaning, e.g. "和与及"). Built in:
  ``data/wording_protected.toml`` (national formulations only: people and organs are the city's).
- **forbidden** (TOML): ``[[category]] name, words`` (and optionally ``label``, shown to the
  reviewer, and ``list``: "forbidden", or "secret" for classification marks; a category named
  "secrets" is "secret"), ``[allow] words`` and ``[links] bad_domains``. Built in:
  ``data/wording_forbidden.toml``.

``[pipelines.wording]`` in settings names department files that extend these (``replace`` drops a
built-in list). A path is relative to the settings file; ``govmatrix:`` starts a path inside the
installed package (the sandbox city's list is ``govmatrix:sandbox/data/protected_names.toml``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govmatrix.errors import ConfigError

DATA = Path(__file__).with_name("data")
PACKAGE = Path(__file__).resolve().parent.parent
PACKAGE_PREFIX = "govmatrix:"
DEFAULTS = {"confusion": DATA / "wording_confusion.txt", "protected": DATA / "wording_protected.toml",
            "forbidden": DATA / "wording_forbidden.toml"}
SIMILAR = DATA / "wording_similar.txt"
SECRET_CATEGORIES = ("secret", "secrets")
CATEGORY_LABELS = {"violence": "暴力", "pornography": "色情", "gambling": "赌博", "reactionary": "反动",
                   "secrets": "涉密", "secret": "涉密"}


@dataclass(frozen=True)
class Person:
    name: str
    title: str = ""
    short_title: str = ""


@dataclass(frozen=True)
class Category:
    name: str
    words: tuple[str, ...]
    list: str = "forbidden"  # or "secret"
    label: str = ""


@dataclass
class Lists:
    """Every list the checker matches, as read (the checker normalises them to the search form)."""

    confusion: dict[str, str] = field(default_factory=dict)
    persons: list[Person] = field(default_factory=list)
    organs: list[str] = field(default_factory=list)
    formulations: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    similar: list[str] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    bad_domains: list[str] = field(default_factory=list)

    def extend(self, other: Lists) -> Lists:
        """These lists with ``other``'s entries added (a later confusion pair replaces an earlier one)."""
        return Lists({**self.confusion, **other.confusion}, self.persons + other.persons,
                     self.organs + other.organs, self.formulations + other.formulations,
                     self.titles + other.titles, self.similar + other.similar,
                     self.categories + other.categories, self.allow + other.allow,
                     self.bad_domains + other.bad_domains)


def resolve(path: str, base: Path) -> Path:
    """A list path from settings: ``govmatrix:...`` inside the package, else relative to ``base``."""
    if path.startswith(PACKAGE_PREFIX):
        return PACKAGE / path[len(PACKAGE_PREFIX):]
    found = Path(path).expanduser()
    return found if found.is_absolute() else base / found


def _text(path: Path, where: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{where}: list file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read the list file {path}: {exc}") from None


def read_confusion(path: Path, where: str = "") -> Lists:
    """A confusion list: ``wrong<TAB>right`` per line (a run of spaces works too), ``#`` comments."""
    pairs = {}
    for number, line in enumerate(_text(path, where or str(path)).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        parts = [p.strip() for p in parts if p.strip()]
        if len(parts) != 2 or parts[0] == parts[1]:
            raise ConfigError(f"{path}:{number}: expected 'wrong<TAB>right', got {line!r}")
        pairs[parts[0]] = parts[1]
    return Lists(confusion=pairs)


def _toml(path: Path, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(_text(path, where or str(path)))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return [v.strip() for v in value if v.strip()]


def _entries(data: dict[str, Any], table: str, keys: Sequence[str], path: Path) -> list[dict[str, str]]:
    out = []
    for n, entry in enumerate(data.get(table, [])):
        where = f"{path}: {table}[{n}]"
        if not isinstance(entry, dict) or not isinstance(entry.get(keys[0]), str) or not entry[keys[0]].strip():
            raise ConfigError(f"{where}.{keys[0]}: missing key")
        unknown = set(entry) - set(keys)
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key")
        if not all(isinstance(v, str) for v in entry.values()):
            raise ConfigError(f"{where}: expected strings")
        out.append({k: str(v).strip() for k, v in entry.items()})
    return out


def read_protected(path: Path, where: str = "") -> Lists:
    data = _toml(path, where)
    unknown = set(data) - {"person", "organ", "formulation", "titles", "similar"}
    if unknown:
        raise ConfigError(f"{path}: {sorted(unknown)[0]}: unknown table")
    persons = [Person(e["name"], e.get("title", ""), e.get("short_title", ""))
               for e in _entries(data, "person", ("name", "title", "short_title"), path)]
    return Lists(persons=persons, organs=[e["name"] for e in _entries(data, "organ", ("name",), path)],
                 formulations=[e["text"] for e in _entries(data, "formulation", ("text",), path)],
                 titles=_strings(data.get("titles", {}).get("extra", []), f"{path}: titles.extra"),
                 similar=_strings(data.get("similar", {}).get("groups", []), f"{path}: similar.groups"))


def read_forbidden(path: Path, where: str = "") -> Lists:
    data = _toml(path, where)
    unknown = set(data) - {"category", "allow", "links"}
    if unknown:
        raise ConfigError(f"{path}: {sorted(unknown)[0]}: unknown table")
    categories = []
    for n, entry in enumerate(data.get("category", [])):
        at = f"{path}: category[{n}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"{at}.name: missing key")
        name = entry["name"].strip()
        kind = entry.get("list", "secret" if name in SECRET_CATEGORIES else "forbidden")
        if kind not in ("forbidden", "secret"):
            raise ConfigError(f"{at}.list: expected 'forbidden' or 'secret'")
        categories.append(Category(name, tuple(_strings(entry.get("words", []), f"{at}.words")), kind,
                                   str(entry.get("label") or CATEGORY_LABELS.get(name, name))))
    domains = _strings(data.get("links", {}).get("bad_domains", []), f"{path}: links.bad_domains")
    return Lists(categories=categories, allow=_strings(data.get("allow", {}).get("words", []), f"{path}: allow.words"),
                 bad_domains=[d.lower().strip(".") for d in domains])


READERS = {"confusion": read_confusion, "protected": read_protected, "forbidden": read_forbidden}


def read_similar(path: Path = SIMILAR) -> list[str]:
    """Groups of characters confused for their meaning, one group a line (``#`` comments)."""
    return [line.strip() for line in _text(path, str(path)).splitlines() if line.strip() and not line.startswith("#")]


def load(files: dict[str, Iterable[Path]] | None = None, replace: Iterable[str] = ()) -> Lists:
    """The built-in lists (but those named in ``replace``) extended by ``files`` (kind -> paths)."""
    lists = Lists(similar=read_similar())
    files = files or {}
    for kind, reader in READERS.items():
        if kind not in replace:
            lists = lists.extend(reader(DEFAULTS[kind]))
        for path in files.get(kind, ()):
            lists = lists.extend(reader(Path(path)))
    return lists
