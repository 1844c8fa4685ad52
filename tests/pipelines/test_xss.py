"""The XSS corpus (tests/fixtures/xss/payloads.txt) through the clean pipeline: nothing executable
survives in ``html``, and ``text`` never holds markup."""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from govmatrix.models import ARTICLE, ORIGINAL, Post
from govmatrix.pipelines.clean import SAFE_TAGS, CleanPipeline
from govmatrix.tz import SHANGHAI

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "xss" / "payloads.txt"
ESCAPES = {"\\n": "\n", "\\t": "\t", "\\r": "\r"}


def payloads() -> list[str]:
    lines = [line for line in CORPUS.read_text(encoding="utf-8").split("\n") if line and not line.startswith("# ")]
    return [re.sub(r"\\[ntr]", lambda m: ESCAPES[m.group()], line) for line in lines]


PAYLOADS = payloads()
URL_ATTRIBUTES = {"href", "src"}


class _Elements(HTMLParser):
    """Every element and attribute of a sanitised fragment, as a browser would tokenise them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def test_the_corpus_is_large_enough() -> None:
    assert len(PAYLOADS) >= 50
    assert sum("__xss" in p for p in PAYLOADS) >= 200  # the sentinel of a payload that runs


@pytest.mark.parametrize("kind", [ARTICLE, ORIGINAL])
@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_nothing_executable_survives(payload: str, kind: str) -> None:
    post = Post(platform="feeds", native_id="x", published_at=datetime(2024, 6, 1, tzinfo=SHANGHAI), kind=kind,
                body=f"<p>前文</p>{payload}<p>后文</p>", url="https://www.heze.gov.cn/art/2024/6/1/art_1.html")
    CleanPipeline().process(post)
    found = elements(post.html)
    for tag, attrs in found.tags:
        assert tag in SAFE_TAGS, (tag, post.html)
        for name, value in attrs:
            assert not name.startswith("on") and name not in ("style", "srcdoc", "formaction", "action"), post.html
            if name in URL_ATTRIBUTES:
                assert re.match(r"https?://", value or ""), (name, value)
    lowered = post.html.lower()
    for dangerous in ("<script", "<svg", "<math", "<iframe", "<object", "<embed", "<style", "<base", "<meta",
                      "<form", "<link", "javascript:", "vbscript:", "data:text"):
        assert dangerous not in lowered, (dangerous, post.html)
    assert not found.comments  # conditional comments are markup to old browsers
    if "<" not in payload and re.search("&lt;[a-z]", payload):  # escaped markup: text, and escaped in the HTML
        assert "&lt;" in post.html and "&lt;" not in post.text
    else:
        assert not re.search(r"<[A-Za-z/!?]", post.text), post.text
    assert post.text.startswith("前文")
