"""A full export: every file of the chosen locales written beside OUT, then swapped in.

Each locale's folder (or, with --content-type, each type's folder and index) is
replaced whole, so files of deleted entries go; the record and the reverse-link index
of `mirror.outputs.incremental` are written last, so an interrupted export leaves no
record and the next one is full again.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack, closing
from pathlib import Path

from mirror.errors import InvalidData
from mirror.outputs.export import (
    ASSETS,
    FILES,
    ExportOptions,
    ExportReport,
    LocaleChanges,
    Mirror,
    entry_links,
)
from mirror.outputs.flatten import Flattener, Reader
from mirror.outputs.incremental import (
    BESIDE,
    LINKS,
    RECORD,
    LinkIndex,
    Revision,
    read_record,
    record_bytes,
)
from mirror.outputs.render import index_bytes, render_entries, write_new
from mirror.outputs.staging import Staging, files_in, remove, writing
from mirror.wire import canonical_json, is_safe_id


def write_full(
    mirror: Mirror,
    reader: Reader,
    out: Path,
    options: ExportOptions,
    revision: Revision | None,
    jobs: int | None = None,
) -> ExportReport:
    if ASSETS in reader.content_types():
        raise InvalidData(f"content type {ASSETS!r} collides with the assets' folder; not exported")
    chosen = reader.content_types() if options.content_types is None else options.content_types
    report = ExportReport(options.locales, 0, 0, commit=revision.head if revision else None)
    with writing(out), ExitStack() as stack:
        meta = stack.enter_context(Staging(out / ".mirror-export.partial", out))
        staged = {
            code: stack.enter_context(Staging(out / f".{code}.partial", out))
            for code in options.locales
        }
        (meta.new / BESIDE).mkdir()
        index = LinkIndex(meta.new / BESIDE / LINKS)
        for number, (code, staging) in enumerate(staged.items()):
            flattener = mirror.flattener(reader, code, options)
            changes = report.changes[code] = LocaleChanges()
            noting = index if number == 0 else None  # links are the same in every locale
            _write_entries(mirror, flattener, staging.new, chosen, options, changes, noting, jobs)
            if options.content_types is None:
                _write_assets(mirror, reader, flattener, staging.new, changes)
            report.entries += len(changes.entries)
            report.files += len(changes.written)
        _index_the_rest(reader, chosen, index)
        index.close()
        if options.copy_assets:
            _copy_files(mirror, meta.new / FILES)
        (meta.new / "locales.json").write_bytes(mirror.locales_file())
        for code, changes in report.changes.items():
            before = _files_below(out / code, options.content_types)
            changes.removed = sorted(before - set(changes.written))
        dropped = _dropped_locales(out, options)
        for code in dropped:  # its folder goes: listed, so that a site purges its pages
            report.changes[code] = LocaleChanges(removed=sorted(_files_below(out / code, None)))
        _note_copies(out, meta.new / FILES, options, report)
        _swap_in(out, staged, meta, options, revision, dropped)
    return report


def _dropped_locales(out: Path, options: ExportOptions) -> list[str]:
    """Locales the earlier export in OUT had, of every content type, that this one,
    of every content type too, no longer exports."""
    record = read_record(out)
    earlier = (record or {}).get("options")
    if options.content_types is not None or not isinstance(earlier, dict):
        return []
    if earlier.get("contentTypes") is not None or not isinstance(earlier.get("locales"), list):
        return []
    return sorted(
        code
        for code in earlier["locales"]
        if isinstance(code, str) and is_safe_id(code) and code not in options.locales
    )


def _note_copies(out: Path, staged: Path, options: ExportOptions, report: ExportReport) -> None:
    """Copies of asset files written and removed, for the manifest."""
    if options.content_types is not None and not options.copy_assets:
        return  # the copies are left as they are
    before = files_in(out / FILES, out)
    report.files_written = sorted(files_in(staged, staged.parent)) if options.copy_assets else []
    report.files_removed = sorted(before - set(report.files_written))


def _index_the_rest(reader: Reader, chosen: list[str], index: LinkIndex) -> None:
    """The links of the entries not exported: an exported entry may reach a changed
    item through them."""
    for content_type in sorted(set(reader.content_types()) - set(chosen)):
        for entry_id in reader.entry_ids(content_type):
            item = reader.entry(entry_id)
            if item is not None:
                index.add(entry_id, content_type, entry_links(item))


def _write_entries(
    mirror: Mirror,
    flattener: Flattener,
    folder: Path,
    chosen: list[str],
    options: ExportOptions,
    changes: LocaleChanges,
    index: LinkIndex | None,
    jobs: int | None,
) -> None:
    """The chosen content types' entry files and their indexes; with `index`, their
    links noted."""
    code = flattener.locale
    pending = list(reversed(chosen))  # entries come in content type order
    rows: list[bytes] = []
    rendered = render_entries(mirror, flattener, folder, chosen, options, index is not None, jobs)
    with closing(rendered):  # on any failure, its workers stop before staging is cleared
        for done in rendered:
            while done.content_type != pending[-1]:
                _write_index(folder, code, pending.pop(), rows, changes)  # that type is complete
            if index is not None:
                index.add(done.entry_id, done.content_type, done.links)
            rows.append(done.row)
            changes.written.append(f"{code}/{done.content_type}/{done.entry_id}.json")
            changes.entries.add(done.entry_id)
    while pending:
        _write_index(folder, code, pending.pop(), rows, changes)


def _write_index(
    folder: Path, code: str, content_type: str, rows: list[bytes], changes: LocaleChanges
) -> None:
    """A content type's index, from the rows of its entries (then forgotten: one type's
    rows at a time are held)."""
    (folder / f"{content_type}.index.json").write_bytes(index_bytes(rows))
    changes.written.append(f"{code}/{content_type}.index.json")
    rows.clear()


def _write_assets(
    mirror: Mirror, reader: Reader, flattener: Flattener, folder: Path, changes: LocaleChanges
) -> None:
    (folder / ASSETS).mkdir()
    for asset_id in mirror.asset_ids():
        item = reader.asset(asset_id)
        if item is not None:
            data = canonical_json(flattener.asset(item))
            write_new(folder / ASSETS / f"{asset_id}.json", data)
            changes.written.append(f"{flattener.locale}/{ASSETS}/{asset_id}.json")
            changes.assets.add(asset_id)


def _copy_files(mirror: Mirror, target: Path) -> None:
    """The mirror's downloaded asset files, copied (the mirror holds no links: refused
    before anything is read)."""
    target.mkdir()
    for relative in mirror.tree.files_under("assets/files", suffix=""):
        destination = target / relative.removeprefix("assets/files/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror.directory / relative, destination)


def _files_below(folder: Path, content_types: list[str] | None) -> set[str]:
    """Files now in an exported locale folder, relative to OUT (for the manifest)."""
    if folder.is_symlink() or not folder.is_dir():
        return set()
    code = folder.name
    tops = [folder] if content_types is None else [folder / name for name in content_types]
    found: set[str] = set().union(*(files_in(top, folder.parent) for top in tops))
    if content_types is not None:
        found |= {
            f"{code}/{name}.index.json"
            for name in content_types
            if (folder / f"{name}.index.json").is_file()
        }
    return found


def _swap_in(
    out: Path,
    staged: dict[str, Staging],
    meta: Staging,
    options: ExportOptions,
    revision: Revision | None,
    dropped: list[str],
) -> None:
    """Every locale at once, once every one is ready; the record last."""
    remove(out / RECORD)
    for code in dropped:
        remove(out / code)
    for code, staging in staged.items():
        if options.content_types is None:
            staging.swap(staging.new, out / code)  # stale content types go too
            continue
        (out / code).mkdir(exist_ok=True)
        for content_type in options.content_types:
            staging.swap(staging.new / content_type, out / code / content_type)
            index = f"{content_type}.index.json"
            staging.swap(staging.new / index, out / code / index)
    if options.copy_assets:
        meta.swap(meta.new / FILES, out / FILES)
    elif options.content_types is None:
        remove(out / FILES)  # an earlier export's copies, which nothing points to now
    meta.swap(meta.new / "locales.json", out / "locales.json")
    meta.swap(meta.new / BESIDE, out / BESIDE)
    if revision is not None:
        (meta.new / RECORD).write_bytes(record_bytes(revision.head, options.recorded()))
        meta.swap(meta.new / RECORD, out / RECORD)
