"""--timeout bounds a whole request (connect, headers and body), retries say what they
retry, and an unknown space is NotFound: against small misbehaving servers in threads."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mirror.client.assets import AssetFile, Downloads
from mirror.client.source import Origin, RetryPolicy, SyncSource
from mirror.errors import EXIT_NOT_FOUND, EXIT_UNAVAILABLE, SourceUnavailable
from tests.conftest import mirror

HANG = 15.0  # seconds: far beyond any deadline used here; reaching it means a hang
DRIP = 0.2  # seconds between bytes: well inside a 1 s read timeout, so reads never time out

Answer = Callable[[socket.socket, threading.Event], None]


@dataclass
class Served:
    base_url: str = ""
    requests: list[str] = field(default_factory=list)  # request lines, in order
    stop: Callable[[], None] = lambda: None


def _request_line(connection: socket.socket) -> str | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


@contextlib.contextmanager
def serving(answer: Answer) -> Iterator[Served]:
    """A raw HTTP server in a thread: one request per connection, answered by `answer`,
    which must give up once the event is set (when the test ends)."""
    stopping = threading.Event()
    served = Served()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            line = _request_line(self.request)
            if line is not None:
                served.requests.append(line)
                with contextlib.suppress(OSError):
                    answer(self.request, stopping)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    served.base_url = f"http://127.0.0.1:{server.server_address[1]}"

    def stop() -> None:
        if not stopping.is_set():
            stopping.set()
            server.shutdown()
            server.server_close()

    served.stop = stop
    try:
        yield served
    finally:
        stop()


def _drip(data: bytes, connection: socket.socket, stopping: threading.Event) -> None:
    for index in range(len(data)):
        if stopping.wait(DRIP):
            return
        connection.sendall(data[index : index + 1])


def drip_everything(connection: socket.socket, stopping: threading.Event) -> None:
    """Status line, headers and body, one byte at a time."""
    body = b"{}" * 5000
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    _drip(head + body, connection, stopping)


def headers_then_drip(connection: socket.socket, stopping: threading.Event) -> None:
    """Headers at once, then the body one byte at a time."""
    body = b"x" * 10_000
    connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    _drip(body, connection, stopping)


def silent(connection: socket.socket, stopping: threading.Event) -> None:
    """Accepts the request and never answers."""
    stopping.wait(60)


def status(code: int, message: str) -> Answer:
    def answer(connection: socket.socket, stopping: threading.Event) -> None:
        body = json.dumps({"sys": {"type": "Error", "id": message}, "message": message}).encode()
        connection.sendall(
            f"HTTP/1.1 {code} {message}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )

    return answer


def finishes(action: Callable[[], Any]) -> Any:
    """Run `action`, failing the test if it is still running after HANG seconds."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = action()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), f"still running after {HANG:g} s: the deadline did not hold"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _no_sleep(seconds: float) -> None:
    pass


def _source(served: Served, retries: int = 1, **policy: Any) -> SyncSource:
    retry = RetryPolicy(retries=retries, timeout=1, sleep=_no_sleep, **policy)
    return SyncSource(Origin(served.base_url, "s", "master"), "a-token", retry)


def _sync_args(served: Served, directory: Path, *extra: str) -> list[str]:
    return [
        "sync",
        str(directory),
        "--space",
        "s",
        "--access-token",
        "a-token",
        "--base-url",
        served.base_url,
        "--timeout",
        "1",
        *extra,
    ]


# -- the deadline covers the whole request ---------------------------------------------------


@pytest.mark.parametrize("answer", [drip_everything, headers_then_drip, silent])
def test_a_slow_server_fails_each_attempt_at_the_deadline(answer: Answer) -> None:
    with serving(answer) as served:
        source = _source(served)
        with pytest.raises(SourceUnavailable) as failure:
            finishes(source.locales)
        source.close()
    assert len(served.requests) == 2  # the first attempt and one retry
    assert "timed out after 1s on each of 2 attempts" in str(failure.value)
    assert "raise --timeout" in str(failure.value)
    assert "--retries" not in str(failure.value)


def test_sync_against_a_dripping_server_exits_4_and_says_it_timed_out(tmp_path: Path) -> None:
    """A real process (the CLI installs signal handlers, so not in a thread), killed
    if it hangs."""
    with serving(drip_everything) as served:
        result = subprocess.run(
            [sys.executable, "-m", "mirror", *_sync_args(served, tmp_path / "m", "--retries", "1")],
            capture_output=True,
            text=True,
            timeout=HANG,
            env={k: v for k, v in os.environ.items() if not k.startswith("CONTENTFUL_")},
        )
    assert result.returncode == EXIT_UNAVAILABLE, result.stderr
    assert "timed out after 1s on each of 2 attempts" in result.stderr
    assert "check the server or raise --timeout" in result.stderr
    assert "--retries" not in result.stderr


def test_an_asset_download_that_trickles_fails_at_the_deadline(tmp_path: Path) -> None:
    policy = RetryPolicy(retries=1, timeout=1, sleep=_no_sleep)
    with serving(headers_then_drip) as served:
        downloads = Downloads(tmp_path, policy)
        file = AssetFile("assets/files/a/en-US/big.bin", f"{served.base_url}/big.bin", 10_000)
        downloads.fetch(file)
        try:
            with pytest.raises(SourceUnavailable, match=r"timed out after 1s on each of 2"):
                finishes(lambda: downloads.wait(lambda done: None))
        finally:
            served.stop()  # ends a download the deadline failed to end, so close() returns
            downloads.close()
    assert len(served.requests) == 2
    assert not list((tmp_path / "assets").rglob("*.part"))


# -- retries say what is happening -------------------------------------------------------


def test_each_retry_is_announced_with_attempt_and_wait() -> None:
    notices: list[str] = []
    with serving(status(503, "ServiceUnavailable")) as served:
        source = _source(served, retries=2, notice=notices.append)
        with pytest.raises(SourceUnavailable, match="HTTP 503 after 3 attempts") as failure:
            finishes(source.locales)
        source.close()
    assert "raise --retries" in str(failure.value)
    pattern = (
        r"GET /spaces/s/environments/master/locales: HTTP 503 "
        r"\(attempt {} of 3\); retrying in \d+\.\ds"
    )
    assert len(notices) == 2
    for number, line in enumerate(notices, start=1):
        assert re.fullmatch(pattern.format(number), line), line


def test_a_timed_out_attempt_is_announced_as_a_timeout() -> None:
    notices: list[str] = []
    with serving(silent) as served:
        source = _source(served, notice=notices.append)
        with pytest.raises(SourceUnavailable):
            finishes(source.locales)
        source.close()
    assert len(notices) == 1
    assert notices[0].startswith(
        "GET /spaces/s/environments/master/locales: timed out after 1s (attempt 1 of 2); "
        "retrying in "
    )


# -- an unknown space or environment is not found (7) ----------------------------------


def test_an_unknown_space_exits_7_naming_space_environment_and_base_url(tmp_path: Path) -> None:
    with serving(status(404, "NotFound")) as served:
        result = mirror(*_sync_args(served, tmp_path / "m", "--retries", "0"))
    assert result.exit_code == EXIT_NOT_FOUND, result.stderr
    message = result.stderr
    assert "space 's'" in message and "environment 'master'" in message
    assert served.base_url in message
    assert "check --space, --environment and --base-url" in message
    assert len(served.requests) == 1  # a 404 is an answer, not a reason to retry
