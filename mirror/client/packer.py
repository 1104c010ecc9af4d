"""Streams the round's files into one Git pack while they are written.

`git fast-import` runs beside the round: every file the round writes is sent as a
blob at once (compressed in the other process, straight into a pack: no loose
objects), and the commit is built at the end from the parent commit plus the
round's list of changed paths. Nothing is referenced until the caller moves HEAD.
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from mirror.errors import MirrorError


class Packer:
    """One round's fast-import process. Spool lines: `M <mark> <sha> <path>` or `D <path>`."""

    def __init__(self, git_command: list[str], cwd: Path, env: dict[str, str], spool: Path) -> None:
        self._process = subprocess.Popen(
            [*git_command, "fast-import", "--quiet", "--done", "--date-format=raw"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            bufsize=1 << 20,
        )
        assert self._process.stdin is not None
        self._stdin: IO[bytes] = self._process.stdin
        self._spool = open(spool, "ab")  # noqa: SIM115 - closed by finish() or abort()
        self._marks = 0

    def add(self, path: str, data: bytes) -> None:
        """Send a file's new bytes; recorded as a change of `path` (mirror-relative)."""
        self._marks += 1
        header = b"blob\nmark :%d\ndata %d\n" % (self._marks, len(data))
        self._stdin.write(header + data + b"\n")
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        self._spool.write(b"M %d %s %s\0" % (self._marks, sha.encode(), path.encode()))

    def remove(self, path: str) -> None:
        self._spool.write(b"D " + path.encode() + b"\0")

    def finish(
        self, ref: str, parent: str | None, prefix: str, author: tuple[str, str], message: str
    ) -> None:
        """Write the commit to `ref` from the spooled changes and wait for the pack."""
        self._spool.close()
        name, email = author
        stamp = f"{int(time.time())} +0000"
        body = message.encode()
        who = f"{name} <{email}> {stamp}"
        head = f"commit {ref}\nauthor {who}\ncommitter {who}\n".encode()
        head += b"data %d\n" % len(body) + body + b"\n"
        if parent:
            head += f"from {parent}\n".encode()
        self._stdin.write(head)
        for change in read_spool(Path(self._spool.name)):
            kind, _, path = change
            if kind == "D":
                self._stdin.write(b"D " + _quote(prefix + path) + b"\n")
            else:
                self._stdin.write(b"M 100644 :%s " % kind.encode() + _quote(prefix + path) + b"\n")
        self._stdin.write(b"\ndone\n")
        self._close()

    def abort(self) -> None:
        if not self._spool.closed:
            self._spool.close()
        self._process.kill()
        self._process.wait()

    def _close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self._stdin.close()
        error = self._process.stderr.read() if self._process.stderr else b""
        if self._process.wait() != 0:
            last = error.decode("utf-8", "replace").strip().splitlines()[-1:] or ["failed"]
            raise MirrorError(f"git fast-import failed: {last[0]}")


def read_spool(spool: Path) -> Iterator[tuple[str, str, str]]:
    """(mark or "D", sha or "", mirror-relative path) for every spooled change, in order."""
    if not spool.exists():
        return
    for record in spool.read_bytes().split(b"\0"):
        if record.startswith(b"M "):
            _, mark, sha, path = record.split(b" ", 3)
            yield mark.decode(), sha.decode(), path.decode()
        elif record.startswith(b"D "):
            yield "D", "", record[2:].decode()


def _quote(path: str) -> bytes:
    raw = path.encode()
    if b"\n" in raw or raw.startswith(b'"') or b"\\" in raw:
        escaped = raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n")
        return b'"' + escaped + b'"'
    return raw
