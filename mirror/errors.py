"""The errors the core raises; the CLI turns each into one line and its exit code."""

from __future__ import annotations

# Exit codes, documented in each command's --help and in the README.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_UNAVAILABLE = 4
EXIT_BAD_DATA = 5
EXIT_MIRROR_STATE = 6
EXIT_NOT_FOUND = 7
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_ERROR: "any other error (disk full, I/O error, git failure, ...)",
    EXIT_USAGE: "usage error (bad option or argument)",
    EXIT_AUTH: "authentication or authorization refused (HTTP 401/403)",
    EXIT_UNAVAILABLE: "source unavailable after retries (network, timeouts, 5xx, 429)",
    EXIT_BAD_DATA: "invalid data from the source (malformed JSON, schema violation, unsafe "
    "id, URL to another origin)",
    EXIT_MIRROR_STATE: "the mirror is locked, dirty or inconsistent, or the source rejected "
    "its sync token",
    EXIT_NOT_FOUND: "the space or environment does not exist at the source (HTTP 404)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C or SIGTERM); the mirror is left as at its last commit",
}


def exit_codes_help(*codes: int, **meaning: str) -> str:
    """A command's --help epilog listing only the exit codes it can give; `meaning`
    (keyed `c6` for code 6) says what a code means for this command in particular."""
    lines = ["\b", "Exit codes:"]
    for code in codes:
        lines.append(f"  {code:<3} {meaning.get(f'c{code}', EXIT_CODES[code])}")
    return "\n".join(lines)


class MirrorError(Exception):
    """Something failed; the message says what and what to do."""

    exit_code = EXIT_ERROR


class UsageError(MirrorError):
    """The command line or configuration asks for something impossible."""

    exit_code = EXIT_USAGE


class AuthError(MirrorError):
    """The source refused the credentials (401 or 403)."""

    exit_code = EXIT_AUTH


class SourceUnavailable(MirrorError):
    """The source could not be reached or kept failing after retries."""

    exit_code = EXIT_UNAVAILABLE


class InvalidData(MirrorError):
    """The source sent something the mirror will not write."""

    exit_code = EXIT_BAD_DATA


class NotFound(MirrorError):
    """The source has no such space or environment."""

    exit_code = EXIT_NOT_FOUND


class MirrorStateError(MirrorError):
    """The mirror is locked, has uncommitted changes, or is inconsistent."""

    exit_code = EXIT_MIRROR_STATE


class StorageFailed(MirrorError):
    """The disk refused a write or read (full, read-only, I/O error, no permission)."""

    exit_code = EXIT_ERROR


def storage_failed(error: OSError, doing: str) -> StorageFailed:
    """`no space left on device while writing entries/author/x.json`: what failed and where."""
    reason = (error.strerror or str(error)).strip().rstrip(".")
    reason = reason[:1].lower() + reason[1:]
    return StorageFailed(f"{reason} while {doing}")


# How git and the kernel word a refusing disk, and how we say it.
_STORAGE_PROBLEMS = (
    ("No space left on device", "no space left on device"),
    ("Out of diskspace", "no space left on device"),
    ("Disk quota exceeded", "disk quota exceeded"),
    ("Read-only file system", "read-only file system"),
    ("Input/output error", "input/output error"),
    ("Permission denied", "permission denied"),
)


def storage_problem(lines: list[str]) -> str | None:
    """The disk's complaint in a tool's error output ("no space left on device"), if any."""
    for line in lines:
        for words, said in _STORAGE_PROBLEMS:
            if words in line:
                return said
    return None


class Interrupted(MirrorError):
    """The run was interrupted by a signal and rolled back."""

    exit_code = EXIT_INTERRUPTED
