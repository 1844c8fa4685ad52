"""Simulated platforms on loopback (Weibo, WeChat, Discuz! forum, RSS) for the demo and the tests.

The sandbox contract, which every simulated platform and every crawler test relies on:

- One HTTP server (Starlette app served by uvicorn; `httptools`/`uvloop` may be absent, use what is installed)
  on 127.0.0.1. Each real host is a path prefix, so production only changes a base URL:
  - `/weibo/...`      imitates https://m.weibo.cn   (e.g. `/weibo/api/container/getIndex?...`, `/weibo/statuses/extend?id=`)
  - `/wechat-api/...` imitates https://api.weixin.qq.com (`/wechat-api/cgi-bin/stable_token`, `/wechat-api/datacube/getusercumulate`, ...)
  - `/mp/...`         imitates https://mp.weixin.qq.com (public article pages `/mp/s/<id>` or `/mp/s?__biz=..&mid=..&idx=..&sn=..`)
  - `/rsshub/...`     imitates an RSSHub instance (RSS-bridge feeds for WeChat accounts not owned by the city)
  - `/forum/...`      imitates a Discuz! X3 board (`/forum/forum.php?mod=forumdisplay&fid=N&page=K`, `mod=viewthread`, `mod=rss`)
  - `/sites/...`      department websites' RSS/Atom feeds (`/sites/<feed file name from city.py options["feed"]>`)
  - `/_sandbox/...`   control routes: `GET/POST /_sandbox/clock` ({"now": ISO}), `GET/POST /_sandbox/faults`
                      ({"faults": "none|flaky|hostile"}), `GET /_sandbox/truth`, `GET /_sandbox/stats` (request counters),
                      `POST /_sandbox/stats/reset`.
- Time: the world exists from `state.history_start` to `state.now` (both tz-aware). Nothing published after `now` is
  served or appears in the truth. The default world: now = real current time, history = the 120 days before.
  Everything is deterministic from (seed, history_start): content must not depend on `now` other than being cut at it,
  so moving the clock forward only ADDS posts/days. Generate lazily and cache per account: `--accounts 10000`
  must not generate posts nobody asks for.
- Counters: every platform route calls `state.count("<platform>.<endpoint>")` (e.g. `weibo.timeline`, `weibo.profile`,
  `weibo.extend`, `wechat.token`, `wechat.batchget`, `wechat.datacube`, `forum.viewthread`, `feeds.get`), so tests can
  count the requests a crawler made.
- Truth (`GET /_sandbox/truth`, JSON; also available in-process) — every platform module contributes:
  {"now": ISO, "posts": [...], "followers": [...], "exchanges": [...]}
  - post: {"platform", "account" (the account native id from city.py), "native_id", "kind" (original|repost|article|
    thread|reply), "title", "text", "published_at" (ISO 8601 with +08:00), "url", "parent_native_id" (or null),
    "reposts", "comments", "likes", "reads" (int or null)} plus platform extras where useful (e.g. weibo repost:
    "original": {"native_id", "author", "text"} or {"native_id", "deleted": true}).
    `text` is the plain text a correct crawler must produce from what is served, in the script it was served in:
    HTML stripped by these rules — `<br>` becomes "\n"; an emoji `<img alt="[偷笑]">` becomes its alt text; a link
    becomes its text; entities unescaped; other tags dropped; each line stripped of surrounding whitespace; no
    leading/trailing blank lines. For a Weibo long post it is the FULL text. For a forum post it is the new text only
    (the quoted part excluded). For a feed entry it is the plain text of its content (or summary when no content).
  - followers: {"platform", "account", "day" ("YYYY-MM-DD", Asia/Shanghai), "followers"} for every day up to now.
  - exchanges: {"account" (forum user of the department), "fid", "tid", "title", "start", "end", "questions": [
    {"pid", "author", "text", "asked_at", "answered_at" (or null), "answer_pid" (or null), "suggestion" (bool)}]}
- Faults (state.faults): `none`; `flaky` (about 5% of platform requests: 5xx, a timeout by sleeping past the
  client's patience ~ 6 s at most — keep it bounded, or a truncated body); `hostile` (Weibo: 418 bursts, ok:-100
  captcha bodies, 432 with a non-JSON body, malformed JSON; WeChat: a token that expires mid-crawl (40001/42001) and
  45009 quota errors; slow responses). Faults are deterministic per (seed, request key, attempt number) so a retry
  can succeed: a client that keeps retrying must eventually get every page. `state.latency_ms` adds a fixed delay
  to every platform response (asyncio.sleep, never blocking the event loop).

Layout: app.py (one Starlette app, uvicorn, the platforms found in this package), control.py, faults.py, world.py,
weibo.py (m.weibo.cn); wechat.py, forum.py, feeds.py (each exposes a class built from the SandboxState and
the city catalogue, with ``routes()`` returning Starlette routes and ``truth()`` returning its part of the truth).
"""
