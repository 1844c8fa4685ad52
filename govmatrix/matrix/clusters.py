"""The clustering step: near-duplicate posts of the whole matrix grouped, one process at a time.

Runs after every store of crawled posts (and by ``govmatrix reprocess``). Under the matrix-wide
lock (``repo.clusters.lock``) it gives every post that has a dedup signature and no cluster yet,
oldest first, the cluster of the most alike post within the window of its publication
(``pipelines.dedup.ClusterIndex``), or a cluster of its own (its id). A cluster's representative is
its earliest member.

The index is kept between runs: it holds every clustered post published since ``covered_from``.
A run first catches up with what other workers' runs assigned since its last one (a reset, by
``reprocess``, empties it), loads the older posts a backfilled batch needs, and forgets what no
later batch of the run can match.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from govmatrix.pipelines.dedup import ClusterIndex
from govmatrix.storage.clusters import RESET
from govmatrix.storage.repo import Repo


class Clusterer:
    """One process's view of the clustered posts, kept between runs."""

    def __init__(self, window_days: int = 7, threshold: float = 0.8) -> None:
        self.window, self.threshold = timedelta(days=window_days), threshold
        self._forget()

    @classmethod
    def of(cls, pipelines: Any) -> Clusterer | None:
        """The clusterer the ``[pipelines]`` settings ask for; None without the dedup pipeline."""
        return cls(pipelines.dedup.window_days, pipelines.dedup.threshold) if "dedup" in pipelines.order else None

    def _forget(self) -> None:
        self.index = ClusterIndex(self.window, self.threshold)
        self.covered_from: datetime | None = None
        self.last_run = 0

    def _add(self, rows: list[Any]) -> None:
        self.index.add([(row.id, row.minhash, row.published_at, row.cluster_id) for row in rows])

    def run(self, repo: Repo, now: datetime) -> int:
        """Assign clusters to every unclustered post; returns how many were assigned."""
        total = 0
        with repo.clusters.lock():
            runs = repo.clusters.runs_after(self.last_run)
            if any(run.assigned == RESET for run in runs):
                self._forget()
            elif runs and self.covered_from is not None:
                self._add(repo.clusters.assigned(after_run=self.last_run, published_from=self.covered_from))
            if runs:
                self.last_run = runs[-1].id
            while batch := repo.clusters.unclustered():
                needed = batch[0].published_at - self.window
                if self.covered_from is None or needed < self.covered_from:
                    self._add(repo.clusters.assigned(published_from=needed, published_before=self.covered_from))
                    self.covered_from = needed
                clusters = self.index.assign([(row.id, row.minhash, row.published_at) for row in batch])
                pairs = [(row.id, cluster) for row, cluster in zip(batch, clusters, strict=True)]
                self.last_run = repo.clusters.record(now, pairs)
                total += len(pairs)
                horizon = batch[-1].published_at - self.window  # later batches are published later
                self.index.expire(horizon)
                self.covered_from = max(self.covered_from, horizon)
        return total
