"""A file of text a command writes at a path the user gave (a report, a manifest):
checked before the work that fills it, and replaced whole, never half written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from mirror.errors import StorageFailed, UsageError


def check_output(path: Path, option: str | None = None) -> None:
    """UsageError unless `path` names a file in a folder that exists: checked before
    the work, so that a typo costs no time (nor, for a manifest, the list of what
    changed), and naming the path as given, with the `option` that gave it."""
    try:
        problem = _output_problem(path)
    except OSError as error:  # a name too long, a loop of links, no permission to look
        problem = _reason(error)
    if problem:
        said = f"{option} {path} cannot be written" if option else f"cannot write {path}"
        raise UsageError(f"{said}: {problem}")


def write_atomically(path: Path, text: str) -> None:
    """`text` into `path` through a temporary file beside it and a rename: a reader
    sees the old file or the whole new one, never half of it. A link at `path` is
    replaced, never written through. A failure names `path`, not the temporary file."""
    check_output(path)
    try:
        _replace(path, text)
    except OSError as error:
        raise StorageFailed(f"cannot write {path}: {_reason(error)}") from None


def _output_problem(path: Path) -> str | None:
    if path.is_dir() and not path.is_symlink():
        return "it is a folder; give a file name"
    folder = path.parent
    if folder.is_dir():
        return None if os.access(folder, os.W_OK) else f"the folder {folder} is read-only"
    return f"{folder} is not a folder" if os.path.lexists(folder) else f"no such folder {folder}"


def _replace(path: Path, text: str) -> None:
    # The temporary name is kept short: any name `path` may have must fit beside it.
    prefix = f".{path.name[:64]}."
    descriptor, temporary = tempfile.mkstemp(prefix=prefix, dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _reason(error: OSError) -> str:
    """The system's words for `error` ("file name too long"), to end a sentence."""
    reason = (error.strerror or str(error)).rstrip(".")
    return reason[:1].lower() + reason[1:]
