"""The access token lives only in memory and the Authorization header."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mirror.cli.support import run_guarded
from mirror.client.guard import mirror_key, wait_for_lock
from mirror.emulator import Emulator, EmulatorConfig
from mirror.emulator.faults import FaultPlan
from tests.conftest import files_of, mirror, sync_args
from tests.replay import ReplayServer, replay_sync_args

SECRET = "SeCrEt-delivery-token-4f9a2c"


def _everything_git_holds(directory: Path) -> bytes:
    # The last round's housekeeping runs detached and removes files as it repacks: wait.
    wait_for_lock(directory / ".git" / "mirror" / mirror_key("") / "housekeeping.lock", 120)
    objects = subprocess.run(
        ["git", "-C", str(directory), "cat-file", "--batch-all-objects", "--batch"],
        capture_output=True,
        check=True,
    ).stdout
    raw = b"".join(p.read_bytes() for p in (directory / ".git").rglob("*") if p.is_file())
    return objects + raw


def test_the_token_is_in_no_file_no_git_object_and_no_output(tmp_path: Path) -> None:
    outputs = []
    with Emulator(EmulatorConfig(round=0, access_token=SECRET)) as emulator:
        for number in range(5):
            if number:
                emulator.store.apply_round(number)
            for extra in ((), ("--json",), ("--dry-run",)):
                result = mirror(*sync_args(emulator, tmp_path, *extra))
                assert result.exit_code == 0, result.stderr
                outputs.append(result.stdout + result.stderr)
        emulator.store.put_entry("x1", "author", {"name": {"en-US": "X"}})
        (tmp_path / "entries/city/lisbon.json").write_text("dirty\n")
        outputs.append(mirror(*sync_args(emulator, tmp_path, "-v")).stderr)  # dirty: exit 6
        outputs.append(mirror(*sync_args(emulator, tmp_path, "-v", "--force")).stderr)
    # source gone: network errors, with tracebacks
    result = mirror(*sync_args(emulator, tmp_path, "-v", "--retries", "0"))
    assert result.exit_code == 4
    outputs.append(result.stdout + result.stderr)
    assert all(SECRET not in text for text in outputs)
    for name, data in files_of(tmp_path).items():
        assert SECRET.encode() not in data, name
    assert SECRET.encode() not in _everything_git_holds(tmp_path)


def test_the_token_goes_in_the_header_never_the_query(tmp_path: Path) -> None:
    from tests.conftest import recording

    exchanges = recording("paginated-initial-then-delta")["exchanges"]
    with ReplayServer(exchanges) as server:
        result = mirror(*replay_sync_args(server, tmp_path, "smf0sqiu0c5s", token=SECRET))
        assert result.exit_code == 0, result.stderr
    assert server.seen
    for seen in server.seen:
        assert seen.headers["Authorization"] == f"Bearer {SECRET}"
        assert SECRET not in repr(seen.query)


def test_errors_raised_with_the_token_inside_are_blanked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fails() -> None:
        raise ValueError(f"library said: bad header 'Bearer {SECRET}'")

    with pytest.raises(SystemExit) as stopped:
        run_guarded(fails, verbose=True, secrets=[SECRET])
    assert stopped.value.code == 1
    printed = capsys.readouterr().err
    assert "bad header" in printed and "Traceback" in printed
    assert SECRET not in printed


def test_flaky_transport_errors_do_not_leak_the_token(tmp_path: Path) -> None:
    plan = FaultPlan(drop_rate=1.0)
    with Emulator(EmulatorConfig(access_token=SECRET, faults=plan)) as emulator:
        result = mirror(*sync_args(emulator, tmp_path, "-v", "--retries", "1"))
    assert result.exit_code == 4
    assert SECRET not in result.stdout + result.stderr
