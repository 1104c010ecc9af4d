"""`mirror bundle`: the mirror as a snapshot an app ships, to delta-sync from later.

Two layouts:

- sqlite (default): one SQLite database of the mirror at its HEAD commit (read from
  git objects, never the work tree), written beside OUT and renamed into place.
  When OUT holds a bundle of an earlier commit of the same mirror, a copy of it gets
  only the changes between the two commits (mirror.outputs.bundle_build); its
  tables are in mirror.outputs.bundle_sqlite.

- sync-pages: OUT/0.json, 1.json, ... sync pages of up to 1000 items, the last one
  with a nextSyncUrl carrying the mirror's token; OUT/locales.json, the Delivery
  API's locales response; asset files as cache_<assetId>.<ext>. This is the layout
  Contentful's iOS persistence library seeds its database from.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from mirror.client import tree as paths
from mirror.client.state import MirrorState
from mirror.client.tree import MirrorTree
from mirror.errors import UsageError
from mirror.outputs.bundle_build import make_bundle
from mirror.outputs.bundle_git import MirrorAtHead
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


@dataclass
class BundleReport:
    path: Path
    entries: int
    assets: int
    token: str
    note: str = ""


def _open(directory: Path, work_tree: bool = True) -> tuple[MirrorTree, MirrorState]:
    """The mirror and its state; with `work_tree`, refused when a link in its folders
    would be read. (The sqlite format reads git objects, where git_at_head refuses a
    committed link, and never the work tree: no folder walk needed.)"""
    if work_tree:
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


def bundle_sqlite(
    directory: Path, out: Path, full: bool = False, include_files: bool = False
) -> BundleReport:
    """OUT.sqlite for the mirror at HEAD, updated in place when it can be (see
    `make_bundle`); `report.note` says how it was made."""
    _open(directory, work_tree=False)
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
    with (
        MirrorAtHead(directory) as mirror,
        writing(target),
        Staging(staging_path, target) as staging,
    ):
        state = mirror.state()
        new = staging.new / real.name
        built = make_bundle(mirror, state, real, new, full, include_files)
        staging.swap(new, real)
    return BundleReport(target, built.entries, built.assets, state.sync_token or "", built.note)


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
