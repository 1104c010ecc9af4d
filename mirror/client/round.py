"""One sync round: fetch what the source sends and apply it to the tree, page by page.

Pages are written as they arrive, so memory is bounded by a page, not by the
space. Every changed file also goes to a sink (the packer, which streams it into
Git); what changed is tallied, with the first changes kept in detail for the
commit message.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mirror.client import tree as paths
from mirror.client.assets import FILES, AssetFiles
from mirror.client.guard import kill_point
from mirror.client.source import SyncSource, SyncStart
from mirror.client.tree import MirrorTree
from mirror.errors import UsageError
from mirror.wire import canonical_json

DETAIL_LIMIT = 200


@dataclass(frozen=True)
class FileChange:
    action: str  # "+", "~" or "-"
    path: str
    title: str | None = None
    fields: tuple[str, ...] = ()  # for "~": what changed inside, as "title[de-DE]", "rating"
    label: str | None = None  # in a full reconcile: restored, added, fixed, updated, removed

    def describe(self) -> str:
        """One line of a commit body: `~ path  Title: title[de-DE], rating`."""
        what = ", ".join(self.fields[:6])
        if len(self.fields) > 6:
            what += f" and {len(self.fields) - 6} more"
        note = ": ".join(part for part in (self.title, what) if part)
        head = f"{self.action} {self.path}" + (f" ({self.label})" if self.label else "")
        return head + (f"  {note}" if note else "")


@dataclass
class RoundResult:
    token: str = ""
    pages: int = 0
    items: int = 0
    counts: Counter[str] = field(default_factory=Counter)  # "+", "~", "-"
    kinds: Counter[str] = field(default_factory=Counter)  # net change of "entries", "assets"
    model: dict[str, int] = field(default_factory=dict)  # "content_types", "locales": how many
    details: list[FileChange] = field(default_factory=list)
    limit: int = 0
    reconciled: Counter[str] = field(default_factory=Counter)  # label -> files, in --full

    @property
    def changed(self) -> bool:
        return sum(self.counts.values()) > 0


Progress = Callable[[RoundResult, float], None]


class ChangeSink(Protocol):
    """Where the round's changed files go besides the work tree (the packer)."""

    def add(self, path: str, data: bytes) -> None: ...

    def remove(self, path: str) -> None: ...


class Round:
    def __init__(
        self,
        source: SyncSource,
        tree: MirrorTree,
        start: SyncStart,
        sink: ChangeSink | None,
        full: bool = False,
        progress: Progress | None = None,
        asset_files: AssetFiles | None = None,
        backfill: bool = False,
        obstacles: tuple[str, ...] = (),
        baseline: set[str] | None = None,
        drop_asset_files: bool = False,
    ) -> None:
        """`obstacles`: links, files and folders in the way, cleared before anything
        is written (a full round only). `baseline`: the files changed by hand since
        they were synced, so that a full round can say which it restored or fixed.
        `drop_asset_files`: remove assets/files/ (downloads were switched off)."""
        self.source = source
        self.tree = tree
        self.start = start
        self.full = full
        self.progress = progress
        self.result = RoundResult(limit=start.limit)
        self.sink = sink
        self.asset_files = asset_files
        self.backfill = backfill
        self.obstacles = obstacles
        self.baseline = baseline
        self.drop_asset_files = drop_asset_files
        self._titles: dict[str, str | None] = {}
        self._default_locale = "en-US"
        self._seen: set[str] = set()
        self._entry_folders: set[str] = set(tree.folders_under(paths.ENTRIES))

    def run(self) -> RoundResult:
        for obstacle in self.obstacles:
            self._clear(obstacle)
        if self.drop_asset_files:
            for path in list(self.tree.files_under(FILES, suffix="")):
                self._remove(path, "asset files")
            self.tree.prune(f"{FILES}/-", stop=paths.ASSETS)
        self._apply_model()
        started = time.monotonic()
        for page in self.source.pages(self.start):
            # Each item comes once per sync, so order within a page is free: grouped by
            # content type, consecutive blobs delta well in the pack.
            for item in sorted(page.items, key=_group):
                self._apply_item(item)
            self.result.pages += 1
            self.result.items += len(page.items)
            self.result.token = page.next_token
            if self.progress:
                self.progress(self.result, time.monotonic() - started)
            kill_point(f"page-{self.result.pages}")
        if self.full:
            self._remove_unseen()
        if self.asset_files:
            if self.backfill or self.full:
                self.asset_files.backfill(list(self.tree.files_under(paths.ASSETS, depth=1)))
            self.asset_files.finish()
        return self.result

    def record_file(self, action: str, path: str) -> None:
        """An asset file was downloaded ("+", "~") or removed ("-")."""
        self._record(FileChange(action, path), "asset files")

    # -- the content model -----------------------------------------------------

    def _apply_model(self) -> None:
        locales = self.source.locales()
        default = next((loc["code"] for loc in locales if loc.get("default")), None)
        self._default_locale = default or self._default_locale
        self._write(paths.LOCALES, locales, "locales")
        content_types = self.source.content_types()
        self._check_filter(content_types)
        present = set()
        for content_type in content_types:
            ct_id = content_type["sys"]["id"]
            self._titles[ct_id] = content_type.get("displayField")
            path = paths.content_type_path(ct_id)
            present.add(path)
            self._write(path, content_type, "content_types")
        for path in list(self.tree.files_under(paths.CONTENT_TYPES, depth=1)):
            if path not in present:
                self._remove(path, "content_types")
        self.result.model = {"content_types": len(content_types), "locales": len(locales)}
        tags = self.source.tags()
        if tags is not None:  # a source without /tags leaves tags.json as it is
            self._write(paths.TAGS, tags, "tags")
            self.result.model["tags"] = len(tags)

    def _check_filter(self, content_types: list[dict[str, Any]]) -> None:
        """An initial or full sync of a content type the space lacks is a typo, not an
        empty space: say so before anything is written."""
        wanted = self.start.content_type
        if self.start.token is not None or not wanted:
            return
        known = sorted(ct["sys"]["id"] for ct in content_types)
        if wanted not in known:
            raise UsageError(
                f"--content-type {wanted!r} is not a content type of this space; "
                f"it has: {', '.join(known) or 'none'}"
            )

    # -- items -----------------------------------------------------------------

    def _apply_item(self, item: dict[str, Any]) -> None:
        sys = item["sys"]
        kind = sys["type"]
        if kind == "Entry":
            content_type = sys["contentType"]["sys"]["id"]
            path = paths.entry_path(content_type, sys["id"])
            self._write(path, item, "entries", self._entry_title(item, content_type))
            self._remove_other_files_of(sys["id"], content_type)
        elif kind == "Asset":
            path = paths.asset_path(sys["id"])
            action, old = self._write(path, item, "assets", self._localized(item, "title"))
            if action and self.asset_files:
                self.asset_files.asset_written(item, old)
        elif kind == "DeletedEntry":
            found = self.tree.find_entry(sys["id"])
            if found:
                self._remove(found, "entries")
        elif kind == "DeletedAsset":
            self._remove(paths.asset_path(sys["id"]), "assets")

    def _remove_other_files_of(self, entry_id: str, content_type: str) -> None:
        """One id, one file: an entry deleted and re-created with another content type
        arrives once, as the new entry; its old file goes in the same round."""
        self._entry_folders.add(content_type)
        for folder in self._entry_folders:
            if folder != content_type:
                other = f"{paths.ENTRIES}/{folder}/{entry_id}.json"
                if self.tree.exists(other):
                    self._remove(other, "entries")

    def _remove_unseen(self) -> None:
        """After a full sync, remove every file in entries/ and assets/ that is not an
        item this sync sent: items the space no longer has, items outside the (maybe
        new) filters, and anything else put there. Asset files go with their asset."""
        for path in list(self.tree.files_under(paths.ENTRIES, suffix="")):
            if path not in self._seen:
                is_item = path.endswith(".json") and path.count("/") == 2
                self._remove(path, "entries" if is_item else "stray files")
        for path in list(self.tree.files_under(paths.ASSETS, depth=1, suffix="")):
            if path not in self._seen:
                self._remove(path, "assets" if path.endswith(".json") else "stray files")

    def _write(
        self, path: str, value: Any, kind: str, title: str | None = None
    ) -> tuple[str | None, bytes | None]:
        if self.full:
            self._seen.add(path)
        data = canonical_json(value)
        action, old = self.tree.write(path, data)
        if action:
            fields = changed_fields(old, value) if old is not None and kind in _ITEMS else ()
            label = self._reconcile_label(action, path)
            self._record(FileChange(action, path, title, fields, label), kind)
            if self.sink:
                self.sink.add(path, data)
        return action, old

    def _clear(self, obstacle: str) -> None:
        """Remove what is in the way (a link, a file or a folder), each file it held
        recorded as removed: the commit shows what went."""
        what = self.tree.describe_obstacle(obstacle).removeprefix(obstacle + " is ")
        for path in self.tree.clear(obstacle):
            label = "removed" if self.full else None
            title = what.split(" (to ")[0].removeprefix("a ")
            self._record(FileChange("-", path, title, (), label), "obstacles")
            if self.sink:
                self.sink.remove(path)

    def _remove(self, path: str, kind: str, title: str | None = None) -> None:
        old = self.tree.remove(path)
        if old is not None:
            title = title or self._title_of_file(path, old)
            label = "removed" if self.full else None
            self._record(FileChange("-", path, title, (), label), kind)
            if self.sink:
                self.sink.remove(path)
            if kind == "assets":
                self._remove_asset_files(path.split("/")[1].removesuffix(".json"))
            if kind in ("entries", "asset files"):
                self.tree.prune(path, stop=paths.ENTRIES if kind == "entries" else FILES)

    def _remove_asset_files(self, asset_id: str) -> None:
        if self.asset_files:
            self.asset_files.asset_removed(asset_id)
            return
        for path in list(self.tree.files_under(f"{FILES}/{asset_id}", suffix="")):
            self._remove(path, "asset files")  # kept from when downloads were on

    def _reconcile_label(self, action: str, path: str) -> str | None:
        """In a full round, what a change corrects: a file removed or edited by hand
        comes back (restored) or loses the edit (fixed); or the source changed it
        since the last round (added, updated)."""
        if not self.full or self.baseline is None:
            return None
        by_hand = path in self.baseline
        if action == "+":
            return "restored" if by_hand else "added"
        return "fixed" if by_hand else "updated"

    def _record(self, change: FileChange, kind: str) -> None:
        result = self.result
        if change.label:
            result.reconciled[change.label] += 1
        result.counts[change.action] += 1
        if change.action != "~" and kind in ("entries", "assets"):
            result.kinds[kind] += 1 if change.action == "+" else -1
        if len(result.details) < DETAIL_LIMIT:
            result.details.append(change)

    # -- titles for the commit message -------------------------------------------

    def _entry_title(self, item: dict[str, Any], content_type: str) -> str | None:
        field_id = self._titles.get(content_type)
        return self._localized(item, field_id) if field_id else None

    def _localized(self, item: dict[str, Any], field_id: str) -> str | None:
        values = (item.get("fields") or {}).get(field_id) or {}
        value = values.get(self._default_locale)
        if value is None and values:
            value = next(iter(values.values()))
        if value is None or isinstance(value, (dict, list)):
            return None
        return " ".join(str(value).split())[:80]

    def _title_of_file(self, path: str, data: bytes) -> str | None:
        if not path.startswith((paths.ENTRIES + "/", paths.ASSETS + "/")):
            return None
        try:
            item = json.loads(data)
        except ValueError:
            return None
        if path.startswith(paths.ASSETS + "/"):
            return self._localized(item, "title")
        return self._entry_title(item, path.split("/")[1])


def _group(item: dict[str, Any]) -> tuple[str, str]:
    sys = item["sys"]
    content_type = sys.get("contentType") or {}
    return sys["type"], str((content_type.get("sys") or {}).get("id", ""))


_ITEMS = ("entries", "assets")
_MISSING = object()


def changed_fields(old_bytes: bytes, new: dict[str, Any]) -> tuple[str, ...]:
    """Which fields and locales differ: `rating` (every locale it has), `title[de-DE]`
    (some of them), `+tip` (a field added), `-tip` (a field cleared)."""
    try:
        old_fields = json.loads(old_bytes).get("fields") or {}
    except (ValueError, AttributeError):
        return ()
    new_fields = new.get("fields") or {}
    found = []
    for name in sorted(set(old_fields) | set(new_fields)):
        before, after = old_fields.get(name), new_fields.get(name)
        if before is None or after is None:
            if before != after:
                found.append(("+" if before is None else "-") + name)
            continue
        locales = sorted(set(before) | set(after))
        differ = [c for c in locales if before.get(c, _MISSING) != after.get(c, _MISSING)]
        if differ:
            found.append(name if differ == locales else f"{name}[{','.join(differ)}]")
    return tuple(found)
