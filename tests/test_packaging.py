"""A built wheel, installed in a fresh virtualenv, works from any directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin/ folder of a fresh virtualenv holding only the built wheel and its deps."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(root / "dist"), str(REPO)],
        check=True,
        capture_output=True,
    )
    wheel = next((root / "dist").glob("*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    bin_dir = root / "venv" / "bin"
    subprocess.run(
        [str(bin_dir / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True
    )
    yield bin_dir


def _run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_wheel_carries_schemas_and_sample_space(installed: Path, tmp_path: Path) -> None:
    code = "import mirror.resources as r; print(r.schemas_dir()); print(r.sample_space_dir())"
    result = _run(installed, str(installed / "python"), "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    schemas, space = result.stdout.split()
    assert "site-packages" in schemas and Path(schemas, "sync_page.json").is_file()
    assert Path(space, "space.json").is_file() and Path(space, "rounds", "4.json").is_file()


def test_help_from_another_directory(installed: Path, tmp_path: Path) -> None:
    for command in (
        [str(installed / "mirror"), "--help"],
        [str(installed / "python"), "-m", "mirror", "--help"],
    ):
        result = _run(installed, *command, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "serve" in result.stdout and "Exit codes" in result.stdout


def test_serve_from_another_directory(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    process = subprocess.Popen(
        [str(installed / "mirror"), "serve", "--port", "0", "--json", "-q"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        facts = json.loads(process.stdout.readline())
        url = f"{facts['base_url']}/spaces/{facts['space']}/environments/master/sync"
        response = requests.get(
            url,
            params={"initial": "true"},
            timeout=10,
            headers={"Authorization": f"Bearer {facts['access_token']}"},
        )
        assert response.status_code == 200
        assert len(response.json()["items"]) == 57
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_demo_from_another_directory(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, str(installed / "mirror"), "demo", "travel-guide", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    log = subprocess.run(
        ["git", "-C", str(tmp_path / "travel-guide"), "log", "--oneline"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert len(log.splitlines()) == 5
