"""`mirror export` and `mirror bundle`: the mirror turned into what sites and apps read."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mirror.cli.options import FolderPath, verbose_option
from mirror.cli.support import install_sigterm, run_guarded
from mirror.errors import exit_codes_help

if TYPE_CHECKING:
    from mirror.outputs.export import ExportReport

_OUTPUT_MEANINGS = {
    "c1": "any other error (OUT not writable, disk full, I/O error, ...); OUT is left as it was",
    "c5": "the mirror holds something that cannot be exported",
    "c6": "a symbolic link in the mirror's folders, or in OUT where writing would go through it",
    "c130": "interrupted (Ctrl-C or SIGTERM); OUT is left as it was",
}
EXPORT_EXIT_CODES = exit_codes_help(
    0,
    1,
    2,
    5,
    6,
    130,
    c2="usage error (bad option or argument, unknown locale or content type, DIRECTORY is "
    "not a mirror, OUT unusable or overlapping the mirror); nothing was written",
    **{
        **_OUTPUT_MEANINGS,
        "c6": "the mirror's files differ from its last commit, or a symbolic link in the "
        "mirror's folders, or in OUT where writing would go through it",
    },
)
BUNDLE_EXIT_CODES = exit_codes_help(
    0,
    1,
    2,
    6,
    130,
    c2="usage error (bad option or argument, DIRECTORY is not a mirror or has no sync token, "
    "OUT unusable or overlapping the mirror); nothing was written",
    **_OUTPUT_MEANINGS,
)


@click.command(epilog=EXPORT_EXIT_CODES)
@click.argument("directory", type=FolderPath())
@click.argument("out", type=FolderPath(file_okay=True))
@click.option(
    "--locale",
    "locales",
    multiple=True,
    required=True,
    help="Locale to export (repeatable), or `all`.",
)
@click.option(
    "--resolve-links",
    type=click.IntRange(0, 10),
    default=1,
    show_default=True,
    help="How deep links become the linked item's object; beyond: {id, type} stubs.",
)
@click.option(
    "--content-type",
    "content_types",
    multiple=True,
    help="Export only this content type (repeatable).",
)
@click.option(
    "--index-field",
    "index_fields",
    multiple=True,
    help="A field each row of a content type's index carries too (repeatable), e.g. slug.",
)
@click.option(
    "--copy-assets",
    is_flag=True,
    help="Copy the mirror's downloaded asset files into OUT/_files; assets' path points there.",
)
@click.option("--full", is_flag=True, help="Rewrite everything, even when OUT could be updated.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    help="Processes rendering a full export (default: one per core, for 4,000 entries or more).",
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file the files written and removed per locale, and their entries.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@verbose_option
def export(
    directory: Path,
    out: Path,
    locales: tuple[str, ...],
    resolve_links: int,
    content_types: tuple[str, ...],
    index_fields: tuple[str, ...],
    copy_assets: bool,
    full: bool,
    jobs: int | None,
    manifest: Path | None,
    as_json: bool,
    verbose: bool,
) -> None:
    """Export DIRECTORY for a static-site generator: one JSON file per entry and locale.

    Writes OUT/<locale>/<contentType>/<entryId>.json, an index per content type
    (OUT/<locale>/<contentType>.index.json), OUT/<locale>/_assets/<assetId>.json and
    OUT/locales.json. Each field holds its value for the locale, along the locale's
    fallback chain as the Delivery API does; links are resolved to the linked item's
    object down to --resolve-links levels.

    OUT records the mirror commit it shows: exporting a later commit with the same
    options rewrites only the files that the changes since affect (--full: all).

    \b
    Example:
      mirror export ./content site/data/cms --locale en-US --locale de-DE  # Hugo
      mirror export ./content site/data/cms --locale all --index-field slug \\
          --manifest changed.json --copy-assets
    """
    import json

    from mirror.outputs.export import export as run_export
    from mirror.textfile import check_output, write_atomically

    wanted = ["all"] if "all" in locales else list(locales)
    if manifest is not None:
        run_guarded(lambda: check_output(manifest, "--manifest"), verbose)
    install_sigterm()  # a cancelled CI job: OUT left as it was, exit 130
    report = run_guarded(
        lambda: run_export(
            directory,
            out,
            wanted,
            resolve_links,
            list(content_types) or None,
            index_fields=list(index_fields),
            copy_assets=copy_assets,
            full=full,
            jobs=jobs,
        ),
        verbose,
        left="OUT is left as it was",
    )
    if report.reason and not full:
        click.echo(f"full export: {report.reason}", err=True)
    for notice in report.notices:
        click.echo(f"note: {notice}", err=True)
    if manifest is not None:
        text = json.dumps(report.manifest(), indent=2, sort_keys=True) + "\n"
        run_guarded(lambda: write_atomically(manifest, text), verbose)
    if as_json:
        click.echo(json.dumps(_summary(report, out), indent=2, sort_keys=True))
        return
    done = "updated" if report.mode == "incremental" else "exported"
    per_locale = max((len(c.entries) for c in report.changes.values()), default=0)
    click.echo(
        f"{done} {_count(per_locale, 'entry', 'entries')} in "
        f"{_count(len(report.locales), 'locale')} ({', '.join(report.locales)}), "
        f"{_count(report.files, 'file')} written, to {out}"
    )


def _summary(report: ExportReport, out: Path) -> dict[str, object]:
    return {
        "out": str(out),
        "mode": report.mode,
        "reason": report.reason,
        "commit": report.commit,
        "previous": report.previous,
        "locales": {
            code: {
                "written": len(changes.written),
                "removed": len(changes.removed),
                "entries": len(changes.entries),
                "assets": len(changes.assets),
            }
            for code, changes in report.changes.items()
        },
    }


@click.command(epilog=BUNDLE_EXIT_CODES)
@click.argument("directory", type=FolderPath())
@click.argument("out", type=FolderPath(file_okay=True))
@click.option(
    "--format",
    "layout",
    type=click.Choice(["sqlite", "sync-pages"]),
    default="sqlite",
    show_default=True,
    help="A SQLite database (OUT.sqlite), or sync-page JSON files in the folder OUT.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Build the SQLite bundle whole, even where OUT's bundle could be updated in place.",
)
@click.option(
    "--include-files",
    is_flag=True,
    help="Put the mirror's downloaded asset files in the SQLite bundle (table files).",
)
@verbose_option
def bundle(
    directory: Path, out: Path, layout: str, full: bool, include_files: bool, verbose: bool
) -> None:
    """Bundle DIRECTORY as a snapshot an app ships and then delta-syncs from.

    The bundle holds the mirror's sync token: an app that starts from it and syncs
    with that token receives exactly what changed since the snapshot. A SQLite
    bundle holds the mirror at its last commit; when OUT holds the bundle of an
    earlier commit, only what changed since is applied to it.

    \b
    Example:
      mirror bundle ./content app/Resources/seed.sqlite
      mirror bundle ./content app/Resources/ContentfulSeed --format sync-pages
    """
    from mirror.errors import UsageError
    from mirror.outputs.bundle import BundleReport, bundle_sqlite, bundle_sync_pages

    def make() -> BundleReport:
        if layout == "sqlite":
            return bundle_sqlite(directory, out, full, include_files)
        if include_files:
            raise UsageError("--include-files is for the SQLite format; sync-pages holds files")
        return bundle_sync_pages(directory, out)

    install_sigterm()
    report = run_guarded(make, verbose, left="OUT is left as it was")
    if report.note:
        click.echo(report.note, err=True)
    click.echo(
        f"bundled {_count(report.entries, 'entry', 'entries')} and "
        f"{_count(report.assets, 'asset')} to {report.path} (sync token {report.token[:12]}...)"
    )


def _count(number: int, one: str, many: str = "") -> str:
    """`1 entry`, `2 entries`, `0 locales`."""
    return f"{number} {one if number == 1 else many or one + 's'}"
