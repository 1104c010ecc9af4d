"""`mirror export`: the mirror flattened for static-site generators.

One JSON file per entry and locale, OUT/<locale>/<contentType>/<entryId>.json, plus
OUT/<locale>/<contentType>/index.json. Each field holds its value for the locale,
found along the locale's fallback chain as the Delivery API does; links become
the linked item's own flattened object down to a depth, and stay {"id", "type"}
stubs beyond it, in cycles, and for items the mirror does not have. Items are read
from disk as needed through a bounded cache: no whole-space object graph.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirror.client import tree as paths
from mirror.client.tree import MirrorTree
from mirror.errors import InvalidData, MirrorStateError, UsageError
from mirror.outputs.staging import (
    Staging,
    refuse_file_above,
    refuse_links_in_mirror,
    refuse_overlap,
    writing,
)
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
    """Replace OUT/<locale> (or, with `content_types`, only OUT/<locale>/<type>) for
    each locale; everything is checked before OUT is touched, and each folder
    appears all at once."""
    refuse_links_in_mirror(directory)
    tree = MirrorTree(directory)
    raw_locales = tree.read(paths.LOCALES)
    if raw_locales is None or tree.read(paths.STATE) is None:
        raise UsageError(
            f"{directory} is not a mirror (no mirror.json); run mirror sync on it first"
        )
    all_locales = parse_json(raw_locales)
    wanted = _wanted_locales(all_locales, locales)
    definitions = {
        p.rsplit("/", 1)[1].removesuffix(".json"): parse_json(tree.read(p) or b"{}")
        for p in tree.files_under(paths.CONTENT_TYPES, depth=1)
    }
    reader = Reader(tree)
    chosen = _wanted_content_types(content_types, definitions, reader)
    _check_out(directory, out, wanted, None if content_types is None else chosen)
    entries = files = 0
    with writing(out), ExitStack() as stack:
        staged = {
            code: stack.enter_context(Staging(out / f".{code}.partial", out)) for code in wanted
        }
        for code, staging in staged.items():
            flattener = Flattener(reader, all_locales, definitions, code, depth)
            for content_type in chosen:
                folder = staging.new / content_type
                written = _export_type(reader, flattener, folder, content_type, definitions)
                entries += written
                files += written + 1
        for code, staging in staged.items():  # only once every locale is ready
            if content_types is None:
                staging.swap(staging.new, out / code)  # stale content types go too
                continue
            (out / code).mkdir(exist_ok=True)
            for content_type in chosen:
                staging.swap(staging.new / content_type, out / code / content_type)
    return ExportReport(wanted, entries, files)


def _wanted_locales(all_locales: list[dict[str, Any]], asked: list[str]) -> list[str]:
    codes = [loc["code"] for loc in all_locales]
    unsafe = [code for code in codes if not is_safe_id(code)]
    if unsafe:
        raise InvalidData(f"locale code {unsafe[0]!r} cannot be a folder name; nothing exported")
    wanted = codes if asked == ["all"] else list(dict.fromkeys(asked))
    unknown = [code for code in wanted if code not in codes]
    if unknown:
        verb = "is not a locale" if len(unknown) == 1 else "are not locales"
        raise UsageError(
            f"--locale {', '.join(map(repr, unknown))} {verb} of this space "
            f"({', '.join(codes)}); nothing was written"
        )
    return wanted


def _wanted_content_types(
    asked: list[str] | None, definitions: dict[str, Any], reader: Reader
) -> list[str]:
    """Every content type that has entries, or those asked for: each must be known to the
    mirror (defined, or holding entries), though it may have no entries."""
    if asked is None:
        return reader.content_types()
    known = sorted({*definitions, *reader.content_types()})
    unknown = [name for name in dict.fromkeys(asked) if name not in known]
    if unknown:
        verb = "is not a content type" if len(unknown) == 1 else "are not content types"
        raise UsageError(
            f"--content-type {', '.join(map(repr, unknown))} {verb} of this mirror "
            f"(known: {', '.join(known)}); nothing was written"
        )
    return list(dict.fromkeys(asked))


def _check_out(
    directory: Path, out: Path, locales: list[str], content_types: list[str] | None
) -> None:
    refuse_file_above(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"OUT {out} is a file; mirror export writes a folder: give a folder path")
    if content_types is None:
        replaced = [out / code for code in locales]
    else:
        replaced = [out / code / name for code in locales for name in content_types]
        for code in locales:  # written into, not replaced: it must be a real folder
            folder = out / code
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                kind = "a symbolic link" if folder.is_symlink() else "a file"
                raise MirrorStateError(
                    f"{folder} is {kind}, not a folder; exporting some content types writes "
                    "inside it, never through a link: remove it, or export every content type"
                )
    refuse_overlap(directory, out, [*replaced, *(out / f".{code}.partial" for code in locales)])


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
