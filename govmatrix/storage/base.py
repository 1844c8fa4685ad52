"""What every store module shares: the engine, the dialect's INSERT, ``IN`` lists, batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, Insert, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite

BATCH = 2000


def chunks(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Store:
    """One concern's SQL. Each method runs in its own transaction unless a connection is passed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    def insert(self, table: Any) -> Insert:
        """The dialect's INSERT, which knows ``ON CONFLICT``."""
        return (postgresql if self.postgres else sqlite).insert(table)

    def among(self, column: Any, values: Sequence[Any]) -> Any:
        """``column IN values``; on PostgreSQL one array parameter instead of one parameter per value."""
        if self.postgres:
            return column == any_(bindparam(f"among_{column.name}", list(values), type_=postgresql.ARRAY(column.type)))
        return column.in_(list(values))
