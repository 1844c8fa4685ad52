"""Chinese full-text search on both backends: an inverted index of character bigrams.

Chinese has no spaces, and the common words staff search for are two characters long (疫苗, 食品,
供暖). SQLite's FTS5 trigram tokenizer and PostgreSQL's pg_trgm cannot use their index for a query
shorter than three characters, and a word segmenter splits 食品安全 differently in a query than in a
text. Every two-character window of a text is a term here, so any query of two characters or more
is a set of terms the index answers (the texts holding all of them), and a substring check on those
candidates alone makes the answer exact. A term is a number (the pair of code points, folded into
31 bits), so both indexes hold small integers and no tokenizer or locale decides what a word is:
SQLite keeps them in a contentless FTS5 table (``post_search``, rowid = post id), PostgreSQL in an
``int[]`` column of ``post_grams`` under a GIN index. A one-character query cannot use the index and
is answered by a scan of ``text_norm`` (``needs_scan``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

_RUN = re.compile(r"[^\W_]+")  # letters and digits: a bigram never spans punctuation or a space
_FOLD = 2_147_483_629  # a prime below 2**31: terms fit PostgreSQL's int4


def term(pair: str) -> int:
    return (ord(pair[0]) * 1_114_112 + ord(pair[1])) % _FOLD


def terms(value: str) -> list[int]:
    """The distinct bigram terms of a search form, sorted."""
    out: set[int] = set()
    for run in _RUN.findall(value.casefold()):
        out.update(term(run[i : i + 2]) for i in range(len(run) - 1))
    return sorted(out)


def phrases(query: str) -> list[str]:
    """A query's phrases (split at spaces and punctuation), casefolded; each must occur in the text."""
    return _RUN.findall(query.casefold())


def needs_scan(query: str) -> bool:
    """Whether some phrase of the query is one character (the bigram index cannot answer it)."""
    return any(len(p) < 2 for p in phrases(query))


class SearchIndex:
    """Keeps the bigram index in step with ``posts.text_norm`` and says how to query it."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def replace(self, conn: Connection, rows: Sequence[tuple[int, str | None, str]]) -> None:
        """Index (post id, the stored search form before this write or None, the new one)."""
        if not rows:
            return
        if self.postgres:
            conn.exec_driver_sql(
                "INSERT INTO post_grams (post_id, grams) VALUES (%s, %s) "
                "ON CONFLICT (post_id) DO UPDATE SET grams = excluded.grams",
                [(post_id, terms(new)) for post_id, _old, new in rows])
            return
        # A contentless FTS5 table forgets a row only when told the terms it was indexed with.
        old = [("delete", post_id, _words(before)) for post_id, before, _new in rows if before is not None]
        if old:
            conn.exec_driver_sql("INSERT INTO post_search (post_search, rowid, grams) VALUES (?, ?, ?)", old)
        conn.exec_driver_sql("INSERT INTO post_search (rowid, grams) VALUES (?, ?)",
                             [(post_id, _words(new)) for post_id, _old, new in rows])

    def matching(self, query: str) -> tuple[Any, dict[str, Any]]:
        """A condition on posts.id for the posts whose search form holds every bigram
        of the query, and its parameters; the caller adds the exact substring check."""
        wanted = sorted({t for phrase in phrases(query) for t in terms(phrase)})
        if self.postgres:
            return (text("posts.id IN (SELECT post_id FROM post_grams WHERE grams @> CAST(:grams AS int[]))"),
                    {"grams": wanted})
        return (text("posts.id IN (SELECT rowid FROM post_search WHERE post_search MATCH :grams)"),
                {"grams": " AND ".join(f'"{t}"' for t in wanted)})


def _words(value: str) -> str:
    return " ".join(map(str, terms(value)))


def is_index_table(name: str | None) -> bool:
    """Whether a table is the search index's (not in ``schema.metadata``: its shape differs per backend)."""
    return bool(name) and (name == "post_grams" or str(name).startswith("post_search"))


def create_sql(postgres: bool) -> list[str]:
    """The statements that create the index (for the migration)."""
    if postgres:
        return ["CREATE TABLE post_grams (post_id BIGINT PRIMARY KEY REFERENCES posts (id), grams INT[] NOT NULL)",
                "CREATE INDEX ix_post_grams ON post_grams USING gin (grams)"]
    return ["CREATE VIRTUAL TABLE post_search USING fts5(grams, content='', detail=none, "
            "tokenize='unicode61')"]
