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
from collections.abc import Iterator
from pathlib import Path

from mirror.errors import InvalidData, MirrorStateError, storage_failed
from mirror.wire import is_safe_id

ENTRIES = "entries"
ASSETS = "assets"
CONTENT_TYPES = "content_types"
LOCALES = "locales.json"
STATE = "mirror.json"
MANAGED = (ENTRIES, ASSETS, CONTENT_TYPES, LOCALES, STATE)
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


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written (it may write fewer in one call)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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

    def refuse_symlinks(self) -> None:
        """MirrorStateError (exit 6) naming the first link, if the mirror's folders hold any."""
        links = self.symlinks()
        if links:
            target = os.readlink(os.path.join(self._root, links[0]))
            more = f" and {len(links) - 1} more" if len(links) > 1 else ""
            raise MirrorStateError(
                f"{links[0]} is a symbolic link (to {target}){more}; mirror never writes through "
                f"links: remove it (git rm {links[0]}) and commit, or run mirror sync --full, "
                "which replaces links with the files they stand for"
            )

    def _failure(self, error: OSError, doing: str, relative: str) -> Exception:
        if error.errno == errno.ELOOP:
            return MirrorStateError(
                f"{relative} is a symbolic link; mirror never writes through links: "
                f"remove it (git rm {relative}) and run mirror sync again"
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
