"""The command line: parses, wires and reports. The logic lives in mirror.client,
mirror.emulator and mirror.outputs; errors arrive as MirrorError and leave as one line
and an exit code. One module per command group: sync.py writes a mirror, review.py
reads it back, outputs.py turns it into files for sites and apps, serve.py runs the
emulator."""

from __future__ import annotations

import click

from mirror import __version__
from mirror.cli.outputs import bundle, export
from mirror.cli.review import log, status, verify
from mirror.cli.serve import serve
from mirror.cli.sync import demo, sync
from mirror.errors import exit_codes_help

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT, epilog=exit_codes_help(0, 1, 2))
@click.version_option(__version__, prog_name="mirror")
def cli() -> None:
    """Keep a Git repository of JSON files in step with a Contentful space.

    \b
    Quick start (no Contentful account needed):
      mirror demo ./travel-guide      # emulator + sync, every round a commit
      mirror serve                    # the local Sync API emulator on its own

    Each command's --help lists the exit codes it gives.
    """


for command in (serve, sync, demo, status, log, verify, export, bundle):
    cli.add_command(command)
