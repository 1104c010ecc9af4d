"""The errors the core raises; the CLI turns each into one line and its exit code."""

from __future__ import annotations

# Exit codes, documented in `mirror --help` and the README.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_UNAVAILABLE = 4
EXIT_BAD_DATA = 5
EXIT_MIRROR_STATE = 6
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
\b
Exit codes:
  0  synced, or already up to date
  1  any other error
  2  usage error (bad option or argument)
  3  authentication or authorization refused (HTTP 401/403)
  4  source unavailable after retries (network, 5xx, 429)
  5  invalid data from the source (malformed JSON, schema violation, unsafe id,
     URL to another origin)
  6  the mirror is locked, dirty or inconsistent
  130 interrupted (Ctrl-C or SIGTERM); the mirror is left as at its last commit"""


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


class MirrorStateError(MirrorError):
    """The mirror is locked, has uncommitted changes, or is inconsistent."""

    exit_code = EXIT_MIRROR_STATE


class Interrupted(MirrorError):
    """The run was interrupted by a signal and rolled back."""

    exit_code = EXIT_INTERRUPTED
