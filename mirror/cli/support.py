"""How the CLI reports failures: one line, an exit code, a traceback only with -v."""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from mirror.errors import EXIT_ERROR, EXIT_INTERRUPTED, MirrorError

T = TypeVar("T")


def run_guarded(action: Callable[[], T], verbose: bool = False, secrets: Iterable[str] = ()) -> T:
    """Run `action`; turn any failure into `Error: ...` on stderr and its exit code.

    Every secret is blanked out of what is printed, including tracebacks.
    """
    try:
        return action()
    except MirrorError as error:
        _fail(str(error), error.exit_code, verbose, secrets)
    except KeyboardInterrupt:
        _fail(
            "interrupted; the mirror is as at its last commit", EXIT_INTERRUPTED, verbose, secrets
        )
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        _fail(f"{error.strerror or error}{where}", EXIT_ERROR, verbose, secrets)
    except Exception as error:  # a bug: still one line; the traceback only with -v
        hint = "" if verbose else " (run with -v for the traceback)"
        _fail(f"unexpected {type(error).__name__}: {error}{hint}", EXIT_ERROR, verbose, secrets)
    raise AssertionError("unreachable")


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if len(secret) >= 6:  # shorter is no real token, and blanking it would garble the text
            text = text.replace(secret, "***")
    return text


def _fail(message: str, code: int, verbose: bool, secrets: Iterable[str]) -> None:
    secrets = list(secrets)
    if verbose:
        sys.stderr.write(redact(traceback.format_exc(), secrets))
    click.echo(redact(f"Error: {message}", secrets), err=True)
    sys.exit(code)


def install_sigterm() -> None:
    """Treat SIGTERM (a cancelled CI job) like Ctrl-C: roll back, then exit 130."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


class ProgressLine:
    """Pages, items and items/s on one self-rewriting stderr line."""

    def __init__(self) -> None:
        self._shown = False

    @classmethod
    def if_terminal(cls) -> ProgressLine | None:
        return cls() if sys.stderr.isatty() else None

    def update(self, result: Any, seconds: float) -> None:
        rate = result.items / seconds if seconds > 0 else 0.0
        sys.stderr.write(
            f"\r  {result.pages} pages, {result.items:,} items, {rate:,.0f} items/s   "
        )
        sys.stderr.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
