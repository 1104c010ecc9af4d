"""The command line: parses, wires and reports. The logic lives in mirror.client and
mirror.emulator; errors arrive as MirrorError and leave as one line and an exit code."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from mirror import __version__
from mirror.cli_support import ProgressLine, install_sigterm, run_guarded
from mirror.errors import EXIT_CODES_HELP
from mirror.options import connection_options, output_options
from mirror.wire import SYNC_TYPES

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="mirror")
def cli() -> None:
    """Keep a Git repository of JSON files in step with a Contentful space.

    \b
    Quick start (no Contentful account needed):
      mirror demo ./travel-guide      # emulator + sync, every round a commit
      mirror serve                    # the local Sync API emulator on its own
    """


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument(
    "space_dir",
    required=False,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port; 0 picks a free one.")
@click.option(
    "--round",
    "round_",
    type=click.IntRange(min=0),
    help="Serve the space as of this round of changes (0: initial content). Default: the last.",
)
@click.option("--access-token", help="Delivery token to require (default: the space folder's).")
@click.option("--management-token", help="Token for writes (default: the space folder's).")
@click.option("--latency", type=click.FloatRange(min=0), default=0, help="Delay every read by MS.")
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Share of reads answered 500 or 503.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=0),
    default=0,
    help="Reads per second before 429 with X-Contentful-RateLimit-Reset (0: no limit).",
)
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    default=0,
    help="Share of reads whose connection is closed halfway through the body.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for injected faults.")
@click.option(
    "--max-response-bytes",
    type=click.IntRange(min=1),
    default=7_340_032,
    show_default=True,
    help='Larger sync pages get 400 "Response size too big", as from Contentful.',
)
@click.option(
    "--synthetic",
    type=click.IntRange(min=1),
    help="Serve a generated space of N entries (and N/10 assets) instead of a folder.",
)
@click.option(
    "--synthetic-rounds",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Rounds of random changes after the synthetic space's initial content.",
)
@click.option(
    "--synthetic-changes",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Changes (edits, additions, deletions) in each synthetic round.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="First stdout line: connection facts as JSON."
)
@click.option("-q", "--quiet", is_flag=True, help="Do not log requests to stderr.")
def serve(
    space_dir: Path | None,
    host: str,
    port: int,
    round_: int | None,
    access_token: str | None,
    management_token: str | None,
    latency: float,
    error_rate: float,
    rate_limit: int,
    drop_rate: float,
    seed: int,
    max_response_bytes: int,
    synthetic: int | None,
    synthetic_rounds: int,
    synthetic_changes: int,
    as_json: bool,
    quiet: bool,
) -> None:
    """Serve a local emulator of Contentful's Sync API until interrupted.

    SPACE_DIR is a space folder (see sample_space/README.md); the default is the
    bundled travel-guide sample space; --synthetic N serves a generated space of
    any size instead (the same --seed gives the same space and the same rounds of
    random changes). Reads need the delivery token, as a
    `Authorization: Bearer` header or an access_token query parameter; writes
    (PUT/DELETE .../entries/ID and .../assets/ID) need the management token.

    \b
    Example:
      mirror serve --port 8000 --rate-limit 10 --error-rate 0.05 --seed 7
      curl -H 'Authorization: Bearer wayfarer-delivery-token' \\
        'http://127.0.0.1:8000/spaces/wayfarer/environments/master/sync?initial=true'
    """
    from mirror.emulator import Emulator, EmulatorConfig
    from mirror.emulator.faults import FaultPlan
    from mirror.emulator.synthetic import SyntheticSpace

    if synthetic and space_dir:
        raise click.UsageError("give a SPACE_DIR or --synthetic N, not both")

    def log(line: str) -> None:
        click.echo(line, err=True)

    config = EmulatorConfig(
        space_dir=space_dir,
        host=host,
        port=port,
        round=round_,
        access_token=access_token,
        management_token=management_token,
        faults=FaultPlan(latency, error_rate, rate_limit, drop_rate, seed),
        max_response_bytes=max_response_bytes,
        log=None if quiet else log,
    )

    def start() -> None:
        if synthetic:
            generated = SyntheticSpace(synthetic, seed, synthetic_rounds, synthetic_changes)
            config.space = generated.definition()
        emulator = Emulator(config)
        facts = emulator.facts()
        if as_json:
            click.echo(json.dumps(facts, sort_keys=True))
        else:
            for name, value in facts.items():
                click.echo(f"{name:17} {value}")
            click.echo(f"serving round {emulator.store.round}; press Ctrl-C to stop")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            emulator.serve_forever()

    run_guarded(start)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@connection_options
@click.option(
    "--type",
    "type_",
    type=click.Choice(SYNC_TYPES),
    help="Initial sync only: which items to mirror (default all).",
)
@click.option(
    "--content-type", help="Initial sync only: entries of this content type (implies --type Entry)."
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
    is_flag=False,
    flag_value="origin",
    default=None,
    metavar="[REMOTE]",
    help="Push the round's commit to REMOTE (a name or URL; default origin); a rejected push "
    "is fetched, rebased and tried again.",
)
@click.option(
    "--download-assets",
    is_flag=True,
    help="Also keep every asset's file, per locale, in assets/files/ (remembered once used).",
)
@click.option("--author", help='Commit author "Name <email>" (default: mirror <mirror@localhost>).')
@click.option(
    "--retries",
    type=click.IntRange(0, 20),
    default=5,
    show_default=True,
    help="Retries per request on 429, 5xx, timeouts and dropped connections.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(1, 600),
    default=30,
    show_default=True,
    help="Seconds to wait for a response.",
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
    download_assets: bool,
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

    \b
    Example:
      export CONTENTFUL_SPACE_ID=abc123 CONTENTFUL_ACCESS_TOKEN=...
      mirror sync ./content
      git -C ./content log --stat
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
        author=author,
        retry=RetryPolicy(retries=retries, timeout=timeout),
        progress=progress.update if progress else None,
        notice=lambda message: click.echo(f"mirror: {message}", err=True),
    )
    secrets = [access_token] if access_token else []
    report = run_guarded(lambda: run_sync(options), verbose, secrets)
    if progress:
        progress.done()
    if as_json:
        click.echo(json.dumps(report.to_json(), sort_keys=True))
    elif not quiet:
        _print_report(report)


def _print_report(report: Any) -> None:
    where = f"{report.space}/{report.environment}"
    counts = f"+{report.added} ~{report.changed} -{report.deleted}"
    if report.status == "up-to-date":
        click.echo(f"{where} is up to date (round {report.round}, {report.items} items checked)")
    elif report.status == "dry-run":
        click.echo(f"dry run: {where} would change {counts} ({report.items} items fetched)")
        for line in report.details:
            click.echo(f"  {line}")
    else:
        click.echo(
            f"synced {where} round {report.round}: {counts} in {report.seconds:.1f}s "
            f"({report.items} items, {report.pages} pages, commit {report.commit[:10]})"
        )


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("-v", "--verbose", is_flag=True, help="Show a traceback when something fails.")
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


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@click.option("-v", "--verbose", is_flag=True, help="Show a traceback when something fails.")
def status(directory: Path, as_json: bool, verbose: bool) -> None:
    """Say what DIRECTORY mirrors and where its sync stands.

    Space, environment, base URL, the last round (time, commit, counts), the sync
    token (shortened), items per content type, and whether the working tree is clean.

    \b
    Example:
      mirror status ./content
    """
    from mirror.client.review import as_json as dumps
    from mirror.client.review import status as read_status

    facts = run_guarded(lambda: read_status(directory), verbose)
    if as_json:
        click.echo(dumps(facts))
        return
    last = facts["last_round"]
    click.echo(f"mirror of {facts['space']}/{facts['environment']} at {facts['base_url']}")
    if last:
        counts = f"+{last['added']} ~{last['changed']} -{last['deleted']}"
        click.echo(
            f"round {facts['round']}, synced {last['date']} ({last['commit'][:10]}): {counts}"
        )
    token = facts["token"] or ""
    click.echo(f"sync token {token[:12]}...{token[-6:]} ({len(token)} characters)")
    per_type = ", ".join(f"{k} {v}" for k, v in facts["entries_per_content_type"].items())
    total = sum(facts["entries_per_content_type"].values())
    click.echo(f"entries: {total} ({per_type}); assets: {facts['assets']}")
    click.echo("working tree: " + ("clean" if facts["clean"] else "has uncommitted changes"))


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the rounds as a JSON array.")
@click.option("-v", "--verbose", is_flag=True, help="Show a traceback when something fails.")
def log(directory: Path, as_json: bool, verbose: bool) -> None:
    """List the rounds of DIRECTORY, newest first: date, commit, +/~/-, token prefix.

    \b
    Example:
      mirror log ./content --json | jq '.[0].token'
    """
    from mirror.client.review import as_json as dumps
    from mirror.client.review import open_mirror, rounds

    found = run_guarded(lambda: rounds(open_mirror(directory)[0]), verbose)
    if as_json:
        click.echo(dumps([r.to_json() for r in found]))
        return
    for entry in found:
        counts = f"+{entry.added} ~{entry.changed} -{entry.deleted}"
        click.echo(f"{entry.date}  {entry.commit[:10]}  {counts:<16} {entry.token[:16]}...")


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--strict", is_flag=True, help="Count links to missing entries or assets as problems."
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.option("-v", "--verbose", is_flag=True, help="Show a traceback when something fails.")
def verify(directory: Path, strict: bool, as_json: bool, verbose: bool) -> None:
    """Check that DIRECTORY is a consistent mirror; exit 6 with a list of problems if not.

    Every file is checked against schemas/ and its content type (required fields,
    field types, locales), paths against ids and content types, and mirror.json
    against HEAD. Links to entries or assets the mirror does not have are listed;
    they are common (unpublished targets) and fail the check only with --strict.

    \b
    Example:
      mirror verify ./content --strict
    """
    from mirror.client.review import as_json as dumps
    from mirror.client.review import verify as check
    from mirror.errors import EXIT_MIRROR_STATE

    verdict = run_guarded(lambda: check(directory), verbose)
    consistent = verdict.consistent(strict)
    if as_json:
        click.echo(
            dumps(
                {
                    "consistent": consistent,
                    "problems": verdict.problems,
                    "dangling_links": verdict.dangling,
                    "checked": verdict.checked,
                }
            )
        )
    else:
        for line in verdict.problems:
            click.echo(f"problem: {line}")
        for line in verdict.dangling:
            click.echo(f"dangling link: {line}")
        checked = ", ".join(f"{n} {kind}" for kind, n in sorted(verdict.checked.items()))
        summary = "consistent" if consistent else "NOT consistent"
        click.echo(
            f"{summary}: {checked} checked, {len(verdict.problems)} problems, "
            f"{len(verdict.dangling)} dangling links"
        )
    if not consistent:
        sys.exit(EXIT_MIRROR_STATE)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
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
        f"exported {report.entries} entries in {len(report.locales)} locales "
        f"({', '.join(report.locales)}) to {out}"
    )


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
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
        f"bundled {report.entries} entries and {report.assets} assets to {report.path} "
        f"(sync token {report.token[:12]}...)"
    )
