"""`mirror diff`: the content changes between two commits of a mirror, for review."""

from __future__ import annotations

from pathlib import Path

import click

from mirror.cli.options import FolderPath, not_empty, verbose_option
from mirror.cli.support import run_guarded
from mirror.errors import UsageError, exit_codes_help

DIFF_EXIT_CODES = exit_codes_help(
    0,
    1,
    2,
    c0="the report was written (whether or not anything changed)",
    c1="any other error (--output not writable, disk full, a git failure, ...)",
    c2="usage error (bad option or argument, DIRECTORY is not a mirror, a revision names no "
    "commit, the mirror has no round yet, --output names no file in a folder that exists)",
)


@click.command(epilog=DIFF_EXIT_CODES)
@click.argument("directory", type=FolderPath())
@click.argument("rev1", required=False, callback=not_empty)
@click.argument("rev2", required=False, callback=not_empty)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "html", "json"]),
    help="text (default; word diffs as [-old-]{+new+}), markdown (for a pull request or a "
    "job summary), html (one self-contained page), json (for tools).",
)
@click.option("--json", "as_json", is_flag=True, help="Shorthand for --format json.")
@click.option("--stat", is_flag=True, help="Only the counts per content type (and the model).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file (replaced whole, atomically) instead of stdout.",
)
@click.option(
    "--max-items",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Items shown in detail; the rest are counted ('and N more'). 0: every item.",
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=0),
    default=0,
    help="Text and markdown: cut the report at an item so that it fits N characters, "
    "ending with how many items were left out (65536 fits a GitHub PR body). 0: no bound.",
)
@click.option(
    "--report-url",
    callback=not_empty,
    help="When items are left out, end with 'full report: URL' (e.g. a CI artifact).",
)
@verbose_option
def diff(
    directory: Path,
    rev1: str | None,
    rev2: str | None,
    output_format: str | None,
    as_json: bool,
    stat: bool,
    output: Path | None,
    max_items: int,
    max_chars: int,
    report_url: str | None,
    verbose: bool,
) -> None:
    """Show what changed in DIRECTORY's content between two commits, for review.

    \b
    With no revision: the last sync round (against the commit before it).
    REV1 alone:       REV1..HEAD, as `git diff REV1..HEAD` (also written REV1..).
    REV1 REV2:        REV1..REV2; `A..B` may be given as one argument.

    Per item (content type and display title), per field and per locale: before →
    after; long text and rich text as a word diff of the text a reader sees; links
    as their target's title and id, "(missing)" when the mirror lacks it. Content
    model changes (content types, fields, locales) come first: they break builds.
    Output is deterministic and bounded (--max-items, --max-chars). Only git
    objects are read: DIRECTORY need not be checked out (a mirror synced with
    --branch, before its pull request is merged).

    \b
    Example:
      mirror diff ./content                               # the last round
      mirror diff ./content HEAD~3 --format html --output review.html
      mirror diff ./content main..HEAD --format markdown --max-chars 65000
      mirror diff ./content main..content/sync            # a review branch
    """
    from mirror.review.layout import ReportOptions
    from mirror.review.report import DiffRequest, report
    from mirror.textfile import check_output, write_atomically

    def run() -> None:
        if as_json and output_format not in (None, "json"):
            raise UsageError(f"--json and --format {output_format} contradict each other")
        chosen = "json" if as_json else output_format or "text"
        options = ReportOptions(stat=stat, max_chars=max_chars, report_url=report_url)
        if output is not None:
            check_output(output)
        text = report(directory, DiffRequest(rev1, rev2, chosen, max_items, options))
        if output is None:
            click.echo(text, nl=False)
        else:
            write_atomically(output, text)

    run_guarded(run, verbose, as_json=as_json or output_format == "json")
