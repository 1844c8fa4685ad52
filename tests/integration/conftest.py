"""Settings that point the example city at a sandbox running in this process."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT


def sandbox_settings(tmp_path: Path, sandbox_url: str, *, rate: float = 500.0, horizon_days: int = 30,
                     comments: bool = False) -> Path:
    """The example settings.toml with every base URL moved to ``sandbox_url`` and a test-sized budget.

    Weibo comments (the inspection's interaction evidence) are read only with ``comments``: the tests
    of posts, followers and exchanges do not need the extra requests."""
    text = (ROOT / "settings.toml").read_text(encoding="utf-8").replace("http://127.0.0.1:8700", sandbox_url)
    if not comments:
        text = text.replace("[platforms.weibo]\n", "[platforms.weibo]\ncomment_days = 0\n", 1)
    text = re.sub(r"(?m)^rate = .*$", f"rate = {rate}", text)
    text = re.sub(r"(?m)^concurrency = .*$", "concurrency = 8", text)
    text = re.sub(r"(?m)^horizon_days = .*$", f"horizon_days = {horizon_days}", text)
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path
