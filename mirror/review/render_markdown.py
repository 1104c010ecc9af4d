"""A review as GitHub-flavoured Markdown, for a pull request's body or a job summary:
counts as a table, each item a list with its fields nested, word diffs as
<del>/<ins>. Content is escaped, so a title can neither inject HTML nor markup."""

from __future__ import annotations

import re
from urllib.parse import quote

from mirror.review.layout import (
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

NONE = "*(none)*"
# What could start markup inside a line: emphasis, code, links (with `[` escaped no
# `(`, `!` or `)` can make one), tables, strikethrough, and `$` (math on GitHub).
# Content never starts a line here, so list and heading markers need nothing.
_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")


def escape(text: str) -> str:
    """Content as literal Markdown text on one line (line breaks become <br>)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text).replace("\n", "<br>")


def code_span(text: str) -> str:
    """`text` as inline code, fenced with more backticks than it holds."""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if "`" in text else f"`{text}`"


def render(diff: ContentDiff, options: ReportOptions) -> str:
    head = [f"### Content changes: {escape(headline(diff))}\n\n{escape(totals(diff))}\n"]
    if diff.model:
        head.append(_model(diff))
    head.append(_counts(diff))
    if options.stat:
        return "".join(head)
    if diff.empty:
        return head[0] + "\nNo content changed.\n"
    items = [_item(item, first) for first, item in with_groups(diff.items)]

    def tail(left_out: int, cut: bool) -> str:
        note = left_out_note(diff, left_out, options.max_chars if cut else 0, code_span)
        url = options.report_url
        link = f"\nfull report: <{quote(url, safe=':/?#&=%+@!,;~')}>\n" if url else ""
        return f"\n{note}\n{link}"

    return fit(head, items, tail, diff.omitted, options.max_chars)


def _counts(diff: ContentDiff) -> str:
    if not diff.counts:
        return ""
    actions = count_columns(diff)
    lines = ["", "| content type | " + " | ".join(actions) + " |"]
    lines.append("|---" + "|--:" * len(actions) + "|")
    for count in diff.counts:
        name = escape(count.group) if count.kind == "entry" else "*(assets)*"
        cells = " | ".join(f"{getattr(count, a):,}" for a in actions)
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines) + "\n"


def _model(diff: ContentDiff) -> str:
    lines = ["", "**⚠ Content model changes** (these can break a build):", ""]
    lines += [f"- **{escape(change.subject)}**: {escape(change.what)}" for change in diff.model]
    return "\n".join(lines) + "\n"


def _item(item: ItemChange, first_of_group: bool) -> str:
    lines = [f"\n#### {escape(group_title(item))}\n"] if first_of_group else []
    retyped = f" (was {escape(str(item.old_content_type))})" if item.action == "retyped" else ""
    lines.append(f"- **{item.action}** {escape(item.title)} `{item.id}`{retyped}")
    added = item.action == "added"
    lines += [f"  - {_field(change, added)}" for change in item.fields]
    if item.note:
        lines.append(f"  - *{escape(item.note)}*")
    return "\n".join(lines) + "\n"


def _field(change: FieldChange, added: bool) -> str:
    locale = f" {code_span(change.locale)}" if change.locale else ""
    label = f"**{escape(change.field)}**{locale}"
    if change.note is not None:
        return f"{label}: *({escape(change.note)})*"
    if change.words is not None:
        return f"{label}: {_words(change.words)}"
    if added:
        return f"{label}: {_value(change.after)}"
    return f"{label}: {_value(change.before)} → {_value(change.after)}"


def _value(text: str | None) -> str:
    return NONE if text is None else escape(text)


def _words(segments: list[Segment]) -> str:
    tags = {"=": "{}", "-": "<del>{}</del>", "+": "<ins>{}</ins>"}
    return "".join(tags[op].format(escape(text)) for op, text in segments)
