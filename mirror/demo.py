"""`mirror demo`: the emulator and the client together, over real HTTP, in one process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mirror.client.guard import mirror_key, wait_for_lock
from mirror.client.history import init_repository
from mirror.client.sync import SyncOptions, SyncReport, run_sync
from mirror.emulator import Emulator, EmulatorConfig
from mirror.errors import UsageError

DEMO_AUTHOR = "mirror demo <demo@localhost>"
GRAPHQL_URL = "http://127.0.0.1:8000/content/v1/spaces/wayfarer/environments/master"
GRAPHQL_QUERY = (
    '{ city(id: "porto", locale: "de-DE") { name highlightsCollection(limit: 3) '
    "{ items { title rating } } heroImage { url(transform: {width: 320, format: WEBP}) } } }"
)


def run_demo(directory: Path, show: Callable[[str], None]) -> list[SyncReport]:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(f"{directory} is not empty; give mirror demo a new folder")
    # Its own repository, even inside another work tree (such as a clone of mirror):
    # the demo's commits must never land on someone else's branch.
    init_repository(directory)
    reports = []
    with Emulator(EmulatorConfig(round=0)) as emulator:
        space = emulator.space
        show(f"emulator: {space.name} at {emulator.base_url} (space {space.id})")
        for number in range(len(space.rounds)):
            if number:
                emulator.store.apply_round(number)
            options = SyncOptions(
                directory=directory,
                access_token=emulator.access_token,
                space=space.id,
                environment=space.environment,
                base_url=emulator.base_url,
                author=DEMO_AUTHOR,
                download_assets=True,  # so that `mirror serve` serves the images too
            )
            report = run_sync(options)
            reports.append(report)
            counts = f"+{report.added} ~{report.changed} -{report.deleted}"
            show(f"round {number}: {counts:<14} {space.round_notes[number]}")
    # The last round's housekeeping runs detached; a demo hands over a quiet repository.
    wait_for_lock(directory / ".git" / "mirror" / mirror_key("") / "housekeeping.lock", 120)
    where = str(directory)
    show("")
    show(f"{where} is now a Git repository with one commit per round. Look at it:")
    show(f"  git -C {where} log --stat          # what each round changed")
    show(f"  git -C {where} log -p -1           # the last round, line by line")
    tokens = "%h %(trailers:key=Sync-Token,valueonly)"
    show(f"  git -C {where} log --format='{tokens}'  # the sync tokens")
    show(f"  cat {where}/mirror.json            # where the sync stands")
    show("")
    show("Serve it as Contentful's Delivery and GraphQL APIs, and ask GraphQL for a city, its")
    show("highlights and its photo resized to WebP (the image URL loads from the mirror):")
    show(f"  mirror serve {where} --port 8000 &")
    show(f"  curl -s {GRAPHQL_URL} -H 'Content-Type: application/json' \\")
    show(f"    -d '{json.dumps({'query': GRAPHQL_QUERY})}'")
    return reports
