"""Review actions of the desk and the API: who may do what to which items, then one audited change.

An action names items; ``cluster`` extends it to every member of their near-duplicate clusters
(the desk acts on a collapsed cluster this way, so a release posted by twelve accounts is approved
once). A reviewer limited to some departments may act only on their items: naming another's item
refuses the whole action; a cluster's members of other departments are left as they are. An item
with an open wording hit (pipelines/wording.py) cannot be approved or pinned until a reviewer
dismisses the hit or the text is fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from govmatrix.storage.feed import MAX_ID
from govmatrix.storage.repo import Repo
from govmatrix.storage.users import User

ACTIONS = {"approve": "approved", "hide": "hidden", "pin": "pinned", "reset": "pending", "note": ""}
ACTION_NAMES = {"approve": "通过", "hide": "隐藏", "pin": "置顶", "reset": "退回待审", "note": "备注"}
PUBLISHING = ("approve", "pin")
MAX_ITEMS = 500  # items one action may name


class ReviewRefused(Exception):
    """The action is not allowed as asked (403) or not valid (400)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ReviewResult:
    changed: int = 0
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (post id, why)


def review(repo: Repo, user: User, post_ids: Sequence[int], action: str, *, now: datetime, note: str = "",
           cluster: bool = False) -> ReviewResult:
    if action not in ACTIONS:
        raise ReviewRefused(400, f"未知的操作 {action!r}（可用：{', '.join(ACTIONS)}）")
    if user.role not in ("admin", "reviewer") or user.disabled:
        raise ReviewRefused(403, "只读用户不能执行审核操作")
    ids = sorted({int(i) for i in post_ids})
    if not ids:
        raise ReviewRefused(400, "没有选择任何条目")
    if not all(0 < i <= MAX_ID for i in ids):
        raise ReviewRefused(400, "条目编号无效")
    if len(ids) > MAX_ITEMS:
        raise ReviewRefused(400, f"一次最多操作 {MAX_ITEMS} 条")
    if action == "note" and not note.strip():
        raise ReviewRefused(400, "备注不能为空")
    named = set(ids)
    targets = repo.reviews.targets(ids, clusters=cluster)
    missing = named - {t["id"] for t in targets}
    if missing:
        raise ReviewRefused(400, f"条目不存在：{', '.join(map(str, sorted(missing)))}")
    result = ReviewResult()
    for target in targets:
        if not user.may_review(target["department_short"]):
            if target["id"] in named:
                raise ReviewRefused(403, f"条目 {target['id']} 属于 {target['department_short'] or '未分部门'}，"
                                         "不在你负责的部门内")
            result.skipped.append((target["id"], "其他部门"))
    allowed = [t for t in targets if user.may_review(t["department_short"])]
    if action in PUBLISHING:
        blocked = repo.wording.blocking([t["id"] for t in allowed])
        for post_id in sorted(blocked):
            result.skipped.append((post_id, "有未处理的用语问题"))
        allowed = [t for t in allowed if t["id"] not in blocked]
    by_state: dict[str, list[int]] = {}
    for target in allowed:
        by_state.setdefault(ACTIONS[action] or target["review_state"], []).append(target["id"])
    for state, members in by_state.items():
        changed = repo.reviews.set_state(members, state, actor=user.name, now=now, note=note.strip())
        result.changed += changed
        result.unchanged += len(members) - changed
    return result
