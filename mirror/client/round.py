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
from mirror.client.assets import AssetFiles
from mirror.client.guard import kill_point
from mirror.client.source import SyncSource, SyncStart
from mirror.client.tree import MirrorTree
from mirror.wire import canonical_json

DETAIL_LIMIT = 200


@dataclass(frozen=True)
class FileChange:
    action: str  # "+", "~" or "-"
    path: str
    title: str | None = None
    fields: tuple[str, ...] = ()  # for "~": what changed inside, as "title[de-DE]", "rating"

    def describe(self) -> str:
        """One line of a commit body: `~ path  Title: title[de-DE], rating`."""
        what = ", ".join(self.fields[:6])
        if len(self.fields) > 6:
            what += f" and {len(self.fields) - 6} more"
        note = ": ".join(part for part in (self.title, what) if part)
        return f"{self.action} {self.path}" + (f"  {note}" if note else "")


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
    ) -> None:
        self.source = source
        self.tree = tree
        self.start = start
        self.full = full
        self.progress = progress
        self.result = RoundResult(limit=start.limit)
        self.sink = sink
        self.asset_files = asset_files
        self.backfill = backfill
        self._titles: dict[str, str | None] = {}
        self._default_locale = "en-US"
        self._seen: set[str] = set()

    def run(self) -> RoundResult:
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

    # -- items -----------------------------------------------------------------

    def _apply_item(self, item: dict[str, Any]) -> None:
        sys = item["sys"]
        kind = sys["type"]
        if kind == "Entry":
            content_type = sys["contentType"]["sys"]["id"]
            path = paths.entry_path(content_type, sys["id"])
            self._write(path, item, "entries", self._entry_title(item, content_type))
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

    def _remove_unseen(self) -> None:
        """After a full sync, remove the files of items the space no longer has,
        within what the sync's filters cover."""
        for folder, kind in self._full_scope():
            depth = 1 if folder == paths.ASSETS or folder.count("/") else 2
            for path in list(self.tree.files_under(folder, depth=depth)):
                if path not in self._seen:
                    self._remove(path, kind)

    def _full_scope(self) -> list[tuple[str, str]]:
        start = self.start
        if start.type == "Entry":
            folder = paths.ENTRIES + (f"/{start.content_type}" if start.content_type else "")
            return [(folder, "entries")]
        if start.type == "Asset":
            return [(paths.ASSETS, "assets")]
        if start.type == "all":
            return [(paths.ENTRIES, "entries"), (paths.ASSETS, "assets")]
        return []  # a sync of deletions only covers no live item

    def _write(
        self, path: str, value: Any, kind: str, title: str | None = None
    ) -> tuple[str | None, bytes | None]:
        if self.full:
            self._seen.add(path)
        data = canonical_json(value)
        action, old = self.tree.write(path, data)
        if action:
            fields = changed_fields(old, value) if old is not None and kind in _ITEMS else ()
            self._record(FileChange(action, path, title, fields), kind)
            if self.sink:
                self.sink.add(path, data)
        return action, old

    def _remove(self, path: str, kind: str) -> None:
        old = self.tree.remove(path)
        if old is not None:
            self._record(FileChange("-", path, self._title_of_file(path, old)), kind)
            if self.sink:
                self.sink.remove(path)
            if kind == "assets" and self.asset_files:
                self.asset_files.asset_removed(path.split("/")[1].removesuffix(".json"))

    def _record(self, change: FileChange, kind: str) -> None:
        result = self.result
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
