"""mirror demo: the README's first command."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import commit_count, git, mirror


def test_demo_leaves_a_repository_with_one_commit_per_round(tmp_path: Path) -> None:
    target = tmp_path / "travel-guide"
    result = mirror("demo", str(target))
    assert result.exit_code == 0, result.stderr
    assert commit_count(target) == 5
    subjects = git(target, "log", "--reverse", "--format=%s").splitlines()
    assert subjects == [
        "sync wayfarer/master: +60 ~0 -0",
        "sync wayfarer/master: +0 ~7 -0",
        "sync wayfarer/master: +3 ~3 -0",
        "sync wayfarer/master: +0 ~4 -2",
        "sync wayfarer/master: +4 ~3 -2",
    ]
    assert git(target, "status", "--porcelain") == ""
    assert "git -C" in result.stdout and "log -p" in result.stdout
    for number in range(5):
        assert f"round {number}:" in result.stdout
    patch = git(target, "log", "-p", "-1", "--", "entries/guide/guide-river-cities.json")
    assert '+      "fr-FR": "Quatre villes fluviales en dix jours"' in patch


def test_demo_inside_another_repository_keeps_its_commits_to_itself(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    result = mirror("demo", str(tmp_path / "travel-guide"))
    assert result.exit_code == 0, result.stderr
    assert commit_count(tmp_path / "travel-guide") == 5
    assert commit_count(tmp_path) == 0
    assert (tmp_path / "travel-guide" / ".git").is_dir()


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    result = mirror("demo", str(tmp_path))
    assert result.exit_code == 2
    assert "not empty" in result.stderr
    assert not (tmp_path / ".git").exists()
