"""Streams the round's files into one Git pack while they are written, and builds
the round's trees.

`git fast-import` runs beside the round and takes every changed file as a blob at
once: compressed in another process, straight into a pack, no loose objects. Blob
ids are computed here, so the trees can be built without asking git. Trees are
rebuilt only for folders with changes (read with `git cat-file --batch`, written
with `git mktree`): fast-import's own tree building is quadratic in the size of a
folder, and a content type folder can hold 100,000 files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from mirror.errors import MirrorError, StorageFailed, storage_failed, storage_problem

Run = Callable[[list[str], bytes], bytes]  # git arguments, stdin -> stdout


class Packer:
    """One round's blob stream. Spool records: `M <id> <path>` or `D <path>`."""

    def __init__(
        self,
        command: list[str],
        cwd: Path,
        env: dict[str, str],
        spool: Path,
        hash_name: str,
        pack_dir: Path,
        git_dir: Path,
    ) -> None:
        # fast-import writes tmp_pack_* files here and leaves them when it dies;
        # abort() removes this round's, which is what frees a full disk. Its crash
        # report goes to the git dir of the work tree it runs in.
        self._pack_dir = pack_dir
        self._git_dir = git_dir
        self._leftovers_before = set(_temporary_packs(pack_dir))
        self._process = subprocess.Popen(
            [*command, "fast-import", "--quiet", "--done"],
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
        self._hash = getattr(hashlib, hash_name)

    def add(self, path: str, data: bytes) -> None:
        """Send a file's new bytes; recorded as a change of `path` (mirror-relative)."""
        object_id = self._hash(b"blob %d\0" % len(data) + data).hexdigest()
        with self._failures(path):
            self._stdin.write(b"blob\ndata %d\n" % len(data) + data + b"\n")
            self._spool.write(b"M %s %s\0" % (object_id.encode(), path.encode()))

    def add_file(self, path: str, source: Path) -> None:
        """Like add(), for a file already on disk (an asset file), streamed."""
        with self._failures(path):
            size = source.stat().st_size
            digest = self._hash(b"blob %d\0" % size)
            self._stdin.write(b"blob\ndata %d\n" % size)
            with open(source, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
                    self._stdin.write(chunk)
            self._stdin.write(b"\n")
            self._spool.write(b"M %s %s\0" % (digest.hexdigest().encode(), path.encode()))

    def remove(self, path: str) -> None:
        with self._failures(path):
            self._spool.write(b"D " + path.encode() + b"\0")

    def finish(self) -> None:
        """Wait until every blob is in the pack."""
        with self._failures(None):
            self._spool.close()
            self._stdin.write(b"done\n")
            with contextlib.suppress(BrokenPipeError):
                self._stdin.close()
        if self._process.wait() != 0:
            raise self._fast_import_failed()

    def abort(self) -> None:
        """Stop the stream and remove what it wrote; safe to call more than once."""
        with contextlib.suppress(OSError):
            self._spool.close()  # its unflushed tail may not fit on a full disk
        self._process.kill()
        self._process.wait()
        for leftover in set(_temporary_packs(self._pack_dir)) - self._leftovers_before:
            leftover.unlink(missing_ok=True)
        crash_report = self._git_dir / f"fast_import_crash_{self._process.pid}"
        crash_report.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _failures(self, path: str | None) -> Iterator[None]:
        """Name what failed: fast-import (it died: a full disk, usually) or the spool."""
        try:
            yield
        except BrokenPipeError:
            self._process.wait()
            raise self._fast_import_failed() from None
        except OSError as error:
            where = f"recording {path}" if path else "finishing the round"
            raise storage_failed(error, f"{where} in {self._spool.name}") from None

    def _fast_import_failed(self) -> MirrorError:
        error = self._process.stderr.read() if self._process.stderr else b""
        lines = error.decode("utf-8", "replace").strip().splitlines()
        problem = storage_problem(lines)
        if problem:
            return StorageFailed(f"{problem} while packing the round's files into {self._pack_dir}")
        return MirrorError(f"git fast-import failed: {(lines[-1:] or ['no message'])[0]}")


def _temporary_packs(pack_dir: Path) -> list[Path]:
    try:
        return [pack_dir / name for name in os.listdir(pack_dir) if name.startswith("tmp_")]
    except OSError:
        return []


def read_spool(spool: Path) -> Iterator[tuple[str, str | None]]:
    """(mirror-relative path, new blob id or None for a deletion), in order, read in
    chunks so that a round of 100,000 changes is never in memory at once."""
    if not spool.exists():
        return
    with open(spool, "rb") as handle:
        rest = b""
        while chunk := handle.read(1 << 16):
            records = (rest + chunk).split(b"\0")
            rest = records.pop()
            for record in records:
                if record.startswith(b"M "):
                    _, object_id, path = record.split(b" ", 2)
                    yield path.decode(), object_id.decode()
                elif record.startswith(b"D "):
                    yield record[2:].decode(), None
