"""The clean pipeline: HTML to readable text, safe HTML, the search form."""

from __future__ import annotations

import pytest

from govmatrix.models import Post
from govmatrix.pipelines.clean import CleanPipeline, html_to_text, normalise, sanitize_html
from govmatrix.tz import SHANGHAI

EMOJI = (
    '<span class="url-icon"><img alt=[偷笑] src="//h5.sinaimg.cn/m/emoticon/icon/default/d_touxiao.png" '
    'style="width:1em; height:1em;" /></span>'
)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("第一行<br>第二行<br/>第三行<br />第四行", "第一行\n第二行\n第三行\n第四行"),
        (f"好消息{EMOJI}！", "好消息[偷笑]！"),
        ('<img alt="[心]" src="x.png">', "[心]"),
        ('<img src="photo.jpg">图', "图"),
        ("谢谢<a href='/n/示例市公安局'>@示例市公安局</a> 的提醒", "谢谢@示例市公安局 的提醒"),
        ('<a href="/search?q=1"><span class="surl-text">#两会#</span></a>开幕', "#两会#开幕"),
        ("&quot;民生&quot; &amp; 服务 &lt;指南&gt; &#x4e2d;&#25991;", '"民生" & 服务 <指南> 中文'),
        ("<p><strong>重要</strong>通知</p><div>今日停水</div>", "重要通知\n今日停水"),
        ("<section><p>第一段。</p><section><p>第二段，</p><p>第三段。</p></section></section>",
         "第一段。\n第二段，\n第三段。"),
        ("<ul><li>一</li><li>二</li></ul><blockquote>引</blockquote><h2>标题</h2><table><tr><td>甲</td><td>乙</td></tr>"
         "<tr><td>丙</td></tr></table>", "一\n二\n引\n标题\n甲 乙\n丙"),
        ("上一行<br />\r\n<p>下一行</p>\r\n<p>再下一行</p>", "上一行\n下一行\n再下一行"),
        ("编辑说明<br /><br /><p>正文</p>", "编辑说明\n\n正文"),
        ('<div>见图<div class="tip" style="display: none">图片.jpg (186 KB)<div>下载附件</div></div>下文</div>',
         "见图\n下文"),
        ("<pre>行一\n  行二</pre>", "行一\n行二"),
        ("   前后空白   <br>  \u3000\u3000段首全角空格  ", "前后空白\n段首全角空格"),
        ("<br><br>  <br>正文<br><br>结尾<br> <br>", "正文\n\n结尾"),
        ("源码里的换行\n只是空白", "源码里的换行 只是空白"),
        ("安全<script>alert('x')</script>内容<style>p{color:red}</style>", "安全内容"),
        ("PM2.5<35，空气优", "PM2.5<35，空气优"),
        ("", ""),
    ],
)
def test_html_to_text_rules(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_sanitize_keeps_the_safe_subset() -> None:
    html = (
        "<p>谢谢<a href='/n/某局' onclick='steal()'>@某局</a><br />"
        f"<strong>重要</strong><em>提示</em>{EMOJI}</p><blockquote>引用</blockquote>"
    )
    cleaned = sanitize_html(html, "https://m.weibo.cn/detail/4001")
    assert '<a href="https://m.weibo.cn/n/%E6%9F%90%E5%B1%80"' in cleaned  # percent-encoded, as browsers send it
    assert "onclick" not in cleaned
    assert 'src="https://h5.sinaimg.cn/m/emoticon/icon/default/d_touxiao.png"' in cleaned
    assert "style=" not in cleaned and "class=" not in cleaned
    for tag in ("<p>", "<br>", "<strong>", "<em>", "<blockquote>", "<span>"):
        assert tag in cleaned
    assert html_to_text(cleaned) == html_to_text(html)


def test_sanitize_drops_dangerous_markup() -> None:
    cleaned = sanitize_html(
        '<script>alert(1)</script><iframe src="https://evil.example"></iframe>'
        '<a href="javascript:alert(1)">点我</a><img src="x.png" onerror="alert(1)"><form>表单</form>正文'
    )
    assert "script" not in cleaned and "alert" not in cleaned
    assert "iframe" not in cleaned and "form" not in cleaned
    assert "javascript" not in cleaned and "onerror" not in cleaned
    assert cleaned.endswith("表单正文")




def test_relative_links_need_a_base_or_go() -> None:
    assert sanitize_html('<a href="/n/x">x</a><img src="a.png">') == '<a rel="noopener noreferrer nofollow">x</a><img>'


def test_lazy_images_get_their_real_source() -> None:
    html = ('<section><p>正文</p><img class="rich_pages" data-src="https://mmbiz.qpic.cn/a/640" '
            'src="data:image/gif;base64,R0lGOD"></section>')
    assert '<img src="https://mmbiz.qpic.cn/a/640">' in sanitize_html(html)


def test_normalised_search_form() -> None:
    assert normalise("市消協發佈消費警示：\u3000節日期間  預付卡") == "市消协发布消费警示: 节日期间 预付卡"
    assert normalise("ＰＭ２.５") == "PM2.5"


def test_clean_pipeline_fills_text_html_and_search_form() -> None:
    from datetime import datetime

    post = Post(platform="feeds", native_id="1", published_at=datetime(2016, 6, 1, tzinfo=SHANGHAI),
                title="節日消費", body="<p>預付卡</p><p onclick='x()'>謹慎</p>", url="https://hz.example/a")
    CleanPipeline().process(post)
    assert (post.text, post.html) == ("預付卡\n謹慎", "<p>預付卡</p><p>謹慎</p>")
    assert post.text_norm == "节日消费 预付卡 谨慎"
