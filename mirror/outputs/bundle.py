"""`mirror bundle`: the mirror as a snapshot an app ships, to delta-sync from later.

Two layouts:

- sqlite (default): one SQLite database, written in one transaction to a temporary
  file and renamed into place. Schema (also in the README):

    sync_state(space, environment, base_url, sync_token, round)        one row
    locales(code PRIMARY KEY, name, is_default, fallback_code, json)
    content_types(id PRIMARY KEY, name, display_field, json)
    entries(id PRIMARY KEY, content_type, created_at, updated_at, revision, fields, json)
    assets(id PRIMARY KEY, created_at, updated_at, revision, fields, json)
    index entries_by_content_type ON entries(content_type)

  `fields` holds the item's fields (every locale) as JSON; `json` the whole item.

- sync-pages: OUT/0.json, 1.json, ... sync pages of up to 1000 items, the last one
  with a nextSyncUrl carrying the mirror's token; OUT/locales.json, the Delivery
  API's locales response; asset files as cache_<assetId>.<ext>. This is the layout
  Contentful's iOS persistence library seeds its database from.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from mirror.client import tree as paths
from mirror.client.state import MirrorState
from mirror.client.tree import MirrorTree
from mirror.errors import UsageError
from mirror.outputs.staging import (
    Staging,
    refuse_file_above,
    refuse_links_in_mirror,
    refuse_overlap,
    writing,
)
from mirror.wire import canonical_json, compact_json, parse_json

PAGE_SIZE = 1000
BUNDLE_FILE = re.compile(r"^([0-9]+\.json|locales\.json|cache_.+)$")  # what sync-pages writes
SCHEMA = """
CREATE TABLE sync_state (space TEXT NOT NULL, environment TEXT NOT NULL, base_url TEXT NOT NULL,
                         sync_token TEXT NOT NULL, round INTEGER NOT NULL);
CREATE TABLE locales (code TEXT PRIMARY KEY, name TEXT, is_default INTEGER NOT NULL,
                      fallback_code TEXT, json TEXT NOT NULL);
CREATE TABLE content_types (id TEXT PRIMARY KEY, name TEXT, display_field TEXT,
                            json TEXT NOT NULL);
CREATE TABLE entries (id TEXT PRIMARY KEY, content_type TEXT NOT NULL, created_at TEXT,
                      updated_at TEXT, revision INTEGER, fields TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX entries_by_content_type ON entries(content_type);
CREATE TABLE assets (id TEXT PRIMARY KEY, created_at TEXT, updated_at TEXT, revision INTEGER,
                     fields TEXT NOT NULL, json TEXT NOT NULL);
"""


@dataclass
class BundleReport:
    path: Path
    entries: int
    assets: int
    token: str


def _open(directory: Path) -> tuple[MirrorTree, MirrorState]:
    refuse_links_in_mirror(directory)
    tree = MirrorTree(directory)
    raw = tree.read(paths.STATE)
    if raw is None:
        raise UsageError(
            f"{directory} is not a mirror (no mirror.json); run mirror sync on it first"
        )
    state = MirrorState.from_bytes(raw, str(directory / paths.STATE))
    if not state.sync_token:
        raise UsageError(f"{directory} has no sync token yet; run mirror sync on it first")
    return tree, state


def _items(tree: MirrorTree, folder: str, depth: int) -> Iterator[dict[str, Any]]:
    for path in tree.files_under(folder, depth=depth):
        yield parse_json(tree.read(path) or b"{}")


def bundle_sqlite(directory: Path, out: Path) -> BundleReport:
    tree, state = _open(directory)
    target = out if out.suffix == ".sqlite" else out.with_name(out.name + ".sqlite")
    # A link at OUT is replaced, never written through: only the folders above are resolved.
    real = Path(os.path.realpath(target.parent)) / target.name
    refuse_file_above(target)
    if real.is_dir() and not real.is_symlink():
        raise UsageError(
            f"OUT {target} is a folder; the sqlite format writes one file: give a file path, "
            "or use --format sync-pages for a folder"
        )
    staging_path = real.with_name(f".{real.name}.partial")
    refuse_overlap(directory, target, [real, staging_path])
    with writing(target), Staging(staging_path, target) as staging:
        counts = _fill_database(tree, state, staging.new / real.name)
        staging.swap(staging.new / real.name, real)
    return BundleReport(target, counts["entries"], counts["assets"], state.sync_token or "")


def _fill_database(tree: MirrorTree, state: MirrorState, path: Path) -> dict[str, int]:
    counts = {"entries": 0, "assets": 0}
    # one transaction, committed on leaving the inner block; a fresh file in a fresh folder
    with closing(sqlite3.connect(path)) as connection, connection as db:
        db.executescript(SCHEMA)
        db.execute(
            "INSERT INTO sync_state VALUES (?, ?, ?, ?, ?)",
            (state.space, state.environment, state.base_url, state.sync_token, state.round),
        )
        for loc in parse_json(tree.read(paths.LOCALES) or b"[]"):
            db.execute(
                "INSERT INTO locales VALUES (?, ?, ?, ?, ?)",
                (
                    loc["code"],
                    loc.get("name"),
                    int(bool(loc.get("default"))),
                    loc.get("fallbackCode"),
                    _text(loc),
                ),
            )
        for ct in _items(tree, paths.CONTENT_TYPES, 1):
            db.execute(
                "INSERT INTO content_types VALUES (?, ?, ?, ?)",
                (ct["sys"]["id"], ct.get("name"), ct.get("displayField"), _text(ct)),
            )
        for entry in _items(tree, paths.ENTRIES, 2):
            sys = entry["sys"]
            db.execute(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    sys["id"],
                    sys["contentType"]["sys"]["id"],
                    sys.get("createdAt"),
                    sys.get("updatedAt"),
                    sys.get("revision"),
                    _text(entry.get("fields") or {}),
                    _text(entry),
                ),
            )
            counts["entries"] += 1
        for asset in _items(tree, paths.ASSETS, 1):
            sys = asset["sys"]
            db.execute(
                "INSERT INTO assets VALUES (?, ?, ?, ?, ?, ?)",
                (
                    sys["id"],
                    sys.get("createdAt"),
                    sys.get("updatedAt"),
                    sys.get("revision"),
                    _text(asset.get("fields") or {}),
                    _text(asset),
                ),
            )
            counts["assets"] += 1
    return counts


def bundle_sync_pages(directory: Path, out: Path) -> BundleReport:
    tree, state = _open(directory)
    # A link at OUT is replaced, never written through: only the folders above are resolved.
    real = Path(os.path.realpath(out.parent)) / out.name
    staging_path = real.with_name(f".{real.name}.partial")
    refuse_overlap(directory, out, [real, staging_path])
    _check_pages_out(out, real)
    with writing(out), Staging(staging_path, out) as staging:
        counts = _write_pages(tree, state, staging.new)
        staging.swap(staging.new, real)  # replaced whole: pages of an older bundle go
    return BundleReport(out, counts["entries"], counts["assets"], state.sync_token or "")


def _check_pages_out(out: Path, real: Path) -> None:
    refuse_file_above(out)
    if real.is_symlink():
        return  # the link itself is replaced; what it points to is never looked at
    if real.exists() and not real.is_dir():
        raise UsageError(
            f"OUT {out} is a file; --format sync-pages writes a folder: give a folder path, "
            "or leave out --format for a SQLite file"
        )
    foreign = sorted(
        name
        for name in (os.listdir(real) if real.is_dir() else [])
        if not (name.startswith(".") or BUNDLE_FILE.match(name))
    )
    if foreign:
        raise UsageError(
            f"OUT {out} holds {foreign[0]!r}, which no bundle writes, and --format sync-pages "
            "replaces OUT whole: give a folder of the bundle's own"
        )


def _write_pages(tree: MirrorTree, state: MirrorState, staging: Path) -> dict[str, int]:
    locales = parse_json(tree.read(paths.LOCALES) or b"[]")
    collection = {
        "sys": {"type": "Array"},
        "total": len(locales),
        "skip": 0,
        "limit": 1000,
        "items": locales,
    }
    (staging / "locales.json").write_bytes(canonical_json(collection))
    sync_url = (
        f"{state.base_url}/spaces/{state.space}/environments/{state.environment}/sync?sync_token="
    )
    page: list[bytes] = []
    number = 0
    counts = {"entries": 0, "assets": 0}
    for kind, folder, depth in (("entries", paths.ENTRIES, 2), ("assets", paths.ASSETS, 1)):
        for path in tree.files_under(folder, depth=depth):
            item = parse_json(tree.read(path) or b"{}")
            page.append(compact_json(item))
            counts[kind] += 1
            if kind == "assets":
                _copy_asset_file(tree, item, staging)
            if len(page) == PAGE_SIZE:
                _write_page(
                    staging / f"{number}.json",
                    page,
                    f"{sync_url}bundle-page-{number + 1}",
                    last=False,
                )
                page, number = [], number + 1
    _write_page(staging / f"{number}.json", page, f"{sync_url}{state.sync_token}", last=True)
    return counts


def _write_page(path: Path, items: list[bytes], next_url: str, last: bool) -> None:
    key = b"nextSyncUrl" if last else b"nextPageUrl"
    path.write_bytes(
        b'{"sys":{"type":"Array"},"items":['
        + b",".join(items)
        + b'],"'
        + key
        + b'":'
        + compact_json(next_url)
        + b"}\n"
    )


def _copy_asset_file(tree: MirrorTree, asset: dict[str, Any], out: Path) -> None:
    """cache_<assetId>.<ext>, the extension taken from the file's URL ("data" without one),
    as the persistence library names it: the first locale's file the mirror has."""
    files = (asset.get("fields") or {}).get("file") or {}
    for code, file in files.items():
        if not isinstance(file, dict) or not file.get("url") or not file.get("fileName"):
            continue
        local = tree.root / "assets" / "files" / asset["sys"]["id"] / code / file["fileName"]
        if local.is_file():
            extension = PurePosixPath(urlsplit(file["url"]).path).suffix.lstrip(".") or "data"
            shutil.copyfile(local, out / f"cache_{asset['sys']['id']}.{extension}")
            return


def _text(value: Any) -> str:
    return compact_json(value).decode("utf-8")
