"""The guarantees of a round hold at 10,000 items: kill -9 recovery and bounded memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.scale import measure
from mirror.emulator import Emulator, EmulatorConfig
from mirror.emulator.synthetic import SyntheticSpace
from tests.conftest import commit_count, files_of, git, mirror, sync_args

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big() -> Iterator[Emulator]:
    space = SyntheticSpace(10_000, seed=3, rounds=1, changes=100).definition()
    with Emulator(EmulatorConfig(space=space, round=0)) as emulator:
        yield emulator


def _run(
    emulator: Emulator, folder: Path, *extra: str, kill_at: str | None = None
) -> tuple[int, float]:
    """Exit status and peak RSS in MB of one `mirror sync` process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTENTFUL_")}
    if kill_at:
        env["MIRROR_TEST_KILL_AT"] = kill_at
    command = [sys.executable, "-m", "mirror", *sync_args(emulator, folder, *extra)]
    run = measure(command, env=env, check=False)
    return run.returncode, run.rss_mb


def test_a_round_killed_at_10k_items_recovers_byte_identical(big: Emulator, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert _run(big, reference, "--limit", "500")[0] == 0
    victim = tmp_path / "victim"
    for point in ("page-7", "before-commit"):
        assert _run(big, victim, "--limit", "500", kill_at=point)[0] == -signal.SIGKILL
        assert commit_count(victim) == 0
    result = mirror(*sync_args(big, victim, "--limit", "500"))
    assert result.exit_code == 0, result.stderr
    assert "recovered" in result.stderr
    expected = files_of(reference)
    assert len(expected) > 11_000
    assert files_of(victim) == expected
    assert git(victim, "status", "--porcelain") == ""
    subprocess.run(
        ["git", "-C", str(victim), "fsck", "--no-progress"], check=True, capture_output=True
    )


def test_memory_is_bounded_by_pages_not_by_the_space(big: Emulator, tmp_path: Path) -> None:
    """Peak RSS with pages of 100 and of 1000 items; 10k items held at once would
    be well over 100 MB more (the emulator holds them as bytes: 15 MB)."""
    status, small_pages = _run(big, tmp_path / "a", "--limit", "100")
    assert status == 0
    status, large_pages = _run(big, tmp_path / "b", "--limit", "1000")
    assert status == 0
    assert small_pages < 150 and large_pages < 150
    assert abs(large_pages - small_pages) < 40


def test_a_delta_at_10k_touches_only_what_changed(big: Emulator, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    assert _run(big, folder)[0] == 0
    big.store.apply_round(1)
    result = mirror(*sync_args(big, folder, "--json"))
    assert result.exit_code == 0, result.stderr
    changed = git(folder, "show", "--no-renames", "--name-only", "--format=", "HEAD").split()
    assert len(changed) == 101  # 100 changes to 100 distinct items, and mirror.json
    assert git(folder, "status", "--porcelain") == ""


def _processes_naming(text: str) -> list[int]:
    """Processes whose command line holds `text` (forked workers share their parent's)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in (proc / "cmdline").read_text(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_a_cancelled_export_stops_its_workers_and_leaves_out(big: Emulator, tmp_path: Path) -> None:
    """SIGTERM (a cancelled CI job) while worker processes render a full export."""
    folder, out = tmp_path / "m", tmp_path / "site-out"
    assert _run(big, folder)[0] == 0
    out.mkdir()
    (out / "keep.txt").write_text("mine\n")
    command = [sys.executable, "-m", "mirror", "export", str(folder), str(out)]
    export = subprocess.Popen(
        [*command, "--locale", "all", "--resolve-links", "2", "--jobs", "2"],
        stderr=subprocess.PIPE,
        text=True,
    )
    staging = out / ".en-US.partial"
    for _ in range(600):  # until the workers have written a few hundred files
        if staging.is_dir() and sum(1 for _ in staging.rglob("*.json")) > 300:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the export never started writing")
    export.send_signal(signal.SIGTERM)
    _, stderr = export.communicate(timeout=60)
    assert export.returncode == 130, stderr
    assert stderr.strip() == "Error: interrupted; OUT is left as it was"
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert _processes_naming(str(out)) == []
