"""The mirror's files: where each item lives, and writing or removing it.

Ids are checked before they become path components, and every path is relative
to the mirror folder: nothing is ever written outside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from mirror.errors import InvalidData
from mirror.wire import is_safe_id

ENTRIES = "entries"
ASSETS = "assets"
CONTENT_TYPES = "content_types"
LOCALES = "locales.json"
STATE = "mirror.json"
MANAGED = (ENTRIES, ASSETS, CONTENT_TYPES, LOCALES, STATE)


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


class MirrorTree:
    """Reads and writes files below `root`; with dry_run, reads only."""

    def __init__(self, root: Path, dry_run: bool = False) -> None:
        self.root = root
        self._root = str(root)
        self.dry_run = dry_run

    def read(self, relative: str) -> bytes | None:
        try:
            fd = os.open(os.path.join(self._root, relative), os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
            return b"".join(chunks)
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
            fd = self._create(path)  # a new file: nothing to read or compare
            action = "+"
        except FileExistsError:
            old = self.read(relative)
            if old == data:
                return None, old
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            action = "~"
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        return action, old

    @staticmethod
    def _create(path: str) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            return os.open(path, flags, 0o644)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return os.open(path, flags, 0o644)

    def remove(self, relative: str) -> bytes | None:
        """Remove a file; returns what it held, or None if there was none."""
        old = self.read(relative)
        if old is not None and not self.dry_run:
            os.unlink(os.path.join(self._root, relative))
        return old

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
        if not base.is_dir():
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
