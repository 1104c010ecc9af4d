"""Helpers for tests of `mirror serve DIR`: a mirror synced over rounds, the server in a
thread, and answers made comparable with the emulator's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
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
