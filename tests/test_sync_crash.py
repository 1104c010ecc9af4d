"""A round is all or nothing, with real processes: killed (SIGKILL) at named points
and at random moments, run twice at once, or stopped with SIGTERM. The next sync
always ends byte-identical to an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirror.emulator import Emulator, EmulatorConfig
from mirror.emulator.faults import FaultPlan
from tests.conftest import commit_count, files_of, git, mirror, sync_args

pytestmark = pytest.mark.slow


def _spawn(
    emulator: Emulator,
    directory: Path,
    *extra: str,
    kill_at: str | None = None,
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTENTFUL_")}
    if kill_at:
        env["MIRROR_TEST_KILL_AT"] = kill_at
    return subprocess.Popen(
        [sys.executable, "-m", "mirror", *sync_args(emulator, directory, *extra)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sync_ok(emulator: Emulator, directory: Path, *extra: str) -> str:
    result = mirror(*sync_args(emulator, directory, *extra))
    assert result.exit_code == 0, result.stderr
    return str(result.stderr)


def _same_mirror(victim: Path, reference: Path) -> None:
    assert files_of(victim) == files_of(reference)
    assert commit_count(victim) == commit_count(reference)
    assert git(victim, "status", "--porcelain") == ""
    assert git(victim, "log", "--format=%s") == git(reference, "log", "--format=%s")


POINTS = ["page-1", "page-4", "page-8", "before-commit", "after-update-ref", "after-commit"]


@pytest.mark.parametrize("point", POINTS)
def test_killed_initial_sync_recovers_to_the_uninterrupted_result(
    point: str, tmp_path: Path
) -> None:
    with Emulator(EmulatorConfig()) as emulator:
        _sync_ok(emulator, tmp_path / "reference", "--limit", "7")
        victim = tmp_path / "victim"
        process = _spawn(emulator, victim, "--limit", "7", kill_at=point)
        assert process.wait(timeout=60) == -signal.SIGKILL
        notice = _sync_ok(emulator, victim, "--limit", "7")
        assert "recovered from an interrupted sync" in notice
    _same_mirror(victim, tmp_path / "reference")


@pytest.mark.parametrize("point", ["page-1", "page-3", "before-commit", "after-update-ref"])
def test_killed_delta_round_recovers_to_the_uninterrupted_result(
    point: str, tmp_path: Path
) -> None:
    with Emulator(EmulatorConfig(round=0)) as emulator:
        for name in ("reference", "victim"):
            _sync_ok(emulator, tmp_path / name, "--limit", "7")
        for number in (1, 2, 3, 4):
            emulator.store.apply_round(number)
        _sync_ok(emulator, tmp_path / "reference")
        head_before = git(tmp_path / "victim", "rev-parse", "HEAD")
        process = _spawn(emulator, tmp_path / "victim", kill_at=point)
        assert process.wait(timeout=60) == -signal.SIGKILL
        if point != "after-update-ref":
            assert git(tmp_path / "victim", "rev-parse", "HEAD") == head_before
        _sync_ok(emulator, tmp_path / "victim")
    _same_mirror(tmp_path / "victim", tmp_path / "reference")


def test_kills_at_random_moments_always_recover(tmp_path: Path) -> None:
    chooser = random.Random(20261123)
    with Emulator(EmulatorConfig(faults=FaultPlan(latency_ms=25))) as emulator:
        _sync_ok(emulator, tmp_path / "reference", "--limit", "5")
        for attempt in range(6):
            victim = tmp_path / f"victim-{attempt}"
            process = _spawn(emulator, victim, "--limit", "5")
            time.sleep(chooser.uniform(0.3, 1.2))
            process.kill()
            process.wait(timeout=30)
            _sync_ok(emulator, victim, "--limit", "5")
            _same_mirror(victim, tmp_path / "reference")


def test_a_second_run_at_the_same_time_is_refused_at_once(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(faults=FaultPlan(latency_ms=60))) as emulator:
        _sync_ok(emulator, tmp_path, "--limit", "10")
        first = _spawn(emulator, tmp_path, "--full", "--limit", "5")
        time.sleep(0.8)
        started = time.monotonic()
        second = _spawn(emulator, tmp_path)
        assert second.wait(timeout=30) == 6
        assert time.monotonic() - started < 5
        assert f"locked by pid {first.pid}" in (second.stderr.read() if second.stderr else "")
        assert first.wait(timeout=60) == 0


def test_sigterm_rolls_the_round_back_and_exits_130(tmp_path: Path) -> None:
    plan = FaultPlan(latency_ms=80)
    with Emulator(EmulatorConfig(round=0, faults=plan)) as emulator:
        _sync_ok(emulator, tmp_path, "--limit", "3")
        for number in (1, 2, 3, 4):
            emulator.store.apply_round(number)
        before, commits = files_of(tmp_path), commit_count(tmp_path)
        pages_before = emulator.request_counts["sync"]
        process = _spawn(emulator, tmp_path)  # 8 pages of changes, 80 ms each
        deadline = time.monotonic() + 20
        while emulator.request_counts["sync"] < pages_before + 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # until the round has written a few pages
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 130
        assert "interrupted" in (process.stderr.read() if process.stderr else "")
    assert files_of(tmp_path) == before
    assert commit_count(tmp_path) == commits
    assert git(tmp_path, "status", "--porcelain") == ""
