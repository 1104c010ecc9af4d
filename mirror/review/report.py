"""`mirror diff` without the command line: resolve the two revisions, compare them,
and render the comparison in one of four formats."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from mirror.delivery.objects import GitObjects
from mirror.errors import UsageError
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
