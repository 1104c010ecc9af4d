"""Helpers for tests of `mirror serve DIR`: a mirror synced over rounds, the server in a
thread, and answers made comparable with the emulator's."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from mirror.delivery.server import MirrorServer, MirrorServerConfig
from mirror.emulator import Emulator
from tests.conftest import git, sync_json, token_of

_URL_HOST = re.compile(r'"//[^/"]+/')


def synced_rounds(emulator: Emulator, directory: Path, last: int, *extra: str) -> list[str]:
    """Sync `directory` from `emulator` (at round 0) through round `last`; the commits."""
    sync_json(emulator, directory, *extra)
    commits = [git(directory, "rev-parse", "HEAD").strip()]
    for number in range(1, last + 1):
        emulator.store.apply_round(number)
        sync_json(emulator, directory, *extra)
        commits.append(git(directory, "rev-parse", "HEAD").strip())
    return commits


@contextmanager
def serving(directory: Path, **config: Any) -> Iterator[MirrorServer]:
    with MirrorServer(MirrorServerConfig(directory, **config)) as server:
        yield server


@dataclass
class ServeProcess:
    """`mirror serve` in a process of its own, and the facts its first line printed."""

    process: subprocess.Popen[str]
    facts: dict[str, Any]
    stdout: str = ""  # what it printed after the facts, once stopped
    stderr: str = ""  # what it said, once stopped

    @property
    def graphql_url(self) -> str:
        facts = self.facts
        where = f"spaces/{facts['space']}/environments/{facts['environment']}"
        return f"{facts['base_url']}/content/v1/{where}"

    def wait(self, timeout: float = 30) -> int:
        """Its exit code once it stops on its own (or from a signal sent it)."""
        self.stdout, self.stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as Ctrl-C or a cancelled job would stop it; its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.wait(timeout)


@contextmanager
def serve_process(*arguments: str) -> Iterator[ServeProcess]:
    """`mirror serve ARGUMENTS --port 0 --json`, its first line read; stopped at the end
    if it still runs (pass -q: its request log is read only then)."""
    command = [sys.executable, "-m", "mirror", "serve", *arguments, "--port", "0", "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield ServeProcess(process, json.loads(process.stdout.readline()))
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


class Reader:
    """A Delivery API client of one server: paths relative to the environment."""

    def __init__(self, base_url: str, space: str, environment: str, token: str) -> None:
        self.base = base_url
        self.env_path = f"/spaces/{space}/environments/{environment}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def of(cls, server: MirrorServer | Emulator, token: str = "any") -> Reader:
        if isinstance(server, Emulator):
            space, env = server.space.id, server.space.environment
            return cls(server.base_url, space, env, server.access_token)
        facts = server.facts()
        return cls(server.base_url, facts["space"], facts["environment"], token)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.base + self.env_path + path, params=params, timeout=20)

    def json(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def sync_all(self, **params: Any) -> tuple[list[dict[str, Any]], str]:
        """Every page to nextSyncUrl: (items, the next sync token)."""
        body = self.json("/sync", **params)
        items = list(body["items"])
        while "nextPageUrl" in body:
            body = self.json("/sync", sync_token=token_of(body["nextPageUrl"]))
            items += body["items"]
        return items, token_of(body["nextSyncUrl"])


def comparable(body: Any) -> Any:
    """A body with asset URL hosts and request ids blanked: two servers on two ports."""
    text = _URL_HOST.sub('"//HOST/', json.dumps(body, sort_keys=True))
    value = json.loads(text)
    if isinstance(value, dict):
        value.pop("requestId", None)
    return value


def item_state(items: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """What a sync client holds after applying `items` in order."""
    held: dict[tuple[str, str], Any] = {}
    apply(held, items)
    return held


def apply(held: dict[tuple[str, str], Any], items: list[dict[str, Any]]) -> None:
    for item in items:
        kind, item_id = item["sys"]["type"], item["sys"]["id"]
        if kind.startswith("Deleted"):
            held.pop((kind.removeprefix("Deleted"), item_id), None)
        else:
            held[(kind, item_id)] = item
