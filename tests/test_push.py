"""mirror sync --push: the round's commit reaches a remote, even when someone pushed first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mirror.emulator import Emulator
from tests.conftest import git, mirror, sync_args


def _bare(tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(remote))
    return remote


def _someone_else(tmp_path: Path, remote: Path, path: str, text: str) -> None:
    other = tmp_path / "other"
    if not other.exists():
        git(tmp_path, "clone", "-q", "-b", "main", str(remote), str(other))
    else:
        git(other, "pull", "-q")
    target = other / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    git(other, "add", "-A")
    git(other, "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-qm", f"edit {path}")
    git(other, "push", "-q", "origin", "HEAD:main")


def test_push_sends_the_round_to_the_remote(round0: Emulator, tmp_path: Path) -> None:
    remote = _bare(tmp_path)
    result = mirror(*sync_args(round0, tmp_path / "m", "--push", str(remote), "--json"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pushed"] is True
    assert git(remote, "rev-parse", "main") == git(tmp_path / "m", "rev-parse", "HEAD")


def _round_after_someone_pushed(
    round0: Emulator, tmp_path: Path, path: str, text: str
) -> tuple[Path, Path, Any]:
    """A pushed mirror, someone else's push of `path`, then the next round with --push."""
    remote = _bare(tmp_path)
    mirror_dir = tmp_path / "m"
    assert mirror(*sync_args(round0, mirror_dir, "--push", str(remote))).exit_code == 0
    _someone_else(tmp_path, remote, path, text)
    round0.store.apply_round(1)
    return remote, mirror_dir, mirror(*sync_args(round0, mirror_dir, "--push", str(remote)))


def test_a_rejected_push_is_fetched_rebased_and_retried(round0: Emulator, tmp_path: Path) -> None:
    remote, mirror_dir, result = _round_after_someone_pushed(
        round0, tmp_path, "README.md", "a site edit pushed meanwhile\n"
    )
    assert result.exit_code == 0, result.stderr
    subjects = git(remote, "log", "--format=%s", "main").splitlines()
    assert subjects == [
        "sync wayfarer/master: +0 ~7 -0",
        "edit README.md",
        "sync wayfarer/master: +60 ~0 -0",
    ]
    assert git(mirror_dir, "status", "--porcelain") == ""


def test_a_push_that_cannot_rebase_fails_clearly_and_keeps_the_round(
    round0: Emulator, tmp_path: Path
) -> None:
    _, mirror_dir, result = _round_after_someone_pushed(round0, tmp_path, "mirror.json", "{}\n")
    assert result.exit_code == 1
    assert "does not rebase cleanly" in result.stderr and "kept locally" in result.stderr
    assert git(mirror_dir, "log", "-1", "--format=%s") == "sync wayfarer/master: +0 ~7 -0\n"
    assert git(mirror_dir, "status", "--porcelain") == ""


def test_a_push_to_nowhere_keeps_the_round_and_a_later_run_catches_up(
    round0: Emulator, tmp_path: Path
) -> None:
    mirror_dir = tmp_path / "m"
    not_a_repository = tmp_path / "not-a-repository"
    not_a_repository.mkdir()
    failed = mirror(*sync_args(round0, mirror_dir, "--push", str(not_a_repository)))
    assert failed.exit_code == 1 and "committed locally" in failed.stderr
    assert "does not appear to be a git repository" in failed.stderr
    remote = _bare(tmp_path)
    caught_up = mirror(*sync_args(round0, mirror_dir, "--push", str(remote)))
    assert caught_up.exit_code == 0, caught_up.stderr
    assert git(remote, "rev-parse", "main") == git(mirror_dir, "rev-parse", "HEAD")


def test_a_push_to_no_remote_is_refused_before_the_round(round0: Emulator, tmp_path: Path) -> None:
    mirror_dir = tmp_path / "m"
    for remote in ("origin", "nosuchremote", str(tmp_path / "missing.git")):
        result = mirror(*sync_args(round0, mirror_dir, "--push", remote))
        assert result.exit_code == 2, result.stderr
        assert f"--push {remote}: no such remote" in result.stderr
        assert not (mirror_dir / "mirror.json").exists()
    empty = mirror(*sync_args(round0, mirror_dir, "--push", ""))
    assert empty.exit_code == 2 and "is empty" in empty.stderr
