"""The JSON shapes of m.weibo.cn: user objects, mblogs and cards, with their date and count forms.

Shapes follow shared/reference/weibo.md (sections 2 and 3): ``created_at`` in today's form
(``Tue Jul 02 14:22:00 +0800 2024``) or, per account, the legacy relative forms (刚刚,
N分钟前, N小时前, 昨天 HH:MM, MM-DD, YYYY-MM-DD); counts as ints, large follower counts as
"28.1万", post counts of a million or more as "100万+".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from govmatrix.sandbox.state import SHANGHAI
from govmatrix.sandbox.weibo_posts import (
    DELETED_TEXT,
    INVISIBLE_TEXT,
    WeiboPost,
    WeiboWorld,
    mid_to_bid,
    render_html,
    truncated_html,
)
from govmatrix.sandbox.world import WorldAccount

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
REGION_SINCE = datetime(2022, 8, 1, tzinfo=SHANGHAI)  # Weibo began showing "发布于 <province>"
PIN_MARKERS = frozenset({"profile_type_id", "isTop", "mblogtype", "title"})


@dataclass(frozen=True)
class Traits:
    """How one account's pages differ from the plain case (each one a trap real crawlers met)."""

    legacy_dates: bool = False  # created_at in the pre-2021 relative forms
    pinned: int = 0  # old posts pinned at the top of page 1 (VIP accounts may pin two)
    pin_markers: frozenset[str] = field(default_factory=lambda: frozenset({"isTop", "mblogtype"}))
    card_group: bool = False  # page 1's first card arrives inside a card_type 11 group
    pics_map: bool = False  # pics as an object {"0": {...}} instead of a list
    no_tabs: bool = False  # the profile lacks tabsInfo (API drift)


def created_at(when: datetime, now: datetime | None = None) -> str:
    """Today's form; with ``now``, the legacy relative form a 2019 timeline showed at ``now``."""
    local = when.astimezone(SHANGHAI)
    if now is None:
        return (f"{_DAYS[local.weekday()]} {_MONTHS[local.month - 1]} {local:%d %H:%M:%S} +0800 {local.year}")
    current = now.astimezone(SHANGHAI)
    age = (current - local).total_seconds()
    if age < 60:
        return "刚刚"
    if age < 3600:
        return f"{int(age // 60)}分钟前"
    if local.date() == current.date():
        return f"{int(age // 3600)}小时前"
    if local.date() == current.date() - timedelta(days=1):
        return f"昨天 {local:%H:%M}"
    if local.year == current.year:
        return f"{local:%m-%d}"
    return f"{local:%Y-%m-%d}"


def count_shown(n: int) -> int | str:
    """A post count as m.weibo.cn shows it: an int, or "100万+" from a million on."""
    return "100万+" if n >= 1_000_000 else n


def followers_shown(n: int) -> int | str:
    """A follower count as the profile shows it: exact below 100,000, else "28.1万" / "1.2亿" (floored)."""
    if n >= 100_000_000:
        return f"{n // 10_000_000 / 10:.1f}亿"
    if n >= 100_000:
        return f"{n // 1_000 / 10:.1f}万"
    return n


class Shapes:
    """Builds m.weibo.cn JSON objects for the accounts and posts of a :class:`WeiboWorld`."""

    def __init__(self, posts: WeiboWorld, traits: dict[str, Traits]) -> None:
        self.posts = posts
        self.world = posts.world
        self.traits = traits

    def statuses_count(self, account: WorldAccount, now: datetime) -> int:
        prehistory = int(account.followers ** 0.5 * self.world.rng("weibo-prehistory", account.native_id).uniform(4, 20))
        return prehistory + len(self.posts.visible(account, now))

    def following(self, account: WorldAccount, now: datetime) -> int:
        return 30 + self.world.rng("weibo-following", account.native_id).randrange(500) + max(
            0, self.world.day_index(now)) // 45

    def user(self, account: WorldAccount, now: datetime) -> dict[str, Any]:
        uid = account.native_id
        shown = followers_shown(self.world.followers(account, self.world.day_index(now)))
        avatar = mid_to_bid(int(uid) * 7919).rjust(8, "0")
        user: dict[str, Any] = {
            "id": int(uid), "screen_name": account.name,
            "profile_image_url": f"https://tvax{1 + account.index % 4}.sinaimg.cn/crop.0.0.180.180.180/{avatar}ly8g.jpg",
            "profile_url": f"https://m.weibo.cn/u/{uid}?uid={uid}&luicode=10000011&lfid=100505{uid}",
            "statuses_count": self.statuses_count(account, now),
            "verified": True, "verified_type": 1, "verified_type_ext": 0,
            "verified_reason": f"{account.department}官方微博", "close_blue_v": False,
            "description": f"{account.department}官方微博。", "gender": "m", "mbtype": 0, "urank": 30,
            "mbrank": 0, "follow_me": False, "following": False, "followers_count": shown,
        }
        if isinstance(shown, str):
            user["followers_count_str"] = shown
        user.update({"follow_count": self.following(account, now),
                     "cover_image_phone": "https://tva1.sinaimg.cn/crop.0.0.640.640.640/549d0121tw1egm1kjly3jj20hs0hsq4f.jpg",
                     "avatar_hd": f"https://wx1.sinaimg.cn/orj480/{avatar}ly8g.jpg", "like": False, "like_me": False})
        return user

    def mblog(self, post: WeiboPost, now: datetime, *, legacy: bool = False, full: bool = False,
              pinned: frozenset[str] = frozenset(), nested: bool = True) -> dict[str, Any]:
        """One post. ``full`` is the statuses/show form (all pictures, longText, today's date form)."""
        mid, bid = str(post.mid), mid_to_bid(post.mid)
        reposts, comments, likes = post.final
        m: dict[str, Any] = {"visible": {"type": 0, "list_id": 0},
                             "created_at": created_at(post.published, now if legacy and not full else None),
                             "id": mid, "idstr": mid, "mid": mid, "can_edit": False, "show_additional_indication": 0,
                             "text": truncated_html(post) if post.long else render_html(post.tokens)}
        if post.long:
            m["textLength"] = sum(1 if ord(c) < 128 else 2 for c in post.plain)
        m.update({"source": post.source, "favorited": False})
        if "title" in pinned:
            m["title"] = {"text": "置顶", "base_color": 1}
        self._pictures(m, post, full)
        m.update({"is_paid": False, "mblog_vip_type": 0, "user": self.user(post.account, now),
                  "reposts_count": count_shown(reposts), "comments_count": count_shown(comments),
                  "reprint_cmt_count": 0, "attitudes_count": count_shown(likes), "pending_approval_count": 0,
                  "isLongText": post.long, "mlevel": 0, "show_mlevel": 0, "darwin_tags": [],
                  "mblogtype": 2 if "mblogtype" in pinned else 0})
        if "isTop" in pinned:
            m["isTop"] = 1
        if max(reposts, comments, likes) >= 1_000_000:
            m["number_display_strategy"] = {"apply_scenario_flag": 3, "display_text_min_number": 1000000,
                                            "display_text": "100万+"}
        if post.published >= REGION_SINCE:
            m["region_name"] = "发布于 山东"
        m.update({"edit_count": 1 if post.edited else 0, "bid": "" if post.variant == "deleted" else bid})
        if post.edited:
            m["edit_config"] = {"edited": True}
        if post.video:
            m["page_info"] = _video(post)
        if post.long and full:
            m["longText"] = {"longTextContent": post.plain, "url_objects": []}
        if nested and post.retweet_of is not None:
            m["retweeted_status"] = self.retweeted(post, now, legacy=legacy, full=full)
        return m

    def retweeted(self, post: WeiboPost, now: datetime, *, legacy: bool, full: bool) -> dict[str, Any]:
        if post.deleted is not None:
            gone = post.deleted
            mid = str(gone.mid)
            when = datetime.fromtimestamp(gone.ts, SHANGHAI)
            return {"created_at": created_at(when, now if legacy and not full else None), "id": mid, "idstr": mid,
                    "mid": mid, "bid": "", "text": INVISIBLE_TEXT if gone.invisible else DELETED_TEXT, "user": None,
                    "reposts_count": 0, "comments_count": 0, "attitudes_count": 0, "isLongText": False, "pic_num": 0,
                    "visible": {"type": 0, "list_id": 0}}
        assert post.retweet_of is not None
        original = self.posts.post(post.retweet_of)
        assert original is not None, f"repost {post.mid} points at a post that does not exist"
        return self.mblog(original, now, legacy=legacy, full=full, nested=False)

    def _pictures(self, m: dict[str, Any], post: WeiboPost, full: bool) -> None:
        shown = post.pics if full else post.pics[:9]
        m["pic_ids"] = list(post.pics)
        m["pic_types"] = ""
        if post.pics:
            first = post.pics[0]
            host = f"https://wx{1 + int(post.mid) % 4}.sinaimg.cn"
            m.update({"thumbnail_pic": f"{host}/thumbnail/{first}.jpg", "bmiddle_pic": f"{host}/bmiddle/{first}.jpg",
                      "original_pic": f"{host}/large/{first}.jpg"})
        m["pic_num"] = len(post.pics)
        if post.pics:
            pics = [_pic(pid, post.mid) for pid in shown]
            traits = self.traits.get(post.account.native_id)
            m["pics"] = {str(i): p for i, p in enumerate(pics)} if traits and traits.pics_map else pics

    def card(self, post: WeiboPost, now: datetime, containerid: str, *, legacy: bool,
             pinned: frozenset[str] = frozenset()) -> dict[str, Any]:
        bid = mid_to_bid(post.mid)
        card: dict[str, Any] = {"card_type": 9}
        if "profile_type_id" in pinned:
            card["profile_type_id"] = "proweibotop_"
        card.update({"itemid": f"{containerid}_-_{post.mid}",
                     "scheme": f"https://m.weibo.cn/status/{bid}?mblogid={bid}&luicode=10000011&lfid={containerid}",
                     "mblog": self.mblog(post, now, legacy=legacy, pinned=pinned)})
        return card


def image_url(pid: str, mid: int, size: str = "large") -> str:
    return f"https://wx{1 + mid % 4}.sinaimg.cn/{size}/{pid}.jpg"


def _pic(pid: str, mid: int) -> dict[str, Any]:
    return {"pid": pid, "url": image_url(pid, mid, "orj360"), "size": "orj360",
            "geo": {"width": 360, "height": 480, "croped": False},
            "large": {"size": "large", "url": image_url(pid, mid), "geo": {"width": "1440", "height": "1920",
                                                                             "croped": False}}}


def video_url(post: WeiboPost) -> str:
    return f"https://f.video.weibocdn.com/o0/{post.video}.mp4?label=mp4_720p"


def _video(post: WeiboPost) -> dict[str, Any]:
    base = f"https://f.video.weibocdn.com/o0/{post.video}.mp4?label="
    return {"type": "video", "object_type": 11, "page_pic": {"url": f"https://wx3.sinaimg.cn/orj480/{post.video}.jpg"},
            "page_url": f"https://video.weibo.com/show?fid=1034:{post.video}",
            "page_title": f"{post.account.name}的微博视频", "title": f"{post.account.name}的微博视频",
            "content1": f"{post.account.name}的微博视频", "content2": "",
            "media_info": {"stream_url": base + "mp4_ld", "stream_url_hd": base + "mp4_hd", "duration": 35.6},
            "urls": {"mp4_720p_mp4": base + "mp4_720p", "mp4_hd_mp4": base + "mp4_hd", "mp4_ld_mp4": base + "mp4_ld"}}
