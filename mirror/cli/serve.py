"""`mirror serve`: the Sync API emulator, from the command line."""

from __future__ import annotations

import contextlib
import errno
import json
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mirror.cli.options import FolderPath
from mirror.cli.support import run_guarded
from mirror.errors import MirrorError, UsageError, exit_codes_help

if TYPE_CHECKING:
    from mirror.emulator import Emulator, EmulatorConfig

SERVE_EXIT_CODES = exit_codes_help(
    0,
    1,
    2,
    c0="stopped by Ctrl-C or SIGTERM",
    c1="the port is in use or cannot be listened on, or any other error",
    c2="usage error (bad option or argument, --round past the space's last round)",
)


@click.command(epilog=SERVE_EXIT_CODES)
@click.argument(
    "space_dir",
    required=False,
    type=FolderPath(exists=True),
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port; 0 picks a free one.",
)
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
    from mirror.emulator import EmulatorConfig
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
        emulator = _listening(config)
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


def _listening(config: EmulatorConfig) -> Emulator:
    """The emulator, bound to its port; a port it cannot have is said plainly."""
    from mirror.emulator import Emulator

    try:
        return Emulator(config)
    except OSError as error:
        where = f"port {config.port} on {config.host}"
        if error.errno == errno.EADDRINUSE:
            raise MirrorError(
                f"{where} is in use; pass --port N, or --port 0 for a free one"
            ) from None
        if error.errno == errno.EACCES:
            raise MirrorError(
                f"{where} needs privileges this user lacks; pass --port above 1023, "
                "or --port 0 for a free one"
            ) from None
        if error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(
            error, socket.gaierror
        ):
            raise UsageError(
                f"cannot listen on {config.host}: it is no address of this machine "
                f"({error.strerror or error}); pass --host 127.0.0.1, or 0.0.0.0 for every "
                "address"
            ) from None
        raise
