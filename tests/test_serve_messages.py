"""`mirror serve` says what is wrong and what to do: a busy port, a round the space lacks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from mirror.emulator import Emulator, EmulatorConfig
from mirror.errors import EXIT_ERROR, EXIT_USAGE, UsageError
from tests.conftest import mirror

HANG = 30  # seconds; a serve that is still running by then would serve forever


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_serve_on_a_busy_port_names_it_and_says_what_to_do(busy_port: int) -> None:
    result = mirror("serve", "--port", str(busy_port), "--quiet")
    assert result.exit_code == EXIT_ERROR
    assert result.stderr.strip() == (
        f"Error: port {busy_port} on 127.0.0.1 is in use; pass --port N, or --port 0 for a free one"
    )


def test_serve_help_lists_the_busy_port_exit_code() -> None:
    epilog = " ".join(mirror("serve", "--help").stdout.split("Exit codes:")[1].split())
    assert "1 the port is in use" in epilog
    assert "--round past the space's last round" in epilog


def test_serve_past_the_last_round_is_a_usage_error_saying_how_many_rounds() -> None:
    """In a real process, so that a serve that starts anyway cannot hang the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTENTFUL_")}
    result = subprocess.run(
        [sys.executable, "-m", "mirror", "serve", "--port", "0", "--round", "99", "--quiet"],
        capture_output=True,
        text=True,
        timeout=HANG,
        env=env,
    )
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "--round 99" in result.stderr
    assert "the space has 4 rounds of changes" in result.stderr
    assert "pass --round 0 to 4" in result.stderr
    assert result.stdout == ""  # nothing was served


def test_the_emulator_refuses_a_round_its_space_lacks() -> None:
    with pytest.raises(UsageError, match="4 rounds"):
        Emulator(EmulatorConfig(round=5))
    with Emulator(EmulatorConfig(round=4)) as last:
        assert last.store.round == 4


def test_sigterm_stops_serve_cleanly_with_exit_0() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mirror", "serve", "--port", "0", "--json", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()  # serving
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, process.stderr.read() if process.stderr else ""
