"""``govmatrix publish --out DIR``: the micro-site as static files, for any web server or CDN.

The same outputs as the served micro-site (web/site.py), at the same paths: ``index.html`` in each
page's folder, ``feed.json``, ``feed.atom`` and ``static/``. Incremental: a file is written only when
its bytes changed (a manifest of hashes is kept in the folder), and a file of an earlier export
that is no longer produced (an item hidden since) is removed. Each file is replaced atomically.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from govmatrix.web.site import Site, department_path

MANIFEST = ".govmatrix-publish.json"
STATIC = Path(__file__).with_name("static")


@dataclass
class Published:
    written: int = 0
    unchanged: int = 0
    removed: int = 0


def _file(path: str) -> str:
    """The file of a site path: ``/item/3/`` -> ``item/3/index.html``."""
    name = unquote(path).lstrip("/")
    return name + "index.html" if not name or name.endswith("/") else name


def outputs(site: Site, base_url: str) -> dict[str, bytes]:
    """Every public file of the micro-site, by its path in the export."""
    files: dict[str, bytes] = {}
    for department in [None, *site.repo.accounts.departments()]:
        home = department_path(department["short_name"]) if department else "/"
        cursor: str | None = None
        while True:
            items, more = site.items(department, cursor)
            files[_file(home if cursor is None else f"{home}page/{cursor}/")] = site.listing(department, cursor).body
            for item in items:
                key = _file(item["path"])
                if key not in files:
                    files[key] = site.item(item["id"]).body
            if more is None:
                break
            cursor = more
    files["feed.json"] = site.json_feed(base_url).body
    files["feed.atom"] = site.atom_feed(base_url).body
    for static in sorted(STATIC.glob("site.*")):
        files[f"static/{static.name}"] = static.read_bytes()
    return files


def publish(site: Site, out: Path, base_url: str) -> Published:
    out.mkdir(parents=True, exist_ok=True)
    manifest_file = out / MANIFEST
    try:
        before: dict[str, str] = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        before = {}
    result, after = Published(), {}
    for name, body in outputs(site, base_url).items():
        digest = hashlib.sha256(body).hexdigest()
        after[name] = digest
        target = out / name
        if before.get(name) == digest and target.exists():
            result.unchanged += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(body)
        partial.replace(target)
        result.written += 1
    for name in sorted(set(before) - set(after)):
        stale = out / name
        if stale.is_file():
            stale.unlink()
            result.removed += 1
        _prune(stale.parent, out)
    _write_manifest(manifest_file, after)
    return result


def _prune(folder: Path, root: Path) -> None:
    """Remove folders left empty, up to the export's root."""
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _write_manifest(file: Path, manifest: dict[str, Any]) -> None:
    partial = file.with_name(file.name + ".partial")
    partial.write_text(json.dumps(manifest, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    shutil.move(partial, file)
