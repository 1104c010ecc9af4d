"""`mirror sync` and `mirror demo`: the commands that write a mirror."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mirror.cli.options import (
    FolderPath,
    connection_options,
    finite,
    not_empty,
    output_options,
    verbose_option,
)
from mirror.cli.support import ProgressLine, install_sigterm, plural, run_guarded
from mirror.errors import exit_codes_help
from mirror.wire import SYNC_TYPES

SYNC_EXIT_CODES = exit_codes_help(
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    130,
    c0="synced, or already up to date",
    c6="the mirror is locked, dirty or inconsistent, or the source rejected its sync token; "
    "with --push or --branch also: a detached HEAD, a shallow clone, NAME checked out in "
    "another work tree, or NAME changed meanwhile",
)
DEMO_EXIT_CODES = exit_codes_help(0, 1, 2, 130, c2="DIRECTORY is not new or empty")


@click.command(epilog=SYNC_EXIT_CODES)
@click.argument("directory", type=FolderPath(check_parents=True))
@connection_options
@click.option(
    "--type",
    "type_",
    type=click.Choice(SYNC_TYPES),
    help="Initial sync only: which items to mirror (default all).",
)
@click.option(
    "--content-type",
    callback=not_empty,
    help="Initial sync only: entries of this content type (implies --type Entry).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    help="Initial sync only: items per page, default 1000; halved by itself on a too-big page.",
)
@click.option(
    "--full", is_flag=True, help="Sync everything again and remove files of items that are gone."
)
@click.option("--dry-run", is_flag=True, help="Fetch and report what would change; write nothing.")
@click.option(
    "--force", is_flag=True, help="Overwrite uncommitted changes in the mirror's folders."
)
@click.option(
    "--push",
    callback=not_empty,
    is_flag=False,
    flag_value="origin",
    default=None,
    metavar="[REMOTE]",
    help="Push the round's commit to REMOTE (a name or URL; default origin); a rejected push "
    "is fetched, rebased and tried again.",
)
@click.option(
    "--branch",
    callback=not_empty,
    metavar="NAME",
    help="Commit the round on branch NAME, kept rebased on the branch checked out, which "
    "does not change at all (files, index, HEAD); with --push, push NAME.",
)
@click.option(
    "--download-assets/--no-download-assets",
    default=None,
    help="Keep every asset's file, per locale, in assets/files/ (remembered). Switching it "
    "off removes assets/files/ in that round's commit.",
)
@click.option(
    "--author",
    callback=not_empty,
    help='Commit author "Name <email>" (default: mirror <mirror@localhost>).',
)
@click.option(
    "--retries",
    type=click.IntRange(0, 20),
    default=5,
    show_default=True,
    help="Retries per request on 429, 5xx, timeouts and dropped connections.",
)
@click.option(
    "--timeout",
    callback=finite,
    type=click.FloatRange(1, 600),
    default=30,
    show_default=True,
    help="Seconds a whole request (connect, headers and body) may take; then it counts as "
    "timed out and is retried.",
)
@output_options
def sync(
    directory: Path,
    space: str | None,
    access_token: str | None,
    environment: str | None,
    base_url: str | None,
    type_: str | None,
    content_type: str | None,
    limit: int | None,
    full: bool,
    dry_run: bool,
    force: bool,
    push: str | None,
    branch: str | None,
    download_assets: bool | None,
    author: str | None,
    retries: int,
    timeout: float,
    as_json: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    """Bring DIRECTORY up to date with a Contentful space: one commit per round.

    The first run creates DIRECTORY (a Git repository, or a folder of an existing
    one) and syncs everything; later runs fetch only what changed since the sync
    token stored in DIRECTORY/mirror.json. Space, environment, base URL, filters
    and limit are remembered; the access token never is.

    With --branch NAME the round is committed on NAME instead, in a private work
    tree: NAME starts from the newer of its own last round and the current
    branch's, is created from the current branch when missing, and is kept rebased
    on it, so a pull request from NAME applies cleanly.

    \b
    Example:
      export CONTENTFUL_SPACE_ID=abc123 CONTENTFUL_ACCESS_TOKEN=...
      mirror sync ./content
      git -C ./content log --stat
      mirror sync ./content --branch content/sync --push   # for review in a pull request
    """
    from mirror.client.source import RetryPolicy
    from mirror.client.sync import SyncOptions, run_sync

    install_sigterm()
    progress = None if quiet or as_json else ProgressLine.if_terminal()
    options = SyncOptions(
        directory=directory,
        access_token=access_token,
        space=space,
        environment=environment,
        base_url=base_url,
        type=type_,
        content_type=content_type,
        limit=limit,
        full=full,
        dry_run=dry_run,
        force=force,
        download_assets=download_assets,
        push=push,
        branch=branch,
        author=author,
        retry=RetryPolicy(retries=retries, timeout=timeout, notice=_notice),
        progress=progress.update if progress else None,
        notice=_notice,
    )
    secrets = [access_token] if access_token else []
    report = run_guarded(lambda: run_sync(options), verbose, secrets, as_json)
    if progress:
        progress.done()
    if as_json:
        click.echo(json.dumps(report.to_json(), sort_keys=True))
    elif not quiet:
        _print_report(report)


def _notice(message: str) -> None:
    click.echo(f"mirror: {message}", err=True)


def _print_report(report: Any) -> None:
    where = f"{report.space}/{report.environment}"
    on = f" on {report.branch}" if report.branch else ""
    counts = f"+{report.added} ~{report.changed} -{report.deleted}"
    items, pages = plural(report.items, "item"), plural(report.pages, "page")
    if report.status == "up-to-date":
        pushed = "; pushed" if report.pushed else ""
        at = f", {report.branch} at {report.commit[:10]}" if report.branch else ""
        click.echo(f"{where} is up to date{on} (round {report.round}, {items} checked{at}{pushed})")
    elif report.status == "dry-run":
        would = f"round {report.round} would change {counts}" if report.details else "no change"
        click.echo(f"dry run: {where}{on}: {would} ({items} fetched)")
        for line in report.details:
            click.echo(f"  {line}")
    else:
        pushed = ", pushed" if report.pushed else ""
        click.echo(
            f"synced {where} round {report.round}{on}: {counts} in {report.seconds:.1f}s "
            f"({items}, {pages}, commit {report.commit[:10]}{pushed})"
        )


@click.command(epilog=DEMO_EXIT_CODES)
@click.argument("directory", type=FolderPath(check_parents=True))
@verbose_option
def demo(directory: Path, verbose: bool) -> None:
    """Sync the bundled sample space through every round of its changes into DIRECTORY.

    Starts the emulator in this process on a free port, syncs its initial content,
    then applies each later round of changes and syncs again, so that DIRECTORY
    ends as a repository of its own whose `git log -p` shows every round.
    DIRECTORY must be new or empty.

    \b
    Example:
      mirror demo ./travel-guide && git -C ./travel-guide log --stat
    """
    from mirror.demo import run_demo

    install_sigterm()

    def show(line: str) -> None:
        click.echo(line)

    run_guarded(lambda: run_demo(directory, show), verbose)
