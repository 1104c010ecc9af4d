"""A review as plain text for a terminal: word diffs marked as `git diff --word-diff`
does, `[-removed-]{+added+}`."""

from __future__ import annotations

from mirror.review.layout import (
    SYMBOLS,
    ReportOptions,
    count_columns,
    fit,
    group_title,
    headline,
    left_out_note,
    totals,
    with_groups,
)
from mirror.review.model import ContentDiff, FieldChange, ItemChange
from mirror.review.words import Segment

NONE = "(none)"
INDENT = "    "


def render(diff: ContentDiff, options: ReportOptions) -> str:
    head = [f"{headline(diff)}\n{totals(diff)}\n"]
    if diff.model:
        head.append(_model(diff))
    head.append(_counts(diff))
    if options.stat:
        return "".join(head)
    if diff.empty:
        return head[0] + "no content changed\n"
    items = [_item(item, first) for first, item in with_groups(diff.items)]

    def tail(left_out: int, cut: bool) -> str:
        note = "\n" + left_out_note(diff, left_out, options.max_chars if cut else 0) + "\n"
        return note + (f"full report: {options.report_url}\n" if options.report_url else "")

    return fit(head, items, tail, diff.omitted, options.max_chars)


def _counts(diff: ContentDiff) -> str:
    if not diff.counts:
        return ""
    names = [count.group if count.kind == "entry" else "(assets)" for count in diff.counts]
    width = max(len(name) for name in [*names, "content type"])
    actions = count_columns(diff)
    lines = ["\n" + "content type".ljust(width) + "".join(f"{a:>9}" for a in actions)]
    for name, count in zip(names, diff.counts, strict=True):
        lines.append(name.ljust(width) + "".join(f"{getattr(count, a):>9,}" for a in actions))
    return "\n".join(lines) + "\n"


def _model(diff: ContentDiff) -> str:
    lines = ["\nContent model changes (these can break a build):"]
    lines += [f"  {change.subject}: {change.what}" for change in diff.model]
    return "\n".join(lines) + "\n"


def _item(item: ItemChange, first_of_group: bool) -> str:
    lines = [f"\n{group_title(item)}"] if first_of_group else []
    retyped = f", was {item.old_content_type}" if item.action == "retyped" else ""
    lines.append(f"{SYMBOLS[item.action]} {item.action}: {item.title} ({item.id}){retyped}")
    lines += [_field(change, added=item.action == "added") for change in item.fields]
    if item.note:
        lines.append(f"{INDENT}{item.note}")
    return "\n".join(lines) + "\n"


def _field(change: FieldChange, added: bool) -> str:
    if change.note is not None:
        text = f"({change.note})"
    elif change.words is not None:
        text = _words(change.words)
    elif added:
        text = change.after if change.after is not None else NONE
    else:
        text = f"{_value(change.before)} → {_value(change.after)}"
    if "\n" in text:
        body = text.replace("\n", "\n" + INDENT * 2)
        return f"{INDENT}{change.label}:\n{INDENT * 2}{body}"
    return f"{INDENT}{change.label}: {text}"


def _value(text: str | None) -> str:
    return NONE if text is None else text


def _words(segments: list[Segment]) -> str:
    marks = {"=": "{}", "-": "[-{}-]", "+": "{{+{}+}}"}
    return "".join(marks[op].format(text) for op, text in segments)
