"""Open the store and bring it in line with the settings: migrate, sync departments and accounts,
and re-derive what an account's changed options derive (its online-exchange record)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from govmatrix.config import Settings
from govmatrix.matrix import exchange
from govmatrix.storage.db import make_engine, migrate
from govmatrix.storage.repo import AccountSpec, Repo, SyncReport


@dataclass(frozen=True)
class InitReport:
    migrated: bool
    sync: SyncReport
    rederived: list[str]


def open_repo(settings: Settings, *, initialised: bool = True) -> Repo:
    """The store named by the settings; StoreError unless it is initialised (when asked)."""
    return Repo.open(settings.storage.url, initialised=initialised, busy_timeout=settings.storage.busy_timeout)


def account_specs(settings: Settings) -> list[AccountSpec]:
    return [
        AccountSpec(department=dept.name, department_short=dept.short_name, platform=acc.platform,
                    native_id=acc.id, name=acc.name, enabled=acc.enabled, interval=acc.interval,
                    options=acc.options.model_dump(mode="json", exclude_defaults=True))
        for dept, acc in settings.accounts()
    ]


def sync(settings: Settings, repo: Repo, now: datetime) -> tuple[SyncReport, list[str]]:
    """Make the stored accounts equal the settings; re-derive the exchange record of every account
    whose options changed. Returns the sync report and the accounts re-derived."""
    report = repo.accounts.sync(account_specs(settings))
    changed = set(report.options_changed)
    rederived = []
    for account in repo.accounts.find(enabled_only=True):
        if account.label in changed:
            options = settings.account(account.platform, account.native_id).options
            if exchange.derive(repo, account, options, now) is not None and repo.posts.thread_ids(account.id):
                rederived.append(account.label)
    return report, rederived


def initialize(settings: Settings, now: datetime) -> tuple[Repo, InitReport]:
    """Create or upgrade the database, then add, update and disable accounts to match the settings.

    Accounts that left the settings are disabled, never deleted: their history stays.
    """
    repo = Repo(make_engine(settings.storage.url, busy_timeout=settings.storage.busy_timeout))
    migrated = migrate(repo.engine)
    report, rederived = sync(settings, repo, now)
    return repo, InitReport(migrated, report, rederived)
