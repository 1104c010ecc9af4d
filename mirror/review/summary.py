"""The field-level summary of a round, for `mirror log --fields`: the content model's
changes, then each item as a commit body lists it (`~ path  Title: title[de-DE],
rating`), the first few only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirror.client.round import changed_fields
from mirror.delivery.objects import GitObjects
from mirror.delivery.revision import locate
from mirror.review.changes import File, Touched, touched_items
from mirror.review.content_model import model_changes
from mirror.review.layout import SYMBOLS
from mirror.review.model import ModelChange
from mirror.review.revisions import Span, parent
from mirror.review.snapshot import Snapshot

ITEMS_PER_ROUND = 20


@dataclass(frozen=True)
class ItemLine:
    action: str
    path: str
    title: str
    fields: tuple[str, ...] = ()
    old_content_type: str | None = None

    def describe(self) -> str:
        """`~ entries/place/x.json  Title: title[de-DE], rating`."""
        retyped = f" (was {self.old_content_type})" if self.old_content_type else ""
        what = f": {', '.join(self.fields)}" if self.fields else ""
        return f"{SYMBOLS[self.action]} {self.path}  {self.title}{retyped}{what}"

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "path": self.path,
            "title": self.title,
            "fields": list(self.fields),
        }


@dataclass
class RoundFields:
    """What one round changed, field by field; `more` items are not listed."""

    model: list[ModelChange] = field(default_factory=list)
    items: list[ItemLine] = field(default_factory=list)
    more: int = 0

    def lines(self) -> list[str]:
        found = [f"{change.subject}: {change.what}" for change in self.model]
        found += [item.describe() for item in self.items]
        if self.more:
            found.append(f"… and {self.more:,} more item{'s' if self.more != 1 else ''}")
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "model": [change.to_json() for change in self.model],
            "items": [item.to_json() for item in self.items],
            "more": self.more,
        }


def round_fields(
    directory: Path, commits: list[str], limit: int = ITEMS_PER_ROUND
) -> dict[str, RoundFields]:
    """The summary of each round commit against its parent, by commit."""
    objects, prefix = locate(directory)
    try:
        return {commit: _summarize(objects, prefix, commit, limit) for commit in commits}
    finally:
        objects.close()


def _summarize(objects: GitObjects, prefix: str, commit: str, limit: int) -> RoundFields:
    span = Span(parent(objects, commit), commit)
    old, new = Snapshot(objects, prefix, span.old), Snapshot(objects, prefix, span.new)
    touched = sorted(touched_items(objects, prefix, span), key=Touched.order)
    summary = RoundFields(model=model_changes(old, new), more=max(0, len(touched) - limit))
    summary.items = [_line(item, old, new) for item in touched[:limit]]
    return summary


def _line(item: Touched, old: Snapshot, new: Snapshot) -> ItemLine:
    after = new.read(item.new.blob) if item.new else None
    before_raw = old.objects.blob(item.old.blob) if item.old else None
    content_type = item.content_type if item.kind == "entry" else None
    where, shown = (new, after) if after is not None else (old, old.read(_blob(item.old)))
    title = where.title_of(shown, content_type) or item.id
    fields: tuple[str, ...] = ()
    if before_raw is not None and isinstance(after, dict):
        fields = changed_fields(before_raw, after)
    return ItemLine(item.action, item.path, title, fields, item.old_content_type)


def _blob(file: File | None) -> str | None:
    return file.blob if file else None
