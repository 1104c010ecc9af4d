"""The command line: parses, wires and reports. The logic lives in mirror.client,
mirror.emulator and mirror.outputs; errors arrive as MirrorError and leave as one line
and an exit code. One module per command group: sync.py writes a mirror, review.py
reads it back, outputs.py turns it into files for sites and apps, serve.py runs the
emulator."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from mirror import __version__
from mirror.cli.diff import diff
from mirror.cli.outputs import bundle, export
from mirror.cli.review import log, status, verify
from mirror.cli.serve import serve
from mirror.cli.sync import demo, sync
from mirror.errors import exit_codes_help

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class MirrorGroup(click.Group):
    """click's group, except that a command line click itself refuses (a bad option
    value, an unknown option) still prints the --json error object when --json was
    asked for: a CI report is never empty when it is needed most."""

    def main(self, args: Any = None, *positional: Any, **extra: Any) -> Any:
        if extra.get("standalone_mode", True) is False:
            return super().main(args, *positional, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(argv, *positional, **{**extra, "standalone_mode": False})
        except click.ClickException as error:
            if "--json" in argv:
                report = {"status": "error", "exit_code": error.exit_code}
                click.echo(json.dumps({**report, "error": error.format_message()}))
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=MirrorGroup, context_settings=CONTEXT, epilog=exit_codes_help(0, 1, 2))
@click.version_option(__version__, prog_name="mirror")
def cli() -> None:
    """Keep a Git repository of JSON files in step with a Contentful space.

    \b
    Quick start (no Contentful account needed):
      mirror demo ./travel-guide      # emulator + sync, every round a commit
      mirror serve                    # the local Sync API emulator on its own

    Each command's --help lists the exit codes it gives.
    """


for command in (serve, sync, demo, status, log, diff, verify, export, bundle):
    cli.add_command(command)
