"""`mirror export` and `mirror bundle`: the mirror turned into what sites and apps read."""

from __future__ import annotations

from pathlib import Path

import click

from mirror.cli.options import FolderPath
from mirror.cli.support import run_guarded
from mirror.errors import exit_codes_help

_OUTPUT_MEANINGS = {
    "c1": "any other error (OUT not writable, disk full, I/O error, ...); OUT is left as it was",
    "c5": "the mirror holds something that cannot be exported",
    "c6": "a symbolic link in the mirror's folders, or in OUT where writing would go through it",
}
EXPORT_EXIT_CODES = exit_codes_help(
    0,
    1,
    2,
    5,
    6,
    c2="usage error (bad option or argument, unknown locale or content type, DIRECTORY is "
    "not a mirror, OUT unusable or overlapping the mirror); nothing was written",
    **_OUTPUT_MEANINGS,
)
BUNDLE_EXIT_CODES = exit_codes_help(
    0,
    1,
    2,
    6,
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
@click.option("-v", "--verbose", is_flag=True, help="Show a traceback when something fails.")
def export(
    directory: Path,
    out: Path,
    locales: tuple[str, ...],
    resolve_links: int,
    content_types: tuple[str, ...],
    verbose: bool,
) -> None:
    """Export DIRECTORY for a static-site generator: one JSON file per entry and locale.

    Writes OUT/<locale>/<contentType>/<entryId>.json and an index.json per content
    type. Each field holds its value for the locale, along the locale's fallback
    chain as the Delivery API does; links are resolved to the linked item's object
    down to --resolve-links levels; asset links carry url, title, width, height,
    contentType and the local path of the file when the mirror has it.

    \b
    Example:
      mirror export ./content site/data/cms --locale en-US --locale de-DE  # Hugo
    """
    from mirror.outputs.export import export as run_export

    wanted = ["all"] if "all" in locales else list(locales)
    report = run_guarded(
        lambda: run_export(directory, out, wanted, resolve_links, list(content_types) or None),
        verbose,
    )
    click.echo(
        f"exported {_count(report.entries, 'entry', 'entries')} in "
        f"{_count(len(report.locales), 'locale')} ({', '.join(report.locales)}) to {out}"
    )


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
@click.option("-v", "--verbose", is_flag=True, help="Show a traceback when something fails.")
def bundle(directory: Path, out: Path, layout: str, verbose: bool) -> None:
    """Bundle DIRECTORY as a snapshot an app ships and then delta-syncs from.

    The bundle holds the mirror's sync token: an app that starts from it and syncs
    with that token receives exactly what changed since the snapshot.

    \b
    Example:
      mirror bundle ./content app/Resources/seed.sqlite
      mirror bundle ./content app/Resources/ContentfulSeed --format sync-pages
    """
    from mirror.outputs.bundle import bundle_sqlite, bundle_sync_pages

    make = bundle_sqlite if layout == "sqlite" else bundle_sync_pages
    report = run_guarded(lambda: make(directory, out), verbose)
    click.echo(
        f"bundled {_count(report.entries, 'entry', 'entries')} and "
        f"{_count(report.assets, 'asset')} to {report.path} (sync token {report.token[:12]}...)"
    )


def _count(number: int, one: str, many: str = "") -> str:
    """`1 entry`, `2 entries`, `0 locales`."""
    return f"{number} {one if number == 1 else many or one + 's'}"
