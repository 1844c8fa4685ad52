"""The store's one facade: ``repo.accounts``, ``repo.posts``, ``repo.snapshots``, ``repo.runs``,
``repo.exchanges``, ``repo.reviews``, ``repo.clusters``, ``repo.feed``,
``repo.figures``, ``repo.articles``, ``repo.users``, ``repo.comments``, ``repo.inspection``, ``repo.wording``. Every read and write of the store goes through it; all the SQL
lives in the modules behind it, one per concern, each the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine

from govmatrix.storage.accounts import AccountSpec, AccountStore, SyncReport
from govmatrix.storage.articles import ArticleStore
from govmatrix.storage.clusters import ClusterStore
from govmatrix.storage.comments import CommentStore
from govmatrix.storage.db import BUSY_TIMEOUT, check_initialised, make_engine
from govmatrix.storage.exchanges import ExchangeStore
from govmatrix.storage.feed import FeedStore
from govmatrix.storage.figures import FigureStore
from govmatrix.storage.inspection import InspectionStore
from govmatrix.storage.posts import PostStore
from govmatrix.storage.reviews import ReviewStore
from govmatrix.storage.runs import RunStore, UpsertCounts
from govmatrix.storage.snapshots import SnapshotStore
from govmatrix.storage.users import UserStore
from govmatrix.storage.wording import WordingStore

__all__ = ["AccountSpec", "Repo", "SyncReport", "UpsertCounts"]


class Repo:
    """The store behind one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.accounts = AccountStore(engine)
        self.posts = PostStore(engine)
        self.feed = FeedStore(engine)
        self.figures = FigureStore(engine)
        self.articles = ArticleStore(engine)
        self.snapshots = SnapshotStore(engine)
        self.runs = RunStore(engine)
        self.exchanges = ExchangeStore(engine)
        self.reviews = ReviewStore(engine)
        self.clusters = ClusterStore(engine)
        self.users = UserStore(engine)
        self.wording = WordingStore(engine)
        self.comments = CommentStore(engine)
        self.inspection = InspectionStore(engine)

    @classmethod
    def open(cls, url: str, *, initialised: bool = True, busy_timeout: float = BUSY_TIMEOUT) -> Repo:
        """The store at ``url``; with ``initialised``, StoreError unless it has the newest schema."""
        engine = make_engine(url, busy_timeout=busy_timeout)
        if initialised:
            check_initialised(engine, url)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()
