"""Open the store and bring it in line with the settings: migrate, then sync departments and accounts."""

from __future__ import annotations

from dataclasses import dataclass

from govmatrix.config import Settings
from govmatrix.storage.db import make_engine, migrate
from govmatrix.storage.repo import AccountSpec, Repo, SyncReport


@dataclass(frozen=True)
class InitReport:
    migrated: bool
    sync: SyncReport


def open_repo(settings: Settings) -> Repo:
    """The store named by the settings, without touching its schema."""
    return Repo(make_engine(settings.storage.url))


def account_specs(settings: Settings) -> list[AccountSpec]:
    return [
        AccountSpec(department=dept.name, department_short=dept.short_name, platform=acc.platform,
                    native_id=acc.id, name=acc.name, enabled=acc.enabled, interval=acc.interval,
                    options=acc.options())
        for dept, acc in settings.accounts()
    ]


def initialize(settings: Settings) -> tuple[Repo, InitReport]:
    """Create or upgrade the database, then add, update and disable accounts to match the settings.

    Accounts that left the settings are disabled, never deleted: their history stays.
    """
    repo = open_repo(settings)
    migrated = migrate(repo.engine)
    return repo, InitReport(migrated, repo.sync_accounts(account_specs(settings)))
