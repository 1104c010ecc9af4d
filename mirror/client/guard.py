"""One sync at a time per mirror, and a journal that tells a crashed round from a
person's edits. Both live in the repository's git dir, never in the work tree."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import signal
import time
from pathlib import Path
from types import TracebackType

from mirror.errors import MirrorError, MirrorStateError, StorageFailed, storage_failed


def mirror_key(prefix: str) -> str:
    """A short name for the mirror at `prefix` in its repository (several may share one)."""
    return hashlib.sha1(prefix.encode()).hexdigest()[:12] if prefix else "root"


class RoundGuard:
    """`with RoundGuard(git_dir, prefix) as guard:` holds the mirror's lock.

    The lock is an flock: the kernel releases it when its process dies, so a
    killed run never leaves a stale lock behind. `area` names a lock, journal and
    scratch folder of their own below the mirror's (`branch`: the rounds of mirror
    sync --branch, which run in a private work tree); housekeeping is one for all.
    """

    def __init__(self, git_dir: Path, prefix: str, area: str = "") -> None:
        self.home = git_dir / "mirror" / mirror_key(prefix)
        self.folder = self.home / area if area else self.home
        self.scratch = self.folder / "scratch"
        self.spool = self.scratch / "changes"
        self._journal = self.folder / "round-in-progress"
        self._handle: int | None = None

    def __enter__(self) -> RoundGuard:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise _cannot_write(error, self.folder / "lock") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(handle, 32).decode(errors="replace").strip() or "unknown"
            os.close(handle)
            raise MirrorStateError(
                f"the mirror is locked by pid {holder}: another mirror sync is running on it; "
                "wait for it to finish"
            ) from None
        with contextlib.suppress(OSError):  # only says who holds the lock; a full disk may refuse
            os.ftruncate(handle, 0)
            os.write(handle, f"{os.getpid()}\n".encode())
        self._handle = handle
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._handle, 0)
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None

    @property
    def housekeeping_lock(self) -> Path:
        return self.home / "housekeeping.lock"

    def wait_for_housekeeping(self, seconds: float = 120.0) -> None:
        """Let a detached housekeeping of the last round finish before a new round."""
        wait_for_lock(self.housekeeping_lock, seconds)

    def interrupted_round(self) -> str | None:
        """What the journal says of a round that never finished, or None."""
        try:
            return self._journal.read_text().strip() or "unknown"
        except FileNotFoundError:
            return None

    def begin_round(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
        try:
            self.scratch.mkdir(parents=True)
            self._journal.write_text(f"pid {os.getpid()}\n")
        except OSError as error:
            self._journal.unlink(missing_ok=True)  # a journal cut short would say nothing
            raise storage_failed(error, f"starting the round in {self.folder}") from None

    def end_round(self) -> None:
        self._journal.unlink(missing_ok=True)
        shutil.rmtree(self.scratch, ignore_errors=True)


def _cannot_write(error: OSError, where: Path) -> MirrorError:
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StorageFailed(
            f"cannot write to the mirror's repository ({where}: {error.strerror}); mirror sync "
            "writes its lock and commits there: run it on a writable clone, or fix the "
            "folder's permissions"
        )
    return storage_failed(error, f"taking the mirror's lock ({where})")


def wait_for_lock(path: Path, seconds: float) -> bool:
    """Wait until nobody holds the flock on `path` (or `seconds` pass); True if free."""
    if not path.exists():
        return True
    handle = os.open(path, os.O_RDWR)
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(handle, fcntl.LOCK_UN)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
    finally:
        os.close(handle)


def kill_point(name: str) -> None:
    """Crash-recovery tests name a point where the process kills itself (SIGKILL)
    through MIRROR_TEST_KILL_AT; without it this does nothing."""
    if os.environ.get("MIRROR_TEST_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
