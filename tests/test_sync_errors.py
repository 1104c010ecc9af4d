"""Every way mirror sync can fail: one clear line, a documented exit code, and the
mirror left exactly as it was."""

from __future__ import annotations

import copy
import json
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mirror.client.guard import RoundGuard
from mirror.emulator import Emulator, EmulatorConfig
from mirror.emulator.faults import FaultPlan
from tests.conftest import (
    commit_count,
    files_of,
    git,
    mirror,
    recording,
    sync_args,
)
from tests.replay import ReplayServer, replay_sync_args


@pytest.fixture
def synced(tmp_path: Path) -> Any:
    """A mirror synced at round 0, and the emulator, now at round 1."""
    with Emulator(EmulatorConfig(round=0)) as emulator:
        result = mirror(*sync_args(emulator, tmp_path))
        assert result.exit_code == 0, result.stderr
        emulator.store.apply_round(1)
        yield emulator, tmp_path


def _unchanged(directory: Path, before: dict[str, bytes], commits: int) -> None:
    assert files_of(directory) == before
    assert commit_count(directory) == commits
    assert git(directory, "status", "--porcelain") == ""


def _fails(args: list[str], code: int, says: str, env: dict[str, str] | None = None) -> Any:
    result = mirror(*args, env=env)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert says in result.stderr
    *notices, last = result.stderr.splitlines()
    assert last.startswith("Error: ") and result.stderr.count("Error: ") == 1
    assert all(line.startswith("mirror: ") for line in notices)  # retries said as they happen
    assert "Traceback" not in result.stderr
    return result


# -- usage (2) ---------------------------------------------------------------------------


def test_missing_space_or_token_is_a_usage_error(tmp_path: Path) -> None:
    _fails(["sync", str(tmp_path), "--access-token", "x"], 2, "--space")
    _fails(["sync", str(tmp_path), "--space", "x"], 2, "--access-token")
    assert not (tmp_path / ".git").exists()


@pytest.mark.parametrize(
    ("base_url", "says"),
    [
        ("http://cdn.contentful.com", "plain http"),
        ("https://cdn.contentful.com/some/path", "bare origin"),
    ],
)
def test_base_urls_the_token_must_not_go_to_are_refused(
    tmp_path: Path, base_url: str, says: str
) -> None:
    args = ["sync", str(tmp_path), "--space", "s", "--access-token", "replay-token-123"]
    _fails([*args, "--base-url", base_url], 2, says)


def test_another_space_for_an_existing_mirror_is_refused(synced: Any) -> None:
    emulator, directory = synced
    before, commits = files_of(directory), commit_count(directory)
    _fails(
        ["sync", str(directory), "--space", "other", "--access-token", emulator.access_token],
        2,
        "this mirror is of space 'wayfarer'",
    )
    _unchanged(directory, before, commits)


def test_bad_option_values_exit_2(tmp_path: Path) -> None:
    assert mirror("sync", str(tmp_path), "--limit", "0").exit_code == 2
    assert mirror("sync", str(tmp_path), "--type", "Everything").exit_code == 2


def test_a_token_with_control_characters_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig()) as emulator:
        result = _fails(
            [
                "sync",
                str(tmp_path),
                "--space",
                "wayfarer",
                "--base-url",
                emulator.base_url,
                "--access-token",
                "secret\nvalue",
            ],
            2,
            "control",
        )
    assert "secret" not in result.stderr


# -- auth (3) and not found (7) ----------------------------------------------------------


def test_wrong_token_exits_3_and_leaves_the_mirror(synced: Any) -> None:
    _emulator, directory = synced
    before, commits = files_of(directory), commit_count(directory)
    _fails(["sync", str(directory), "--access-token", "wrong-token"], 3, "refused the access token")
    _unchanged(directory, before, commits)


def test_unknown_space_or_environment_exits_7(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig()) as emulator:
        args = sync_args(emulator, tmp_path)
        args[args.index("--space") + 1] = "nope"
        _fails(args, 7, "space 'nope' or environment 'master' not found")
        _fails([*sync_args(emulator, tmp_path / "b"), "--environment", "staging"], 7, "not found")


# -- unavailable (4) ---------------------------------------------------------------------


def test_connection_refused_exits_4_after_retries(synced: Any) -> None:
    emulator, directory = synced
    before, commits = files_of(directory), commit_count(directory)
    emulator.stop()
    result = _fails(
        ["sync", str(directory), "--access-token", emulator.access_token, "--retries", "1"],
        4,
        "after 2 attempts",
    )
    assert "network error" in result.stderr
    _unchanged(directory, before, commits)


def test_server_errors_exit_4_after_retries(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(faults=FaultPlan(error_rate=1.0))) as emulator:
        _fails([*sync_args(emulator, tmp_path), "--retries", "2"], 4, "HTTP 50")
        assert sum(emulator.status_counts[s] for s in (500, 503)) == 3


def test_flaky_source_is_retried_to_the_same_result(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig()) as clean:
        assert mirror(*sync_args(clean, tmp_path / "clean", "--limit", "10")).exit_code == 0
    plan = FaultPlan(error_rate=0.25, drop_rate=0.25, seed=11)
    with Emulator(EmulatorConfig(faults=plan)) as flaky:
        result = mirror(*sync_args(flaky, tmp_path / "flaky", "--limit", "10", "--retries", "10"))
        assert result.exit_code == 0, result.stderr
        assert flaky.status_counts[500] + flaky.status_counts[503] > 0
    clean_files = {k: v for k, v in files_of(tmp_path / "clean").items() if k != "mirror.json"}
    flaky_files = {k: v for k, v in files_of(tmp_path / "flaky").items() if k != "mirror.json"}
    assert clean_files == {
        k: v.replace(str(flaky.port).encode(), str(clean.port).encode())
        for k, v in flaky_files.items()
    }


def test_rate_limits_are_waited_out(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(faults=FaultPlan(rate_limit=2))) as emulator:
        result = mirror(*sync_args(emulator, tmp_path, "--limit", "20"))
        assert result.exit_code == 0, result.stderr
        assert emulator.status_counts[429] >= 1
    assert len(list(tmp_path.glob("entries/*/*.json"))) == 44


# -- invalid data (5) --------------------------------------------------------------------


def _chain() -> list[dict[str, Any]]:
    return copy.deepcopy(recording("paginated-initial-then-delta")["exchanges"])


def _sync_replay(server: ReplayServer, directory: Path) -> list[str]:
    return replay_sync_args(server, directory, "smf0sqiu0c5s")


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda item: item["sys"].__setitem__("id", "../../escaped"), "'../../escaped'"),
        (lambda item: item["sys"].__setitem__("id", ".."), "invalid sync page"),
        (lambda item: item["sys"]["contentType"]["sys"].__setitem__("id", "../x"), "invalid"),
        (lambda item: item.__setitem__("fields", {"title": "flat"}), "invalid sync page"),
        (lambda item: item["sys"].pop("type"), "invalid sync page"),
    ],
)
def test_bad_items_on_a_later_page_fail_the_round_and_leave_nothing(
    tmp_path: Path, damage: Any, says: str
) -> None:
    exchanges = _chain()
    damage(exchanges[1]["body"]["items"][1])  # page 2: page 1 was already written
    directory = tmp_path / "mirror"
    with ReplayServer(exchanges) as server:
        _fails(_sync_replay(server, directory), 5, says)
    assert files_of(directory) == {}
    assert not list(tmp_path.rglob("escaped*"))
    assert commit_count(directory) == 0


def test_malformed_json_exits_5(synced: Any) -> None:
    _emulator, directory = synced
    before, commits = files_of(directory), commit_count(directory)
    with ReplayServer([]) as server:
        server.overrides["/spaces/wayfarer/environments/master/locales"] = (200, b"{not json")
        state = json.loads((directory / "mirror.json").read_text())
        args = ["sync", str(directory), "--access-token", "replay-token-123"]
        state["base_url"] = server.base_url
        (directory / "mirror.json").write_text(json.dumps(state))
        git(
            directory,
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qam",
            "point at replay",
        )
        _fails(args, 5, "malformed JSON")
    assert commit_count(directory) == commits + 1
    assert {k: v for k, v in files_of(directory).items() if k != "mirror.json"} == {
        k: v for k, v in before.items() if k != "mirror.json"
    }


def test_next_page_on_another_origin_is_refused_and_never_requested(tmp_path: Path) -> None:
    exchanges = _chain()
    with ReplayServer([]) as elsewhere:
        exchanges[0]["body"]["nextPageUrl"] = exchanges[0]["body"]["nextPageUrl"].replace(
            "https://cdn.contentful.com", elsewhere.base_url
        )
        with ReplayServer(exchanges, rewrite_next_urls=False) as server:
            _fails(_sync_replay(server, tmp_path), 5, "another origin")
        assert elsewhere.seen == []
    assert files_of(tmp_path) == {}


# -- the mirror itself (6) ---------------------------------------------------------------


def test_a_locked_mirror_exits_6_naming_the_pid(synced: Any) -> None:
    emulator, directory = synced
    git_dir = directory / ".git"
    with RoundGuard(git_dir, ""):
        result = _fails(sync_args(emulator, directory), 6, "locked by pid")
    import os

    assert str(os.getpid()) in result.stderr
    assert mirror(*sync_args(emulator, directory)).exit_code == 0


def test_uncommitted_changes_are_refused_unless_forced(synced: Any) -> None:
    emulator, directory = synced
    edited = directory / "entries/city/lisbon.json"
    edited.write_text("my local edit\n")
    (directory / "entries/city/notes.json").write_text("{}\n")
    result = _fails(sync_args(emulator, directory), 6, "uncommitted changes")
    assert "entries/city/lisbon.json" in result.stderr and "--force" in result.stderr
    assert edited.read_text() == "my local edit\n"
    forced = mirror(*sync_args(emulator, directory, "--force"))
    assert forced.exit_code == 0, forced.stderr
    assert json.loads(edited.read_text())["sys"]["id"] == "lisbon"
    assert not (directory / "entries/city/notes.json").exists()
    assert git(directory, "status", "--porcelain") == ""


def test_files_outside_the_mirrors_folders_do_not_count_as_dirty(synced: Any) -> None:
    emulator, directory = synced
    (directory / "NOTES.md").write_text("mine\n")
    assert mirror(*sync_args(emulator, directory)).exit_code == 0
    assert (directory / "NOTES.md").read_text() == "mine\n"


def test_a_broken_state_file_exits_6(synced: Any) -> None:
    emulator, directory = synced
    (directory / "mirror.json").write_text("{}\n")
    git(directory, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "break it")
    _fails(sync_args(emulator, directory), 6, "not a mirror state file")


# -- local failures (1) ------------------------------------------------------------------


def test_a_failed_write_rolls_the_round_back(synced: Any) -> None:
    """A file size limit makes writes fail as a full disk would; it also stops the rollback
    from writing the old bytes back, so the next run finishes it (tests/test_trust_sync.py
    covers a real full disk, where the rollback itself succeeds)."""
    emulator, directory = synced
    before, commits = files_of(directory), commit_count(directory)

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        # Below every mirror file, so the round fails at its first write, before its commit.
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))

    result = subprocess.run(
        [sys.executable, "-m", "mirror", *sync_args(emulator, directory)],
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("Error: file too large while writing "), result.stderr
    assert "Traceback" not in result.stderr
    assert commit_count(directory) == commits
    recovered = mirror(*sync_args(emulator, directory, "--json"))
    assert recovered.exit_code == 0, recovered.stderr
    assert "recovered from an interrupted sync" in recovered.stderr
    assert json.loads(recovered.stdout)["changed"] == 7
    assert files_of(directory).keys() == before.keys()
    assert git(directory, "status", "--porcelain") == ""


def test_verbose_shows_a_traceback(synced: Any) -> None:
    _emulator, directory = synced
    result = mirror("sync", str(directory), "--access-token", "wrong", "-v")
    assert result.exit_code == 3
    assert "Traceback" in result.stderr


def test_exit_codes_are_documented_in_help() -> None:
    result = mirror("sync", "--help")
    for code, meaning in (
        (0, "synced"),
        (2, "usage"),
        (3, "authentication"),
        (4, "source unavailable"),
        (5, "invalid data"),
        (6, "the source rejected its sync token"),  # not only "locked, dirty"
        (7, "does not exist at the source"),
    ):
        epilog = " ".join(result.stdout.split("Exit codes:")[1].split())
        assert f" {code} " in f" {epilog}" and meaning in epilog, code
