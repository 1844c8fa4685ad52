"""Discuz! X3.4 markup for the simulated forum: page frame, dates, pager, thread list, posts.

Follows the default templates (reference B.2, B.3): ``tbody#normalthread_T`` rows with
``a.s.xst``, ``td.by``, ``td.num``; ``div#post_PID`` > ``table#pidPID.plhin`` with
``div.authi a.xw1`` (authoronleft), ``em#authorpostonPID`` (``发表于`` + a ``dgmdate`` that shows
recent times relative, the absolute one in ``span@title``), ``td.t_f#postmessage_PID``; quotes as
``div.quote > blockquote`` with a ``goto=findpost`` link; the pager of ``helper_page::multi``.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from urllib.parse import quote

from govmatrix.sandbox.forum_world import Board, ForumPost, Thread
from govmatrix.sandbox.state import SHANGHAI

BBNAME = "菏泽论坛"
FLOOR_NAMES = {1: "楼主", 2: "沙发", 3: "板凳", 4: "地板"}
e = html.escape


def php_date(moment: datetime, with_time: str = "") -> str:
    """Discuz's ``Y-n-j`` date, plus ``H:i`` or ``H:i:s`` when ``with_time`` says so."""
    local = moment.astimezone(SHANGHAI)
    day = f"{local.year}-{local.month}-{local.day}"
    if with_time == "H:i":
        return f"{day} {local:%H:%M}"
    if with_time == "H:i:s":
        return f"{day} {local:%H:%M:%S}"
    return day


def dgmdate(moment: datetime, now: datetime, with_time: str) -> str:
    """``dgmdate($t, 'u', ..., format)``: relative text in ``<span title="absolute">`` within 7 days."""
    absolute = php_date(moment, with_time)
    local, here = moment.astimezone(SHANGHAI), now.astimezone(SHANGHAI)
    today = here.replace(hour=0, minute=0, second=0, microsecond=0)
    diff = int((here - local).total_seconds())
    if local >= today:
        if diff > 3600:
            text = f"{diff // 3600}&nbsp;小时前"
        elif diff > 1800:
            text = "半小时前"
        elif diff > 60:
            text = f"{diff // 60}&nbsp;分钟前"
        elif diff > 0:
            text = f"{diff}&nbsp;秒前"
        elif diff == 0:
            text = "刚刚"
        else:
            return absolute
    else:
        days = int((today - local) / timedelta(days=1))
        if days >= 7:
            return absolute
        text = {0: f"昨天&nbsp;{local:%H:%M}", 1: f"前天&nbsp;{local:%H:%M}"}.get(days, f"{days + 1}&nbsp;天前")
    return f'<span title="{absolute}">{text}</span>'


def pager(total: int, per_page: int, current: int, url: str) -> str:
    """``helper_page::multi``: empty when everything fits on one page."""
    if total <= per_page:
        return ""
    pages = -(-total // per_page)
    current = min(current, pages)
    width = 10
    if width > pages:
        first, last = 1, pages
    else:
        first, last = current - width // 2, current - width // 2 + width - 1
        if first < 1:
            first, last = 1, width
        elif last > pages:
            first, last = pages - width + 1, pages
    base = url + "&amp;page="
    out = f'<a href="{base}1" class="first">1 ...</a>' if current - width // 2 > 1 and pages > width else ""
    out += f'<a href="{base}{current - 1}" class="prev">&nbsp;&nbsp;</a>' if current > 1 else ""
    out += "".join(f"<strong>{i}</strong>" if i == current else f'<a href="{base}{i}">{i}</a>'
                   for i in range(first, last + 1))
    out += f'<a href="{base}{pages}" class="last">... {pages}</a>' if last < pages else ""
    out += (f'<label><input type="text" name="custompage" class="px" size="2" title="输入页码，按回车快速跳转" '
            f'value="{current}" onkeydown="if(event.keyCode==13) {{window.location=\'{url}&amp;page=\'+this.value;;'
            f' doane(event);}}" /><span title="共 {pages} 页"> / {pages} 页</span></label>')
    out += f'<a href="{base}{current + 1}" class="nxt">下一页</a>' if current < pages else ""
    return f'<div class="pg">{out}</div>'


def frame(board: Board | None, title: str, root: str, body: str, page_class: str) -> str:
    """The page around ``body``: head with the board's charset meta (when it declares one)."""
    charset = board.charset if board is not None else "utf-8"
    declare = board.declare if board is not None else "both"
    meta = (f'<meta http-equiv="Content-Type" content="text/html; charset={charset}" />\n'
            if declare in ("both", "meta") else "")
    crumbs = '<a href="./" class="nvhm" title="首页">菏泽论坛</a> <em>&rsaquo;</em> <a href="forum.php">论坛</a>'
    if board is not None:
        crumbs += f' <em>&rsaquo;</em> <a href="forum.php?mod=forumdisplay&amp;fid={board.fid}">{e(board.name)}</a>'
    return (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml">\n<head>\n' + meta
        + f"<title>{e(title)} -  Powered by Discuz!</title>\n"
        '<meta name="generator" content="Discuz! X3.4" />\n'
        '<meta name="author" content="Discuz! Team and Comsenz UI Team" />\n'
        '<meta name="copyright" content="2001-2017 Comsenz Inc." />\n'
        f'<base href="{e(root)}/forum/" />\n'
        '<link rel="stylesheet" type="text/css" href="data/cache/style_1_common.css?u2x" />\n</head>\n'
        f'<body id="nv_forum" class="{page_class}" onkeydown="if(event.keyCode==27) return false;">\n'
        f'<div id="hd"><div class="wp"><div class="hdc cl"><h2><a href="./" title="{BBNAME}">{BBNAME}</a></h2>'
        "</div></div></div>\n"
        f'<div id="wp" class="wp">\n<div id="pt" class="bm cl"><div class="z">{crumbs}</div></div>\n'
        f"{body}\n</div>\n"
        '<div id="ft" class="wp cl"><div id="flk" class="y"><p>Powered by <strong>'
        '<a href="http://www.discuz.net" target="_blank">Discuz!</a></strong> <em>X3.4</em></p></div></div>\n'
        "</body>\n</html>\n"
    )


def show_message(board: Board | None, message: str, root: str) -> str:
    """``showmessage()``: the error box crawlers look for (``div#messagetext.alert_error``)."""
    body = ('<div id="ct" class="wp cl w"><div class="nfl"><div class="f_c altw">\n'
            f'<div id="messagetext" class="alert_error">\n<p>{e(message)}</p>\n'
            '<script type="text/javascript">\nif(history.length > (BROWSER.ie ? 0 : 1)) {\n'
            "document.write('<p class=\"alert_btnleft\"><a href=\"javascript:history.back()\">[ 点击这里返回上一页 ]</a></p>');"
            "\n}\n</script>\n</div>\n</div></div></div>")
    return frame(board, "提示信息 - " + BBNAME, root, body, "pg_forumdisplay")


def rendered_message(thread: Thread, post: ForumPost) -> str:
    """The message as shown: a reply-with-quote first gets the ``[quote]`` block Discuz inserted."""
    quoted = thread.post(post.quote_pid) if post.quote_pid is not None else None
    if quoted is None:
        return post.message
    text = quoted.text.replace("\n", " ")
    cut = text if len(text) <= 50 else text[:50] + " ..."
    return ('<div class="quote"><blockquote><font size="2"><a href="forum.php?mod=redirect&amp;goto=findpost&amp;'
            f'pid={quoted.pid}&amp;ptid={thread.tid}" target="_blank"><font color="#999999">{e(quoted.author)} '
            f"发表于 {php_date(quoted.at, 'H:i')}</font></a></font><br />\r\n{e(cut)}</blockquote></div><br />\r\n"
            + post.message)


def post_html(thread: Thread, post: ForumPost, now: datetime, page: int) -> str:
    """One ``div#post_PID`` of a thread page."""
    pid, uid, tid = post.pid, post.uid, thread.tid
    floor = FLOOR_NAMES.get(post.floor, f"<em>{post.floor}</em>#")
    link = (f"forum.php?mod=viewthread&amp;tid={tid}" if post.floor == 1
            else f"forum.php?mod=redirect&amp;goto=findpost&amp;ptid={tid}&amp;pid={pid}")
    author = (f'<div class="pi">\n<div class="authi"><a href="home.php?mod=space&amp;uid={uid}" target="_blank" '
              f'class="xw1">{e(post.author)}</a>\n</div>\n</div>\n'
              f'<div><div class="avatar"><a href="home.php?mod=space&amp;uid={uid}" class="avtm" target="_blank">'
              f'<img src="uc_server/avatar.php?uid={uid}&amp;size=middle" /></a></div></div>\n')
    if thread.board.template == "x34":  # X3.4 wraps the author block; X2 puts it straight in td.pls
        author = f'<div id="favatar{pid}" class="pls cl favatar">\n{author}</div>\n'
    return (
        f'<div id="post_{pid}" >\n'
        f'<table id="pid{pid}" class="plhin" summary="pid{pid}" cellspacing="0" cellpadding="0">\n<tr>\n'
        f'<td class="pls" rowspan="2">\n{author}</td>\n'
        f'<td class="plc">\n<div class="pi">\n<strong>\n<a href="{link}" id="postnum{pid}" '
        f"onclick=\"setCopy(this.href, '帖子地址复制成功');return false;\">\n{floor}</a>\n</strong>\n"
        '<div class="pti">\n<div class="pdbt">\n</div>\n<div class="authi">\n'
        f'<img class="authicn vm" id="authicon{pid}" src="static/image/common/online_member.gif" />\n'
        f'<em id="authorposton{pid}">发表于 {dgmdate(post.at, now, "H:i:s")}</em>\n<span class="pipe">|</span>\n'
        f'<a href="forum.php?mod=viewthread&amp;tid={tid}&amp;page={page}&amp;authorid={uid}" rel="nofollow">只看该作者</a>'
        "\n</div>\n</div>\n</div>"
        '<div class="pct"><div class="pcb">\n<div class="t_fsz">\n'
        f'<table cellspacing="0" cellpadding="0"><tr><td class="t_f" id="postmessage_{pid}">\n'
        f"{rendered_message(thread, post)}</td></tr></table>\n\n</div>\n"
        f'<div id="comment_{pid}" class="cm">\n</div>\n</div>\n</div>\n</td></tr>\n</table>\n</div>'
    )


def viewthread_body(thread: Thread, posts: list[ForumPost], now: datetime, page: int, total: int,
                    per_page: int, url: str) -> str:
    """The thread page's content: pager, views/replies, subject, posts, pager."""
    visible = thread.visible(now)
    multi = pager(total, per_page, page, url)
    return (
        f'<div id="pgt" class="pgs mbm cl ">\n<div class="pgt">{multi}</div>\n'
        f'<span class="y pgb"><a href="forum.php?mod=forumdisplay&amp;fid={thread.board.fid}">返回列表</a></span>\n'
        '</div>\n<div id="postlist" class="pl bm">\n<table cellspacing="0" cellpadding="0">\n<tr>\n'
        '<td class="pls ptn pbn">\n<div class="hm ptn">\n'
        f'<span class="xg1">查看:</span> <span class="xi1">{thread.views(now)}</span><span class="pipe">|</span>'
        f'<span class="xg1">回复:</span> <span class="xi1">{len(visible) - 1}</span>\n</div>\n</td>\n'
        '<td class="plc ptm pbn vwthd">\n<h1 class="ts">\n'
        f'<span id="thread_subject">{e(thread.subject)}</span>\n</h1>\n</td>\n</tr>\n</table>\n'
        + "\n".join(post_html(thread, p, now, page) for p in posts)
        + f'\n</div>\n<div class="pgs mtm mbm cl">\n{multi}\n</div>'
    )


def thread_row(thread: Thread, now: datetime, page: int, per_page: int) -> str:
    """One ``tbody`` of the thread list."""
    tid, visible = thread.tid, thread.visible(now)
    first, last = visible[0], visible[-1]
    local_now = now.astimezone(SHANGHAI)
    today = ' class="xi1"' if thread.created.astimezone(SHANGHAI).date() == local_now.date() else ""
    link = f"forum.php?mod=viewthread&amp;tid={tid}&amp;extra=page%3D{page}"
    pages = -(-len(visible) // per_page)
    tps = ("" if pages < 2 else '<span class="tps">&nbsp;...' + "".join(
        f'<a href="forum.php?mod=viewthread&amp;tid={tid}&amp;extra=page%3D{page}&amp;page={i}">{i}</a>'
        for i in range(2, min(pages, 6) + 1)) + "</span>\n")
    kind = "stickthread" if thread.sticky else "normalthread"
    lastposter = quote(last.author.encode(thread.board.charset, errors="xmlcharrefreplace"))
    return (
        f'<tbody id="{kind}_{tid}">\n<tr>\n<td class="icn">\n<a href="{link}" title="新窗口打开" target="_blank">\n'
        f'<img src="static/image/common/{"pin_1" if thread.sticky else "folder_common"}.gif" />\n</a>\n</td>\n'
        f'<th class="common">\n<a href="{link}" onclick="atarget(this)" class="s xst">{e(thread.subject)}</a>\n{tps}'
        f'</th>\n<td class="by">\n<cite>\n<a href="home.php?mod=space&amp;uid={first.uid}" c="1">{e(first.author)}</a>'
        f"</cite>\n<em><span{today}>{dgmdate(thread.created, now, '')}</span></em>\n</td>\n"
        f'<td class="num"><a href="{link}" class="xi2">{len(visible) - 1}</a><em>{thread.views(now)}</em></td>\n'
        f'<td class="by">\n<cite><a href="home.php?mod=space&amp;username={lastposter}" c="1">{e(last.author)}</a>'
        f'</cite>\n<em><a href="forum.php?mod=redirect&amp;tid={tid}&amp;goto=lastpost#lastpost">'
        f"{dgmdate(last.at, now, 'H:i')}</a></em>\n</td>\n</tr>\n</tbody>"
    )


def forumdisplay_body(board: Board, rows: list[Thread], now: datetime, page: int, total: int, per_page: int,
                      threads_per_page: int, today_count: int) -> str:
    """The thread list page's content."""
    url = f"forum.php?mod=forumdisplay&amp;fid={board.fid}"
    multi = pager(total, threads_per_page, page, url)
    body = "\n".join(thread_row(t, now, page, per_page) for t in rows) if rows else (
        '<tbody class="bw0_all"><tr><th colspan="5"><p class="emp">本版块或指定的范围内尚无主题</p></th></tr></tbody>')
    return (
        f'<div class="boardnav"><div id="ct" class="wp cl"><div class="mn">\n<div class="bm bml pbn">\n'
        f'<div class="bm_h cl"><h1 class="xs2"><a href="{url}">{e(board.name)}</a> <span class="xs1 xw0 i">'
        f'今日: <strong class="xi1">{today_count}</strong><span class="pipe">|</span>主题: '
        f'<strong class="xi1">{total}</strong></span></h1></div>\n</div>\n'
        f'<div id="pgt" class="bm bw0 pgs cl">\n<span id="fd_page_top">{multi}</span>\n</div>\n'
        '<div id="threadlist" class="tl bm bmw">\n<div class="th">\n<table cellspacing="0" cellpadding="0">\n<tr>\n'
        '<th colspan="2"><div class="tf">全部主题</div></th>\n<td class="by">作者</td>\n<td class="num">回复/查看</td>\n'
        '<td class="by">最后发表</td>\n</tr>\n</table>\n</div>\n<div class="bm_c">\n'
        f'<form method="post" autocomplete="off" name="moderate" id="moderate" action="forum.php?mod=topicadmin'
        f'&amp;action=moderate&amp;fid={board.fid}&amp;infloat=yes&amp;nopost=yes">\n'
        f'<table summary="forum_{board.fid}" cellspacing="0" cellpadding="0" id="threadlisttableid">\n'
        '<tbody id="separatorline" class="emptb"><tr><td class="icn"></td><th></th><td class="by"></td>'
        '<td class="num"></td><td class="by"></td></tr></tbody>\n'
        f"{body}\n</table>\n</form>\n</div>\n</div>\n"
        f'<div class="bm bw0 pgs cl">\n<span id="fd_page_bottom">{multi}</span>\n</div>\n</div></div></div>'
    )
