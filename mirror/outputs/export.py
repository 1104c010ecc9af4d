"""`mirror export`: the mirror flattened for static-site generators.

One JSON file per entry and locale, OUT/<locale>/<contentType>/<entryId>.json, plus
OUT/<locale>/<contentType>/index.json. Each field holds its value for the locale,
found along the locale's fallback chain as the Delivery API does; links become
the linked item's own flattened object down to a depth, and stay {"id", "type"}
stubs beyond it, in cycles, and for items the mirror does not have. Items are read
from disk as needed through a bounded cache: no whole-space object graph.
"""

from __future__ import annotations

import os
import shutil
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirror.client import tree as paths
from mirror.client.tree import MirrorTree
from mirror.errors import InvalidData, UsageError
from mirror.wire import canonical_json, is_safe_id, parse_json

_MISSING = object()


@dataclass
class ExportReport:
    locales: list[str]
    entries: int
    files: int


class Reader:
    """Items of a mirror by id, parsed from disk on demand, with a bounded cache."""

    def __init__(self, tree: MirrorTree, cache_size: int = 2_000) -> None:
        self.tree = tree
        self._content_type_of = {
            path.rsplit("/", 1)[1].removesuffix(".json"): path.split("/")[1]
            for path in tree.files_under(paths.ENTRIES, depth=2)
        }
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size

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

    def _load(self, path: str) -> Any:
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        raw = self.tree.read(path)
        item = None if raw is None else parse_json(raw)
        self._cache[path] = item
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return item


class Flattener:
    """Turns stored items (every locale) into one locale's plain objects."""

    def __init__(
        self,
        reader: Reader,
        locales: list[dict[str, Any]],
        content_types: dict[str, dict[str, Any]],
        locale: str,
        depth: int,
    ) -> None:
        self.reader, self.locale, self.depth = reader, locale, depth
        fallback = {loc["code"]: loc.get("fallbackCode") for loc in locales}
        self.default = next((loc["code"] for loc in locales if loc.get("default")), locale)
        chain, seen = [], set()
        code: str | None = locale
        while code and code not in seen:  # a chain that loops stops where it would repeat
            chain.append(code)
            seen.add(code)
            code = fallback.get(code)
        self.chain = chain
        self.localized = {
            ct_id: {f["id"]: bool(f.get("localized", True)) for f in ct.get("fields", [])}
            for ct_id, ct in content_types.items()
        }

    def entry(self, item: dict[str, Any], depth: int, stack: tuple[str, ...]) -> dict[str, Any]:
        sys = item["sys"]
        content_type = sys["contentType"]["sys"]["id"]
        localized = self.localized.get(content_type, {})
        fields = {}
        for name, values in (item.get("fields") or {}).items():
            value = self._pick(values, localized.get(name, True))
            if value is not _MISSING:
                fields[name] = self._resolve(value, depth, (*stack, sys["id"]))
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
        url = file["url"]
        found["url"] = "https:" + url if url.startswith("//") else url
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
        local = f"assets/files/{found['id']}/{code}/{name}"
        if isinstance(name, str) and "/" not in name and self.reader.tree.exists(local):
            found["path"] = local

    def _pick(self, values: dict[str, Any], localized: bool) -> Any:
        for code in self.chain if localized else [self.default]:
            value = values.get(code)
            if value is not None:
                return value
        return _MISSING

    def _resolve(self, value: Any, depth: int, stack: tuple[str, ...]) -> Any:
        if isinstance(value, list):
            return [self._resolve(v, depth, stack) for v in value]
        if not isinstance(value, dict):
            return value
        sys = value.get("sys")
        if isinstance(sys, dict) and sys.get("type") == "Link":
            return self._link(sys, depth, stack)
        if value.get("nodeType") == "document":
            return self._rich_text(value, depth, stack)
        return value  # Location, Object: as stored

    def _link(self, sys: dict[str, Any], depth: int, stack: tuple[str, ...]) -> Any:
        kind, target_id = sys.get("linkType"), sys.get("id")
        stub = {"id": target_id, "type": kind}
        if depth <= 0 or not isinstance(target_id, str) or target_id in stack:
            return stub
        if kind == "Asset":
            asset = self.reader.asset(target_id)
            return stub if asset is None else self.asset(asset)
        if kind == "Entry":
            entry = self.reader.entry(target_id)
            return stub if entry is None else self.entry(entry, depth - 1, stack)
        return stub

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


def export(
    directory: Path,
    out: Path,
    locales: list[str],
    depth: int = 1,
    content_types: list[str] | None = None,
) -> ExportReport:
    tree = MirrorTree(directory)
    raw_locales = tree.read(paths.LOCALES)
    if raw_locales is None or tree.read(paths.STATE) is None:
        raise UsageError(
            f"{directory} is not a mirror (no mirror.json); run mirror sync on it first"
        )
    all_locales = parse_json(raw_locales)
    codes = [loc["code"] for loc in all_locales]
    wanted = codes if locales == ["all"] else locales
    unknown = [code for code in wanted if code not in codes]
    if unknown:
        raise UsageError(
            f"--locale {unknown[0]!r} is not a locale of this space ({', '.join(codes)})"
        )
    definitions = {
        p.rsplit("/", 1)[1].removesuffix(".json"): parse_json(tree.read(p) or b"{}")
        for p in tree.files_under(paths.CONTENT_TYPES, depth=1)
    }
    reader = Reader(tree)
    chosen = content_types or reader.content_types()
    entries = files = 0
    for code in wanted:
        flattener = Flattener(reader, all_locales, definitions, code, depth)
        staging = out / f".{code}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        for content_type in chosen:
            written = _export_type(
                reader, flattener, staging / content_type, content_type, definitions
            )
            entries += written
            files += written + 1
        target = out / code
        shutil.rmtree(target, ignore_errors=True)
        staging.mkdir(parents=True, exist_ok=True)
        os.replace(staging, target)  # a locale's files appear all at once, stale ones gone
    return ExportReport(wanted, entries, files)


def _export_type(
    reader: Reader,
    flattener: Flattener,
    folder: Path,
    content_type: str,
    definitions: dict[str, dict[str, Any]],
) -> int:
    display = (definitions.get(content_type) or {}).get("displayField")
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    for entry_id in reader.entry_ids(content_type):
        if entry_id == "index":
            raise InvalidData(f"entry {content_type}/index collides with index.json; not exported")
        item = reader.entry(entry_id)
        if item is None:
            continue
        flat = flattener.entry(item, flattener.depth, ())
        (folder / f"{entry_id}.json").write_bytes(canonical_json(flat))
        title = flat["fields"].get(display) if display else None
        index.append(
            {
                "id": entry_id,
                "title": title if isinstance(title, str) else None,
                "updatedAt": flat["updatedAt"],
                "file": f"{entry_id}.json",
            }
        )
    (folder / "index.json").write_bytes(canonical_json(index))
    return len(index)
