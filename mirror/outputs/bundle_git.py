"""What a SQLite bundle is made from: the mirror folder at its HEAD commit, read from
git objects only (never the work tree), and the files that changed since an earlier
commit. Paths are mirror-relative even when the mirror is a folder of a larger
repository (`prefix`, as mirror.client.history.History names it)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirror.client import tree as paths
from mirror.client.state import MirrorState
from mirror.delivery.revision import locate
from mirror.errors import MirrorStateError, UsageError

READ = (paths.ENTRIES, paths.ASSETS, paths.CONTENT_TYPES, paths.LOCALES)
_FILE_MODES = ("100644", "100755")
_LINK_MODE = "120000"
_COMMIT_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True)
class Change:
    """A mirror file at HEAD (`blob`), or one that HEAD no longer has (`blob` None)."""

    path: str
    blob: str | None


class MirrorAtHead:
    """`with MirrorAtHead(directory) as mirror:` the mirror as its HEAD commit holds it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.objects, self.prefix = locate(directory)
        head = self.objects.run("rev-parse", "--verify", "-q", "HEAD^{commit}", check=False)
        self.commit = head.decode().strip()
        if not self.commit:
            self.objects.close()
            raise UsageError(f"{directory} has no commit yet; run mirror sync on it first")

    def __enter__(self) -> MirrorAtHead:
        return self

    def __exit__(self, *_: object) -> None:
        self.objects.close()

    def json(self, relative: str) -> Any:
        return self.objects.json(self.commit, self.prefix + relative)

    def state(self) -> MirrorState:
        raw = self.objects.blob(f"{self.commit}:{self.prefix}{paths.STATE}")
        where = f"{self.directory / paths.STATE} at {self.commit[:10]}"
        state = None if raw is None else MirrorState.from_bytes(raw, where)
        if state is None or not state.sync_token:
            raise UsageError(
                f"{self.directory} has no sync token at its last commit ({self.commit[:10]}); "
                "run mirror sync on it first"
            )
        return state

    def blobs(self, object_ids: Sequence[str]) -> Iterator[bytes | None]:
        return self.objects.blobs(object_ids)

    def files(self) -> list[Change]:
        """Every file the bundle reads at HEAD, sorted by path."""
        out = self.objects.run(
            "ls-tree", "-r", "-z", "--full-tree", self.commit, "--", *self._pathspecs()
        )
        found = []
        for record in filter(None, out.split(b"\0")):
            info, _, name = record.partition(b"\t")
            mode, _, object_id = info.decode().split()
            path = self._relative(name)
            self._refuse_link(mode, path)
            if mode in _FILE_MODES:
                found.append(Change(path, object_id))
        return found

    def changes_since(self, old: str) -> list[Change] | None:
        """The files that differ between commit `old` and HEAD; None when `old` is no
        ancestor of HEAD (another branch, another repository, rewritten history)."""
        if not _COMMIT_ID.match(old):
            return None
        base = self.objects.run("merge-base", old, self.commit, check=False).decode().strip()
        if base != old:
            return None
        out = self.objects.run(
            "diff-tree", "-r", "-z", "--no-renames", old, self.commit, "--", *self._pathspecs()
        )
        records = out.split(b"\0")
        found = []
        for info, name in zip(records[0:-1:2], records[1::2], strict=True):
            _, new_mode, _, new_id, _ = info.decode().lstrip(":").split()
            path = self._relative(name)
            self._refuse_link(new_mode, path)
            found.append(Change(path, new_id if new_mode in _FILE_MODES else None))
        return found

    def _pathspecs(self) -> list[str]:
        return [self.prefix + name for name in READ]

    def _relative(self, name: bytes) -> str:
        return name.decode("utf-8", "surrogateescape").removeprefix(self.prefix)

    def _refuse_link(self, mode: str, path: str) -> None:
        if mode == _LINK_MODE:
            raise MirrorStateError(
                f"{self.directory / path} is a symbolic link in commit {self.commit[:10]}; an "
                "output holds only the mirror's own files: run mirror sync --full, which "
                "replaces it with the file the source has"
            )
