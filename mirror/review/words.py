"""A word-level diff of two texts, for people: what was struck out and what was put
in, with long unchanged stretches shortened to a few words either side."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

Op = Literal["=", "-", "+"]
Segment = tuple[Op, str]  # ("=", kept), ("-", removed), ("+", added)

# A word keeps its inner hyphens, apostrophes, dots, slashes and colons (`don't`,
# `tbilisi-narikala`, `4.5`, a URL); other punctuation stands alone, so that a comma
# added after a word does not make the word itself look replaced.
_TOKEN = re.compile(r"\n|[^\S\n]+|\w[\w'\N{RIGHT SINGLE QUOTATION MARK}./:@-]*\w|\w|[^\w\s]")
ELLIPSIS = "…"
# Beyond this many tokens a side, compare lines instead of words: difflib's matcher
# grows with the product of the lengths, and a huge document must not stall a report.
_MAX_TOKENS = 20_000


def tokens(text: str) -> list[str]:
    """Words, punctuation, runs of spaces and line breaks, in order: joined, they give
    `text` back."""
    return _TOKEN.findall(text)


def word_diff(before: str, after: str, context: int = 8) -> list[Segment]:
    """The segments that turn `before` into `after`; unchanged runs keep `context`
    words next to each change, the rest becomes `…`."""
    old, new = tokens(before), tokens(after)
    if len(old) > _MAX_TOKENS or len(new) > _MAX_TOKENS:
        old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(("=", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            segments.append(("-", "".join(old[i1:i2])))
        if j2 > j1:
            segments.append(("+", "".join(new[j1:j2])))
    return _shorten(_merge(segments), context)


def changed(segments: list[Segment]) -> bool:
    return any(op != "=" for op, _ in segments)


@dataclass
class _Change:
    removed: str = ""
    added: str = ""


def _merge(segments: list[Segment]) -> list[Segment]:
    """Each change as one removal and one addition. A lone space between two changes
    joins them, on both sides so that each side still reads whole: `[-a b-]{+c d+}`
    reads as one replacement, not two."""
    groups: list[str | _Change] = []  # kept text, or a change
    for op, text in segments:
        if op == "=":
            groups.append(text)
            continue
        if not groups or isinstance(groups[-1], str):
            space = groups[-1] if groups else ""
            if len(groups) >= 2 and isinstance(space, str) and _lone_space(space):
                groups.pop()  # bridge the two changes over it
                bridged = groups[-1]
                assert isinstance(bridged, _Change)
                bridged.removed += space
                bridged.added += space
            else:
                groups.append(_Change())
        change = groups[-1]
        assert isinstance(change, _Change)
        if op == "-":
            change.removed += text
        else:
            change.added += text
    merged: list[Segment] = []
    for group in groups:
        if isinstance(group, str):
            merged.append(("=", group))
            continue
        if group.removed:
            merged.append(("-", group.removed))
        if group.added:
            merged.append(("+", group.added))
    return merged


def _lone_space(text: str) -> bool:
    return bool(text) and not text.strip() and "\n" not in text


def _shorten(segments: list[Segment], context: int) -> list[Segment]:
    """Unchanged runs cut to `context` words after and before a change. A run over
    several lines keeps the rest of the line a change ends on and the start of the
    line the next begins on; the lines between become one `…` line."""
    shortened: list[Segment] = []
    last = len(segments) - 1
    for index, (op, text) in enumerate(segments):
        if op != "=":
            shortened.append((op, text))
            continue
        after_change, before_change = index > 0, index < last
        if "\n" in text:
            shortened.append((op, _keep_lines(text, context, after_change, before_change)))
        elif after_change and before_change:
            shortened.append((op, _keep_ends(text, context)))
        else:
            shortened.append((op, _keep(text, context, start=after_change)))
    return shortened


def _keep_lines(text: str, count: int, after_change: bool, before_change: bool) -> str:
    lines = text.split("\n")
    first, inner, last = lines[0], lines[1:-1], lines[-1]
    skipped_inner = any(line.strip() for line in inner)
    if not after_change:  # the run the text starts with
        skipped = bool(first.strip()) or skipped_inner
        return (f"{ELLIPSIS}\n" if skipped else "") + _keep(last, count, start=False)
    head = _keep(first, count, start=True)
    if not before_change:  # the run the text ends with
        return head + (f"\n{ELLIPSIS}" if skipped_inner or last.strip() else "")
    return head + "\n" + (f"{ELLIPSIS}\n" if skipped_inner else "") + _keep(last, count, False)


def _keep(text: str, count: int, start: bool) -> str:
    """The first (or last) `count` words of one line, `…` for the rest."""
    words = tokens(text)
    if _word_count(words) <= count + 2:
        return text
    if start:
        return "".join(_first_words(words, count)).rstrip() + f" {ELLIPSIS}"
    return f"{ELLIPSIS} " + "".join(_first_words(words[::-1], count)[::-1]).lstrip()


def _keep_ends(text: str, count: int) -> str:
    """`count` words at each end of one line, `…` between."""
    words = tokens(text)
    if _word_count(words) <= 2 * count + 2:
        return text
    head = "".join(_first_words(words, count)).rstrip()
    tail = "".join(_first_words(words[::-1], count)[::-1]).lstrip()
    return f"{head} {ELLIPSIS} {tail}"


def _is_word(token: str) -> bool:
    return any(char.isalnum() for char in token)


def _word_count(words: list[str]) -> int:
    return sum(1 for word in words if _is_word(word))


def _first_words(words: list[str], count: int) -> list[str]:
    """Tokens up to and including the `count`-th word (none for 0)."""
    if count == 0:
        return []
    seen = 0
    for index, word in enumerate(words):
        if _is_word(word):
            seen += 1
            if seen == count:
                return words[: index + 1]
    return words
