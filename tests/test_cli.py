"""The command line: exit status 2 on bad settings, init twice, and the feed's JSON shape."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from govmatrix.bootstrap import initialize
from govmatrix.cli import main
from govmatrix.config import load_settings
from govmatrix.models import Post

from .test_config import BASE, write

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def config(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GOVMATRIX_DATABASE_URL", db_url)
    return write(tmp_path, BASE)


def test_bad_settings_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BASE.replace('"weibo"', '"weixin"'))
    assert main(["--config", str(path), "accounts"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"{path}: departments[0].accounts[0].platform: unknown platform 'weixin' "
                   "(known: weibo, wechat, forum, feeds)")


def test_init_twice_changes_nothing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "init"]) == 0
    first = capsys.readouterr().out
    assert "schema upgraded" in first and "added    weibo 2810374651" in first
    assert main(["--config", str(config), "init"]) == 0
    second = capsys.readouterr().out
    assert "schema up to date" in second and "nothing changed" in second


def test_feed_json_shape(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = initialize(load_settings(config), datetime(2016, 7, 1, tzinfo=SHANGHAI))
    [account] = repo.accounts.find()
    assert account.id is not None
    published = datetime(2016, 7, 2, 14, 22, tzinfo=SHANGHAI)
    repo.posts.upsert(account.id, [
        Post(platform="weibo", native_id="4001", text="牡丹花开", published_at=published, likes=7, reposts=2),
        Post(platform="weibo", native_id="4002", text="更早的一条", published_at=published.replace(hour=9)),
    ], published)
    repo.engine.dispose()
    assert main(["--config", str(config), "feed", "--format", "json", "--since", "2016-07-02T12:00"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 1
    record = records[0]
    assert list(record) == ["id", "platform", "department", "account", "native_id", "url", "title", "text",
                            "published_at", "reposts", "comments", "likes", "reads", "kind", "review_state", "flags",
                            "alerts", "cluster_id"]
    assert record["published_at"] == "2016-07-02T14:22:00+08:00"
    assert (record["department"], record["account"], record["text"]) == ("菏泽市人民政府新闻办公室", "菏泽发布", "牡丹花开")
    assert (record["likes"], record["reposts"], record["comments"], record["kind"]) == (7, 2, None, "original")
    assert record["review_state"] == "pending"
    assert main(["--config", str(config), "feed", "--format", "jsonl", "--platform", "wechat"]) == 0
    assert capsys.readouterr().out == ""


def test_status_lists_every_account(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "init"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "status"]) == 0
    out = capsys.readouterr().out
    assert "2810374651" in out and "never" in out


def test_status_flags_accounts_failing_for_days(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import timedelta

    repo, _ = initialize(load_settings(config), datetime(2016, 7, 1, tzinfo=SHANGHAI))
    [account] = repo.accounts.find()
    first = datetime(2016, 7, 1, 8, 0, tzinfo=SHANGHAI)
    for day in range(4):
        at = first + timedelta(days=day)
        repo.runs.record_failure(account.id or 0, started=at, finished=at, requests=1, next_check_at=at,
                            error="weibo 2810374651: rate limited (HTTP 418)")
    repo.engine.dispose()
    assert main(["--config", str(config), "--now", "2016-07-03T09:00", "status"]) == 0
    early = capsys.readouterr().out
    assert "back-off" in early and "ATTENTION" not in early and "rate limited (HTTP 418)" in early
    assert main(["--config", str(config), "--now", "2016-07-04T09:00", "status"]) == 0
    late = capsys.readouterr().out
    assert "ATTENTION" in late and "2016-07-01 08:00" in late and "1 accounts need attention" in late


def test_feed_search_pages_and_collapsed_clusters(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from govmatrix.pipelines.clean import normalise

    repo, _ = initialize(load_settings(config), datetime(2016, 7, 1, tzinfo=SHANGHAI))
    [account] = repo.accounts.find()
    at = datetime(2016, 7, 2, 9, 0, tzinfo=SHANGHAI)
    texts = ["全市疫苗接种点名单公布", "疫苗接種點名單公佈", "冬季供暖热线开通"]
    repo.posts.upsert(account.id, [Post(platform="weibo", native_id=str(i), text=t, text_norm=normalise(t),
                                        published_at=at.replace(minute=i)) for i, t in enumerate(texts)], at)
    repo.engine.dispose()
    assert main(["--config", str(config), "feed", "--search", "疫苗", "--limit", "1", "--format", "json"]) == 0
    out = capsys.readouterr()
    assert [r["native_id"] for r in json.loads(out.out)] == ["1"]  # the traditional copy, found by its simplified form
    cursor = out.err.strip().removeprefix("more: add --after ")
    assert main(["--config", str(config), "feed", "--search", "疫苗", "--limit", "1", "--format", "json",
                 "--after", cursor]) == 0
    out = capsys.readouterr()
    assert [r["native_id"] for r in json.loads(out.out)] == ["0"] and out.err == ""
    assert main(["--config", str(config), "feed", "--after", "garbage"]) == 2
    assert "not a cursor of this feed" in capsys.readouterr().err
    assert main(["--config", str(config), "feed", "--cluster", "collapsed", "--search", "供暖"]) == 0
    assert "冬季供暖热线开通" in capsys.readouterr().out


def test_monthly_commands_and_report_files(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from govmatrix.models import FollowerSnapshot

    repo, _ = initialize(load_settings(config), datetime(2016, 7, 1, tzinfo=SHANGHAI))
    [account] = repo.accounts.find()
    repo.snapshots.upsert(account.id, [
        FollowerSnapshot(taken_at=datetime(2016, 5, 31, 22, tzinfo=SHANGHAI), followers=280_000),
        FollowerSnapshot(taken_at=datetime(2016, 6, 30, 22, tzinfo=SHANGHAI), followers=283_500)], SHANGHAI)
    repo.engine.dispose()
    now = ["--config", str(config), "--now", "2016-07-03T10:00"]
    assert main([*now, "followers"]) == 0  # last month by default
    out = capsys.readouterr().out
    assert "2016年6月各账号粉丝增长" in out and "283,500" in out and "3,500" in out and "1.25%" in out
    assert main([*now, "followers", "--month", "2016-06", "--format", "json"]) == 0
    [table] = [t for t in json.loads(capsys.readouterr().out)["tables"] if t["title"].endswith("各账号粉丝增长")]
    assert table["rows"][0]["月末粉丝"] == 283_500 and table["rows"][0]["增长"] == 3500
    assert main([*now, "rankings", "--month", "2016-06"]) == 0
    assert "粉丝总数排名" in capsys.readouterr().out
    assert main([*now, "exchanges", "--month", "2016-06"]) == 0
    assert "网上在线交流开展情况" in capsys.readouterr().out
    assert main([*now, "followers", "--month", "2016-13"]) == 2
    assert "--month: expected YYYY-MM" in capsys.readouterr().err
    assert main([*now, "followers", "--month", "0000-01"]) == 2
    assert "--month: year out of range" in capsys.readouterr().err
    for fmt in ("xlsx", "html", "csv"):
        out_file = tmp_path / f"m.{fmt}"
        assert main([*now, "report", "matrix", "--month", "2016-06", "--format", fmt, "--out", str(out_file)]) == 0
        assert out_file.stat().st_size > 1000
    assert "matrix report for 2016-06 written to" in capsys.readouterr().out
