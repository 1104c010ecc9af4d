"""The mirror at one commit, as a review reads it: content types, locales, and each
item's display title, so that a link reads as `Title (id)`. Read from git objects
only; a snapshot of no commit (before the first round) is empty.

Items are read by blob id, never as `<commit>:<path>`: git finds a path by scanning
each tree on the way, and `entries/<type>/` may hold 100,000 names."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

from mirror.client import tree as paths
from mirror.client.assets import FILES
from mirror.delivery.objects import GitObjects
from mirror.wire import is_safe_id, parse_json

TITLE_CHARS = 100


class Snapshot:
    """One commit of the mirror in `prefix` ("" or "a/b/"); `commit` None: nothing."""

    def __init__(self, objects: GitObjects, prefix: str, commit: str | None) -> None:
        self.objects, self.prefix, self.commit = objects, prefix, commit
        self._titles: dict[tuple[str, str], str | None] = {}

    def json(self, relative: str) -> Any:
        if self.commit is None:
            return None
        return self.objects.json(self.commit, self.prefix + relative)

    def read(self, object_id: str | None) -> Any:
        """The JSON blob `object_id`, parsed; None for none or for what is not JSON."""
        raw = self.objects.blob(object_id) if object_id else None
        if raw is None:
            return None
        try:
            return parse_json(raw)
        except ValueError:
            return None

    def asset_file(self, relative: str) -> str | None:
        """The blob of a downloaded asset file (`assets/files/<id>/<locale>/<name>`) at
        this commit, None when the mirror does not keep it."""
        return self._files.get(relative)

    @cached_property
    def _files(self) -> dict[str, str]:
        """Downloaded asset files by path: listed once, only if the mirror keeps them."""
        if not self.state.get("download_assets"):
            return {}
        return dict(self._listing(FILES + "/", recursive=True))

    @cached_property
    def state(self) -> dict[str, Any]:
        found = self.json(paths.STATE)
        return found if isinstance(found, dict) else {}

    @cached_property
    def date(self) -> str | None:
        if self.commit is None:
            return None
        return self.objects.run("log", "-1", "--format=%cI", self.commit).decode().strip()

    @cached_property
    def locales(self) -> list[dict[str, Any]]:
        found = self.json(paths.LOCALES)
        return [loc for loc in found or [] if isinstance(loc, dict) and "code" in loc]

    @cached_property
    def default_locale(self) -> str:
        codes = [str(loc["code"]) for loc in self.locales]
        defaults = [str(loc["code"]) for loc in self.locales if loc.get("default")]
        return (defaults or codes or ["en-US"])[0]

    @cached_property
    def locale_order(self) -> dict[str, int]:
        """Locale code -> place: the default first, then as locales.json lists them."""
        codes = [self.default_locale] + [str(loc["code"]) for loc in self.locales]
        return {code: index for index, code in enumerate(dict.fromkeys(codes))}

    @cached_property
    def content_types(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for name, object_id in self._listing(paths.CONTENT_TYPES + "/", recursive=False):
            type_id = name.removeprefix(paths.CONTENT_TYPES + "/").removesuffix(".json")
            item = self.read(object_id)
            if name.endswith(".json") and is_safe_id(type_id) and isinstance(item, dict):
                found[type_id] = item
        return dict(sorted(found.items()))

    def field_definitions(self, content_type: str | None) -> list[dict[str, Any]]:
        definition = self.content_types.get(content_type or "") or {}
        return [f for f in definition.get("fields") or [] if isinstance(f, dict) and "id" in f]

    @cached_property
    def _entries(self) -> dict[str, tuple[str, str]]:
        """Entry id -> (content type id, blob id), from one listing of entries/ (made
        only when a link needs it: a review of a few items never lists 100,000)."""
        found = {}
        for name, object_id in self._listing(paths.ENTRIES + "/", recursive=True):
            parts = name.split("/")
            if len(parts) == 3 and parts[2].endswith(".json"):
                found[parts[2].removesuffix(".json")] = (parts[1], object_id)
        return found

    @cached_property
    def _assets(self) -> dict[str, str]:
        """Asset id -> blob id, from one listing of assets/ (its files/ left out)."""
        found = {}
        for name, object_id in self._listing(paths.ASSETS + "/", recursive=False):
            asset_id = name.removeprefix(paths.ASSETS + "/")
            if asset_id.endswith(".json"):
                found[asset_id.removesuffix(".json")] = object_id
        return found

    def title_of(self, item: Any, content_type: str | None) -> str | None:
        """The display title: the content type's displayField (an asset's title) in
        the default locale, whitespace folded; None when there is none."""
        if not isinstance(item, dict):
            return None
        if content_type is None:
            display: Any = "title"
        else:
            display = (self.content_types.get(content_type) or {}).get("displayField")
        values = (item.get("fields") or {}).get(display) if display else None
        value = values.get(self.default_locale) if isinstance(values, dict) else None
        if value is None or isinstance(value, (dict, list)):
            return None
        folded = " ".join(str(value).split())
        return folded[:TITLE_CHARS] + ("…" if len(folded) > TITLE_CHARS else "")

    def link_label(self, link_type: str, target: str) -> str:
        """How a link reads: `Title (id)`, `id` for an item without a title, and
        `id (missing)` for an item this commit does not have."""
        key = (link_type, target)
        if key not in self._titles:
            self._titles[key] = self._find_title(link_type, target)
        title = self._titles[key]
        if title is None:
            return f"{target} (missing)"
        return f"{title} ({target})" if title and title != target else target

    def _find_title(self, link_type: str, target: str) -> str | None:
        """The target's title, "" when it has none, None when it is missing."""
        if not is_safe_id(target) or link_type not in ("Entry", "Asset"):
            return None
        if link_type == "Asset":
            item = self.read(self._assets.get(target))
            return None if item is None else self.title_of(item, None) or ""
        content_type, object_id = self._entries.get(target, (None, None))
        item = self.read(object_id)
        return None if item is None else self.title_of(item, content_type) or ""

    def _listing(self, folder: str, recursive: bool) -> Iterator[tuple[str, str]]:
        """(mirror-relative name, blob id) of the files below `folder` at this commit,
        one at a time: at 100,000 entries a list of them would double the memory."""
        if self.commit is None:
            return
        flags = ["-r"] if recursive else []
        out = self.objects.run("ls-tree", *flags, "-z", self.commit, "--", self.prefix + folder)
        start = 0
        while start < len(out):
            end = out.find(b"\0", start)
            end = len(out) if end < 0 else end
            info, _, name = out[start:end].partition(b"\t")
            start = end + 1
            fields = info.split()
            if len(fields) == 3 and fields[1] == b"blob" and fields[0] != b"120000":
                path = name.decode("utf-8", "surrogateescape").removeprefix(self.prefix)
                yield path, fields[2].decode()
