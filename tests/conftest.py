"""Shared fixtures: the emulator over real HTTP in a thread, and small HTTP helpers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mirror.emulator import Emulator, EmulatorConfig

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"  # test data kept beside the repository, never inside it
_RECORDINGS = "conformance/recordings"


def shared_data(relative: str) -> Path:
    """The folder or file `relative` in ../shared. Where it is absent the calling test is
    skipped, naming it; with CI set it fails instead, so CI never quietly loses tests."""
    path = SHARED / relative
    if path.exists():
        return path
    message = f"shared test data {path} is absent; it belongs in ../shared beside the repository"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run every test", pytrace=False)
    pytest.skip(message)


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
    """Every recorded scenario; call it inside a test (it skips or fails when absent)."""
    return sorted(shared_data(_RECORDINGS).glob("*.json"))


def load_recording(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def recording(name: str) -> dict[str, Any]:
    """One recorded scenario of ../shared/conformance/recordings, by its file stem."""
    return load_recording(shared_data(_RECORDINGS) / f"{name}.json")


# -- running mirror and reading git ------------------------------------------------------

CONTENTFUL_VARS = (
    "CONTENTFUL_SPACE_ID",
    "CONTENTFUL_ACCESS_TOKEN",
    "CONTENTFUL_ENVIRONMENT",
    "CONTENTFUL_BASE_URL",
)


@pytest.fixture(autouse=True)
def _no_contentful_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the CONTENTFUL_* variables they set themselves."""
    for name in (*CONTENTFUL_VARS, "MIRROR_TEST_KILL_AT"):
        monkeypatch.delenv(name, raising=False)


def mirror(*args: str, env: dict[str, str] | None = None) -> Any:
    """Run the CLI in this process; the result has exit_code, stdout and stderr."""
    from click.testing import CliRunner

    from mirror.cli import cli

    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def sync_args(emulator: Emulator, directory: Path, *extra: str) -> list[str]:
    return [
        "sync",
        str(directory),
        "--space",
        emulator.space.id,
        "--access-token",
        emulator.access_token,
        "--base-url",
        emulator.base_url,
        *extra,
    ]


def git(repo: Path, *args: str) -> str:
    import subprocess

    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return result.stdout


def files_of(directory: Path) -> dict[str, bytes]:
    """Every file below `directory` except .git, by relative path. .git is never entered:
    a round's detached housekeeping may be removing folders there meanwhile."""
    found = {}
    for folder, subdirs, files in os.walk(directory):
        subdirs[:] = sorted(d for d in subdirs if d != ".git")
        for name in files:
            path = Path(folder) / name
            if path.is_file():
                found[path.relative_to(directory).as_posix()] = path.read_bytes()
    return dict(sorted(found.items()))


def commit_count(repo: Path) -> int:
    import subprocess

    result = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True, text=True
    )
    return int(result.stdout.strip() or 0) if result.returncode == 0 else 0


@pytest.fixture
def round0() -> Iterator[Emulator]:
    """The sample space at its initial content; tests apply later rounds themselves."""
    with Emulator(EmulatorConfig(round=0)) as running:
        yield running


def sync_json(emulator: Emulator, directory: Path, *extra: str) -> dict[str, Any]:
    """Run mirror sync --json successfully and return its summary."""
    result = mirror(*sync_args(emulator, directory, "--json", *extra))
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))
