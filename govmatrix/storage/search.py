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

from sqlalchemy import Connection, literal_column, select, text

_RUN = re.compile(r"[^\W_]+")  # letters and digits: a bigram never spans punctuation or a space
_FOLD = 2_147_483_629  # a prime below 2**31: terms fit PostgreSQL's int4


def terms(value: str) -> list[int]:
    """The distinct bigram terms of a search form, sorted: each pair of neighbouring letters or digits
    (``_RUN``'s characters: ``str.isalnum``), as (first code point × 0x110000 + second) folded into 31 bits."""
    codes = [ord(c) if c.isalnum() else -1 for c in value.casefold()]
    return sorted({(a * 1_114_112 + b) % _FOLD for a, b in zip(codes, codes[1:], strict=False) if a >= 0 and b >= 0})


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

    def replace(self, conn: Connection, account_id: int, rows: Sequence[tuple[int, str | None, str]]) -> None:
        """Index an account's (post id, the stored search form before this write or None, the new one);
        a post whose search form did not change is left as it is."""
        rows = [row for row in rows if row[1] != row[2]]
        if not rows:
            return
        new_terms = [terms(new) for _id, _old, new in rows]
        if self.postgres:
            conn.exec_driver_sql(
                "INSERT INTO post_grams (post_id, account_id, grams) VALUES (%s, %s, %s) "
                "ON CONFLICT (post_id) DO UPDATE SET grams = excluded.grams",
                [(post_id, account_id, found) for (post_id, _old, _new), found in zip(rows, new_terms, strict=True)])
            return
        # A contentless FTS5 table forgets a row only when told the terms it was indexed with.
        before = [(post_id, old) for post_id, old, _new in rows if old is not None]
        if before:
            gone = [terms(old) for _id, old in before]
            conn.exec_driver_sql("INSERT INTO post_search (post_search, rowid, grams) VALUES ('delete', ?, ?)",
                                 [(post_id, _words(t)) for (post_id, _old), t in zip(before, gone, strict=True)])
        conn.exec_driver_sql("INSERT INTO post_search (rowid, grams) VALUES (?, ?)",
                             [(post_id, _words(t)) for (post_id, _old, _new), t in zip(rows, new_terms, strict=True)])

    def hits(self, query: str, accounts: Sequence[int] | None = None) -> Any:
        """A select of the ids of the posts whose search form holds every bigram of the query (a
        superset: the caller adds the exact substring check). On PostgreSQL ``accounts`` narrows it in
        the index (a BitmapAnd of the terms' GIN and the account's btree); SQLite's FTS cannot."""
        wanted = sorted({t for phrase in phrases(query) for t in terms(phrase)})
        if self.postgres:
            found: Any = select(literal_column("post_id").label("id")).select_from(text("post_grams")).where(
                text("grams @> CAST(:grams AS int[])").bindparams(grams=wanted))
            if accounts is not None:
                found = found.where(text("account_id = ANY(CAST(:accounts AS int[]))").bindparams(
                    accounts=list(accounts)))
            return found
        return select(literal_column("rowid").label("id")).select_from(text("post_search")).where(
            text("post_search MATCH :grams").bindparams(grams=" AND ".join(f'"{t}"' for t in wanted)))

    def first_hits(self, conn: Connection, query: str, cap: int, accounts: Sequence[int] | None = None) -> list[int]:
        """The ids of up to ``cap + 1`` posts the index finds for the query (more than ``cap``: a common word)."""
        return [int(i) for i in conn.execute(self.hits(query, accounts).limit(cap + 1)).scalars()]


def _words(found: list[int]) -> str:
    return " ".join(map(str, found))


def is_index_table(name: str | None) -> bool:
    """Whether a table is the search index's (not in ``schema.metadata``: its shape differs per backend)."""
    return bool(name) and (name == "post_grams" or str(name).startswith("post_search"))


def create_sql(postgres: bool) -> list[str]:
    """The statements that create the index (for the migration)."""
    if postgres:
        return ["CREATE TABLE post_grams (post_id BIGINT PRIMARY KEY REFERENCES posts (id), "
                "account_id INTEGER NOT NULL, grams INT[] NOT NULL)",
                "CREATE INDEX ix_post_grams ON post_grams USING gin (grams)",
                "CREATE INDEX ix_post_grams_account ON post_grams (account_id)"]
    return ["CREATE VIRTUAL TABLE post_search USING fts5(grams, content='', detail=none, tokenize='unicode61')"]
