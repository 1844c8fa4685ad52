"""The alerts pipeline: what a reviewer must see first.

- **Keyword rules** (``[[alerts]]`` in settings: name, words with ``match = "any" | "all"``, words
  that exclude, platforms, kinds, severity), matched with one Aho-Corasick automaton (pyahocorasick)
  on the search form, so a rule written in simplified script also finds traditional text.
- **Citizen complaints** on the forum (posts by anyone but the department's speakers): a lexicon
  (``data/complaints.toml``) with negation ("没有投诉"), channel questions ("举报电话是多少"),
  questions about rules ("假药和劣药有什么区别") and settled matters ("已经解决了，谢谢") handled;
  and a **negative** mood flag.

A post's alerts are ``[{"rule", "severity"}]``; the store keeps them and the highest severity, by
which the review queue puts alerts first. The wording pipeline's entries (``wording:*``) are left as
they are.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ahocorasick

from govmatrix.models import Post
from govmatrix.pipelines.base import Pipeline
from govmatrix.pipelines.clean import DATA, normalise

COMPLAINT, NEGATIVE = "citizen_complaint", "negative"
WORDING = "wording:"  # the prefix of the wording pipeline's rules (pipelines/wording.py)
_NEGATION_REACH = 4  # characters before a word a negator may stand in
_CHANNEL_REACH = 6  # characters after "举报"/"投诉" a channel word may follow


@dataclass(frozen=True)
class Lexicon:
    weights: dict[str, int]
    negative: tuple[str, ...]
    negators: tuple[str, ...]
    channels: tuple[str, ...]
    settled: tuple[str, ...]
    but: tuple[str, ...]
    asks: tuple[str, ...]
    asks_weight: int
    threshold: int


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    data = tomllib.loads((DATA / "complaints.toml").read_text(encoding="utf-8"))
    return Lexicon({normalise(k): int(v) for k, v in data["weights"].items()}, tuple(data["negative"]["words"]),
                   tuple(data["negators"]), tuple(data["channels"]), tuple(data["settled"]), tuple(data["but"]),
                   tuple(data["asks"]), int(data["asks_weight"]), int(data["threshold"]))


def _automaton(words: Sequence[str]) -> Any:
    machine = ahocorasick.Automaton()
    for word in set(words):
        machine.add_word(word, word)
    machine.make_automaton()
    return machine


@lru_cache(maxsize=1)
def _complaint_machine() -> Any:
    return _automaton(list(lexicon().weights))


@lru_cache(maxsize=1)
def _negative_machine() -> Any:
    return _automaton(list(lexicon().negative))


def _hits(machine: Any, text: str) -> list[tuple[int, str]]:
    """(start, word) of every match, the longest at each end."""
    return [(end - len(word) + 1, word) for end, word in machine.iter_long(text)]


def _negated(text: str, start: int, lex: Lexicon) -> bool:
    before = text[max(0, start - _NEGATION_REACH):start]
    return any(before.endswith(n) or n in before for n in lex.negators)


def _asks_for_a_channel(text: str, start: int, word: str, lex: Lexicon) -> bool:
    after = text[start + len(word):start + len(word) + _CHANNEL_REACH]
    before = text[max(0, start - 3):start]
    return any(c in after for c in lex.channels) or any(q in before for q in ("怎么", "如何", "怎样", "在哪", "向哪"))


def _settled(text: str, lex: Lexicon) -> bool:
    positions = [text.find(s) for s in lex.settled if s in text]
    if not positions:
        return False
    first = min(positions)
    return not any(b in text[first:] for b in lex.but)


def complaint_score(text: str) -> int:
    """The complaint score of a citizen post's search form (see the module docstring)."""
    lex = lexicon()
    score = 0
    for start, word in _hits(_complaint_machine(), text):
        if _negated(text, start, lex):
            continue
        if word in ("投诉", "举报") and _asks_for_a_channel(text, start, word, lex):
            continue
        score += lex.weights[word]
    if any(ask in text for ask in lex.asks):
        score -= lex.asks_weight
    return 0 if score > 0 and _settled(text, lex) else max(score, 0)


def is_complaint(text: str) -> bool:
    return complaint_score(text) >= lexicon().threshold


def is_negative(text: str, complaint: bool | None = None) -> bool:
    """A complaint (``complaint``, when the caller already knows), or a post of negative mood (a mood
    word not negated, or exclamations)."""
    moods = [w for start, w in _hits(_negative_machine(), text) if not _negated(text, start, lexicon())]
    if moods or text.count("!") + text.count("?") >= 3:
        return True
    return is_complaint(text) if complaint is None else complaint


class _Rule:
    def __init__(self, rule: Any) -> None:
        self.name, self.match, self.severity = rule.name, rule.match, rule.severity
        self.words = {normalise(w) for w in rule.words}
        self.exclude = {normalise(w) for w in rule.exclude}
        self.platforms, self.kinds = set(rule.platforms), set(rule.kinds)

    def applies(self, post: Post, found: set[str]) -> bool:
        if (self.platforms and post.platform not in self.platforms) or (self.kinds and post.kind not in self.kinds):
            return False
        if found & self.exclude:
            return False
        hit = found & self.words
        return bool(hit) if self.match == "any" else hit == self.words


def speakers_of(account: Any) -> set[str] | None:
    """The department's own forum users, or None when the account has none (not a forum board)."""
    options = getattr(account, "options", None)
    if options is None or not hasattr(options, "speakers"):
        return None
    return set(options.speakers or [account.id])


class AlertsPipeline(Pipeline):
    """Sets ``post.alerts`` from the keyword rules and, on the forum, the complaint lexicon."""

    name = "alerts"

    def __init__(self, settings: Any = None) -> None:
        super().__init__(settings)
        self.rules = [_Rule(r) for r in getattr(settings, "alerts", [])]
        words = [w for rule in self.rules for w in rule.words | rule.exclude]
        self._machine = _automaton(words) if words else None

    def process(self, post: Post, account: Any = None) -> None:
        alerts = []
        if self._machine is not None:
            found = {word for _, word in _hits(self._machine, post.text_norm)}
            alerts += [{"rule": r.name, "severity": r.severity} for r in self.rules if r.applies(post, found)]
        speakers = speakers_of(account)
        if speakers is not None and post.author not in speakers:
            complaint = is_complaint(post.text_norm)
            if complaint:
                alerts.append({"rule": COMPLAINT, "severity": "medium"})
            if is_negative(post.text_norm, complaint):
                alerts.append({"rule": NEGATIVE, "severity": "low"})
        # the wording pipeline's entries (``wording:<list>``) are its own: kept, whichever runs first
        post.alerts = [a for a in post.alerts if str(a.get("rule", "")).startswith(WORDING)] + alerts
