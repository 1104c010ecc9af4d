"""How the CLI reports failures: one line, an exit code, a traceback only with -v."""

from __future__ import annotations

import json
import signal
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from mirror.errors import EXIT_ERROR, EXIT_INTERRUPTED, MirrorError

T = TypeVar("T")


def run_guarded(
    action: Callable[[], T],
    verbose: bool = False,
    secrets: Iterable[str] = (),
    as_json: bool = False,
    left: str = "the mirror is as at its last commit",
) -> T:
    """Run `action`; turn any failure into `Error: ...` on stderr and its exit code.

    Every secret is blanked out of what is printed, including tracebacks. With
    `as_json`, stdout also gets one object, {"status": "error", "exit_code": N,
    "error": "..."}, so that a CI report is never empty when it is needed most.
    `left` says, after an interruption, what state things are in.
    """
    fail = _Failure(verbose, list(secrets), as_json)
    try:
        return action()
    except MirrorError as error:
        fail(str(error), error.exit_code)
    except KeyboardInterrupt:
        fail(f"interrupted; {left}", EXIT_INTERRUPTED)
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        fail(f"{error.strerror or error}{where}", EXIT_ERROR)
    except Exception as error:  # a bug: still one line; the traceback only with -v
        hint = "" if verbose else " (run with -v for the traceback)"
        fail(f"unexpected {type(error).__name__}: {error}{hint}", EXIT_ERROR)
    raise AssertionError("unreachable")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 page`, `2 pages`, `1 entry`, `3 entries` (give `nouns` where -s is wrong)."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if len(secret) >= 6:  # shorter is no real token, and blanking it would garble the text
            text = text.replace(secret, "***")
    return text


class _Failure:
    def __init__(self, verbose: bool, secrets: list[str], as_json: bool) -> None:
        self.verbose, self.secrets, self.as_json = verbose, secrets, as_json

    def __call__(self, message: str, code: int) -> None:
        if self.verbose:
            sys.stderr.write(redact(traceback.format_exc(), self.secrets))
        message = redact(message, self.secrets)
        if self.as_json:
            report = {"status": "error", "exit_code": code, "error": message}
            click.echo(json.dumps(report, sort_keys=True))
        click.echo(f"Error: {message}", err=True)
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
