"""The clean pipeline's repairs, one rule at a time, on inputs shaped like what the platforms serve."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from govmatrix.crawlers.charset import decode
from govmatrix.models import ARTICLE, ORIGINAL, REPLY, Post
from govmatrix.pipelines.clean import CleanPipeline, garbled_spans, remove_pinyin, repair_mojibake
from govmatrix.tz import SHANGHAI


def post(body: str, *, kind: str = ARTICLE, title: str = "", platform: str = "feeds",
         url: str = "https://www.heze.gov.cn/art/2016/5/17/art_1.html") -> Post:
    return Post(platform=platform, native_id="1", published_at=datetime(2016, 5, 17, 9, tzinfo=SHANGHAI), kind=kind,
                title=title, body=body, url=url)


def cleaned(p: Post, settings: Any = None, options: Any = None) -> Post:
    CleanPipeline(settings).process(p, options)
    return p


def as_gbk(text: str) -> str:
    """UTF-8 bytes shown as GBK: what a site's converter or a wrong charset makes of Chinese (the
    strings used decode whole: 菏泽市牡丹区 -> 鑿忔辰甯傜墶涓瑰尯)."""
    return text.encode("utf-8").decode("gbk", errors="strict")


# -- converter pinyin -------------------------------------------------------------------------------

@pytest.mark.parametrize(("served", "repaired"), [
    ("堅決打贏脫貧攻堅戰(zhàn)", "堅決打贏脫貧攻堅戰"),
    ("網(wǎng)絡(luò)問政", "網絡問政"),
    ("牡丹區(qū)", "牡丹區"),
    ("銀行(háng)和行(xíng)人", "銀行和行人"),  # either reading of 行
    ("市消協發佈消費警示：節(jié)日期間", "市消協發佈消費警示：節日期間"),
    ("《管理辦法(試行)》", "《管理辦法(試行)》"),  # a real parenthesis
    ("截至(2016)年", "截至(2016)年"),
    ("中(zhàn)國", "中(zhàn)國"),  # not a reading of 中: not converter pinyin
    ("附件(pdf)", "附件(pdf)"),
    ("Wi-Fi(wifi)", "Wi-Fi(wifi)"),
])
def test_pinyin_goes_only_where_it_reads_the_character_before(served: str, repaired: str) -> None:
    assert remove_pinyin(served) == repaired


# -- mojibake ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("original", ["菏泽市牡丹区", "欢迎广大市民", "网上在线交流", "空气质量优良"])
def test_utf8_shown_as_gbk_is_repaired(original: str) -> None:
    garbled = as_gbk(original)
    assert garbled != original
    assert repair_mojibake(f"通知：{garbled}。") == f"通知：{original}。"


def test_text_that_only_looks_odd_is_not_repaired() -> None:
    for text in ("鑫源小区", "甯夏回族自治区", "瑗珲历史陈列馆", "锦绣华城", "涓涓细流"):
        assert repair_mojibake(text) == text


def test_a_gbk_page_without_charset_is_read_as_gbk_and_back() -> None:
    text = "<p>菏泽市网上在线交流：市民反映的问题已转交有关部门办理。</p>"
    assert decode(text.encode("gbk")).text == text
    assert decode(text.encode("gb18030"), "text/html").text == text
    misread = text.encode("gbk").decode("utf-8", errors="replace")  # what a UTF-8-only reader would keep
    p = cleaned(post(misread))
    assert "mojibake" in p.flags and '<mark class="mojibake">' in p.html
    assert "\ufffd" not in p.text_norm  # never searchable as text


@pytest.mark.parametrize("garbled", ["锟斤拷锟斤拷", "çƒ­çº¿", "\ufffd\ufffd", "烫烫烫烫"])
def test_unrecoverable_mojibake_is_flagged_and_marked(garbled: str) -> None:
    p = cleaned(post(f"<p>市政府召开{garbled}常务会议</p>"))
    assert p.flags == ["mojibake"]
    assert garbled in p.text  # kept for display ...
    assert f'<mark class="mojibake">{garbled}</mark>' in p.html  # ... with a marker
    assert garbled not in p.text_norm and "市政府召开" in p.text_norm
    assert garbled_spans(p.text)


def test_repaired_text_is_not_flagged() -> None:
    p = cleaned(post(f"<p>{as_gbk('菏泽市牡丹区')}举办活动</p>", title=as_gbk("活动通知")))
    assert (p.title, p.text, p.flags) == ("活动通知", "菏泽市牡丹区举办活动", [])


# -- boilerplate ------------------------------------------------------------------------------------

ARTICLE_BODY = "<p>市食药监局开展夏季食品安全专项检查。</p><p>共检查餐饮单位120家。</p>"


@pytest.mark.parametrize("footer", [
    "<p>责任编辑：张伟</p>",
    "<p>（责任编辑：王芳 初审编辑：李强）</p>",
    "<p>責任編輯:趙剛</p>",
    "<p>编辑 | 刘洋</p>",
    "<p>审核：孙静</p>",
    "<p>来源：菏泽日报</p>",
    "<p>（来源：中国菏泽网）</p>",
    "<p>QQ截图20160517201925.png</p>",
    "<p>QQ截圖20160517201925.jpg</p>",
    "<p>新聞熱線:0530-5311111</p>",
    "<p>投稿邮箱：hzfb@163.com</p>",
    "<p>想随时随地了解菏泽最新资讯？请关注菏泽发布官方微信</p>",
    "<p>本文相关阅读：</p><p>打印本页</p><p>关闭窗口</p>",
    "<p>长按二维码关注我们</p>",
    "<p>责任编辑：张伟</p><p><br></p><p>扫码关注</p>",
])
def test_footers_go(footer: str) -> None:
    p = cleaned(post(ARTICLE_BODY + footer))
    assert p.text == "市食药监局开展夏季食品安全专项检查。\n共检查餐饮单位120家。"
    assert "检查" in p.html and footer not in p.html


@pytest.mark.parametrize("header", [
    "<p>首页 &gt; 今日头条</p>",
    "<div>当前位置：首页 &gt; 政务公开 &gt; 通知公告</div>",
    "<p>点击上方蓝字关注我们</p>",
    "<p>點擊上方藍字關注</p>",
    "<p><img src='x.png' alt=''>微信图片_20160517.jpg</p>",
])
def test_headers_go(header: str) -> None:
    assert cleaned(post(header + ARTICLE_BODY)).text == "市食药监局开展夏季食品安全专项检查。\n共检查餐饮单位120家。"


def test_boilerplate_in_the_middle_stays() -> None:
    body = "<p>一、检查情况</p><p>责任编辑：张伟</p><p>二、下一步工作</p>"
    assert cleaned(post(body)).text == "一、检查情况\n责任编辑：张伟\n二、下一步工作"


def test_a_notices_own_phone_line_stays() -> None:
    body = "<p>中华路与长江路交叉口实施交通管制。</p><p>咨询电话：0530-12345</p>"
    assert cleaned(post(body)).text.endswith("咨询电话：0530-12345")


def test_footers_split_by_br_inside_one_block_go() -> None:
    body = "<div>正文第一段。<br>正文第二段。<br>责任编辑：张伟<br>来源：菏泽日报</div>"
    assert cleaned(post(body)).text == "正文第一段。\n正文第二段。"


def test_short_posts_keep_every_line() -> None:
    """Boilerplate removal is for article bodies: a Weibo post that says 来源 keeps it."""
    p = cleaned(post("转发：今日起实施交通管制。<br>来源：菏泽发布", kind=ORIGINAL, platform="weibo"))
    assert p.text == "转发：今日起实施交通管制。\n来源：菏泽发布"


def test_a_department_extends_the_rules_in_settings() -> None:
    settings = SimpleNamespace(pipelines=SimpleNamespace(clean=SimpleNamespace(
        boilerplate=[{"name": "site notice", "pattern": "^本站声明", "where": "tail"}])))
    body = ARTICLE_BODY + "<p>本站声明：转载请注明出处</p>"
    assert cleaned(post(body), settings).text.endswith("共检查餐饮单位120家。")
    assert cleaned(post(body)).text.endswith("本站声明：转载请注明出处")


# -- script -----------------------------------------------------------------------------------------

def test_display_keeps_the_original_script_unless_the_account_asks() -> None:
    body = "<p>市消協發佈消費警示</p>"
    kept = cleaned(post(body, title="消費警示"))
    assert (kept.title, kept.text, kept.text_norm) == ("消費警示", "市消協發佈消費警示", "消费警示 市消协发布消费警示")
    simple = cleaned(post(body, title="消費警示"), options=SimpleNamespace(display_script="simplified"))
    assert (simple.title, simple.text, simple.html) == ("消费警示", "市消协发布消费警示", "<p>市消协发布消费警示</p>")


# -- real-shape inputs, whole ----------------------------------------------------------------------

def test_weibo_html_with_emoji_and_links() -> None:
    body = ('今天<a href="/n/菏泽发布">@菏泽发布</a> 发布了<a href="https://m.weibo.cn/search?containerid=231522type'
            '%3D1%26q%3D%23%E8%8F%8F%E6%B3%BD%23"><span class="surl-text">#菏泽#</span></a>最新消息'
            '<span class="url-icon"><img alt="[赞]" src="//h5.sinaimg.cn/m/emoticon/icon/default/d_zan.png" '
            'style="width:1em; height:1em;"></span><br />详见<a href="https://t.cn/A6xyz" data-url="http://t.cn/A6xyz">'
            '<span class="surl-text">网页链接</span></a>')
    p = cleaned(post(body, kind=ORIGINAL, platform="weibo", url="https://m.weibo.cn/detail/4990000000000001"))
    assert p.text == "今天@菏泽发布 发布了#菏泽#最新消息[赞]\n详见网页链接"
    assert 'href="https://m.weibo.cn/n/' in p.html and 'href="https://t.cn/A6xyz"' in p.html
    assert "style" not in p.html and "data-url" not in p.html


def test_wechat_js_content_with_nested_sections_and_lazy_images() -> None:
    body = ('<section style="margin:0"><section><p style="text-align:center"><img class="rich_pages" '
            'data-src="https://mmbiz.qpic.cn/mmbiz_jpg/abc/640?wx_fmt=jpeg" src="data:image/svg+xml,%3Csvg%3E" '
            'data-ratio="0.6"></p></section><section><p><span>点击上方蓝字关注我们</span></p></section>'
            '<section><p><span style="font-size:15px">4月13日，牡丹文化旅游节开幕。</span></p>'
            '<section><p>本届牡丹节持续至5月10日。</p></section></section>'
            '<p><br></p><p>来源：市牡丹办</p><p>长按二维码关注</p></section>')
    p = cleaned(post(body, url="https://mp.weixin.qq.com/s/abc"))
    assert p.text == "4月13日，牡丹文化旅游节开幕。\n本届牡丹节持续至5月10日。"
    assert '<img src="https://mmbiz.qpic.cn/mmbiz_jpg/abc/640?wx_fmt=jpeg">' in p.html
    assert "data:" not in p.html and "蓝字" not in p.html and "二维码" not in p.html


def test_discuz_post_with_a_quote() -> None:
    """The forum parser keeps the quote apart; the reply's own HTML (with Discuz's markup) is cleaned."""
    body = ('<font size="3">您好，您反映的问题已转交<strong>牡丹区城管局</strong>办理。</font><br />\r\n'
            '<br />\r\n<font color="#999999">办理结果将在三个工作日内回复。</font>'
            '<div class="tip tip_4" style="display: none"><div class="tip_c">下载附件 (35.2 KB)</div></div>'
            '<i class="pstatus"> 本帖最后由 菏泽市城管局 于 2016-5-17 10:12 编辑 </i>')
    p = cleaned(post(body, kind=REPLY, platform="forum", url="https://bbs.heze.cn/forum.php?mod=viewthread&tid=1"))
    assert p.text == "您好，您反映的问题已转交牡丹区城管局办理。\n\n办理结果将在三个工作日内回复。\n本帖最后由 菏泽市城管局 于 2016-5-17 10:12 编辑"
    assert "下载附件" not in p.html and "<strong>牡丹区城管局</strong>" in p.html


def test_rss_item_from_a_converter_site_with_pinyin_and_a_footer() -> None:
    body = ("<p>堅決打贏脫貧攻堅戰(zhàn)，我市今年已有106個貧困村實(shí)現(xiàn)脫貧摘帽。</p>"
            "<p>QQ截圖20160517201925.png</p><p>責任編輯:王芳</p><p>新聞熱線:0530-5311111</p>")
    p = cleaned(post(body, title="堅決打贏脫貧攻堅戰(zhàn)"))
    assert p.title == "堅決打贏脫貧攻堅戰"
    assert p.text == "堅決打贏脫貧攻堅戰，我市今年已有106個貧困村實現脫貧摘帽。"
    assert p.text_norm == "坚决打赢脱贫攻坚战 坚决打赢脱贫攻坚战,我市今年已有106个贫困村实现脱贫摘帽."
    assert p.flags == []
