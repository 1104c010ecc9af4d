"""An incremental export: only the files that the commits since OUT's own touch.

Changed and deleted entries and assets, every entry that reaches a changed item
through links within the link depth, and the indexes of their content types are
written beside OUT, then renamed into place one by one. The record goes first and
comes back last: an export interrupted between leaves none, and the next is full.
"""

from __future__ import annotations

import os
import shutil
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirror.client import tree as paths
from mirror.outputs.export import (
    ASSETS,
    FILES,
    ExportOptions,
    ExportReport,
    LocaleChanges,
    Mirror,
    entry_links,
)
from mirror.outputs.flatten import Reader
from mirror.outputs.incremental import (
    BESIDE,
    LINKS,
    RECORD,
    Changes,
    FullExport,
    LinkIndex,
    Revision,
    changes_since,
    record_bytes,
)
from mirror.outputs.staging import Staging, files_in, remove, writing
from mirror.wire import canonical_json, parse_json

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass
class Plan:
    """Files staged for one locale (OUT-relative path → staged file) and files to go."""

    writes: dict[str, Path] = field(default_factory=dict)
    removals: list[str] = field(default_factory=list)


def update_export(
    mirror: Mirror, out: Path, options: ExportOptions, revision: Revision, previous: str
) -> ExportReport:
    changes = changes_since(revision, previous)
    report = ExportReport(
        options.locales, 0, 0, "incremental", commit=revision.head, previous=previous
    )
    with writing(out), ExitStack() as stack:
        meta = stack.enter_context(Staging(out / ".mirror-export.partial", out))
        (meta.new / BESIDE).mkdir()
        _copy_plain(out / BESIDE / LINKS, meta.new / BESIDE / LINKS)
        index = LinkIndex.reopen(meta.new / BESIDE / LINKS)
        content_type_of = index.content_type_of()
        gone = _apply_to_index(mirror, index, changes, content_type_of)
        reader = Reader(mirror.tree, content_type_of=content_type_of)
        if ASSETS in set(content_type_of.values()):
            raise FullExport(f"a content type is named {ASSETS}")
        assets = changes.assets | changes.asset_files
        ids = {entry_id for _, entry_id in changes.entries}
        affected = index.reaching(ids, assets, options.depth)
        index.close()
        plans: dict[str, Plan] = {}
        for code in options.locales:
            staging = stack.enter_context(Staging(out / f".{code}.partial", out))
            locale_changes = report.changes[code] = LocaleChanges()
            plans[code] = _plan_locale(
                mirror, reader, out, staging.new, code, options, affected, gone, locale_changes
            )
            if options.content_types is None:
                _plan_assets(mirror, reader, staging.new, code, options, assets, plans[code])
                locale_changes.assets = set(assets)
            locale_changes.written = sorted(plans[code].writes)
            locale_changes.removed = sorted(plans[code].removals)
            report.entries += len(locale_changes.entries)
            report.files += len(locale_changes.written)
        files = _plan_files(mirror, meta.new, changes) if options.copy_assets else Plan()
        _note_copies(out, meta.new, files, report)
        for plan in [*plans.values(), files]:
            _refuse_links_on_the_way(out, plan)
        remove(out / RECORD)
        for plan in [*plans.values(), files]:
            _carry_out(out, meta, plan, prune=options.content_types is None)
        meta.swap(meta.new / BESIDE, out / BESIDE)
        (meta.new / RECORD).write_bytes(record_bytes(revision.head, options.recorded()))
        meta.swap(meta.new / RECORD, out / RECORD)
    return report


def _copy_plain(source: Path, target: Path) -> None:
    """Copy a file of OUT that must be a plain file (never read through a link)."""
    try:
        fd = os.open(source, os.O_RDONLY | _NOFOLLOW)
    except OSError:
        raise FullExport(f"{source} is missing or not a plain file") from None
    with os.fdopen(fd, "rb") as file, target.open("wb") as copy:
        shutil.copyfileobj(file, copy)


def _apply_to_index(
    mirror: Mirror, index: LinkIndex, changes: Changes, content_type_of: dict[str, str]
) -> set[tuple[str, str]]:
    """Bring the index (and `content_type_of`) to HEAD; returns the entry files gone."""
    gone = set()
    for content_type, entry_id in sorted(changes.entries):
        raw = mirror.tree.read(paths.entry_path(content_type, entry_id))
        if raw is not None:
            index.put(entry_id, content_type, entry_links(parse_json(raw)))
            content_type_of[entry_id] = content_type
            continue
        gone.add((content_type, entry_id))
        if content_type_of.get(entry_id) == content_type:
            index.drop(entry_id)
            del content_type_of[entry_id]
    return gone


def _plan_locale(
    mirror: Mirror,
    reader: Reader,
    out: Path,
    staged: Path,
    code: str,
    options: ExportOptions,
    affected: set[str],
    gone: set[tuple[str, str]],
    changes: LocaleChanges,
) -> Plan:
    plan = Plan()
    wanted = options.content_types
    flattener = mirror.flattener(reader, code, options)
    rows: dict[str, dict[str, Any]] = {}  # content type -> {entry id: row or None}
    for content_type, entry_id in sorted(gone):
        if wanted is None or content_type in wanted:
            plan.removals.append(f"{code}/{content_type}/{entry_id}.json")
            rows.setdefault(content_type, {})[entry_id] = None
            changes.entries.add(entry_id)
    for entry_id in sorted(affected):
        kind = reader.content_type_of.get(entry_id)
        item = reader.entry(entry_id)
        if kind is None or item is None or (wanted and kind not in wanted):
            continue
        content_type = kind
        flat = flattener.entry(item, options.depth, ())
        relative = f"{code}/{content_type}/{entry_id}.json"
        plan.writes[relative] = _stage(staged, relative, canonical_json(flat))
        rows.setdefault(content_type, {})[entry_id] = mirror.index_row(flat, content_type, options)
        changes.entries.add(entry_id)
    for content_type, changed in sorted(rows.items()):
        _plan_index(out, staged, code, content_type, changed, options, plan)
    return plan


def _plan_index(
    out: Path,
    staged: Path,
    code: str,
    content_type: str,
    changed: dict[str, Any],
    options: ExportOptions,
    plan: Plan,
) -> None:
    relative = f"{code}/{content_type}.index.json"
    old = _read_plain(out / relative)  # None for a content type new to this locale
    if old is not None and not isinstance(old, list):
        raise FullExport(f"{out / relative} is not an index")
    rows = {row["id"]: row for row in old or [] if isinstance(row, dict) and "id" in row}
    for entry_id, row in changed.items():
        if row is None:
            rows.pop(entry_id, None)
        else:
            rows[entry_id] = row
    if not rows and options.content_types is None:
        plan.removals.append(relative)  # a full export lists only types with entries
        return
    data = canonical_json([rows[key] for key in sorted(rows)])
    plan.writes[relative] = _stage(staged, relative, data)


def _plan_assets(
    mirror: Mirror,
    reader: Reader,
    staged: Path,
    code: str,
    options: ExportOptions,
    assets: set[str],
    plan: Plan,
) -> None:
    flattener = mirror.flattener(reader, code, options)
    for asset_id in sorted(assets):
        relative = f"{code}/{ASSETS}/{asset_id}.json"
        item = reader.asset(asset_id)
        if item is None:
            plan.removals.append(relative)
        else:
            plan.writes[relative] = _stage(staged, relative, canonical_json(flattener.asset(item)))


def _plan_files(mirror: Mirror, staged: Path, changes: Changes) -> Plan:
    """Each asset whose downloaded files changed: its folder of copies, replaced whole."""
    plan = Plan()
    for asset_id in sorted(changes.asset_files | changes.assets):
        relative = f"{FILES}/{asset_id}"
        files = list(mirror.tree.files_under(f"assets/files/{asset_id}", suffix=""))
        if not files:
            plan.removals.append(relative)
            continue
        for name in files:
            target = staged / FILES / name.removeprefix("assets/files/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(mirror.directory / name, target)
        plan.writes[relative] = staged / relative
    return plan


def _note_copies(out: Path, staged: Path, files: Plan, report: ExportReport) -> None:
    """The copies of asset files an update writes and removes, for the manifest: each
    changed asset's folder of copies is replaced whole."""
    for relative in [*files.writes, *files.removals]:
        now = files_in(staged / relative, staged) if relative in files.writes else set()
        report.files_written += sorted(now)
        report.files_removed += sorted(files_in(out / relative, out) - now)


def _stage(staged: Path, relative: str, data: bytes) -> Path:
    path = staged / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _read_plain(path: Path) -> Any:
    """A JSON file of OUT, None when absent; never read through a link."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError:
        raise FullExport(f"{path} is not a plain file") from None
    try:
        with os.fdopen(fd, "rb") as file:
            return parse_json(file.read())
    except ValueError:
        raise FullExport(f"{path} does not parse") from None


def _refuse_links_on_the_way(out: Path, plan: Plan) -> None:
    """Every folder a planned file lands in must be a real folder or not yet exist."""
    folders = {Path(relative).parent for relative in [*plan.writes, *plan.removals]}
    for folder in sorted(folders):
        path = out
        for part in folder.parts:
            path = path / part
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                raise FullExport(f"{path} is not a plain folder")


def _carry_out(out: Path, meta: Staging, plan: Plan, prune: bool) -> None:
    """Rename the staged files into place and remove the files that went; with `prune`,
    a content type's folder goes with its last entry (a full export has none)."""
    for relative, staged in sorted(plan.writes.items()):
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        meta.swap(staged, target)
    for relative in plan.removals:
        remove(out / relative)
        parts = relative.split("/")
        if prune and len(parts) == 3 and parts[0] != FILES and parts[1] != ASSETS:
            folder = out / parts[0] / parts[1]
            if not folder.is_symlink() and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
