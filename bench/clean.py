"""Clean benchmark: posts/s through the clean pipeline, next to a bare ``html.parser`` text extraction.

N posts (default 50,000) shaped as the platforms serve them, in the mix of the example city: Weibo
posts (emoji images, @links, topic links, <br>), WeChat articles (nested sections, lazy images,
follow prompts and a 来源 footer), department-site articles from a converter (traditional script
with pinyin after some characters, an editor footer), and forum replies (Discuz markup, a hidden
attachment tip), a few with mojibake. govmatrix: ``CleanPipeline.process_batch`` (text, safe HTML
through nh3, pinyin and mojibake repair, boilerplate, the search form). Baseline: the standard
library's ``html.parser`` collecting the text of the same bodies and nothing else. Both run in
this process, one after the other, on the same posts.

    python bench/clean.py [--posts 50000]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govmatrix.models import ARTICLE, ORIGINAL, REPLY, Post  # noqa: E402
from govmatrix.pipelines.clean import CleanPipeline  # noqa: E402
from govmatrix.sandbox.simkit import traditional  # noqa: E402
from govmatrix.sandbox.texts import everyday_text  # noqa: E402
from govmatrix.tz import SHANGHAI  # noqa: E402

AT = datetime(2016, 5, 17, 9, tzinfo=SHANGHAI)
EMOJI = ('<span class="url-icon"><img alt="[赞]" src="//h5.sinaimg.cn/m/emoticon/icon/default/d_zan.png" '
         'style="width:1em; height:1em;"></span>')


def _weibo(r: random.Random, text: str) -> Post:
    body = (f'<a href="/n/菏泽发布">@菏泽发布</a> {text[:60]}{EMOJI}<br />'
            f'<a href="https://m.weibo.cn/search?containerid=231522type%3D1"><span class="surl-text">#菏泽#</span></a>'
            f'{text[60:140]}')
    return Post(platform="weibo", native_id=str(r.random()), published_at=AT, kind=ORIGINAL, body=body,
                url="https://m.weibo.cn/detail/4990000000000001")


def _wechat(r: random.Random, text: str) -> Post:
    paragraphs = "".join(f'<section><p><span style="font-size:15px">{s}。</span></p></section>'
                         for s in text.split("。") if s)
    body = ('<section><p><span>点击上方蓝字关注我们</span></p></section><section>'
            '<img class="rich_pages" data-src="https://mmbiz.qpic.cn/mmbiz_jpg/abc/640?wx_fmt=jpeg" '
            f'src="data:image/svg+xml,%3Csvg%3E"></section>{paragraphs}<p><br></p><p>来源：市新闻办</p>'
            '<p>长按二维码关注</p>')
    return Post(platform="wechat", native_id=str(r.random()), published_at=AT, kind=ARTICLE, title=text[:20],
                body=body, url="https://mp.weixin.qq.com/s/abc")


def _site(r: random.Random, text: str) -> Post:
    converted = traditional(text).replace("戰", "戰(zhàn)").replace("區", "區(qū)").replace("網", "網(wǎng)")
    if r.random() < 0.1:  # UTF-8 shown as GBK in one run
        converted += "鑿忔辰甯傜墶涓瑰尯"
    body = "".join(f"<p>{s}。</p>" for s in converted.split("。") if s) + "<p>責任編輯:王芳</p>"
    return Post(platform="feeds", native_id=str(r.random()), published_at=AT, kind=ARTICLE,
                title=converted[:20], body=body, url="https://www.heze.gov.cn/art/2016/5/17/art_1.html")


def _forum(r: random.Random, text: str) -> Post:
    body = (f'<font size="3">{text[:80]}</font><br />\r\n<br />\r\n<font color="#999999">{text[80:160]}</font>'
            '<div class="tip tip_4" style="display: none"><div class="tip_c">下载附件 (35.2 KB)</div></div>')
    return Post(platform="forum", native_id=str(r.random()), published_at=AT, kind=REPLY, body=body,
                url="https://bbs.heze.cn/forum.php?mod=viewthread&tid=1")


SHAPES = (_weibo, _weibo, _weibo, _wechat, _site, _forum, _forum)


def posts(total: int) -> list[Post]:
    r = random.Random(20161202)
    texts = [everyday_text(3, i, length=r.randint(2, 6)) for i in range(2_000)]
    return [SHAPES[i % len(SHAPES)](r, texts[i % len(texts)]) for i in range(total)]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def bare_text(body: str) -> str:
    parser = _Text()
    parser.feed(body)
    parser.close()
    return "".join(parser.parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=50_000)
    args = parser.parse_args()
    batch = posts(args.posts)
    size = sum(len(p.body) for p in batch) / len(batch)
    began = time.perf_counter()
    texts = [bare_text(p.body) for p in batch]
    bare = time.perf_counter() - began
    pipeline = CleanPipeline()
    began = time.perf_counter()
    for start in range(0, len(batch), 1000):
        pipeline.process_batch(batch[start:start + 1000])
    ours = time.perf_counter() - began
    assert all(p.text and "(zhàn)" not in p.text for p in batch) and len(texts) == len(batch)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"clean benchmark: {len(batch):,} posts (Weibo, WeChat, department sites, forum), {size:,.0f} characters "
          "of HTML each on average")
    print(f"govmatrix clean pipeline  : {len(batch) / ours:,.0f} posts/s ({ours:.1f} s); peak RSS {peak:,.0f} MB")
    print(f"baseline html.parser text : {len(batch) / bare:,.0f} posts/s ({bare:.1f} s)")
    print(f"ratio {bare / ours:.2f}x the baseline's rate (the pipeline does sanitising, repair, "
          "boilerplate and the search form too)")


if __name__ == "__main__":
    main()
