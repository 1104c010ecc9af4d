"""Streams the round's files into one Git pack while they are written, and builds
the round's trees.

`git fast-import` runs beside the round and takes every changed file as a blob at
once: compressed in another process, straight into a pack, no loose objects. Blob
ids are computed here, so the trees can be built without asking git. Trees are
rebuilt only for folders with changes (read with `git cat-file --batch`, written
with `git mktree`): fast-import's own tree building is quadratic in the size of a
folder, and a content type folder can hold 100,000 files.
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from mirror.errors import MirrorError

Run = Callable[[list[str], bytes], bytes]  # git arguments, stdin -> stdout


class Packer:
    """One round's blob stream. Spool records: `M <id> <path>` or `D <path>`."""

    def __init__(
        self, command: list[str], cwd: Path, env: dict[str, str], spool: Path, hash_name: str
    ) -> None:
        self._process = subprocess.Popen(
            [*command, "fast-import", "--quiet", "--done"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            bufsize=1 << 20,
        )
        assert self._process.stdin is not None
        self._stdin: IO[bytes] = self._process.stdin
        self._spool = open(spool, "ab")  # noqa: SIM115 - closed by finish() or abort()
        self._hash = getattr(hashlib, hash_name)

    def add(self, path: str, data: bytes) -> None:
        """Send a file's new bytes; recorded as a change of `path` (mirror-relative)."""
        self._stdin.write(b"blob\ndata %d\n" % len(data) + data + b"\n")
        object_id = self._hash(b"blob %d\0" % len(data) + data).hexdigest()
        self._spool.write(b"M %s %s\0" % (object_id.encode(), path.encode()))

    def remove(self, path: str) -> None:
        self._spool.write(b"D " + path.encode() + b"\0")

    def finish(self) -> None:
        """Wait until every blob is in the pack."""
        self._spool.close()
        self._stdin.write(b"done\n")
        with contextlib.suppress(BrokenPipeError):
            self._stdin.close()
        error = self._process.stderr.read() if self._process.stderr else b""
        if self._process.wait() != 0:
            last = error.decode("utf-8", "replace").strip().splitlines()[-1:] or ["failed"]
            raise MirrorError(f"git fast-import failed: {last[0]}")

    def abort(self) -> None:
        if not self._spool.closed:
            self._spool.close()
        self._process.kill()
        self._process.wait()


def read_spool(spool: Path) -> Iterator[tuple[str, str | None]]:
    """(mirror-relative path, new blob id or None for a deletion), in order."""
    if not spool.exists():
        return
    for record in spool.read_bytes().split(b"\0"):
        if record.startswith(b"M "):
            _, object_id, path = record.split(b" ", 2)
            yield path.decode(), object_id.decode()
        elif record.startswith(b"D "):
            yield record[2:].decode(), None


class TreeWriter:
    """Builds a new root tree from an old one and a set of changed file paths."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str], run: Run) -> None:
        self._reader = subprocess.Popen(
            [*command, "cat-file", "--batch"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._run = run
        self._cache: dict[str, dict[str, tuple[str, str]]] = {}

    def close(self) -> None:
        if self._reader.stdin:
            self._reader.stdin.close()
        self._reader.wait()

    def build(self, root: str | None, changes: dict[str, str | None]) -> str | None:
        """The new root tree's id; None when the tree ends up empty.

        `changes` maps repository paths to blob ids (None: delete the file)."""
        Entry = tuple[str, str] | None  # (mode, id), or None to remove
        folders: dict[str, dict[str, Entry]] = defaultdict(dict)
        for path, object_id in changes.items():
            folder, _, name = path.rpartition("/")
            folders[folder][name] = None if object_id is None else ("100644", object_id)
        for folder in list(folders):
            while folder:
                folder = folder.rpartition("/")[0]
                folders.setdefault(folder, {})
        old: dict[str, str | None] = {"": root}
        for folder in sorted(folders, key=_depth):
            if folder:
                parent, _, name = folder.rpartition("/")
                entry = self._read(old[parent]).get(name)
                old[folder] = entry[1] if entry and entry[0] == "40000" else None
        new_id: str | None = None
        for folder in sorted(folders, key=_depth, reverse=True):
            entries = dict(self._read(old[folder]))
            for name, change in folders[folder].items():
                if change is None:
                    entries.pop(name, None)
                else:
                    entries[name] = change
            new_id = self._write(entries) if entries else None
            if folder:
                parent, _, name = folder.rpartition("/")
                folders[parent][name] = None if new_id is None else ("40000", new_id)
        return new_id

    def _read(self, tree: str | None) -> dict[str, tuple[str, str]]:
        if tree is None:
            return {}
        if tree in self._cache:
            return self._cache[tree]
        assert self._reader.stdin and self._reader.stdout
        self._reader.stdin.write(tree.encode() + b"\n")
        self._reader.stdin.flush()
        header = self._reader.stdout.readline().split()
        if len(header) != 3 or header[1] != b"tree":
            raise MirrorError(f"git cat-file: {tree} is not a tree")
        data = self._reader.stdout.read(int(header[2]) + 1)[:-1]
        width = len(tree) // 2
        entries: dict[str, tuple[str, str]] = {}
        position = 0
        while position < len(data):
            space = data.index(b" ", position)
            nul = data.index(b"\0", space)
            mode = data[position:space].decode()
            name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
            entries[name] = (mode, data[nul + 1 : nul + 1 + width].hex())
            position = nul + 1 + width
        self._cache[tree] = entries
        return entries

    def _write(self, entries: dict[str, tuple[str, str]]) -> str:
        lines = []
        for name, (mode, object_id) in entries.items():
            kind = "tree" if mode == "40000" else ("commit" if mode == "160000" else "blob")
            lines.append(f"{mode} {kind} {object_id}\t{name}\0".encode("utf-8", "surrogateescape"))
        return self._run(["mktree", "-z"], b"".join(lines)).decode().strip()


def _depth(folder: str) -> int:
    return folder.count("/") + 1 if folder else 0
