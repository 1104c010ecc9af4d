"""Stored items (every locale) read from a mirror and flattened into one locale's objects.

Each field holds its value for the locale, found along the locale's fallback chain as
the Delivery API does; links become the linked item's own flattened object down to a
depth, and stay {"id", "type"} stubs beyond it and in cycles; a link to an item the
mirror does not have is a stub marked `"missing": true`. Items are read from disk as
needed through a bounded cache: no whole-space object graph.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from mirror.client import tree as paths
from mirror.client.tree import MirrorTree
from mirror.wire import is_safe_id, parse_json

_MISSING = object()
_READ = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
_SCALARS = {str, int, float, bool, type(None)}
_LOOPBACK = ("localhost", "127.", "[::1]")
_ASSETS_KEPT = 20_000


class Reader:
    """Items of a mirror by id, parsed from disk on demand, with a bounded cache."""

    def __init__(
        self,
        tree: MirrorTree,
        cache_size: int = 200,
        content_type_of: Mapping[str, str] | None = None,
    ) -> None:
        self.tree = tree
        self._root = str(tree.root) + os.sep
        self._content_type_of = (
            dict(content_type_of)
            if content_type_of is not None
            else {
                path.rsplit("/", 1)[1].removesuffix(".json"): path.split("/")[1]
                for path in tree.files_under(paths.ENTRIES, depth=2)
            }
        )
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size

    @property
    def content_type_of(self) -> Mapping[str, str]:
        """Every entry id of the mirror, with its content type."""
        return self._content_type_of

    def entry_ids(self, content_type: str) -> list[str]:
        return sorted(i for i, ct in self._content_type_of.items() if ct == content_type)

    def content_types(self) -> list[str]:
        return sorted(set(self._content_type_of.values()))

    def entry(self, entry_id: str) -> dict[str, Any] | None:
        content_type = self._content_type_of.get(entry_id)
        return (
            None
            if content_type is None
            else self._load(f"{paths.ENTRIES}/{content_type}/{entry_id}.json")
        )

    def asset(self, asset_id: str) -> dict[str, Any] | None:
        return self._load(paths.asset_path(asset_id)) if is_safe_id(asset_id) else None

    def _read(self, path: str) -> bytes | None:
        """MirrorTree.read in one read call for a file of the usual size: an export of a
        large space reads several hundred thousand files."""
        try:
            fd = os.open(self._root + path, _READ)
        except FileNotFoundError:
            return None
        except OSError:
            return self.tree.read(path)  # which says what went wrong
        try:
            data = os.read(fd, 1 << 16)
            if len(data) < 1 << 16:
                return data
        finally:
            os.close(fd)
        return self.tree.read(path)

    def _load(self, path: str) -> Any:
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        raw = self._read(path)
        item = None if raw is None else parse_json(raw)
        self._cache[path] = item
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return item


def links_of(fields: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(linkType, id) of every link a Flattener may follow from an entry's stored fields,
    in any locale: links as values or in lists, and rich-text embeds."""
    for values in fields.values():
        if isinstance(values, dict):
            for value in values.values():
                if isinstance(value, (dict, list)):
                    yield from _links_in(value)


def _links_in(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                yield from _links_in(item)
        return
    if not isinstance(value, dict):
        return
    sys = value.get("sys")
    if isinstance(sys, dict) and sys.get("type") == "Link":
        kind, target = sys.get("linkType"), sys.get("id")
        if isinstance(kind, str) and isinstance(target, str):
            yield kind, target
    elif value.get("nodeType") == "document":
        yield from _links_in_rich_text(value)


def _links_in_rich_text(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    data = node.get("data")
    if isinstance(data, dict) and isinstance(data.get("target"), dict):
        yield from _links_in(data["target"])
    for child in node.get("content") or ():
        if isinstance(child, dict):
            yield from _links_in_rich_text(child)


def asset_url(url: str) -> str:
    """A protocol-relative asset URL made loadable: https, but http for a loopback host
    (an emulator or a local server, which does not speak TLS)."""
    if not url.startswith("//"):
        return url
    return ("http:" if url[2:].startswith(_LOOPBACK) else "https:") + url


class Flattener:
    """Turns stored items (every locale) into one locale's plain objects.

    With `files_prefix`, an asset's `path` names its copy below OUT
    (`_files/<id>/<locale>/<name>`); without, the file in the mirror."""

    def __init__(
        self,
        reader: Reader,
        locales: list[dict[str, Any]],
        content_types: dict[str, dict[str, Any]],
        locale: str,
        depth: int,
        files_prefix: str | None = None,
    ) -> None:
        self.reader, self.locale, self.depth = reader, locale, depth
        self.files_prefix = files_prefix
        fallback = {loc["code"]: loc.get("fallbackCode") for loc in locales}
        self.default = next((loc["code"] for loc in locales if loc.get("default")), locale)
        self.chain = fallback_chain(fallback, locale)
        self._default_only = [self.default]
        # An asset's object depends on nothing but the asset: many entries link the same
        # few images, so each is made once (bounded, like the Reader's cache).
        self._assets: dict[str, dict[str, Any]] = {}
        self.localized = {
            ct_id: {f["id"]: bool(f.get("localized", True)) for f in ct.get("fields", [])}
            for ct_id, ct in content_types.items()
        }

    def entry(self, item: dict[str, Any], depth: int, stack: tuple[str, ...]) -> dict[str, Any]:
        sys = item["sys"]
        content_type = sys["contentType"]["sys"]["id"]
        localized = self.localized.get(content_type, {})
        fields = {}
        inner = (*stack, sys["id"])
        for name, values in (item.get("fields") or {}).items():
            value = self._pick(values, localized.get(name, True))
            if value is not _MISSING:
                fields[name] = self._resolve(value, depth, inner)
        return {
            "id": sys["id"],
            "type": "Entry",
            "contentType": content_type,
            "locale": self.locale,
            "createdAt": sys.get("createdAt"),
            "updatedAt": sys.get("updatedAt"),
            "fields": fields,
        }

    def asset(self, item: dict[str, Any]) -> dict[str, Any]:
        fields = item.get("fields") or {}
        found: dict[str, Any] = {"id": item["sys"]["id"], "type": "Asset"}
        for name in ("title", "description"):
            value = self._pick(fields.get(name) or {}, True)
            if value is not _MISSING:
                found[name] = value
        files = fields.get("file") or {}
        for code in [*self.chain, self.default]:
            file = files.get(code)
            if isinstance(file, dict) and file.get("url"):
                self._describe_file(found, file, code)
                break
        return found

    def _describe_file(self, found: dict[str, Any], file: dict[str, Any], code: str) -> None:
        found["url"] = asset_url(file["url"])
        details = file.get("details") or {}
        image = details.get("image") or {}
        found.update(
            {
                "contentType": file.get("contentType"),
                "fileName": file.get("fileName"),
                "size": details.get("size"),
                "width": image.get("width"),
                "height": image.get("height"),
            }
        )
        name = file.get("fileName")
        local = f"{found['id']}/{code}/{name}"
        if (
            isinstance(name, str)
            and is_safe_id(found["id"])
            and name not in ("", ".", "..")
            and "/" not in name
            and self.reader.tree.exists(f"assets/files/{local}")
        ):
            prefix = "assets/files" if self.files_prefix is None else self.files_prefix
            found["path"] = f"{prefix}/{local}"

    def _pick(self, values: dict[str, Any], localized: bool) -> Any:
        for code in self.chain if localized else self._default_only:
            value = values.get(code)
            if value is not None:
                return value
        return _MISSING

    def _resolve(self, value: Any, depth: int, stack: tuple[str, ...]) -> Any:
        if type(value) in _SCALARS:
            return value
        if isinstance(value, list):
            return [self._resolve(v, depth, stack) for v in value]
        if not isinstance(value, dict):
            return value
        sys = value.get("sys")
        if isinstance(sys, dict) and sys.get("type") == "Link":
            return self._link(sys, depth, stack)
        if isinstance(sys, dict) and sys.get("type") == "ResourceLink":
            # an item of another space (or another product): never resolved, never read
            return {"type": "ResourceLink", "linkType": sys.get("linkType"), "urn": sys.get("urn")}
        if value.get("nodeType") == "document":
            return self._rich_text(value, depth, stack)
        return value  # Location, Object: as stored

    def _link(self, sys: dict[str, Any], depth: int, stack: tuple[str, ...]) -> Any:
        kind, target_id = sys.get("linkType"), sys.get("id")
        stub = {"id": target_id, "type": kind}
        if depth <= 0 or not isinstance(target_id, str) or target_id in stack:
            return stub
        if kind == "Asset":
            return self._linked_asset(target_id, stub)
        if kind == "Entry":
            entry = self.reader.entry(target_id)
            if entry is None:
                return {**stub, "missing": True}
            return self.entry(entry, depth - 1, stack)
        return stub

    def _linked_asset(self, asset_id: str, stub: dict[str, Any]) -> dict[str, Any]:
        found = self._assets.get(asset_id)
        if found is None:
            asset = self.reader.asset(asset_id)
            if asset is None:
                return {**stub, "missing": True}
            found = self.asset(asset)
            if len(self._assets) >= _ASSETS_KEPT:
                self._assets.clear()
            self._assets[asset_id] = found
        return found

    def _rich_text(
        self, node: dict[str, Any], depth: int, stack: tuple[str, ...]
    ) -> dict[str, Any]:
        copy = dict(node)
        data = node.get("data")
        if isinstance(data, dict) and isinstance(data.get("target"), dict):
            copy["data"] = {**data, "target": self._resolve(data["target"], depth, stack)}
        if isinstance(node.get("content"), list):
            copy["content"] = [
                self._rich_text(child, depth, stack) if isinstance(child, dict) else child
                for child in node["content"]
            ]
        return copy


def fallback_chain(fallback: Mapping[str, str | None], locale: str) -> list[str]:
    """The locale, then its fallbacks in order; a chain that loops stops where it would
    repeat."""
    chain, seen = [], set()
    code: str | None = locale
    while code and code not in seen:
        chain.append(code)
        seen.add(code)
        code = fallback.get(code)
    return chain
