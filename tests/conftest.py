"""Shared fixtures: the emulator over real HTTP in a thread, and small HTTP helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mirror.emulator import Emulator, EmulatorConfig

REPO = Path(__file__).resolve().parent.parent
RECORDINGS = REPO.parent / "shared" / "conformance" / "recordings"


class Api:
    """A thin client of the emulator for tests: paths relative to the space."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.base = emulator.base_url
        self.space = emulator.space.id
        self.env_path = f"/spaces/{self.space}/environments/{emulator.space.environment}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {emulator.access_token}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.base + path, params=params, timeout=10)

    def sync(self, **params: Any) -> requests.Response:
        return self.get(self.env_path + "/sync", **params)

    def sync_all(self, **params: Any) -> tuple[list[dict[str, Any]], str, int]:
        """Follow nextPageUrl to nextSyncUrl; returns (items, next sync token, pages)."""
        response = self.sync(**params)
        items, pages = [], 0
        while True:
            assert response.status_code == 200, response.text
            body = response.json()
            items += body["items"]
            pages += 1
            if "nextSyncUrl" in body:
                return items, token_of(body["nextSyncUrl"]), pages
            response = self.sync(sync_token=token_of(body["nextPageUrl"]))

    def write(
        self,
        method: str,
        kind: str,
        item_id: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        all_headers = {
            "Authorization": f"Bearer {self.emulator.management_token}",
            **(headers or {}),
        }
        data = None if body is None else json.dumps(body)
        return requests.request(
            method,
            f"{self.base}{self.env_path}/{kind}/{item_id}",
            data=data,
            headers=all_headers,
            timeout=10,
        )


def token_of(url: str) -> str:
    return url.split("sync_token=", 1)[1]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig()) as running:
        yield running


@pytest.fixture
def api(emulator: Emulator) -> Api:
    return Api(emulator)


def start_emulator(**config: Any) -> Emulator:
    return Emulator(EmulatorConfig(**config)).start()


def recordings() -> list[Path]:
    return sorted(RECORDINGS.glob("*.json"))


def load_recording(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
