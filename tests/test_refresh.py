"""refresh_many: accounts crawled at once stay within the bound; unsupported platforms are reported."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from govmatrix import refresh
from govmatrix.models import Account
from govmatrix.refresh import RefreshOutcome, refresh_many
from govmatrix.storage.repo import UpsertCounts

NOW = datetime(2016, 7, 2, tzinfo=UTC)


class FakePool:
    def get(self, platform: str) -> object:
        if platform == "weixin":
            raise NotImplementedError("weixin: no crawler yet")
        return object()

    async def aclose(self) -> None:
        pass


def test_in_flight_accounts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    running, peak = 0, 0

    async def fake_refresh(account: Account, *args: Any) -> RefreshOutcome:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        return RefreshOutcome(account, True, UpsertCounts(1, 0), 1, None, NOW)

    monkeypatch.setattr(refresh, "refresh_account", fake_refresh)
    accounts = [Account(platform="weibo", native_id=str(n), name=str(n)) for n in range(20)]
    accounts.append(Account(platform="weixin", native_id="x", name="x"))
    outcomes = asyncio.run(refresh_many(accounts, None, None, lambda: NOW, pool=FakePool(),  # type: ignore[arg-type]
                                        in_flight=3))
    assert peak == 3
    assert sum(o.ok for o in outcomes) == 20
    [unsupported] = [o for o in outcomes if not o.ok]
    assert unsupported.error == "weixin: no crawler yet"
