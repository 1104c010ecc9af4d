"""`mirror status`, `mirror log` and `mirror verify`: reading a mirror back."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mirror.cli.options import FolderPath, verbose_option
from mirror.cli.support import plural, run_guarded
from mirror.errors import exit_codes_help

READ_EXIT_CODES = exit_codes_help(0, 1, 2, c2="DIRECTORY is not a mirror")
VERIFY_EXIT_CODES = exit_codes_help(
    0, 1, 2, 6, c0="consistent", c2="DIRECTORY is not a mirror", c6="the mirror is not consistent"
)


@click.command(epilog=READ_EXIT_CODES)
@click.argument("directory", type=FolderPath())
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@verbose_option
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


@click.command(epilog=READ_EXIT_CODES)
@click.argument("directory", type=FolderPath())
@click.option("--json", "as_json", is_flag=True, help="Print the rounds as a JSON array.")
@click.option(
    "--fields",
    is_flag=True,
    help="Under each round, what it changed: content model changes, then each item with "
    "the fields and locales that differ (the first 20; mirror diff shows the values).",
)
@verbose_option
def log(directory: Path, as_json: bool, fields: bool, verbose: bool) -> None:
    """List the rounds of DIRECTORY, newest first: date, commit, +/~/-, token prefix.

    \b
    Example:
      mirror log ./content --json | jq '.[0].token'
      mirror log ./content --fields
    """
    from mirror.client.review import as_json as dumps
    from mirror.client.review import open_mirror, rounds
    from mirror.review.summary import round_fields

    found = run_guarded(lambda: rounds(open_mirror(directory)[0]), verbose)
    summaries = {}
    if fields:
        commits = [entry.commit for entry in found]
        summaries = run_guarded(lambda: round_fields(directory, commits), verbose)
    if as_json:
        listed = [r.to_json() for r in found]
        for row in listed if fields else ():
            row["fields"] = summaries[row["commit"]].to_json()
        click.echo(dumps(listed))
        return
    for entry in found:
        counts = f"+{entry.added} ~{entry.changed} -{entry.deleted}"
        click.echo(f"{entry.date}  {entry.commit[:10]}  {counts:<16} {entry.token[:16]}...")
        for line in summaries[entry.commit].lines() if fields else ():
            click.echo(f"    {line}")


@click.command(epilog=VERIFY_EXIT_CODES)
@click.argument("directory", type=FolderPath())
@click.option(
    "--strict", is_flag=True, help="Count links to missing entries or assets as problems."
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@verbose_option
def verify(directory: Path, strict: bool, as_json: bool, verbose: bool) -> None:
    """Check that DIRECTORY is a consistent mirror; exit 6 with a list of problems if not.

    Every file is checked against schemas/ and its content type (required fields,
    field types, locales), paths against ids and content types, and mirror.json
    against HEAD; symbolic links and one entry id in two files are problems. Links
    to entries or assets the mirror does not have are listed; they are common
    (unpublished targets) and fail the check only with --strict. Entries of a
    Preview mirror, or never-published drafts (revision 0), may lack required
    fields: reported as warnings, which never fail the check.

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
                    "warnings": verdict.warnings,
                    "dangling_links": verdict.dangling,
                    "checked": verdict.checked,
                }
            )
        )
    else:
        for line in verdict.problems:
            click.echo(f"problem: {line}")
        for line in verdict.warnings:
            click.echo(f"warning: {line}")
        for line in verdict.dangling:
            click.echo(f"dangling link: {line}")
        singular = {"entries": "entry", "assets": "asset"}
        checked = ", ".join(
            plural(n, singular.get(kind, kind), kind) for kind, n in sorted(verdict.checked.items())
        )
        summary = "consistent" if consistent else "NOT consistent"
        counts = [
            plural(len(verdict.problems), "problem"),
            plural(len(verdict.warnings), "warning"),
            plural(len(verdict.dangling), "dangling link"),
        ]
        click.echo(f"{summary}: {checked} checked, {', '.join(counts)}")
    if not consistent:
        sys.exit(EXIT_MIRROR_STATE)
