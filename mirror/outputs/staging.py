"""What every output command shares: reading the mirror without following a link out
of it, and replacing parts of OUT without ever writing through a link in OUT."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from mirror.client import tree as paths
from mirror.client.tree import MirrorTree
from mirror.errors import (
    MirrorError,
    MirrorStateError,
    StorageFailed,
    UsageError,
    storage_failed,
)


@contextlib.contextmanager
def writing(out: Path) -> Iterator[None]:
    """A disk that refuses a write while OUT is being made says so, naming the file
    (OUT itself stays as it was: everything is written beside it first)."""
    try:
        yield
    except sqlite3.OperationalError as error:
        if "full" not in str(error) and "disk" not in str(error):
            raise
        reason = "no space left on device" if "full" in str(error) else str(error)
        raise StorageFailed(f"{reason} while writing {out}; OUT is as it was") from None
    except OSError as error:
        if error.errno is None:
            raise
        where = error.filename or out
        raise storage_failed(error, f"writing {where}; OUT is as it was") from None


def refuse_links_in_mirror(directory: Path) -> None:
    """MirrorStateError naming the first symbolic link in the mirror's folders: reading
    through it would put a file from outside the mirror into the output."""
    links = MirrorTree(directory).symlinks()
    if links:
        link = directory / links[0]
        raise MirrorStateError(
            f"{link} is a symbolic link (to {os.readlink(link)}); an output holds only the "
            "mirror's own files: run mirror sync --full, which replaces it with the file the "
            "source has"
        )


def refuse_file_above(out: Path) -> None:
    """UsageError when a folder OUT needs is a file (`mobile/seed` with `mobile` a file)."""
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(
                    f"OUT {out} cannot be written: {parent} is a file, not a folder; "
                    "choose an OUT inside a folder"
                )
            return


def refuse_overlap(directory: Path, out: Path, replaced: list[Path]) -> None:
    """UsageError when OUT is the mirror, or writing it would replace or change the
    mirror's own files (its folders, mirror.json, .git)."""
    mirror = Path(os.path.realpath(directory))
    if Path(os.path.realpath(out)) == mirror:
        raise UsageError(f"OUT {out} is the mirror itself; choose an OUT outside the mirror")
    for path in replaced:
        real = Path(os.path.realpath(path.parent)) / path.name  # a link here is replaced
        if mirror.is_relative_to(real):
            raise UsageError(
                f"OUT {out} would replace {path}, which holds the mirror {directory}; "
                "choose an OUT outside the mirror"
            )
        part = real.relative_to(mirror).parts[0] if real.is_relative_to(mirror) else ""
        if part in (*paths.MANAGED, ".git"):
            raise UsageError(
                f"OUT {out} is inside the mirror's own files ({directory / part}); "
                "choose an OUT outside the mirror"
            )


def remove(path: Path) -> None:
    """Remove what is at `path`: a symbolic link itself (never its target), a file, or a
    folder (rmtree removes the links inside it, never what they point to)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


class Staging:
    """`with Staging(path, out) as staging:` a scratch folder beside what a command
    replaces. New files go into `staging.new`; `swap` puts them in place with a rename,
    so they appear all at once; the scratch folder goes at the end, whatever happened.

    Its name is the command's own: whatever is there (a crash's leftovers, a planted
    symbolic link) is removed first, and it is then created afresh, so nothing is ever
    written through a link."""

    def __init__(self, path: Path, out: Path) -> None:
        self.path, self.out = path, out
        self.new, self._old = path / "new", path / "old"
        self._moved = 0

    def __enter__(self) -> Staging:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            remove(self.path)
            self.path.mkdir()  # fails if anything appeared there meanwhile
            self.new.mkdir()
            self._old.mkdir()
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            raise MirrorError(
                f"cannot write to {self.out}: {reason}; make it writable or choose another OUT"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        remove(self.path)

    def swap(self, new: Path, target: Path) -> None:
        """Put `new` at `target`. A file replaces a file in one rename; otherwise what
        was at `target` (a folder, a file, a symbolic link itself) is moved out first."""
        if os.path.lexists(target) and (new.is_dir() or not target.is_file()):
            self._moved += 1
            os.replace(target, self._old / str(self._moved))
        os.replace(new, target)


def files_in(folder: Path, base: Path) -> set[str]:
    """The files below `folder`, as paths relative to `base`; none below a link."""
    if folder.is_symlink() or not folder.is_dir():
        return set()
    return {
        (Path(directory) / name).relative_to(base).as_posix()
        for directory, _, names in os.walk(folder)
        for name in names
    }
