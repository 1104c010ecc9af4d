"""A fresh clone with no ../shared beside it: the tests that need the shared data skip
and say which folder is missing; with CI set they fail instead, so CI cannot lose them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "__pycache__", "*_cache", "dist", "build"
)
# Recordings read inside test bodies, by fixed parameters and by a helper; quick to collect.
SELECTED = ["tests/test_conformance.py", "tests/test_schemas.py"]
MISSING = "shared/conformance/recordings"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("fresh") / "clone"
    shutil.copytree(REPO, copy, ignore=NOT_COPIED)
    assert not (copy.parent / "shared").exists()
    return copy


def _pytest_in(clone: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTHONPATH")}
    env["PYTHONPATH"] = str(clone)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfs", "-p", "no:cacheprovider", *SELECTED],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_clone_without_shared_data_passes_and_names_the_missing_folder(clone: Path) -> None:
    result = _pytest_in(clone, ci=None)
    assert result.returncode == 0, result.stdout + result.stderr
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips, result.stdout
    assert all(MISSING in line for line in skips), skips
    assert " skipped" in result.stdout.splitlines()[-1]


def test_a_clone_without_shared_data_fails_on_ci(clone: Path) -> None:
    result = _pytest_in(clone, ci="true")
    assert result.returncode != 0, result.stdout
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert failures, result.stdout
    assert result.stdout.count(f"{MISSING} is absent") >= len(failures), result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]
