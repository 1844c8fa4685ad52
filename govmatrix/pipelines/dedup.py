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

import functools
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


def _digests(grams: Any, starts: Any, lengths: Any) -> bytes:
    """The MinHashes of the shingles of texts (``lengths`` characters from ``starts``), in one call,
    packed one after the other."""
    import numpy as np
    import rensa

    counts = lengths - (SHINGLE - 1)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    index = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
    rows = rensa.RMinHash.digest_matrix_from_flat_token_hashes(grams[index], offsets.astype(np.uint64),
                                                               NUM_PERM, SEED).to_rows()
    return np.array(rows, dtype="<u4").tobytes()


def signatures(texts_norm: Sequence[str], titles_norm: Sequence[str]) -> list[bytes | None]:
    """The signatures of posts' search forms (and titles), packed (``Signature``), None for a text
    too short to compare. One MinHash call for the whole batch, heads included."""
    import numpy as np

    reduced = [_reduced(text) for text in texts_norm]
    texts = [_NOISE.sub("", r) for r in reduced]
    usable = [i for i, text in enumerate(texts) if len(text) >= MIN_CHARS]
    out: list[bytes | None] = [None] * len(texts)
    if not usable:
        return out
    grams, starts, lengths = _grams([texts[i] for i in usable])
    longer = np.flatnonzero(lengths > HEAD)  # a text no longer than HEAD is its own head
    digests = _digests(grams, np.concatenate((starts, starts[longer])),
                       np.concatenate((lengths, np.full(len(longer), HEAD))))
    heads = np.arange(len(usable))
    heads[longer] = len(usable) + np.arange(len(longer))
    width = _DIGEST.size
    for n, i, h in zip(range(len(usable)), usable, heads.tolist(), strict=True):
        text, whole, title = texts[i], reduced[i], titles_norm[i]
        lead = _LEAD.match(whole)
        after = text[len(_NOISE.sub("", whole[:lead.end()])):] if lead else ""
        out[i] = Signature(digests[n * width:(n + 1) * width], digests[h * width:(h + 1) * width],
                           len(text) - (SHINGLE - 1), ",".join(_NUMBERS.findall(whole)[:MAX_NUMBERS]),
                           dedup_text(title)[:MAX_TITLE] if title else "",
                           *_openings(text), *(_openings(after) if len(after) >= MIN_CHARS else (0, 0))).pack()
    return out


def signature(text_norm: str, title_norm: str = "") -> Signature | None:
    """The signature of one post's search form, unpacked (``signatures`` for a batch)."""
    blob = signatures([text_norm], [title_norm])[0]
    return None if blob is None else Signature.unpack(blob)


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


_LONG, _SHORT, _LONG_BY_OPENING, _AFTER_LEAD = 1 << 60, 2 << 60, 3 << 60, 4 << 60  # opening keys' kinds
_RECORD = [("size", "<u4"), ("numbers", "<u2"), ("title", "<u2"), ("openings", "<u4", (4,)),
           ("full", "<u8", (BANDS, NUM_PERM // BANDS // 2)), ("head", f"V{_DIGEST.size}"), ("figure", "u1", (2,))]
_RECORD_SIZE = _HEADER.size + 2 * _DIGEST.size + 2  # a packed signature's fixed part and two bytes of its numbers


@functools.cache
def _constants() -> Any:
    """The odd multipliers of the band hashes: one row a band, and one for the figure."""
    import numpy as np

    return np.random.default_rng(SEED).integers(1, 1 << 63, size=(BANDS + 1, NUM_PERM // BANDS // 2),
                                                dtype=np.uint64) | np.uint64(1)


def _keys(blobs: Sequence[bytes]) -> tuple[list[int], list[list[int]], list[list[int]]]:
    """Of packed signatures, in one pass: their shingle counts, where each is filed and where its
    matches are filed (a key of 0: nowhere).

    A text is filed by the LSH bands of its MinHash: each band's 16 values hashed (a multiply-add
    with odd constants, kept below ``_LONG``) with the first two characters of the text's first
    figure. Texts that state other figures first are never one release, so template bulletins
    (``第12期``, ``第13期``) do not even meet. And by its openings: a long text by both, a short one
    among the short; the openings of the text after its lead among the leads. Its matches are filed
    under the same bands, and where texts that open alike are: a long text looks for long texts of
    the same long opening and for short ones (teasers) of its opening, a short one for both of its
    opening; the same after its lead, and among the leads for its own opening. (Two texts that both
    have a lead never meet by it: template bulletins, ``第12期：…``, would all meet.)"""
    import numpy as np

    if not blobs:
        return [], [], []
    padded = _RECORD_SIZE
    records = np.frombuffer(b"".join([blob[:padded].ljust(padded, b"\0") for blob in blobs]),
                            dtype=np.dtype(_RECORD))
    count, figure = records["numbers"], records["figure"].astype(np.uint64)
    first = np.where(count >= 1, figure[:, 0], 0)
    second = np.where((count >= 2) & (figure[:, 1] != ord(",")), figure[:, 1], 0)
    constants = _constants()
    with np.errstate(over="ignore"):
        bands = ((records["full"] * constants[:BANDS]).sum(axis=2, dtype=np.uint64)
                 + ((first | second << np.uint64(8)) * constants[BANDS, 0])[:, None]) >> np.uint64(4)
    opening, long_opening, lead, lead_long = (records["openings"][:, k].astype(np.uint64) for k in range(4))

    def key(kind: int, value: Any) -> Any:
        return np.uint64(kind) | value

    def own(short: Any, long: Any, kinds: int) -> Any:  # a long text by its long opening, a short one among the short
        return np.where(long, key(kinds | _LONG, long), np.where(short, key(kinds | _SHORT, short), 0))

    def filed(short: Any, long: Any, kinds: int) -> list[Any]:
        return [own(short, long, kinds), np.where(long, key(kinds | _LONG_BY_OPENING, short), 0)]

    def sought(short: Any, long: Any, kinds: int) -> list[Any]:
        return [own(short, long, kinds),
                np.where(long, key(kinds | _SHORT, short), np.where(short, key(kinds | _LONG_BY_OPENING, short), 0))]

    index = np.column_stack([bands, *filed(opening, long_opening, 0), *filed(lead, lead_long, _AFTER_LEAD)])
    lookup = np.column_stack([bands, *sought(opening, long_opening, 0), *sought(lead, lead_long, 0),
                              *sought(opening, long_opening, _AFTER_LEAD)])
    return records["size"].tolist(), index.tolist(), lookup.tolist()


def _file(buckets: dict[int, int | list[int]], post_id: int, keys: tuple[int, ...]) -> None:
    """File a post under its keys. A key most posts are alone under holds the post's id, not a list
    (fewer objects for the garbage collector to walk)."""
    for key in keys:
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = post_id
        elif bucket.__class__ is int:
            buckets[key] = [bucket, post_id]
        else:
            bucket.append(post_id)  # type: ignore[union-attr]


class ClusterIndex:
    """The posts of the last ``window`` in memory, by LSH band and opening (pure).

    It takes signatures packed, as the store keeps them, and unpacks only those it compares. An
    expired post leaves its buckets lazily: the buckets are rebuilt once they hold as many expired
    entries as live ones."""

    def __init__(self, window: timedelta, threshold: float) -> None:
        self.window, self.threshold = window, threshold
        # post id -> (packed signature, shingles, publication as a POSIX time, cluster, its keys)
        self.members: dict[int, tuple[bytes, int, float, int, tuple[int, ...]]] = {}
        self.buckets: dict[int, int | list[int]] = {}  # key -> the one post filed there, or the posts
        self.anchors: dict[int, tuple[int, int]] = {}  # cluster -> its longest member (id, shingles)
        self._unpacked: dict[int, Signature] = {}  # the members compared so far
        self._by_time: list[tuple[float, int]] = []  # a heap, for expiry
        self._filed = self._live = 0  # entries in the buckets; those of members

    def assign(self, rows: Sequence[tuple[int, bytes, datetime]]) -> list[int]:
        """Match new posts (id, packed signature, publication), oldest first, and file each before
        the next: their clusters (the most alike member's, or the post's own id)."""
        sizes, filed, sought = _keys([blob for _, blob, _ in rows])
        clusters = []
        for (post_id, blob, published_at), size, keys, lookup in zip(rows, sizes, filed, sought, strict=True):
            at = published_at.timestamp()
            cluster = self._match(blob, at, lookup)
            cluster = post_id if cluster is None else cluster
            self._add(post_id, blob, size, at, cluster, keys)
            clusters.append(cluster)
        return clusters

    def add(self, rows: Sequence[tuple[int, bytes, datetime, int]]) -> None:
        """File posts whose clusters are known (id, packed signature, publication, cluster)."""
        sizes, filed, _ = _keys([row[1] for row in rows])
        for (post_id, blob, published_at, cluster), size, keys in zip(rows, sizes, filed, strict=True):
            self._add(post_id, blob, size, published_at.timestamp(), cluster, keys)
        self._compact()

    def match(self, blob: bytes, published_at: datetime) -> int | None:
        """The cluster of the most alike member inside the window of ``published_at``, if any."""
        _, _, [lookup] = _keys([blob])
        return self._match(blob, published_at.timestamp(), lookup)

    def _add(self, post_id: int, blob: bytes, size: int, at: float, cluster: int, keys: list[int]) -> None:
        if post_id in self.members:
            self._drop(post_id)
        filed = tuple(filter(None, keys))
        self.members[post_id] = (blob, size, at, cluster, filed)
        _file(self.buckets, post_id, filed)
        self._filed += len(filed)
        self._live += len(filed)
        heapq.heappush(self._by_time, (at, post_id))
        anchor = self.anchors.get(cluster)
        if anchor is None or size > anchor[1]:
            self.anchors[cluster] = (post_id, size)

    def _signature(self, post_id: int) -> Signature:
        sig = self._unpacked.get(post_id)
        if sig is None:
            sig = self._unpacked[post_id] = Signature.unpack(self.members[post_id][0])
        return sig

    def _match(self, blob: bytes, at: float, lookup: list[int]) -> int | None:
        get = self.buckets.get
        candidates: set[int] = set()
        for key in lookup:
            bucket = get(key)
            if bucket is None:
                continue
            if bucket.__class__ is int:
                candidates.add(bucket)
            else:
                candidates.update(bucket)  # type: ignore[arg-type]
        if not candidates:
            return None
        window, members = self.window.total_seconds(), self.members
        by_cluster: dict[int, list[int]] = {}
        for post_id in candidates:
            member = members.get(post_id)  # None: expired, its entries not yet swept
            if member is not None and abs(member[2] - at) <= window:
                by_cluster.setdefault(member[3], []).append(post_id)
        if not by_cluster:
            return None
        sig, best, best_score = Signature.unpack(blob), None, -1.0
        for cluster, others in by_cluster.items():
            anchor = self.anchors.get(cluster)  # the cluster's longest member: joining means matching it
            for other_id in [anchor[0]] if anchor is not None else others:
                other = self._signature(other_id)
                if same_release(sig, other, self.threshold):
                    score = jaccard(sig.full, other.full)
                    if score > best_score:
                        best, best_score = cluster, score
                    break
        return best

    def _drop(self, post_id: int) -> None:
        _, _, _, cluster, keys = self.members.pop(post_id)
        self._unpacked.pop(post_id, None)
        self._live -= len(keys)
        anchor = self.anchors.get(cluster)
        if anchor is not None and anchor[0] == post_id:
            del self.anchors[cluster]  # the cluster's later members cannot chain to it any more

    def _compact(self) -> None:
        """Rebuild the buckets from the members once half their entries are expired ones."""
        if self._filed <= 2 * self._live + 4096:
            return
        buckets: dict[int, int | list[int]] = {}
        for post_id, member in self.members.items():
            _file(buckets, post_id, member[4])
        self.buckets, self._filed = buckets, self._live

    def expire(self, before: datetime) -> int:
        """Forget the members published before ``before``; how many went."""
        gone, cutoff, by_time = 0, before.timestamp(), self._by_time
        while by_time and by_time[0][0] < cutoff:
            at, post_id = heapq.heappop(by_time)
            member = self.members.get(post_id)
            if member is not None and member[2] == at:
                self._drop(post_id)
                gone += 1
        self._compact()
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
        for post, blob in zip(compared, signatures(texts, titles), strict=True):
            post.minhash = blob
