"""The change model between two commits of a mirror: which files `git diff-tree`
names, paired into items (an entry that moved to another content type is one
retyped item), counted per content type, ordered, and the first `max_items` read
before and after and compared field by field and locale by locale.

Counting needs only the paths, so a 100,000-item initial round is counted at once
and only the items shown are ever read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mirror.client import tree as paths
from mirror.client.assets import FILES
from mirror.delivery.objects import GitObjects
from mirror.review.content_model import model_changes
from mirror.review.fields import asset_fields, entry_fields, thumbnails
from mirror.review.model import (
    ASSETS_GROUP,
    LISTED,
    ContentDiff,
    GroupCount,
    ItemChange,
    Revision,
)
from mirror.review.revisions import Span
from mirror.review.snapshot import Snapshot


@dataclass(frozen=True)
class File:
    """A mirror file at one commit: its path and its blob."""

    path: str
    blob: str


@dataclass(frozen=True)
class Touched:
    """An item some file change touched, known from paths alone."""

    kind: str  # "entry" or "asset"
    id: str
    action: str
    old: File | None  # the file before, None for an added item
    new: File | None  # the file after, None for a deleted item
    content_type: str | None = None  # the new one, or the old one for a deletion
    old_content_type: str | None = None

    @property
    def group(self) -> str:
        return ASSETS_GROUP if self.kind == "asset" else str(self.content_type)

    @property
    def path(self) -> str:
        file = self.new or self.old
        return file.path if file else ""

    def order(self) -> tuple[int, str, int, str]:
        return (self.kind == "asset", self.group, LISTED.index(self.action), self.id)


def compare(objects: GitObjects, prefix: str, span: Span, max_items: int) -> ContentDiff:
    """The diff from `span.old` to `span.new`; `max_items` 0 shows every item."""
    old, new = Snapshot(objects, prefix, span.old), Snapshot(objects, prefix, span.new)
    touched = sorted(touched_items(objects, prefix, span), key=Touched.order)
    shown = touched if max_items == 0 else touched[:max_items]
    return ContentDiff(
        space=str(new.state.get("space") or old.state.get("space") or ""),
        environment=str(new.state.get("environment") or old.state.get("environment") or ""),
        old=_revision(old),
        new=_revision(new),
        model=model_changes(old, new),
        items=[detail(item, old, new) for item in shown],
        counts=count(touched),
        omitted=len(touched) - len(shown),
    )


def _revision(snapshot: Snapshot) -> Revision:
    number = snapshot.state.get("round")
    return Revision(snapshot.commit, number if isinstance(number, int) else None, snapshot.date)


def touched_items(objects: GitObjects, prefix: str, span: Span) -> list[Touched]:
    """Items whose files differ between the two commits; asset files (assets/files/)
    are not items: their asset's JSON changes with them."""
    old = span.old or empty_tree(objects)
    entries: dict[str, list[tuple[str, File | None, File | None]]] = {}
    found = []
    for change in objects.changes(old, span.new, prefix):
        parts = change.path.split("/")
        if change.path.startswith(FILES + "/") or not change.path.endswith(".json"):
            continue
        before = File(change.path, change.old_id) if change.old_id else None
        after = File(change.path, change.new_id) if change.new_id else None
        action = _action(before, after)
        if action is None:
            continue
        if parts[0] == paths.ASSETS and len(parts) == 2:
            found.append(Touched("asset", parts[1][:-5], action, before, after))
        elif parts[0] == paths.ENTRIES and len(parts) == 3:
            entries.setdefault(parts[2][:-5], []).append((parts[1], before, after))
    for entry_id, files in entries.items():
        found += _entry_changes(entry_id, files)
    return found


def _action(before: File | None, after: File | None) -> str | None:
    if before and after:
        return "changed"
    return "added" if after else "deleted" if before else None


def _entry_changes(
    entry_id: str, files: list[tuple[str, File | None, File | None]]
) -> Iterator[Touched]:
    """One entry's file changes; a removal in one content type and an addition in
    another are one retyped entry."""
    removed = [(kind, before) for kind, before, after in files if before and not after]
    added = [(kind, after) for kind, before, after in files if after and not before]
    if len(removed) == 1 and len(added) == 1 and len(files) == 2:
        (old_type, gone), (new_type, came) = removed[0], added[0]
        yield Touched("entry", entry_id, "retyped", gone, came, new_type, old_type)
        return
    for content_type, before, after in files:
        action = _action(before, after) or "changed"
        yield Touched("entry", entry_id, action, before, after, content_type)


def count(touched: list[Touched]) -> list[GroupCount]:
    counts: dict[tuple[bool, str], GroupCount] = {}
    for item in touched:
        key = (item.kind == "asset", item.group)
        if key not in counts:
            counts[key] = GroupCount(item.kind, item.group)
        setattr(counts[key], item.action, getattr(counts[key], item.action) + 1)
    return [counts[key] for key in sorted(counts)]


def detail(item: Touched, old: Snapshot, new: Snapshot) -> ItemChange:
    """One item read at both commits and compared."""
    before = old.read(item.old.blob) if item.old else None
    after = new.read(item.new.blob) if item.new else None
    where = new if after is not None else old
    content_type = item.content_type if item.kind == "entry" else None
    title = where.title_of(after if after is not None else before, content_type) or item.id
    change = ItemChange(
        kind=item.kind,
        id=item.id,
        action=item.action,
        content_type=content_type,
        title=title,
        path=item.path,
        old_content_type=item.old_content_type,
    )
    if item.action == "deleted":
        return change
    if item.kind == "asset":
        change.fields = asset_fields(before, after, old, new)
        change.thumbnails = thumbnails(item.id, before, after, old, new)
    else:
        old_type = item.old_content_type or content_type
        change.fields = entry_fields(before, after, (old_type, content_type), old, new)
    if not change.fields and item.action == "changed":
        change.note = _what_else(before, after)
    return change


def _what_else(before: Any, after: Any) -> str:
    """What changed in an item whose fields and tags did not: its sys, say."""
    old_sys = (before.get("sys") if isinstance(before, dict) else None) or {}
    new_sys = (after.get("sys") if isinstance(after, dict) else None) or {}
    keys = sorted(k for k in set(old_sys) | set(new_sys) if old_sys.get(k) != new_sys.get(k))
    if keys:
        return "no field changed; only " + ", ".join(f"sys.{key}" for key in keys)
    return "no field changed"


def empty_tree(objects: GitObjects) -> str:
    """The id of the empty tree in this repository's object format."""
    return objects.run("hash-object", "-t", "tree", "/dev/null").decode().strip()
