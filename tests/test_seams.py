"""The seams stay where the design puts them: every platform complete in its five places, all the SQL
in storage/, no clock below the CLI and the scheduler, network libraries only in crawlers/, and cheap
commands that do not load the sandbox, Scrapy or the web app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from govmatrix.crawlers.base import REGISTRY, Crawler, crawler_class
from govmatrix.sandbox.app import platform_classes

from .conftest import ROOT

PACKAGE = ROOT / "govmatrix"


def modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PACKAGE / folder).rglob("*.py"))


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("platform", list(REGISTRY))
def test_every_platform_is_complete_in_its_places(platform: str) -> None:
    cls = crawler_class(platform)
    assert issubclass(cls, Crawler) and cls.platform == platform
    assert cls.__module__ == f"govmatrix.crawlers.{platform}"
    assert cls.__name__ == f"{platform.capitalize()}Crawler"
    assert (PACKAGE / "crawlers" / f"{platform}_parse.py").is_file(), f"no crawlers/{platform}_parse.py"
    assert platform in platform_classes(), f"no simulated {platform} in govmatrix/sandbox"
    fixtures = ROOT / "tests" / "fixtures" / platform
    assert fixtures.is_dir() and any(fixtures.iterdir()), f"no fixtures in tests/fixtures/{platform}"
    assert list((ROOT / "tests" / "crawlers").glob(f"test_{platform}*.py")), f"no tests for {platform}"


def test_the_sandbox_simulates_exactly_the_registered_platforms() -> None:
    assert set(platform_classes()) == set(REGISTRY)


@pytest.mark.parametrize("path", [p for p in PACKAGE.rglob("*.py") if "storage" not in p.parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sql_outside_storage(path: Path) -> None:
    assert not {m for m in imports_of(path) if m == "sqlalchemy" or m.startswith("sqlalchemy.")} - {
        "sqlalchemy.exc"}, "SQLAlchemy beyond its exceptions is for storage/ only"
    source = path.read_text(encoding="utf-8")
    assert "sqlite3" not in imports_of(path) and "psycopg" not in imports_of(path)
    assert "exec_driver_sql" not in source


CLOCK_CALLS = ("datetime.now(", "time.time(", "date.today(", "datetime.utcnow(", "datetime.today(")


@pytest.mark.parametrize("path", modules("crawlers", "pipelines", "matrix", "storage"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_below_the_top_reads_the_clock(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert not [call for call in CLOCK_CALLS if call in source], "now is a parameter here"


NETWORK = ("httpx", "aiohttp", "scrapy", "twisted", "httpx_aiohttp")


@pytest.mark.parametrize("path", [p for p in PACKAGE.rglob("*.py") if not {"crawlers", "sandbox"} & set(p.parts)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_network_libraries_only_in_crawlers(path: Path) -> None:
    used = {m.split(".")[0] for m in imports_of(path)}
    assert not used & set(NETWORK), f"{path.name} imports {used & set(NETWORK)}"


HEAVY = {"starlette", "uvicorn", "scrapy", "twisted", "fastapi", "govmatrix.sandbox", "govmatrix.web"}


def loaded_after(code: str) -> set[str]:
    """Every module loaded after ``code`` runs in a fresh interpreter, and each package above it."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return {".".join(name.split(".")[:depth]) for name in out.split() for depth in (1, 2)}


def test_importing_the_cli_loads_no_web_sandbox_or_scrapy() -> None:
    assert not loaded_after("import govmatrix.cli") & HEAVY


def test_status_loads_no_web_sandbox_or_scrapy(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[storage]\nurl = "sqlite:///%s"\n' % (tmp_path / "s.db"), encoding="utf-8")
    code = (f"from govmatrix.cli import main\nassert main(['--config', {str(settings)!r}, 'init']) == 0\n"
            f"assert main(['--config', {str(settings)!r}, 'status']) == 0")
    assert not loaded_after(code) & HEAVY
