"""The mirror's files: where each item lives, and writing or removing it.

Ids are checked before they become path components, and every path is relative
to the mirror folder: nothing is ever written outside it. A round starts only once
`symlinks()` found no link in the mirror's folders, and every open here refuses a
link at the last component as well (O_NOFOLLOW), so no write can follow one.
A failed write or read names the file: `no space left on device while writing
entries/author/x.json`.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mirror.errors import InvalidData, MirrorStateError, storage_failed
from mirror.wire import is_safe_id

ENTRIES = "entries"
ASSETS = "assets"
CONTENT_TYPES = "content_types"
LOCALES = "locales.json"
TAGS = "tags.json"
STATE = "mirror.json"
MANAGED = (ENTRIES, ASSETS, CONTENT_TYPES, LOCALES, TAGS, STATE)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _component(value: object, what: str) -> str:
    if not is_safe_id(value):
        raise InvalidData(
            f"the source sent an unsafe {what} {str(value)[:80]!r}; nothing was written"
        )
    return str(value)


def entry_path(content_type: object, entry_id: object) -> str:
    folder = _component(content_type, "content type id")
    return f"{ENTRIES}/{folder}/{_component(entry_id, 'entry id')}.json"


def asset_path(asset_id: object) -> str:
    return f"{ASSETS}/{_component(asset_id, 'asset id')}.json"


def content_type_path(content_type: object) -> str:
    return f"{CONTENT_TYPES}/{_component(content_type, 'content type id')}.json"


@dataclass(frozen=True)
class Place:
    """What a mirror path holds: `kind` is entry, asset, file (a downloaded asset
    file), content_type or locales."""

    kind: str
    item_id: str = ""
    content_type: str = ""  # an entry's
    locale: str = ""  # a file's
    name: str = ""  # a file's


def place_of(path: str) -> Place | None:
    """The one reading of mirror-relative paths (the inverse of entry_path and the
    others): entries/<type>/<id>.json, assets/<id>.json, assets/files/<id>/<locale>/
    <name>, content_types/<id>.json, locales.json. None for anything else, and for an
    id that could not have been written (is_safe_id)."""
    parts = path.split("/")
    stem = parts[-1].removesuffix(".json") if parts[-1].endswith(".json") else ""
    if parts[0] == ENTRIES and len(parts) == 3 and is_safe_id(stem) and is_safe_id(parts[1]):
        return Place("entry", stem, content_type=parts[1])
    if parts[0] == ASSETS and len(parts) == 2 and is_safe_id(stem):
        return Place("asset", stem)
    if parts[0] == ASSETS and len(parts) == 5 and parts[1] == "files" and is_safe_id(parts[2]):
        return Place("file", parts[2], locale=parts[3], name=parts[4])
    if parts[0] == CONTENT_TYPES and len(parts) == 2 and is_safe_id(stem):
        return Place("content_type", stem)
    if path == LOCALES:
        return Place("locales")
    return None


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written (it may write fewer in one call)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _wants_file(relative: str) -> bool:
    """Whether the mirror keeps a file (True) or a folder at `relative`, a path inside
    entries/, assets/ or content_types/."""
    parts = relative.split("/")
    if parts[0] == ENTRIES:
        return len(parts) >= 3  # entries/<type>/<id>.json
    if parts[0] == ASSETS and len(parts) > 1 and parts[1] == "files":
        return len(parts) >= 5  # assets/files/<id>/<locale>/<name>
    return True  # assets/<id>.json, content_types/<id>.json


class MirrorTree:
    """Reads and writes files below `root`; with dry_run, reads only."""

    def __init__(self, root: Path, dry_run: bool = False) -> None:
        self.root = root
        self._root = str(root)
        self.dry_run = dry_run

    def read(self, relative: str) -> bytes | None:
        try:
            fd = os.open(os.path.join(self._root, relative), os.O_RDONLY | _NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise self._failure(error, "reading", relative) from None
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
            return b"".join(chunks)
        except OSError as error:
            raise self._failure(error, "reading", relative) from None
        finally:
            os.close(fd)

    def exists(self, relative: str) -> bool:
        return os.path.exists(os.path.join(self._root, relative))

    def write(self, relative: str, data: bytes) -> tuple[str | None, bytes | None]:
        """Write `data`. Returns the action, "+" (new file), "~" (changed) or None (same
        bytes), and the bytes the file held before (None for a new file)."""
        if self.dry_run:
            old = self.read(relative)
            return (None if old == data else ("+" if old is None else "~")), old
        path = os.path.join(self._root, relative)
        old = None
        try:
            try:
                fd = self._create(path)  # a new file: nothing to read or compare
                action = "+"
            except FileExistsError:
                old = self.read(relative)
                if old == data:
                    return None, old
                fd = os.open(path, os.O_WRONLY | os.O_TRUNC | _NOFOLLOW)
                action = "~"
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
        except OSError as error:
            raise self._failure(error, "writing", relative) from None
        return action, old

    @staticmethod
    def _create(path: str) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
        try:
            return os.open(path, flags, 0o644)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return os.open(path, flags, 0o644)

    def remove(self, relative: str) -> bytes | None:
        """Remove a file; returns what it held, or None if there was none."""
        old = self.read(relative)
        if old is not None and not self.dry_run:
            try:
                os.unlink(os.path.join(self._root, relative))
            except OSError as error:
                raise self._failure(error, "removing", relative) from None
        return old

    def unlink(self, relative: str) -> None:
        """Remove a symbolic link itself (never what it points to)."""
        if not self.dry_run:
            try:
                os.unlink(os.path.join(self._root, relative))
            except OSError as error:
                raise self._failure(error, "removing", relative) from None

    def folders_under(self, folder: str) -> list[str]:
        """Names of the folders directly inside `folder` (none if it is missing)."""
        try:
            with os.scandir(os.path.join(self._root, folder)) as entries:
                return sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def counts(self) -> dict[str, int]:
        """How many entry and asset files the tree holds."""
        return {
            "entries": sum(1 for _ in self.files_under(ENTRIES, depth=2)),
            "assets": sum(1 for _ in self.files_under(ASSETS, depth=1)),
        }

    def symlinks(self, folders: tuple[str, ...] = MANAGED) -> list[str]:
        """Relative paths of the symbolic links in the mirror's folders (a linked
        folder is listed, never entered), sorted. Reads only directory listings
        (d_type), no stat per file: cheap at 100,000 files."""
        found = []
        pending = []
        for name in folders:
            if os.path.islink(os.path.join(self._root, name)):
                found.append(name)
            elif os.path.isdir(os.path.join(self._root, name)):
                pending.append(name)
        while pending:
            folder = pending.pop()
            with os.scandir(os.path.join(self._root, folder)) as entries:
                for entry in entries:
                    if entry.is_symlink():
                        found.append(f"{folder}/{entry.name}")
                    elif entry.is_dir(follow_symlinks=False):
                        pending.append(f"{folder}/{entry.name}")
        return sorted(found)

    def obstacles(self) -> list[str]:
        """What stands where a round would write and could make it write elsewhere or
        fail half-way: symbolic links (see `symlinks`), files where the mirror keeps a
        folder (entries/, entries/<type>/, assets/files/...) and folders where it keeps
        a file (an item's JSON, locales.json, mirror.json). Sorted."""
        found = set(self.symlinks())
        for name in (ENTRIES, ASSETS, CONTENT_TYPES):
            if self._is(name, file=True):
                found.add(name)
        for name in (LOCALES, TAGS, STATE):
            if self._is(name, file=False):
                found.add(name)
        pending = [name for name in (ENTRIES, ASSETS, CONTENT_TYPES) if name not in found]
        while pending:
            folder = pending.pop()
            for entry in self._entries(folder):
                relative = f"{folder}/{entry.name}"
                if entry.is_symlink():
                    continue  # listed by symlinks()
                is_folder = entry.is_dir(follow_symlinks=False)
                if is_folder == _wants_file(relative):
                    found.add(relative)
                elif is_folder:
                    pending.append(relative)
        return sorted(found)

    def describe_obstacle(self, relative: str) -> str:
        """`entries/city is a symbolic link (to /x)`, or a file or folder out of place."""
        path = os.path.join(self._root, relative)
        if os.path.islink(path):
            return f"{relative} is a symbolic link (to {os.readlink(path)})"
        if os.path.isdir(path):
            return f"{relative} is a folder where the mirror keeps a file"
        return f"{relative} is a file where the mirror keeps a folder"

    def refuse_obstacles(self) -> None:
        """MirrorStateError (exit 6) naming the first obstacle, if there is any."""
        found = self.obstacles()
        if found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            raise MirrorStateError(
                f"{self.describe_obstacle(found[0])}{more}; mirror never writes through a "
                f"link or around what is in its way: run mirror sync --full, which replaces "
                f"it with what the source has, or remove it (git rm -r {found[0]}) and commit"
            )

    def clear(self, relative: str) -> list[str]:
        """Remove the obstacle at `relative` (a link itself, a file, or a whole folder,
        never following a link); returns the relative paths of the files removed."""
        path = os.path.join(self._root, relative)
        removed = [relative]
        if os.path.isdir(path) and not os.path.islink(path):
            removed = [
                os.path.relpath(os.path.join(folder, name), self._root).replace(os.sep, "/")
                for folder, _, files in os.walk(path)
                for name in files
            ]
        if not self.dry_run:
            try:
                if removed != [relative]:
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            except OSError as error:
                raise self._failure(error, "removing", relative) from None
        return sorted(removed)

    def _is(self, relative: str, file: bool) -> bool:
        path = os.path.join(self._root, relative)
        if os.path.islink(path) or not os.path.lexists(path):
            return False
        return os.path.isdir(path) != file

    def _entries(self, folder: str) -> list[os.DirEntry[str]]:
        path = os.path.join(self._root, folder)
        if os.path.islink(path) or not os.path.isdir(path):
            return []
        with os.scandir(path) as found:
            return list(found)

    def _failure(self, error: OSError, doing: str, relative: str) -> Exception:
        if error.errno == errno.ELOOP:
            return MirrorStateError(
                f"{relative} is a symbolic link; mirror never writes through links: "
                f"remove it (with git rm {relative} if it is committed) and run mirror sync again"
            )
        return storage_failed(error, f"{doing} {relative}")

    def prune(self, relative: str, stop: str) -> None:
        """Remove the folders of `relative` that are now empty, up to `stop`."""
        folder = relative.rpartition("/")[0]
        while folder and folder != stop and not self.dry_run:
            try:
                os.rmdir(os.path.join(self._root, folder))
            except OSError:
                return  # not empty, or already gone
            folder = folder.rpartition("/")[0]

    def find_entry(self, entry_id: object) -> str | None:
        """The file of an entry known only by id: one look per content type folder."""
        name = f"{_component(entry_id, 'entry id')}.json"
        folder = self.root / ENTRIES
        if not folder.is_dir():
            return None
        for content_type in sorted(os.listdir(folder)):
            candidate = f"{ENTRIES}/{content_type}/{name}"
            if self.exists(candidate):
                return candidate
        return None

    def files_under(
        self, folder: str, depth: int | None = None, suffix: str = ".json"
    ) -> Iterator[str]:
        """Relative paths of the files below `folder` (ending in `suffix`), sorted;
        with `depth`, only those that many folders down (1: directly inside)."""
        base = self.root / folder
        if base.is_symlink() or not base.is_dir():
            return
        for directory, subdirs, files in os.walk(base):
            subdirs.sort()
            relative = Path(directory).relative_to(self.root).as_posix()
            level = relative.count("/") - folder.count("/") + 1
            if depth is not None and level >= depth:
                subdirs.clear()
            if depth is not None and level != depth:
                continue
            for name in sorted(files):
                if name.endswith(suffix):
                    yield f"{relative}/{name}"
