"""`mirror serve`: a mirror as a read-only Delivery API, or the Sync API emulator."""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from mirror.cli.options import FolderPath, not_empty, verbose_option
from mirror.cli.support import install_sigterm, run_guarded
from mirror.delivery.lru import PARSED_MB
from mirror.errors import MirrorError, UsageError, exit_codes_help

if TYPE_CHECKING:
    from mirror.delivery.server import MirrorServer, MirrorServerConfig
    from mirror.emulator import Emulator, EmulatorConfig

T = TypeVar("T")

# Options that shape the emulator only; given with a mirror folder they are refused.
EMULATOR_ONLY = (
    "round_",
    "management_token",
    "latency",
    "error_rate",
    "rate_limit",
    "drop_rate",
    "max_response_bytes",
    "synthetic",
)

SERVE_EXIT_CODES = exit_codes_help(
    0,
    1,
    2,
    c0="stopped by Ctrl-C or SIGTERM",
    c1="the port is in use or cannot be listened on, or any other error",
    c2="usage error (bad option or argument, --round past the space's last round, --rev "
    "naming no mirror commit, --host that is no address of this machine, --host beyond "
    "this machine without --access-token)",
)


@click.command(epilog=SERVE_EXIT_CODES)
@click.argument(
    "folder",
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
@click.option(
    "--rev",
    callback=not_empty,
    help="With a mirror folder: serve the mirror as committed at this revision. Default: HEAD.",
)
@click.option(
    "--follow",
    is_flag=True,
    help="With a mirror folder: serve each new commit of --rev (HEAD) as it is made.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="With a mirror folder: processes answering requests (up to one per core: each "
    "takes as much memory as one server).",
)
@click.option(
    "--cache-mb",
    type=click.IntRange(min=0),
    default=PARSED_MB,
    show_default=True,
    help="With a mirror folder: memory for the parsed entries and assets kept between "
    "requests, per process (0 keeps none).",
)
@click.option(
    "--access-token",
    callback=not_empty,
    help="Delivery token to require (default: the space folder's; a mirror: any, or none).",
)
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
@verbose_option
@click.pass_context
def serve(
    ctx: click.Context,
    folder: Path | None,
    host: str,
    port: int,
    round_: int | None,
    rev: str | None,
    follow: bool,
    workers: int,
    cache_mb: int,
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
    verbose: bool,
) -> None:
    """Serve a mirror as Contentful's Delivery API, or an emulator of it, until interrupted.

    FOLDER a mirror (a folder with mirror.json, in a git repository): serve it,
    read-only, as the Content Delivery API (entries, assets, content types,
    locales, tags, sync) and the GraphQL Content API (POST or GET
    /content/v1/spaces/SPACE/environments/ENV) exactly as committed at --rev
    (default HEAD); --follow moves on to each new round as `mirror sync` commits
    it. Listens on 127.0.0.1 unless --host says otherwise, and then only with
    --access-token. --workers N answers from N processes on the same port (GraphQL
    answers are computed in Python, one core per process).

    \b
    Example:
      mirror serve content --port 8000 --rev 3f2a1c9 --workers 2
      CONTENTFUL_HOST=127.0.0.1:8000 npm run build
      curl -H 'Content-Type: application/json' \\
        -d '{"query": "{ assetCollection { total } }"}' \\
        http://127.0.0.1:8000/content/v1/spaces/SPACE/environments/master

    FOLDER a space folder (with space.json; see sample_space/README.md), or none
    for the bundled travel-guide sample space: serve an emulator of Contentful's
    Sync and Delivery APIs, with writes; --synthetic N serves a generated space of
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

    install_sigterm()  # a cancelled job or `kill` stops it as Ctrl-C does: exit 0
    from mirror.emulator.faults import FaultPlan
    from mirror.emulator.synthetic import SyntheticSpace

    if folder is not None and _is_mirror(folder):
        _refuse_options(ctx, EMULATOR_ONLY, "the emulator, not a mirror folder")
        _serve_mirror(
            folder,
            host,
            port,
            rev,
            follow,
            workers,
            cache_mb,
            access_token,
            as_json,
            quiet,
            verbose,
        )
        return
    _refuse_options(
        ctx, ("rev", "follow", "workers", "cache_mb"), "a mirror folder (one with mirror.json)"
    )
    if folder is not None and not (folder / "space.json").is_file():
        raise click.UsageError(
            f"{folder} is neither a mirror (no mirror.json) nor an emulator space folder (no "
            "space.json): give a mirror made by mirror sync, or see sample_space/README.md"
        )
    if synthetic and folder:
        raise click.UsageError("give a FOLDER or --synthetic N, not both")

    def log(line: str) -> None:
        click.echo(line, err=True)

    config = EmulatorConfig(
        space_dir=folder,
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
        emulator = _listening(config, lambda: _emulator(config))
        facts = emulator.facts()
        # From the moment the address is out, a stop (Ctrl-C, SIGTERM) is a clean exit.
        with contextlib.suppress(KeyboardInterrupt):
            if as_json:
                click.echo(json.dumps(facts, sort_keys=True))
            else:
                for name, value in facts.items():
                    click.echo(f"{name:17} {value}")
                click.echo(f"serving round {emulator.store.round}; press Ctrl-C to stop")
            sys.stdout.flush()
            emulator.serve_forever()

    run_guarded(start, verbose, as_json=as_json)


def _emulator(config: EmulatorConfig) -> Emulator:
    from mirror.emulator import Emulator

    return Emulator(config)


def _is_mirror(folder: Path) -> bool:
    """A mirror folder has mirror.json; any other folder is taken for a space folder
    (space.json), whose loading says what is wrong with it."""
    return (folder / "mirror.json").is_file()


def _refuse_options(ctx: click.Context, names: tuple[str, ...], only_for: str) -> None:
    for name in names:
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            option = next(p for p in ctx.command.params if p.name == name)
            raise click.UsageError(f"{max(option.opts, key=len)} is only for {only_for}")


def _serve_mirror(
    folder: Path,
    host: str,
    port: int,
    rev: str | None,
    follow: bool,
    workers: int,
    cache_mb: int,
    access_token: str | None,
    as_json: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    from mirror.delivery.server import MirrorServer, MirrorServerConfig

    def log(line: str) -> None:
        click.echo(line, err=True)

    config = MirrorServerConfig(
        folder,
        rev or "HEAD",
        follow,
        host,
        port,
        access_token or None,
        log=None if quiet else log,
        cache_bytes=cache_mb * 2**20,
        warn=log,
    )

    def start() -> None:
        server = _listening(config, lambda: MirrorServer(config))
        _few_full_collections()
        # From the moment the address is out, a stop (Ctrl-C, SIGTERM) is a clean exit.
        try:
            with contextlib.suppress(KeyboardInterrupt):
                _say_serving(server, workers, as_json)
                if workers > 1:
                    server.serve_in_workers(workers)
                else:
                    server.serve_forever()
        finally:
            server.stop()

    run_guarded(start, verbose, as_json=as_json)


def _few_full_collections() -> None:
    """Tune Python's cyclic garbage collector for a server holding many parsed items.

    The items a served commit keeps (--cache-mb of dicts and lists) are long-lived and
    hold no cycles (reference counting frees them when they are dropped), but every full
    collection walks them all: on the 100k-entry mirror, collections at the default
    thresholds took a quarter of the CPU of a GraphQL answer. What the server has made so
    far (modules, the open index) is frozen out of collections, and the young generation is
    collected after 50,000 allocations rather than 700 (bench/graphql.py, README)."""
    from mirror.delivery.server import give_back_freed_memory

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    give_back_freed_memory()  # what building the index freed


def _say_serving(server: MirrorServer, workers: int, as_json: bool) -> None:
    facts = server.facts()
    if as_json:
        click.echo(json.dumps(facts, sort_keys=True))
    else:
        for name, value in facts.items():
            click.echo(f"{name:17} {value}")
        config = server.config
        moving = ", following it" if config.follow else ""
        processes = f" in {workers} processes" if workers > 1 else ""
        click.echo(
            f"serving {config.rev} at {server.commit[:10]}{moving}{processes}; press Ctrl-C to stop"
        )
    sys.stdout.flush()


def _listening(config: EmulatorConfig | MirrorServerConfig, bind: Callable[[], T]) -> T:
    """The server `bind` makes, bound to its port; a port it cannot have is said plainly."""
    try:
        return bind()
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
