"""What an export of an earlier mirror commit needs rewritten to show a later one.

OUT records the commit and options it was made from (`.mirror-export.json`) and keeps
a reverse-link index beside it (`.mirror-export/links.sqlite`): which entries link to
which items. Between the recorded commit and HEAD, `git diff-tree` names the entries
and assets that changed; every entry that reaches one of them through links within
the export's link depth is rewritten too, since its file embeds what it reaches.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirror.client import history
from mirror.client import tree as paths
from mirror.wire import canonical_json, parse_json

RECORD = ".mirror-export.json"
BESIDE = ".mirror-export"
LINKS = "links.sqlite"
FORMAT = 2  # the layout's version: an export in another layout is redone in full


@dataclass
class Revision:
    """The commit a clean mirror shows, and where the mirror lies in its repository."""

    top: Path
    prefix: str
    head: str


@dataclass
class Changes:
    """Mirror items added, changed or deleted between two commits."""

    entries: set[tuple[str, str]] = field(default_factory=set)  # (content type, id)
    assets: set[str] = field(default_factory=set)
    asset_files: set[str] = field(default_factory=set)  # assets whose downloaded files changed


class FullExport(Exception):
    """An incremental export is not possible; the message says why."""


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, check=False)
    if check and result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FullExport(f"git {args[0]} failed ({detail[-1] if detail else result.returncode})")
    return result


def revision_of(directory: Path) -> Revision:
    """The mirror's repository and HEAD; FullExport when it has none."""
    try:
        result = _git(directory, "rev-parse", "--show-toplevel", "--show-prefix", "HEAD")
    except (FullExport, OSError):
        raise FullExport(f"{directory} is not at a git commit") from None
    top, prefix, head = result.stdout.decode().split("\n")[:3]
    return Revision(Path(top), prefix, head)


def dirty_paths(revision: Revision) -> list[str]:
    """The mirror's files that differ from HEAD (untracked ones included)."""
    return history.dirty_paths(revision.top, [revision.prefix + n for n in paths.MANAGED])


def changes_since(revision: Revision, old: str) -> Changes:
    """What changed in the mirror from commit `old` to HEAD; FullExport when content
    types or locales changed, or `old` is not an ancestor of HEAD."""
    ancestor = _git(revision.top, "merge-base", "--is-ancestor", old, revision.head, check=False)
    if ancestor.returncode != 0:
        raise FullExport(f"the export's commit {old[:12]} is not an ancestor of HEAD")
    watched = [paths.ENTRIES, paths.ASSETS, paths.CONTENT_TYPES, paths.LOCALES]
    out = _git(
        revision.top,
        "diff-tree",
        "-r",
        "-z",
        "--no-renames",
        "--name-only",
        old,
        revision.head,
        "--",
        *(revision.prefix + name for name in watched),
    ).stdout.decode("utf-8", "surrogateescape")
    changes = Changes()
    for path in out.split("\0"):
        if path:
            _classify(path.removeprefix(revision.prefix), changes)
    return changes


def _classify(path: str, changes: Changes) -> None:
    place = paths.place_of(path)
    kind = place.kind if place else None
    if kind == "content_type" or path.startswith(paths.CONTENT_TYPES + "/"):
        raise FullExport(f"a content type changed ({path})")
    if kind == "locales":
        raise FullExport("the space's locales changed")
    if place is None:
        return
    if kind == "entry":
        changes.entries.add((place.content_type, place.item_id))
    elif kind == "asset":
        changes.assets.add(place.item_id)
    elif kind == "file":
        changes.asset_files.add(place.item_id)


def read_record(out: Path) -> dict[str, Any] | None:
    """The record of the export in OUT, if it is a plain file that parses."""
    try:
        fd = os.open(out / RECORD, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as file:
            record = parse_json(file.read())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def record_bytes(commit: str, options: dict[str, Any]) -> bytes:
    return canonical_json({"commit": commit, "format": FORMAT, "options": options})


class LinkIndex:
    """Entries, their content types, and what each links to, in a SQLite file."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS entries (id TEXT PRIMARY KEY, content_type TEXT)
                WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS links (kind TEXT, target TEXT, source TEXT,
                PRIMARY KEY (kind, target, source)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS links_by_source ON links (source);
            """
        )
        self.db.execute("BEGIN")
        self._entries: list[tuple[str, str]] = []
        self._links: list[tuple[str, str, str]] = []

    @classmethod
    def reopen(cls, path: Path) -> LinkIndex:
        """The index an earlier export left; FullExport when it is not one."""
        try:
            index = cls(path)
            index.db.execute("SELECT count(*) FROM entries").fetchone()
        except sqlite3.DatabaseError as error:
            raise FullExport(f"the export's link index is unusable ({error})") from None
        return index

    def close(self) -> None:
        self.flush()
        self.db.execute("COMMIT")
        self.db.close()

    def add(self, entry_id: str, content_type: str, links: Iterable[tuple[str, str]]) -> None:
        """`put` for an entry not yet in the index, written in batches."""
        self._entries.append((entry_id, content_type))
        self._links.extend((kind, target, entry_id) for kind, target in links)
        if len(self._entries) >= 5_000:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT INTO entries VALUES (?, ?)", self._entries)
        self.db.executemany("INSERT OR IGNORE INTO links VALUES (?, ?, ?)", self._links)
        self._entries, self._links = [], []

    def content_type_of(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, content_type FROM entries"))

    def put(self, entry_id: str, content_type: str, links: Iterable[tuple[str, str]]) -> None:
        self.drop(entry_id)
        self.db.execute("INSERT INTO entries VALUES (?, ?)", (entry_id, content_type))
        self.db.executemany(
            "INSERT OR IGNORE INTO links VALUES (?, ?, ?)",
            ((kind, target, entry_id) for kind, target in links),
        )

    def drop(self, entry_id: str) -> None:
        self.db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
        self.db.execute("DELETE FROM links WHERE source = ?", (entry_id,))

    def linking_to(self, kind: str, targets: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(targets), 500):
            marks = ",".join("?" * len(chunk))
            query = f"SELECT source FROM links WHERE kind = ? AND target IN ({marks})"
            found.update(row[0] for row in self.db.execute(query, (kind, *chunk)))
        return found

    def reaching(self, entries: set[str], assets: set[str], depth: int) -> set[str]:
        """The entries that are, or reach through at most `depth` links, one of `entries`
        or `assets`."""
        found = set(entries)
        frontier = set(entries)
        linked_assets = self.linking_to("Asset", assets) if depth > 0 else set()
        for step in range(depth):
            sources = self.linking_to("Entry", frontier) | (linked_assets if step == 0 else set())
            frontier = sources - found
            found |= frontier
            if not frontier:
                break
        return found


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
