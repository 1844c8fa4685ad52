"""The dedup pipeline: the same release posted by many accounts, on several platforms, is one cluster.

Each post's text, in its search form (simplified script, unified punctuation; the title apart: one
site puts the title above the text, another inside it), is reduced to what a copy keeps
(``dedup_text``): leading 【菏泽发布】, 【title】 or #话题# tags, a trailing 全文 link or 来源 line,
all punctuation and whitespace go. Its signature (``Signature``) holds a MinHash (rensa, 64
permutations) of the 3-character shingles of that text and one of its first ``HEAD`` characters,
the shingle count, the numbers it states in order, the title reduced the same way, and hashes of
its first ``OPENING`` and ``LONG_OPENING`` characters, also of the text after a lead ("标题：正文").
A native repost is a repost (``parent_native_id``), never a near-duplicate, and gets no signature;
nor does a post too short to compare.

Two posts are one release when, within ``window_days`` of each other:

- they are candidates: their whole-text MinHashes collide in an LSH band (4 bands of 16 rows, keyed
  with the first figure too), or they open alike, exactly, digits included: a copy and its
  original, a teaser and its article, a text and the same text after a title;
- both state the same figure first (or one a title's, cut short), and the numbers of the shorter
  are numbers of the longer, in the same order (a teaser may cut its last number short): template
  bulletins (``#菏泽天气# 第12期 ...``) and notices that differ in a date share their words but not
  their figures, and stay apart;
- when both have a title, one title holds the other or they are alike (character-bigram Jaccard
  >= ``TITLE_ALIKE``): citizens' threads written from one template keep their own titles;
- and the texts are alike (estimated Jaccard >= ``threshold``), or the shorter is the opening of the
  longer, a Weibo teaser or the first paragraph of an article (estimated containment of the heads
  >= ``CONTAINMENT`` and of the whole texts >= ``CONTAINED_WHOLE``), or the shorter is the longer
  without its lead (containment of the whole texts >= ``CONTAINMENT``).

The thresholds were chosen on the sandbox's truth clusters: once reduced, every copy the sandbox
makes of a release is alike at 0.95 and above, or contained; citizens' posts from one template stay
under 0.75. ``threshold`` is 0.8 (setting ``[pipelines.dedup] threshold``).

A post joins a cluster found among its candidates only if it is one release with the cluster's
anchor (its longest member, the full article), so a teaser that matches two different articles
cannot chain them; of several such clusters, the most alike anchor's.

The pipeline only computes signatures (pure); ``ClusterIndex`` is the in-memory matching the
clustering step (``matrix/clusters.py``) runs under a database lock, one process at a time.
"""

from __future__ import annotations

import heapq
import re
import struct
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from govmatrix.models import REPOST, Post
from govmatrix.pipelines.base import Pipeline
from govmatrix.pipelines.clean import normalise

NUM_PERM, BANDS = 64, 4  # 16 rows a band: a pair at 0.95 Jaccard collides 9 times in 10, at 0.7 once in 100
SHINGLE, HEAD, MIN_CHARS = 3, 60, 12
OPENING, LONG_OPENING = 24, 48  # characters of the reduced text a teaser and its article share exactly
CONTAINMENT, CONTAINED_WHOLE, TITLE_ALIKE = 0.8, 0.6, 0.8
MAX_NUMBERS, MAX_TITLE = 64, 64
SEED = 20160601
_TAGS = re.compile(r"^(?:\s*(?:\[[^\]]{1,64}\]|#[^#\s]{1,24}#))+")
_TAILS = re.compile(r"(?:\.{2,}|…)?\s*(?:全文|展开全文|阅读全文)\s*$|\s*[\[(（]?\s*(?:来源|稿源|信息来源)\s*[:：][^\n]{0,40}$")
_NOISE = re.compile(r"[\W_]+")
_NUMBERS = re.compile(r"\d+(?:\.\d+)?")
_LEAD = re.compile(r"[^\n]{4,40}:")  # a title before the text, "食品安全:市食药监局…" (the search form's colon)
_HEADER = struct.Struct("<IHHIIII")  # shingles, byte lengths of numbers and title, opening hashes
_DIGEST = struct.Struct(f"<{NUM_PERM}I")  # one MinHash: 64 little-endian u32
_LOW_BITS = int.from_bytes(b"\x01\x00\x00\x00" * NUM_PERM, "little")  # bit 0 of every value


def _reduced(text_norm: str) -> str:
    """The text without the tags and tails a copy adds, punctuation still in."""
    text = _TAGS.sub("", text_norm.strip())
    for _ in range(2):  # a 来源 line after a 全文 link, or the other way round
        cut = max(0, len(text) - 64)
        if "全文" not in text[cut:] and "源" not in text[cut:]:
            break
        tail = _TAILS.search(text, cut)
        if tail is None:
            break
        text = text[:tail.start()].rstrip()
    return text


def dedup_text(text_norm: str) -> str:
    """What every copy of a release keeps (see the module docstring)."""
    return _NOISE.sub("", _reduced(text_norm))


def _hash(text: str) -> int:
    return zlib.crc32(text.encode()) or 1  # 0 means none


def _openings(text: str) -> tuple[int, int]:
    return _hash(text[:OPENING]), _hash(text[:LONG_OPENING]) if len(text) >= LONG_OPENING else 0


class Signature(NamedTuple):
    full: bytes  # the MinHash of the whole text (``_DIGEST``)
    head: bytes  # of its first HEAD characters: the same as ``full`` for a text no longer than that
    size: int  # shingles of the whole text
    numbers: str  # the numbers the text states, in order, comma-separated
    title: str = ""
    opening: int = 0  # hash of the first OPENING characters
    long_opening: int = 0  # hash of the first LONG_OPENING characters; 0 for a text shorter than that
    lead_opening: int = 0  # the same two of the text after a lead ("标题：正文"), 0 without one
    lead_long_opening: int = 0

    def pack(self) -> bytes:
        numbers, title = self.numbers.encode(), self.title.encode()
        return (_HEADER.pack(self.size, len(numbers), len(title), self.opening, self.long_opening,
                             self.lead_opening, self.lead_long_opening)
                + self.full + self.head + numbers + title)

    @classmethod
    def unpack(cls, blob: bytes) -> Signature:
        size, n_len, t_len, *openings = _HEADER.unpack_from(blob)
        at, width = _HEADER.size, _DIGEST.size
        numbers = blob[at + 2 * width:at + 2 * width + n_len].decode()
        title = blob[at + 2 * width + n_len:at + 2 * width + n_len + t_len].decode()
        return cls(blob[at:at + width], blob[at + width:at + 2 * width], size,
                   numbers, title, *openings)


def _grams(texts: Sequence[str]) -> tuple[Any, Any, Any]:
    """Every 3-character window of the texts joined, as one u64 (three 21-bit code points: exact,
    no collisions), with where each text starts and its length."""
    import numpy as np

    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    grams = (points[:-2] << 42) | (points[1:-1] << 21) | points[2:]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return grams, np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths


def _digests(grams: Any, starts: Any, lengths: Any) -> list[bytes]:
    """The MinHash of the shingles of each text (``lengths`` characters from ``starts``), in one call."""
    import numpy as np
    import rensa

    counts = lengths - (SHINGLE - 1)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    index = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
    rows = rensa.RMinHash.digest_matrix_from_flat_token_hashes(grams[index], offsets.astype(np.uint64),
                                                               NUM_PERM, SEED).to_rows()
    return [_DIGEST.pack(*row) for row in rows]


def signatures(texts_norm: Sequence[str], titles_norm: Sequence[str]) -> list[Signature | None]:
    """The signatures of posts' search forms (and titles), None for a text too short to compare."""
    import numpy as np

    reduced = [_reduced(text) for text in texts_norm]
    texts = [_NOISE.sub("", r) for r in reduced]
    usable = [i for i, text in enumerate(texts) if len(text) >= MIN_CHARS]
    out: list[Signature | None] = [None] * len(texts)
    if not usable:
        return out
    grams, starts, lengths = _grams([texts[i] for i in usable])
    fulls = _digests(grams, starts, lengths)
    heads = list(fulls)  # a text no longer than HEAD is its own head
    longer = np.flatnonzero(lengths > HEAD)
    if len(longer):
        for n, digest in zip(longer.tolist(), _digests(grams, starts[longer], np.full(len(longer), HEAD)),
                             strict=True):
            heads[n] = digest
    for n, i in enumerate(usable):
        text, whole = texts[i], reduced[i]
        lead = _LEAD.match(whole)
        after = text[len(_NOISE.sub("", whole[:lead.end()])):] if lead else ""
        out[i] = Signature(fulls[n], heads[n], len(text) - (SHINGLE - 1),
                           ",".join(_NUMBERS.findall(whole)[:MAX_NUMBERS]),
                           dedup_text(titles_norm[i])[:MAX_TITLE] if titles_norm[i] else "",
                           *_openings(text), *(_openings(after) if len(after) >= MIN_CHARS else (0, 0)))
    return out


def signature(text_norm: str, title_norm: str = "") -> Signature | None:
    """The signature of one post's search form (``signatures`` for a batch)."""
    return signatures([text_norm], [title_norm])[0]


def jaccard(a: bytes, b: bytes) -> float:
    """The estimated Jaccard of two MinHashes: the share of their values that are equal."""
    x = int.from_bytes(a, "little") ^ int.from_bytes(b, "little")
    for shift in (16, 8, 4, 2, 1):  # fold every 32-bit value onto its lowest bit (never across values)
        x |= x >> shift
    return 1 - (x & _LOW_BITS).bit_count() / NUM_PERM


def _contained(j: float, short: int, long: int) -> float:
    """|A∩B| / |A| from the Jaccard of A and B and their sizes."""
    return j * (short + long) / ((1 + j) * short)


def _numbers_agree(short: str, long: str) -> bool:
    """Both texts state the same figure first (or one a title's, cut short), and every number of
    the shorter is a number of the longer, in the same order (the last may be cut short: a teaser
    ends where it ends)."""
    if long.startswith(short):  # the same figures, or the first of them (the last perhaps cut)
        return True
    shorts, longs = short.split(","), long.split(",")
    if not (longs[0].startswith(shorts[0]) or shorts[0].startswith(longs[0])):
        return False
    rest = iter(longs)
    last = len(shorts) - 1
    return all(any(n == m or (i == last and m.startswith(n)) for m in rest) for i, n in enumerate(shorts))


def _titles_agree(a: str, b: str) -> bool:
    if not a or not b or a in b or b in a:
        return True
    grams_a, grams_b = {a[i:i + 2] for i in range(len(a) - 1)}, {b[i:i + 2] for i in range(len(b) - 1)}
    return len(grams_a & grams_b) >= TITLE_ALIKE * len(grams_a | grams_b)


def same_release(a: Signature, b: Signature, threshold: float) -> bool:
    """The rule of the module docstring, for two candidates."""
    short, long = (a, b) if a.size <= b.size else (b, a)
    if not _numbers_agree(short.numbers, long.numbers) or not _titles_agree(a.title, b.title):
        return False
    j = jaccard(a.full, b.full)
    if j >= threshold:
        return True
    if long.lead_opening and long.lead_opening == short.opening:  # the shorter is the longer without its lead
        return _contained(j, short.size, long.size) >= CONTAINMENT
    head_short, head_long = min(short.size, HEAD - SHINGLE + 1), min(long.size, HEAD - SHINGLE + 1)
    return (_contained(jaccard(short.head, long.head), head_short, head_long) >= CONTAINMENT
            and _contained(j, short.size, long.size) >= CONTAINED_WHOLE)


_ROWS = NUM_PERM // BANDS
_LONG, _SHORT, _LONG_BY_OPENING, _AFTER_LEAD = 1 << 60, 2 << 60, 3 << 60, 4 << 60  # opening keys' kinds
_BAND_SLICES = tuple(slice(b * _DIGEST.size // BANDS, (b + 1) * _DIGEST.size // BANDS) for b in range(BANDS))


def _bands(sig: Signature) -> list[int]:
    """The LSH keys of the whole text's MinHash, one a band: the band's values and number hashed with
    the first two characters of the text's first figure. Texts that state other figures first are
    never one release, so template bulletins (``第12期``, ``第13期``) do not even meet."""
    full, figure = sig.full, sig.numbers[:2].split(",")[0]
    return [hash((full[cut], b, figure)) for b, cut in enumerate(_BAND_SLICES)]


def _filed(opening: int, long_opening: int, kinds: int) -> list[int]:
    """Where a text is filed by its openings: a long one by both, a short one among the short."""
    if long_opening:
        return [kinds | _LONG | long_opening, kinds | _LONG_BY_OPENING | opening]
    return [kinds | _SHORT | opening] if opening else []


def _sought(opening: int, long_opening: int, kinds: int) -> list[int]:
    """Where the texts that open alike are filed: a long text looks for long texts of the same long
    opening and for short ones (teasers) of its opening, a short one for both of its opening."""
    if long_opening:
        return [kinds | _LONG | long_opening, kinds | _SHORT | opening]
    return [kinds | _SHORT | opening, kinds | _LONG_BY_OPENING | opening] if opening else []


def _index_keys(sig: Signature, bands: list[int]) -> list[int]:
    """Where a signature is filed: the bands of its whole text, its openings, and the openings of
    the text after its lead among the leads."""
    return [*bands, *_filed(sig.opening, sig.long_opening, 0),
            *_filed(sig.lead_opening, sig.lead_long_opening, _AFTER_LEAD)]


def _lookup_keys(sig: Signature, bands: list[int]) -> list[int]:
    """Where its matches are filed: the same bands, texts that open as it does, texts that open as
    it does after its lead, and texts that open after their lead as it does. (Two texts that both
    have a lead never meet by it: template bulletins, ``第12期：…``, would all meet.)"""
    return [*bands, *_sought(sig.opening, sig.long_opening, 0),
            *_sought(sig.lead_opening, sig.lead_long_opening, 0),
            *_sought(sig.opening, sig.long_opening, _AFTER_LEAD)]


class ClusterIndex:
    """The posts of the last ``window`` in memory, by LSH band and opening (pure)."""

    def __init__(self, window: timedelta, threshold: float) -> None:
        self.window, self.threshold = window, threshold
        # post id -> (signature, publication as a POSIX time, cluster, its keys)
        self.members: dict[int, tuple[Signature, float, int, list[int]]] = {}
        self.buckets: dict[int, list[int]] = {}
        self.anchors: dict[int, tuple[int, Signature]] = {}  # cluster -> its longest member (id, signature)
        self._by_time: list[tuple[float, int]] = []  # a heap, for expiry

    def assign(self, post_id: int, sig: Signature, published_at: datetime) -> int:
        """Match a new post and file it: its cluster (the most alike member's, or its own id)."""
        at, bands = published_at.timestamp(), _bands(sig)
        cluster = self._match(sig, at, bands)
        cluster = post_id if cluster is None else cluster
        self._add(post_id, sig, at, cluster, bands)
        return cluster

    def add(self, post_id: int, sig: Signature, published_at: datetime, cluster: int) -> None:
        """File a post whose cluster is known (assigned by an earlier run)."""
        self._add(post_id, sig, published_at.timestamp(), cluster, _bands(sig))

    def match(self, sig: Signature, published_at: datetime) -> int | None:
        """The cluster of the most alike member inside the window of ``published_at``, if any."""
        return self._match(sig, published_at.timestamp(), _bands(sig))

    def _add(self, post_id: int, sig: Signature, at: float, cluster: int, bands: list[int]) -> None:
        if post_id in self.members:
            self._drop(post_id)
        keys = _index_keys(sig, bands)
        self.members[post_id] = (sig, at, cluster, keys)
        buckets = self.buckets
        for key in keys:
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = [post_id]
            else:
                bucket.append(post_id)
        heapq.heappush(self._by_time, (at, post_id))
        anchor = self.anchors.get(cluster)
        if anchor is None or sig.size > anchor[1].size:
            self.anchors[cluster] = (post_id, sig)

    def _match(self, sig: Signature, at: float, bands: list[int]) -> int | None:
        buckets = self.buckets
        candidates: set[int] = set()
        for key in _lookup_keys(sig, bands):
            bucket = buckets.get(key)
            if bucket is not None:
                candidates.update(bucket)
        if not candidates:
            return None
        window, threshold, members, anchors = self.window.total_seconds(), self.threshold, self.members, self.anchors
        by_cluster: dict[int, list[Signature]] = {}
        for post_id in candidates:
            other, other_at, cluster, _ = members[post_id]
            if abs(other_at - at) <= window:
                by_cluster.setdefault(cluster, []).append(other)
        best, best_score = None, -1.0
        for cluster, others in by_cluster.items():
            anchor = anchors.get(cluster)  # the cluster's longest member: joining means matching it
            for other in [anchor[1]] if anchor is not None else others:
                if same_release(sig, other, threshold):
                    score = jaccard(sig.full, other.full)
                    if score > best_score:
                        best, best_score = cluster, score
                    break
        return best

    def _drop(self, post_id: int) -> None:
        _, _, cluster, keys = self.members.pop(post_id)
        buckets = self.buckets
        for key in keys:
            bucket = buckets.get(key)
            if bucket is not None:
                if len(bucket) == 1:
                    del buckets[key]
                else:
                    bucket.remove(post_id)
        anchor = self.anchors.get(cluster)
        if anchor is not None and anchor[0] == post_id:
            del self.anchors[cluster]  # the cluster's later members cannot chain to it any more

    def expire(self, before: datetime) -> int:
        """Forget the members published before ``before``; how many went."""
        gone, cutoff, by_time = 0, before.timestamp(), self._by_time
        while by_time and by_time[0][0] < cutoff:
            at, post_id = heapq.heappop(by_time)
            member = self.members.get(post_id)
            if member is not None and member[1] == at:
                self._drop(post_id)
                gone += 1
        return gone


class DedupPipeline(Pipeline):
    """Computes each post's signature (``post.minhash``); clusters are assigned after the store."""

    name = "dedup"

    def process(self, post: Post, account: Any = None) -> None:
        self._sign([post])

    def process_batch(self, posts: Sequence[Post], account_of: Any = None) -> None:
        try:
            self._sign(posts)  # one pass: the shingles of the whole batch hashed at once
        except Exception:
            super().process_batch(posts, account_of)  # one at a time: a failing post is flagged, the rest go on

    @staticmethod
    def _sign(posts: Sequence[Post]) -> None:
        compared = [post for post in posts if not (post.kind == REPOST or post.parent_native_id)]
        for post in posts:
            post.minhash = None
        texts, titles = [], []
        for post in compared:
            title = normalise(post.title) if post.title else ""
            if post.text_norm:  # the clean pipeline's search form holds the title first
                texts.append(post.text_norm.removeprefix(f"{title} ") if title else post.text_norm)
            else:
                texts.append(normalise(post.text))
            titles.append(title)
        for post, sig in zip(compared, signatures(texts, titles), strict=True):
            post.minhash = sig.pack() if sig is not None else None
