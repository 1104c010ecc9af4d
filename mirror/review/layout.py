"""What every format of a review says the same way: the headline, the totals, the
note on items left out, and fitting a report into a number of characters by
leaving out whole items from the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mirror.review.model import ACTIONS, ContentDiff, ItemChange, Revision

SYMBOLS = {"added": "+", "changed": "~", "deleted": "-", "retyped": "*"}
MIN_CHARS = 300  # below this no report fits, not even its headline and the note


@dataclass(frozen=True)
class ReportOptions:
    """How a report is bounded: only the counts (`stat`); at most `max_chars`
    characters (0: no bound), cut at an item; a link to the full report."""

    stat: bool = False
    max_chars: int = 0
    report_url: str | None = None


def headline(diff: ContentDiff) -> str:
    """`wayfarer/master: round 4 → round 5 (1ec3106c64..34ddcd33cf)`."""
    where = f"{diff.space}/{diff.environment}" if diff.space else "the mirror"
    span = f"{diff.old.short}..{diff.new.short}" if diff.old.commit else diff.new.short
    return f"{where}: {_round(diff.old)} → {_round(diff.new)} ({span})"


def _round(revision: Revision) -> str:
    if revision.commit is None:
        return "nothing"
    return f"round {revision.round}" if revision.round is not None else revision.short


def totals(diff: ContentDiff) -> str:
    """`9 items: 3 added, 3 changed, 3 deleted; content model: 2 changes`."""
    sums = {action: sum(getattr(c, action) for c in diff.counts) for action in ACTIONS}
    parts = [f"{sums[a]:,} {a}" for a in ACTIONS if sums[a]]
    items = f"{diff.total_items:,} item{'s' if diff.total_items != 1 else ''}"
    model = len(diff.model)
    said = f"{model} change{'s' if model != 1 else ''}" if model else "unchanged"
    return f"{items}" + (f": {', '.join(parts)}" if parts else "") + f"; content model: {said}"


def count_columns(diff: ContentDiff) -> list[str]:
    """The actions some item took, in ACTIONS order: a column of zeros says nothing."""
    return [a for a in ACTIONS if any(getattr(count, a) for count in diff.counts)]


def group_title(item: ItemChange) -> str:
    return "assets" if item.kind == "asset" else f"entries of {item.content_type}"


def with_groups(items: list[ItemChange]) -> Iterator[tuple[bool, ItemChange]]:
    """Each item, with whether it is the first of its group (so gets its heading)."""
    previous = None
    for item in items:
        group = (item.kind, item.group)
        yield group != previous, item
        previous = group


def left_out_note(
    diff: ContentDiff, left_out: int, cut_to: int, code: Callable[[str], str] = "`{}`".format
) -> str:
    """`… and 57 more items (cut to fit 65,536 characters): run `…` to see them all`;
    `code` sets the command as code."""
    why = f" (cut to fit {cut_to:,} characters)" if cut_to else ""
    see = f": run {code(diff.see_all)} to see them all" if diff.see_all else ""
    return f"… and {left_out:,} more item{'s' if left_out != 1 else ''}{why}{see}"


def fit(
    head: list[str],
    items: list[str],
    tail: Callable[[int, bool], str],
    omitted: int,
    max_chars: int,
) -> str:
    """`head` and `items` joined, with `tail(left_out, cut)` after them when items are
    left out (`omitted` already were, by --max-items). With `max_chars`, whole
    chunks are left out from the end until the text and its tail fit."""
    chunks = head + items
    whole = "".join(chunks) + (tail(omitted, False) if omitted else "")
    if max_chars == 0 or len(whole) <= max_chars:
        return whole
    budget = max_chars - len(tail(len(items) + omitted, True))
    kept: list[str] = []
    used = 0
    for chunk in chunks:
        if used + len(chunk) > budget:
            break
        kept.append(chunk)
        used += len(chunk)
    shown_items = max(0, len(kept) - len(head))
    return "".join(kept) + tail(len(items) - shown_items + omitted, True)
