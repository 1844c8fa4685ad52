"""Settings that point the example city at a sandbox running in this process."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT


def sandbox_settings(tmp_path: Path, sandbox_url: str, *, rate: float = 500.0, horizon_days: int = 30) -> Path:
    """The example settings.toml with every base URL moved to ``sandbox_url`` and a test-sized budget."""
    text = (ROOT / "settings.toml").read_text(encoding="utf-8").replace("http://127.0.0.1:8700", sandbox_url)
    text = re.sub(r"(?m)^rate = .*$", f"rate = {rate}", text)
    text = re.sub(r"(?m)^concurrency = .*$", "concurrency = 8", text)
    text = re.sub(r"(?m)^horizon_days = .*$", f"horizon_days = {horizon_days}", text)
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path
