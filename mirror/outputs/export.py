"""`mirror export`: the mirror flattened for static-site generators.

Per locale: OUT/<locale>/<contentType>/<entryId>.json, one index per content type
beside the folders (OUT/<locale>/<contentType>.index.json, so a `*.json` glob of a
type's folder finds only entries), and OUT/<locale>/_assets/<assetId>.json; at the
root, OUT/locales.json. OUT records the mirror commit and options it was made from:
the next export of a later commit rewrites only what the commits since affect
(mirror.outputs.incremental), and gives the same bytes as a full export would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirror.client import tree as paths
from mirror.client.tree import MirrorTree
from mirror.errors import InvalidData, MirrorStateError, UsageError
from mirror.outputs.flatten import Flattener, Reader, fallback_chain, links_of
from mirror.outputs.incremental import (
    BESIDE,
    FORMAT,
    RECORD,
    FullExport,
    Revision,
    dirty_paths,
    read_record,
    revision_of,
)
from mirror.outputs.staging import refuse_file_above, refuse_links_in_mirror, refuse_overlap
from mirror.wire import canonical_json, is_safe_id, parse_json

__all__ = ["ExportOptions", "ExportReport", "Flattener", "LocaleChanges", "Reader", "export"]

ASSETS = "_assets"
FILES = "_files"


@dataclass
class ExportOptions:
    """What shapes the files of an export; an export made with others is redone in full."""

    locales: list[str]
    depth: int = 1
    content_types: list[str] | None = None
    index_fields: list[str] = field(default_factory=list)
    copy_assets: bool = False

    def recorded(self) -> dict[str, Any]:
        return {
            "contentTypes": self.content_types,
            "copyAssets": self.copy_assets,
            "depth": self.depth,
            "indexFields": self.index_fields,
            "locales": self.locales,
        }


@dataclass
class LocaleChanges:
    """Files of one locale written and removed (relative to OUT), and the entries and
    assets behind them."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    entries: set[str] = field(default_factory=set)
    assets: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {
            "assets": sorted(self.assets),
            "entries": sorted(self.entries),
            "removed": sorted(self.removed),
            "written": sorted(self.written),
        }


@dataclass
class ExportReport:
    locales: list[str]
    entries: int
    files: int
    mode: str = "full"
    reason: str | None = None
    commit: str | None = None
    previous: str | None = None
    changes: dict[str, LocaleChanges] = field(default_factory=dict)
    # copies of asset files (--copy-assets) written and removed, relative to OUT
    files_written: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # worth a line on stderr

    def manifest(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "previous": self.previous,
            "mode": self.mode,
            "reason": self.reason,
            "locales": {code: changes.as_json() for code, changes in self.changes.items()},
            "files": {"written": sorted(self.files_written), "removed": sorted(self.files_removed)},
        }


@dataclass
class Mirror:
    """What an export reads: the tree, its locales and content type definitions."""

    directory: Path
    tree: MirrorTree
    locales: list[dict[str, Any]]
    definitions: dict[str, dict[str, Any]]

    @classmethod
    def open(cls, directory: Path) -> Mirror:
        refuse_links_in_mirror(directory)
        tree = MirrorTree(directory)
        raw_locales = tree.read(paths.LOCALES)
        if raw_locales is None or tree.read(paths.STATE) is None:
            raise UsageError(
                f"{directory} is not a mirror (no mirror.json); run mirror sync on it first"
            )
        definitions = {
            p.rsplit("/", 1)[1].removesuffix(".json"): parse_json(tree.read(p) or b"{}")
            for p in tree.files_under(paths.CONTENT_TYPES, depth=1)
        }
        return cls(directory, tree, parse_json(raw_locales), definitions)

    def flattener(self, reader: Reader, code: str, options: ExportOptions) -> Flattener:
        prefix = FILES if options.copy_assets else None
        return Flattener(reader, self.locales, self.definitions, code, options.depth, prefix)

    def asset_ids(self) -> list[str]:
        return [
            p.rsplit("/", 1)[1].removesuffix(".json")
            for p in self.tree.files_under(paths.ASSETS, depth=1)
        ]

    def index_row(
        self, flat: dict[str, Any], content_type: str, options: ExportOptions
    ) -> dict[str, Any]:
        display = (self.definitions.get(content_type) or {}).get("displayField")
        title = flat["fields"].get(display) if display else None
        names = [display, *options.index_fields] if display else options.index_fields
        return {
            "id": flat["id"],
            "file": f"{content_type}/{flat['id']}.json",
            "title": title if isinstance(title, str) else None,
            "updatedAt": flat["updatedAt"],
            "fields": {n: flat["fields"][n] for n in names if n in flat["fields"]},
        }

    def doubts(self, options: ExportOptions) -> list[str]:
        """What in the options likely is not what the user meant (said, not refused)."""
        said = []
        fields = {f.get("id") for ct in self.definitions.values() for f in ct.get("fields", [])}
        unknown = [name for name in options.index_fields if name not in fields]
        if unknown:
            said.append(
                f"--index-field {', '.join(unknown)}: no content type has such a field, so no "
                "index row carries it (the fields are listed in content_types/*.json)"
            )
        if options.copy_assets and not any(self.tree.files_under("assets/files", suffix="")):
            said.append(
                "--copy-assets: the mirror holds no downloaded asset files, so none were "
                "copied; sync with --download-assets first"
            )
        return said

    def locales_file(self) -> bytes:
        fallback = {loc["code"]: loc.get("fallbackCode") for loc in self.locales}
        default = next((loc["code"] for loc in self.locales if loc.get("default")), None)
        return canonical_json(
            {
                "default": default,
                "locales": [
                    {
                        "code": loc["code"],
                        "name": loc.get("name"),
                        "fallbackCode": loc.get("fallbackCode"),
                        "chain": fallback_chain(fallback, loc["code"]),
                    }
                    for loc in self.locales
                ],
            }
        )


def export(
    directory: Path,
    out: Path,
    locales: list[str],
    depth: int = 1,
    content_types: list[str] | None = None,
    *,
    index_fields: list[str] | None = None,
    copy_assets: bool = False,
    full: bool = False,
    jobs: int | None = None,
) -> ExportReport:
    """Bring OUT up to the mirror's HEAD: incrementally when OUT holds an export of an
    ancestor commit made with the same options, otherwise in full. Everything is
    checked before OUT is touched; files appear by renames from beside them."""
    from mirror.outputs.full_export import write_full
    from mirror.outputs.update import update_export

    mirror = Mirror.open(directory)
    wanted = _wanted_locales(mirror.locales, locales)
    reader: Reader | None = None
    chosen = None
    if content_types is not None:
        reader = Reader(mirror.tree)
        chosen = _wanted_content_types(content_types, mirror.definitions, reader)
    options = ExportOptions(wanted, depth, chosen, list(index_fields or []), copy_assets)
    _check_out(directory, out, wanted, chosen)
    revision = _clean_revision(directory)
    reason = "--full" if full else None
    if revision is None:
        reason = f"{directory} is not at a git commit (exports of it are always full)"
    if reason is None:
        assert revision is not None
        try:
            report = update_export(mirror, out, options, revision, _recorded_commit(out, options))
            report.notices = mirror.doubts(options)
            return report
        except FullExport as why:
            reason = str(why)
    report = write_full(mirror, reader or Reader(mirror.tree), out, options, revision, jobs)
    report.reason = reason
    report.notices = mirror.doubts(options)
    return report


def _recorded_commit(out: Path, options: ExportOptions) -> str:
    record = read_record(out)
    if record is None:
        raise FullExport(f"{out} holds no earlier export")
    if record.get("format") != FORMAT:
        raise FullExport("the earlier export in OUT has another layout")
    if record.get("options") != options.recorded():
        raise FullExport("the earlier export in OUT was made with other options")
    commit = record.get("commit")
    if not isinstance(commit, str):
        raise FullExport("the earlier export in OUT names no commit")
    return commit


def _clean_revision(directory: Path) -> Revision | None:
    """HEAD of the mirror's repository (None when it has none); a mirror whose files
    differ from HEAD is refused, since the export records that it shows HEAD."""
    try:
        revision = revision_of(directory)
    except FullExport:
        return None
    dirty = dirty_paths(revision)
    if dirty:
        raise MirrorStateError(
            f"the mirror's files differ from its last commit ({dirty[0]}"
            f"{f' and {len(dirty) - 1} more' if len(dirty) > 1 else ''}); an export shows a "
            "commit: run mirror sync, or commit or discard the change, then export again"
        )
    return revision


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
    asked: list[str], definitions: dict[str, Any], reader: Reader
) -> list[str]:
    """The content types asked for: each must be known to the mirror (defined, or
    holding entries), though it may have no entries."""
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
    scratch = [out / f".{code}.partial" for code in locales]
    beside = [out / name for name in (".mirror-export", ".mirror-export.partial", FILES)]
    refuse_overlap(directory, out, [*replaced, *scratch, *beside])
    _refuse_replacing_foreign(out, replaced)


def _refuse_replacing_foreign(out: Path, replaced: list[Path]) -> None:
    """An export replaces its locale folders whole. One that no earlier export in OUT
    wrote (by its record) holds someone else's files, and is refused, not deleted. An
    OUT with an export's link index but no record (an interrupted export) is taken as
    all the export's own."""
    record = read_record(out)
    earlier = (record or {}).get("options")
    if record is None and os.path.lexists(out / BESIDE):
        return
    ours: set[Path] = set()
    if isinstance(earlier, dict):
        locales = earlier.get("locales")
        listed = locales if isinstance(locales, list) else []
        ours = {out / code for code in listed if isinstance(code, str) and is_safe_id(code)}
        ours |= {out / "locales.json", *([out / FILES] if earlier.get("copyAssets") else [])}
    for path in [*replaced, out / FILES, out / "locales.json"]:
        top = out / path.relative_to(out).parts[0]
        if top in ours:
            continue
        if path.is_symlink() or path.is_file() or (path.is_dir() and any(path.iterdir())):
            raise UsageError(
                f"{path} already exists, and {out} holds no earlier mirror export that wrote "
                f"it (its {RECORD} says which locales it did): an export replaces it whole; "
                "give an empty or new OUT, or move it away"
            )


def entry_links(item: dict[str, Any]) -> list[tuple[str, str]]:
    """What an entry links to (every locale), for the reverse-link index."""
    fields = item.get("fields")
    return sorted(set(links_of(fields))) if isinstance(fields, dict) else []
