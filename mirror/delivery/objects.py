"""Reading a mirror's Git objects: trees listed with `ls-tree`, blobs streamed through
one long-lived `cat-file --batch`, changes between commits from `diff-tree`. Never
the work tree, so that a `mirror sync` running meanwhile changes nothing read here."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mirror.errors import MirrorError
from mirror.wire import parse_json

_FILE_MODES = ("100644", "100755")  # not links (120000) nor submodules
_GIT_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


@dataclass(frozen=True)
class Change:
    path: str  # mirror-relative
    old_id: str | None  # the blob before, None if there was no file
    new_id: str | None  # the blob after, None if there is no file now


class GitObjects:
    """Reads one repository's objects with git plumbing; never its work tree."""

    def __init__(self, top: Path, git_dir: Path) -> None:
        self.top = top
        self.git_dir = git_dir
        self._env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_DROP}
        self._env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
        self._batch: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def command(self, *args: str) -> list[str]:
        return ["git", "--literal-pathspecs", "-c", "core.quotePath=false", *args]

    def run(self, *args: str, check: bool = True) -> bytes:
        result = subprocess.run(
            self.command(*args), cwd=self.top, env=self._env, capture_output=True, check=False
        )
        if check and result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise MirrorError(f"git {args[0]} failed: {(message or ['no message'])[-1]}")
        return result.stdout if result.returncode == 0 else b""

    def blob(self, name: str) -> bytes | None:
        """The blob `name` (an object id or `<commit>:<path>`), or None if there is none."""
        if "\n" in name:
            return None
        with self._lock:
            batch = self._batch
            if batch is None or batch.poll() is not None:
                batch = self._batch = self._popen("cat-file", "--batch")
            assert batch.stdin is not None and batch.stdout is not None
            batch.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
            batch.stdin.flush()
            found = _read_object(batch.stdout)
        return found[1] if found and found[0] == "blob" else None

    def json(self, commit: str, path: str) -> Any:
        """The JSON file `path` at `commit`, parsed; None if there is no such file."""
        raw = self.blob(f"{commit}:{path}")
        if raw is None:
            return None
        try:
            return parse_json(raw)
        except ValueError:
            raise MirrorError(f"{path} at {commit[:10]} is not JSON") from None

    def blobs(self, object_ids: Sequence[str]) -> Iterator[bytes | None]:
        """The blobs `object_ids`, in order, streamed through one `cat-file --batch`:
        memory holds one blob at a time, whatever their number."""
        if not object_ids:
            return
        process = self._popen("cat-file", "--batch", "--buffer")
        assert process.stdin is not None and process.stdout is not None
        writer = threading.Thread(target=_feed, args=(process.stdin, object_ids), daemon=True)
        writer.start()
        try:
            for _ in object_ids:
                found = _read_object(process.stdout)
                yield found[1] if found and found[0] == "blob" else None
        finally:
            process.stdout.close()
            process.kill()
            process.wait()
            writer.join()

    def changes(self, old: str, new: str, prefix: str) -> list[Change]:
        """Files of entries/ and assets/ that differ between two commits (`diff-tree`),
        with mirror-relative paths; a link or submodule counts as no file."""
        out = self.run(
            "diff-tree",
            "-r",
            "-z",
            "--no-renames",
            old,
            new,
            "--",
            prefix + "entries",
            prefix + "assets",
        )
        records = out.split(b"\0")
        found = []
        for info, name in zip(records[0:-1:2], records[1::2], strict=True):
            old_mode, new_mode, old_id, new_id, _ = info.decode().lstrip(":").split()
            found.append(
                Change(
                    name.decode("utf-8", "surrogateescape").removeprefix(prefix),
                    old_id if old_mode in _FILE_MODES else None,
                    new_id if new_mode in _FILE_MODES else None,
                )
            )
        return found

    def is_commit(self, name: str) -> bool:
        result = subprocess.run(
            self.command("cat-file", "-e", f"{name}^{{commit}}"),
            cwd=self.top,
            env=self._env,
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def close(self) -> None:
        with self._lock:
            if self._batch is not None:
                with contextlib.suppress(OSError):
                    assert self._batch.stdin is not None
                    self._batch.stdin.close()
                self._batch.kill()
                self._batch.wait()
                self._batch = None

    def _popen(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command(*args),
            cwd=self.top,
            env=self._env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )


def _feed(stream: IO[bytes], object_ids: Sequence[str]) -> None:
    with contextlib.suppress(OSError, ValueError):  # the reader stopped early
        for object_id in object_ids:
            stream.write(object_id.encode() + b"\n")
        stream.close()


def _read_object(stream: IO[bytes]) -> tuple[str, bytes] | None:
    header = stream.readline()
    parts = header.split()
    if len(parts) != 3:  # "<name> missing" or "<name> ambiguous"
        return None
    size = int(parts[2])
    data = stream.read(size)
    stream.read(1)  # the newline after the contents
    return parts[1].decode(), data
