"""Bytes -> text for pages and feeds whose charset is missing, wrong or damaged. Pure.

The order, first that works: UTF-8, strictly, when the bytes hold non-ASCII text (a page that
decodes as UTF-8 with many multi-byte sequences is UTF-8 whatever it declares: GBK text does not
form valid UTF-8 by chance, but UTF-8 text read as GB18030 "decodes" into mojibake); the declared
charset (header, XML declaration or ``<meta>``), strictly; UTF-8 with a few damaged bytes (a real UTF-8 document has many valid
multi-byte sequences and at most a handful of bad ones: those bytes are replaced, the text is
``lossy``); GB18030, strictly (the superset of GBK and GB2312, which Chinese sites declare);
charset-normalizer's best guess among the charsets Chinese sites use; finally the declared
charset (else UTF-8) with every undecodable byte replaced, ``lossy`` again. A lossy decode is
never stored as clean text: the caller flags what holds a replacement character.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_HEADER = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_IN_BODY = re.compile(rb"""(?:charset|encoding)\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_GB_FAMILY = frozenset({"gbk", "gb2312", "gb18030", "x-gbk", "cp936", "gb_2312-80", "euc-cn", "ms936", "gb2312-80"})
_GUESSES = ["utf_8", "gb18030", "big5"]  # what Chinese sites are written in
# At most this share of a UTF-8 document's non-ASCII characters may be damaged for it to stay UTF-8.
_DAMAGE_SHARE = 0.01
REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class Decoded:
    text: str
    codec: str
    lossy: bool = False  # some bytes could not be decoded and were replaced


def declared_charset(body: bytes, content_type: str | None) -> str | None:
    """The charset of the Content-Type header, else of an XML declaration or ``<meta>`` in the first 4 KB."""
    found = _HEADER.search(content_type or "")
    if found:
        return found.group(1)
    in_body = _IN_BODY.search(body[:4096])
    return in_body.group(1).decode("ascii") if in_body else None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    if name.lower() in _GB_FAMILY:
        return "gb18030"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return "gb18030" if codec in _GB_FAMILY else codec


def _strict(body: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        return None


def _damaged_utf8(body: bytes) -> str | None:
    """UTF-8 with a few bad bytes, or None when the bytes are not UTF-8 at all."""
    text = body.decode("utf-8", errors="replace")
    bad = text.count(REPLACEMENT) - body.count("\ufffd".encode())
    wide = sum(1 for ch in text if ord(ch) > 127 and ch != REPLACEMENT)
    return text if wide and bad <= wide * _DAMAGE_SHARE else None


def decode(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode a page or feed by the order in the module docstring."""
    declared = _codec(declared_charset(body, content_type))
    utf8 = _strict(body, "utf-8")
    if utf8 is not None and (declared in (None, "utf-8") or not utf8.isascii()):
        return Decoded(utf8, "utf-8")
    if (text := _strict(body, declared)) is not None:
        return Decoded(text, declared or "utf-8")
    if (text := _damaged_utf8(body)) is not None:
        return Decoded(text, "utf-8", lossy=True)
    if (text := _strict(body, "gb18030")) is not None:
        return Decoded(text, "gb18030")
    from charset_normalizer import from_bytes

    best = from_bytes(body, cp_isolation=_GUESSES).best()
    if best is not None and (text := _strict(body, _codec(best.encoding))) is not None:
        return Decoded(text, _codec(best.encoding) or best.encoding)
    codec = declared or "utf-8"
    return Decoded(body.decode(codec, errors="replace"), codec, lossy=True)
