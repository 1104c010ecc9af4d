"""`mirror diff` without the command line: resolve the two revisions, compare them,
and render the comparison in one of four formats."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mirror.delivery.objects import GitObjects
from mirror.errors import StorageFailed, UsageError
from mirror.review import render_html, render_markdown, render_text
from mirror.review.changes import compare
from mirror.review.layout import MIN_CHARS, ReportOptions
from mirror.review.location import locate
from mirror.review.model import ContentDiff
from mirror.review.revisions import Span, resolve_span

FORMATS = ("text", "markdown", "html", "json")
TRIMMABLE = ("text", "markdown")


@dataclass(frozen=True)
class DiffRequest:
    """What `mirror diff` was asked: the revisions as given, the format, and bounds."""

    rev1: str | None = None
    rev2: str | None = None
    output_format: str = "text"
    max_items: int = 200
    options: ReportOptions = field(default_factory=ReportOptions)


def report(directory: Path, request: DiffRequest) -> str:
    """The rendered review of `directory` between the revisions `request` names."""
    _check(request)
    objects, prefix = locate(directory)
    try:
        span = resolve_span(objects, prefix, request.rev1, request.rev2, str(directory))
        diff = compare(objects, prefix, span, request.max_items)
        diff.see_all = see_all(directory, span, request.output_format)
        return render(diff, request.output_format, request.options, objects)
    finally:
        objects.close()


def check_output(path: Path) -> None:
    """UsageError unless `path` names a file in a folder that exists: checked before
    the work, so that a typo costs no time, and naming the path as given."""
    try:
        problem = _output_problem(path)
    except OSError as error:  # a name too long, a loop of links, no permission to look
        problem = _reason(error)
    if problem:
        raise UsageError(f"cannot write {path}: {problem}")


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
        return None
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


def render(
    diff: ContentDiff, output_format: str, options: ReportOptions, objects: GitObjects
) -> str:
    if output_format == "json":
        value = diff.to_json(stat_only=options.stat)
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if output_format == "markdown":
        return render_markdown.render(diff, options)
    if output_format == "html":
        return render_html.render(diff, options, objects.blob)
    return render_text.render(diff, options)


def see_all(directory: Path, span: Span, output_format: str) -> str:
    """The command that shows every item of this diff."""
    revisions = f" {span.old[:12]}..{span.new[:12]}" if span.old else ""
    chosen = f" --format {output_format}" if output_format != "text" else ""
    return f"mirror diff {shlex.quote(str(directory))}{revisions} --max-items 0{chosen}"


def _check(request: DiffRequest) -> None:
    if request.output_format not in FORMATS:
        raise UsageError(f"--format {request.output_format!r}: give one of {', '.join(FORMATS)}")
    max_chars = request.options.max_chars
    if max_chars and request.output_format not in TRIMMABLE:
        raise UsageError("--max-chars bounds --format text and markdown only")
    if 0 < max_chars < MIN_CHARS:
        raise UsageError(f"--max-chars {max_chars}: give 0 (no bound) or at least {MIN_CHARS}")
