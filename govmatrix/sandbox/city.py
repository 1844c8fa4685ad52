"""The simulated city: the model city's departments and their accounts.

This catalogue is the one place the sandbox world and the example ``settings.toml`` agree on:
native ids here are the ids the sandbox serves. Rhythms, follower bases and the options only
the sandbox reads (``silent_days`` of a lapsed account, ``replies`` of a Weibo account: how
likely it answers a comment, ``answers`` of a forum board) only shape the simulation; they are
not settings.

The inspection cases (国办秘函〔2019〕19号 veto items): four departments whose Weibo accounts
stopped posting 8, 13, 15 and 100 days before the sandbox's start; a Weibo account that never
replies to comments (菏泽住建); a board whose department never answers (菏泽物价); and a hacked
site entry with a gambling link two days after the start (see feeds_world.SEEDED_LINK).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CityAccount:
    platform: str  # weibo | wechat | forum | feeds
    native_id: str
    name: str
    rhythm: str = "daily"  # daily | weekly | bursts | silent | lapsed (daily, then silent: options silent_days)
    followers: int = 1000  # follower count on the world's first day (weibo, wechat)
    options: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class CityDepartment:
    name: str
    short_name: str
    accounts: tuple[CityAccount, ...]


def _d(name: str, short: str, *accounts: CityAccount) -> CityDepartment:
    return CityDepartment(name, short, accounts)


W, X, F, R = "weibo", "wechat", "forum", "feeds"

DEPARTMENTS: tuple[CityDepartment, ...] = (
    _d("菏泽市人民政府新闻办公室", "市新闻办",
       CityAccount(W, "2810374651", "菏泽发布", "daily", 280_000),
       CityAccount(X, "gh_hzfb0530", "菏泽发布", "daily", 156_000, {"owned": True, "appid": "wxhzfb0530a1b2c3d4"}),
       CityAccount(R, "hzxwb-site", "菏泽市新闻办网站", "daily", options={"feed": "hzxwb.xml"})),
    _d("菏泽市食品药品监督管理局", "市食药监局",
       CityAccount(W, "3052218417", "菏泽食药监", "daily", 12_400),
       CityAccount(X, "gh_hzsyj0530", "菏泽食品药品监管", "weekly", 8_300, {"owned": True, "appid": "wxhzsyj0530e5f6a7b8"}),
       CityAccount(F, "菏泽食药监", "菏泽食药监(论坛)", "weekly", options={"fid": 41, "schedule": "weekly"})),
    _d("菏泽市卫生和计划生育委员会", "市卫计委",
       CityAccount(W, "5231467780", "健康菏泽", "daily", 35_600),
       CityAccount(X, "MzA3NjQ1MDE2Mw==", "健康菏泽", "bursts", 21_000),
       CityAccount(F, "健康菏泽", "健康菏泽(论坛)", "monthly", options={"fid": 42})),
    _d("菏泽市林业局", "市林业局",
       CityAccount(W, "5602318845", "菏泽林业", "weekly", 2_100),
       CityAccount(R, "hzly-site", "菏泽林业网", "weekly", options={"feed": "hzly.atom"})),
    _d("菏泽市农业局", "市农业局",
       CityAccount(X, "MzI0NTUxMzg2OA==", "菏泽农业", "weekly", 4_800),
       CityAccount(R, "hzny-site", "菏泽农业信息网", "weekly", options={"feed": "hzny.xml"}),
       CityAccount(F, "菏泽农业", "菏泽农业(论坛)", "monthly", options={"fid": 43})),
    _d("菏泽市畜牧兽医局", "市畜牧局",
       CityAccount(W, "5870012364", "菏泽畜牧兽医", "silent", 860)),
    _d("菏泽市渔业局", "市渔业局",
       CityAccount(R, "hzyy-site", "菏泽渔业网", "weekly", options={"feed": "hzyy.xml"})),
    _d("菏泽市公安局", "市公安局",
       CityAccount(W, "2398765410", "菏泽公安", "daily", 96_500),
       CityAccount(X, "MzA4ODc2NTQxMA==", "菏泽公安", "daily", 64_000),
       CityAccount(F, "菏泽公安", "菏泽公安(论坛)", "monthly", options={"fid": 44})),
    _d("菏泽市民政局", "市民政局",
       CityAccount(W, "5514238890", "菏泽民政", "weekly", 3_900),
       CityAccount(F, "菏泽民政", "菏泽民政(论坛)", "monthly", options={"fid": 45, "skips": True})),
    _d("菏泽市环境保护局", "市环保局",
       CityAccount(W, "3387410256", "菏泽环保", "bursts", 18_200),
       CityAccount(X, "gh_hzhb0530", "菏泽环保", "weekly", 9_700, {"owned": True, "appid": "wxhzhb0530c9d0e1f2"}),
       CityAccount(F, "菏泽环保", "菏泽环保(论坛)", "monthly", options={"fid": 46})),
    _d("共青团菏泽市委", "团市委",
       CityAccount(W, "3145567802", "菏泽共青团", "daily", 22_800),
       CityAccount(X, "MzIxNzQ4NTU2MA==", "菏泽青年", "daily", 15_300)),
    _d("菏泽市牡丹产业发展办公室", "市牡丹办",
       CityAccount(W, "5719384402", "菏泽牡丹", "bursts", 41_000),
       CityAccount(R, "hzmd-site", "中国牡丹之都网", "weekly", options={"feed": "hzmd.xml"})),
    _d("菏泽市工商行政管理局", "市工商局",
       CityAccount(W, "3620198457", "菏泽工商", "weekly", 6_500),
       CityAccount(F, "菏泽工商", "菏泽工商(论坛)", "monthly", options={"fid": 47})),
    _d("菏泽市消费者协会", "市消协",
       CityAccount(W, "5640092183", "菏泽消协", "weekly", 4_200)),
    _d("菏泽市交通运输局", "市交通局",
       CityAccount(W, "3498127760", "菏泽交通", "daily", 27_300),
       CityAccount(F, "菏泽交通", "菏泽交通(论坛)", "monthly", options={"fid": 48, "skips": True})),
    _d("菏泽市教育局", "市教育局",
       CityAccount(X, "gh_hzjy0530", "菏泽教育", "daily", 52_000, {"owned": True, "appid": "wxhzjy0530a3b4c5d6"}),
       CityAccount(R, "hzjy-site", "菏泽教育网", "weekly", options={"feed": "hzjy.xml"})),
    _d("菏泽市人力资源和社会保障局", "市人社局",
       CityAccount(W, "3871205539", "菏泽人社", "daily", 31_000),
       CityAccount(X, "MzU1MDIzNDk4Nw==", "菏泽人社", "weekly", 26_000),
       CityAccount(F, "菏泽人社", "菏泽人社(论坛)", "monthly", options={"fid": 49})),
    _d("菏泽市住房和城乡建设局", "市住建局",
       CityAccount(W, "5987234410", "菏泽住建", "weekly", 5_400, {"replies": 0.0})),
    _d("菏泽市文化广电新闻出版局", "市文广新局",
       CityAccount(W, "5348870091", "菏泽文广新", "weekly", 7_700),
       CityAccount(R, "hzwgx-site", "菏泽文化网", "weekly", options={"feed": "hzwgx.xml"})),
    _d("菏泽市旅游局", "市旅游局",
       CityAccount(W, "2987610034", "菏泽旅游", "bursts", 58_000),
       CityAccount(X, "MzA5OTk4NzY1NA==", "菏泽旅游", "weekly", 33_000)),
    _d("菏泽市气象局", "市气象局",
       CityAccount(W, "2764098812", "菏泽气象", "daily", 44_500)),
    _d("菏泽市质量技术监督局", "市质监局",
       CityAccount(W, "5823301746", "菏泽质监", "silent", 1_300),
       CityAccount(R, "hzzj-site", "菏泽质监网", "weekly", options={"feed": "hzzj.xml"})),
    _d("菏泽市水务局", "市水务局",
       CityAccount(R, "hzsw-site", "菏泽水务网", "weekly", options={"feed": "hzsw.atom"})),
    _d("菏泽市物价局", "市物价局",
       CityAccount(F, "菏泽物价", "菏泽物价(论坛)", "monthly", options={"fid": 50, "answers": "never"})),
    _d("菏泽市城市管理局", "市城管局",
       CityAccount(W, "5689023351", "菏泽城管", "lapsed", 8_800, {"silent_days": 8})),
    _d("菏泽市统计局", "市统计局",
       CityAccount(W, "5390127745", "菏泽统计", "lapsed", 3_200, {"silent_days": 13})),
    _d("菏泽市审计局", "市审计局",
       CityAccount(W, "5412093387", "菏泽审计", "lapsed", 2_600, {"silent_days": 15})),
    _d("菏泽市档案局", "市档案局",
       CityAccount(W, "5276648103", "菏泽档案", "lapsed", 1_100, {"silent_days": 100})),
)
