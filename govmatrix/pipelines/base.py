"""The pipeline contract: small steps every crawled post goes through before it is stored.

Before any pipeline, ``prepare`` makes what a crawl produced fit to store, the same on SQLite and
PostgreSQL: NUL characters removed and lone surrogates replaced in every text (PostgreSQL refuses
both), a ``url`` that is not http(s) dropped, a time far in the future capped at the time the post
was first seen (the platform's value kept in ``extra`` and the post flagged).

A pipeline is a class with a ``name`` and ``process(post)`` (or ``process_batch(posts)`` where one
pass over the batch is faster); ``[pipelines] order`` in settings says which run and in what order.
A step that fails on one post flags that post (``pipeline_error:<name>``) and the batch goes on:
one bad item never blocks the others. Pipelines are pure: no I/O of their own, no clock.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any, ClassVar

from govmatrix.errors import ConfigError
from govmatrix.models import Post

log = logging.getLogger("govmatrix.pipelines")

FUTURE_SLACK = timedelta(hours=1)  # clocks differ; later than this past now is not believed
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_TEXT_FIELDS = tuple(f.name for f in fields(Post) if f.type in ("str", "str | None"))

AccountOf = Callable[[Post], Any]


def _nobody(post: Post) -> Any:
    return None


# pipeline name -> "module:Class"
REGISTRY: dict[str, str] = {
    "clean": "govmatrix.pipelines.clean:CleanPipeline",
    "dedup": "govmatrix.pipelines.dedup:DedupPipeline",
    "alerts": "govmatrix.pipelines.alerts:AlertsPipeline",
    "wording": "govmatrix.pipelines.wording:WordingPipeline",
}


class Pipeline:
    """One step. Subclasses set ``name`` and implement ``process`` (or override ``process_batch``).

    ``flags`` are the flags the step decides; they are cleared before it runs, so running the
    pipelines again over a stored post (``govmatrix reprocess``) gives the same result.
    """

    name: ClassVar[str]
    flags: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings

    def process(self, post: Post, account: Any = None) -> None:
        """Change ``post`` in place; ``account`` is the settings of the post's account, when known."""
        raise NotImplementedError(f"pipeline {self.name} implements neither process nor process_batch")

    def process_batch(self, posts: Sequence[Post], account_of: AccountOf = _nobody) -> None:
        """Run over a batch; a post that fails is flagged and the others go on."""
        for post in posts:
            try:
                self.process(post, account_of(post))
            except Exception as exc:  # one bad post must not stop the batch
                flag_failure(post, self.name, exc)


def flag_failure(post: Post, name: str, exc: BaseException) -> None:
    log.warning("%s %s: pipeline %s failed: %r", post.platform, post.native_id, name, exc)
    if f"pipeline_error:{name}" not in post.flags:
        post.flags.append(f"pipeline_error:{name}")


def storable(value: Any) -> Any:
    """``value`` with NUL removed and lone surrogates replaced, in strings, lists and dicts."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(lambda m: "" if m[0] == "\x00" else "\ufffd", value) if _UNSTORABLE.search(value) \
            else value
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    return value


def prepare(posts: Sequence[Post], now: datetime) -> list[str]:
    """Make crawled posts fit to store (see the module docstring); returns warnings."""
    warnings = []
    for post in posts:
        for name in _TEXT_FIELDS:
            value = getattr(post, name)
            if value:
                setattr(post, name, storable(value))
        post.extra, post.raw, post.media = storable(post.extra), storable(post.raw), storable(post.media)
        if post.url and not post.url.lower().startswith(("http://", "https://")):
            warnings.append(f"post {post.native_id}: link {post.url[:40]!r} is not http(s), dropped")
            post.url = ""
        if post.published_at > now + FUTURE_SLACK:
            post.extra["platform_published_at"] = post.published_at.isoformat()
            post.published_at = now
            post.flags.append("future_date")
            warnings.append(f"post {post.native_id}: dated {post.extra['platform_published_at']}, in the future; "
                            "dated when first seen")
    return warnings


def build(order: Sequence[str], settings: Any = None) -> list[Pipeline]:
    """The pipelines named in ``order``, in that order."""
    steps = []
    for name in order:
        if name not in REGISTRY:
            raise ConfigError(f"pipelines.order: unknown pipeline {name!r} (known: {', '.join(REGISTRY)})")
        module, _, cls = REGISTRY[name].partition(":")
        steps.append(getattr(importlib.import_module(module), cls)(settings))
    return steps


def run(pipelines: Sequence[Pipeline], posts: Sequence[Post], account_of: AccountOf = _nobody) -> None:
    """Every pipeline over the batch, in order; ``account_of`` gives each post's account settings."""
    for step in pipelines:
        own = step.flags | {f"pipeline_error:{step.name}"}
        for post in posts:
            if own.intersection(post.flags):
                post.flags = [flag for flag in post.flags if flag not in own]
        try:
            step.process_batch(posts, account_of)
        except Exception as exc:  # a batch step that fails flags the whole batch, never raises
            for post in posts:
                flag_failure(post, step.name, exc)
