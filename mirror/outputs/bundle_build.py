"""Making the SQLite bundle of the mirror at HEAD: updated in place when OUT holds a
bundle of an earlier commit of the same mirror (its copy gets only the files that
changed between the two commits, in one transaction), otherwise built whole. Either
way the result's tables hold the same rows."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from mirror.client import tree as paths
from mirror.client.state import MirrorState
from mirror.client.tree import Place, place_of
from mirror.errors import MirrorError
from mirror.outputs.bundle_git import Change, MirrorAtHead
from mirror.outputs.bundle_sqlite import SCHEMA, SCHEMA_VERSION, BundleTables, read_stamp
from mirror.wire import parse_json

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass
class Built:
    entries: int
    assets: int
    note: str  # how the bundle was made, and why not in place when it was not


def make_bundle(
    mirror: MirrorAtHead, state: MirrorState, out: Path, new: Path, full: bool, files: bool
) -> Built:
    """Write the bundle to `new` (in a staging folder), from `out`'s bundle if it can."""
    reason = "--full given" if full else _copy_out(out, new)
    changes: list[Change] | None = None
    old = ""
    if reason is None:
        changes, reason, old = _changes_since_out(mirror, state, new, files)
    if changes is None:
        new.unlink(missing_ok=True)
        entries, assets = _fill(mirror, state, new, files)
        return Built(entries, assets, f"a fresh bundle: {reason}")
    entries, assets = _update(mirror, state, new, files, changes)
    return Built(
        entries,
        assets,
        f"updated the bundle in place: {len(changes)} changed "
        f"{'file' if len(changes) == 1 else 'files'} since commit {old[:10]}",
    )


def _copy_out(out: Path, new: Path) -> str | None:
    """Copy the bundle at OUT to `new`; why not, when it cannot be updated."""
    if not os.path.lexists(out):
        return "OUT holds no bundle yet"
    if out.is_symlink() or not out.is_file():
        return "OUT is a symbolic link, which is replaced and never read"
    fd = os.open(out, os.O_RDONLY | _NOFOLLOW)
    with open(fd, "rb") as source, open(new, "xb") as copy:
        _copy_file(source, copy)
    return None


def _copy_file(source: BinaryIO, copy: BinaryIO) -> None:
    """In the kernel where it can (a reflink on file systems that share blocks)."""
    left = os.fstat(source.fileno()).st_size
    try:
        while left > 0:
            done = os.copy_file_range(source.fileno(), copy.fileno(), left)
            if done == 0:
                break
            left -= done
    except (AttributeError, OSError):  # no copy_file_range here, or not between these
        source.seek(0)
        copy.seek(0)
        copy.truncate()
        shutil.copyfileobj(source, copy, 1 << 22)


def _changes_since_out(
    mirror: MirrorAtHead, state: MirrorState, copy: Path, files: bool
) -> tuple[list[Change] | None, str, str]:
    """The changes to apply to the bundle copied to `copy`, or None and why not;
    and the commit it was made from."""
    try:
        with closing(sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)) as db:
            version, meta, where = read_stamp(db)
    except sqlite3.DatabaseError:
        return None, "OUT is no SQLite database", ""
    old = meta.get("mirror_commit", "")
    if version != SCHEMA_VERSION:
        why = f"OUT has bundle schema version {version}; this mirror writes {SCHEMA_VERSION}"
    elif where != (state.space, state.environment) or meta.get("mirror_path") != mirror.prefix:
        why = "OUT is a bundle of another mirror"
    elif meta.get("include_files") != str(int(files)):
        why = f"OUT was made {'without' if files else 'with'} --include-files"
    else:
        changes = mirror.changes_since(old)
        if changes is None:
            why = f"OUT was made from commit {old[:10]}, not an ancestor of HEAD"
        elif any(change.path == paths.LOCALES for change in changes):
            why = f"the locales changed since commit {old[:10]}"
        else:
            return changes, "", old
    return None, why, old


def _meta(mirror: MirrorAtHead, files: bool) -> dict[str, str]:
    return {
        "mirror_commit": mirror.commit,
        "mirror_path": mirror.prefix,
        "include_files": str(int(files)),
    }


def _places(changes: list[Change], files: bool) -> list[tuple[Place, Change]]:
    found = []
    for change in changes:
        place = place_of(change.path)
        if place is not None and (files or place.kind != "file"):
            found.append((place, change))
    return found


def _fill(mirror: MirrorAtHead, state: MirrorState, path: Path, files: bool) -> tuple[int, int]:
    """A whole bundle in a new file, in one transaction."""
    listing = _places(mirror.files(), files)
    types = [(p, c) for p, c in listing if p.kind == "content_type"]
    with closing(_connect(path)) as connection, connection as db:
        db.executescript(SCHEMA)
        tables = BundleTables(db, mirror.json(paths.LOCALES) or [], [])
        tables.put_locales()
        for _, definition in _blobs(mirror, types):
            tables.put_content_type(definition)
        items = [(p, c) for p, c in listing if p.kind != "content_type"]
        for place, raw in _raw_blobs(mirror, items):
            _put(tables, place, raw)
        tables.type_files()
        tables.put_state(state, _meta(mirror, files))
        return tables.counts()


def _update(
    mirror: MirrorAtHead, state: MirrorState, path: Path, files: bool, changes: list[Change]
) -> tuple[int, int]:
    """Apply `changes` to the bundle copied to `path`, in one transaction."""
    listing = _places(changes, files)
    with closing(_connect(path)) as connection, connection as db:
        types = [parse_json(row[0]) for row in db.execute("SELECT json FROM content_types")]
        tables = BundleTables(db, mirror.json(paths.LOCALES) or [], types)
        retyped = []
        for place, change in listing:
            if place.kind == "content_type":
                retyped.append(place.item_id)
                if change.blob is None:
                    tables.delete_content_type(place.item_id)
        changed_types = [(p, c) for p, c in listing if p.kind == "content_type" and c.blob]
        for _, definition in _blobs(mirror, changed_types):
            tables.put_content_type(definition)
        for place, change in listing:  # removals first: an entry may move to another type
            if change.blob is None:
                _delete(tables, place)
        items = [(p, c) for p, c in listing if p.kind != "content_type" and c.blob]
        for place, raw in _raw_blobs(mirror, items):
            _put(tables, place, raw)
        tables.resolve_entries_of(retyped)
        if files:
            tables.type_files({p.item_id for p, _ in listing if p.kind in ("asset", "file")})
        tables.put_state(state, _meta(mirror, files))
        return tables.counts()


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to the scratch copy: a failure discards the whole file, so its
    rollback journal is kept in memory (the file is still synced before the rename)."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = MEMORY")
    return connection


def _raw_blobs(
    mirror: MirrorAtHead, listing: list[tuple[Place, Change]]
) -> Iterator[tuple[Place, bytes]]:
    ids = [change.blob or "" for _, change in listing]
    for (place, change), raw in zip(listing, mirror.blobs(ids), strict=True):
        if raw is None:
            where = f"{change.path} at {mirror.commit[:10]}"
            raise MirrorError(f"git has no object {change.blob} for {where}")
        yield place, raw


def _blobs(
    mirror: MirrorAtHead, listing: list[tuple[Place, Change]]
) -> Iterator[tuple[Place, Any]]:
    for place, raw in _raw_blobs(mirror, listing):
        yield place, parse_json(raw)


def _put(tables: BundleTables, place: Place, raw: bytes) -> None:
    if place.kind == "entry":
        tables.put_entry(parse_json(raw))
    elif place.kind == "asset":
        tables.put_asset(parse_json(raw))
    elif place.kind == "file":
        tables.put_file(place.item_id, place.locale, place.name, raw)


def _delete(tables: BundleTables, place: Place) -> None:
    if place.kind == "entry":
        tables.delete_entry(place.item_id)
    elif place.kind == "asset":
        tables.delete_asset(place.item_id)
    elif place.kind == "file":
        tables.delete_file(place.item_id, place.locale, place.name)
