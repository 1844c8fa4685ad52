"""Clusters of near-duplicate posts: what the clustering step reads and writes, and its lock.

Clustering runs one at a time for the whole matrix (``lock``): on PostgreSQL a session advisory
lock, so several schedulers never split what one would have grouped; on SQLite the database has one
writing scheduler anyway, and a process-wide lock covers its threads. Each run is a row of
``cluster_runs``; a worker catches up with the runs of others by their ids.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text, update

from govmatrix.storage import schema as t
from govmatrix.storage.base import Store

ADVISORY_KEY = 0x6D61_7472  # "matr": the clustering step's lock on PostgreSQL
RESET = -1  # the ``assigned`` of the run row a reset writes
_LOCAL = threading.Lock()


class ClusterStore(Store):
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the matrix-wide clustering lock."""
        with _LOCAL:
            if not self.postgres:
                yield
                return
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_KEY})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                    conn.commit()

    def assigned(self, *, after_run: int = 0, published_from: datetime,
                 published_before: datetime | None = None) -> list[Any]:
        """(id, published_at, minhash, cluster_id, cluster_run) of clustered posts published in a range,
        only those of runs after ``after_run`` when it is given."""
        p = t.posts.c
        query = select(p.id, p.published_at, p.minhash, p.cluster_id, p.cluster_run).where(
            p.cluster_id.is_not(None), p.published_at >= published_from, p.minhash.is_not(None))
        if after_run:
            query = query.where(p.cluster_run > after_run)
        if published_before is not None:
            query = query.where(p.published_at < published_before)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(p.published_at, p.id)).all())

    def runs_after(self, run: int) -> list[Any]:
        """(id, assigned) of the runs after ``run``; a reset is a run that assigned -1."""
        r = t.cluster_runs.c
        with self.engine.connect() as conn:
            return list(conn.execute(select(r.id, r.assigned).where(r.id > run).order_by(r.id)).all())

    def unclustered(self, limit: int = 5000) -> list[Any]:
        """(id, published_at, minhash) of posts with a signature and no cluster yet, oldest first."""
        p = t.posts.c
        query = select(p.id, p.published_at, p.minhash).where(p.cluster_id.is_(None), p.minhash.is_not(None))
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(p.published_at, p.id).limit(limit)).all())

    def record(self, now: datetime, clusters: Sequence[tuple[int, int]]) -> int:
        """Write one run's (post id, cluster id) pairs; returns the run's id."""
        with self.engine.begin() as conn:
            inserted = conn.execute(t.cluster_runs.insert().values(at=now, assigned=len(clusters))).inserted_primary_key
            assert inserted is not None
            run = int(inserted[0])
            if clusters:
                statement = update(t.posts).where(t.posts.c.id == bindparam("_id")).values(
                    cluster_id=bindparam("_cluster"), cluster_run=run)
                conn.execute(statement, [{"_id": post_id, "_cluster": cluster} for post_id, cluster in clusters])
        return run

    def reset(self, now: datetime) -> None:
        """Forget every cluster (before clustering history again); workers see the reset as a run."""
        with self.engine.begin() as conn:
            conn.execute(update(t.posts).where(t.posts.c.cluster_id.is_not(None)).values(cluster_id=None,
                                                                                          cluster_run=None))
            conn.execute(t.cluster_runs.insert().values(at=now, assigned=RESET))
