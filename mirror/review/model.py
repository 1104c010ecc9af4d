"""What changed between two commits of a mirror, as plain records: the content model
first, then each item with its fields and locales, then counts. The renderers read
these; `to_json` is the `--format json` shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mirror.review.words import Segment

ACTIONS = ("added", "changed", "deleted", "retyped")  # the order of counts
LISTED = ("changed", "retyped", "added", "deleted")  # the order items are listed in
ASSETS_GROUP = "assets"


@dataclass(frozen=True)
class ModelChange:
    """One change to content types or locales: `content type place`, `field rating
    retyped: Number → Symbol`."""

    subject: str  # "content type place", "locales"
    what: str

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "what": self.what}


@dataclass(frozen=True)
class FieldChange:
    """One field in one locale, before and after, rendered as text (None: no value).
    `words` holds a word diff for long text and rich text, else None; `note` says
    what changed when the text reads the same (marks, link data)."""

    field: str
    locale: str | None  # None for a field that is not localized
    before: str | None
    after: str | None
    words: list[Segment] | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        return f"{self.field} [{self.locale}]" if self.locale else self.field

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "field": self.field,
            "locale": self.locale,
            "before": self.before,
            "after": self.after,
        }
        if self.words is not None:
            found["words"] = [[op, text] for op, text in self.words]
        if self.note is not None:
            found["note"] = self.note
        return found


@dataclass(frozen=True)
class Thumbnail:
    """An asset's image at one commit: its URL (made loadable) and, when the mirror
    keeps the file, its path in the mirror and its blob (for embedding it)."""

    url: str | None
    file: str | None
    blob: str | None
    content_type: str
    size: int | None

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "file": self.file, "contentType": self.content_type}


@dataclass
class ItemChange:
    """One entry or asset: added, changed, deleted, or retyped (an entry that moved to
    another content type, keeping its id)."""

    kind: str  # "entry" or "asset"
    id: str
    action: str
    content_type: str | None  # None for assets; the old one for a deleted entry
    title: str
    path: str
    old_content_type: str | None = None  # for retyped entries
    fields: list[FieldChange] = field(default_factory=list)
    thumbnails: list[tuple[str, Thumbnail | None, Thumbnail | None]] = field(
        default_factory=list
    )  # (locale, before, after), images only
    note: str | None = None  # when no field changed: what did

    @property
    def group(self) -> str:
        return ASSETS_GROUP if self.kind == "asset" else str(self.content_type)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "action": self.action,
            "contentType": self.content_type,
            "oldContentType": self.old_content_type,
            "title": self.title,
            "path": self.path,
            "fields": [change.to_json() for change in self.fields],
            "thumbnails": [
                {
                    "locale": locale,
                    "before": before.to_json() if before else None,
                    "after": after.to_json() if after else None,
                }
                for locale, before, after in self.thumbnails
            ],
            "note": self.note,
        }


@dataclass
class GroupCount:
    """How many items of one content type (or the assets) changed, by action."""

    kind: str  # "entry" or "asset"
    group: str  # the content type id, or "assets"
    added: int = 0
    changed: int = 0
    deleted: int = 0
    retyped: int = 0

    @property
    def total(self) -> int:
        return self.added + self.changed + self.deleted + self.retyped

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "group": self.group,
            **{action: getattr(self, action) for action in ACTIONS},
        }


@dataclass(frozen=True)
class Revision:
    """One end of the diff: a commit (None before the first) and its round."""

    commit: str | None
    round: int | None
    date: str | None

    @property
    def short(self) -> str:
        return self.commit[:10] if self.commit else "(nothing)"

    def to_json(self) -> dict[str, Any]:
        return {"commit": self.commit, "round": self.round, "date": self.date}


@dataclass
class ContentDiff:
    """Everything a report shows. `items` holds the first `--max-items` in detail;
    `omitted` says how many more there are, and `see_all` how to see them."""

    space: str
    environment: str
    old: Revision
    new: Revision
    model: list[ModelChange]
    items: list[ItemChange]
    counts: list[GroupCount]
    omitted: int = 0
    see_all: str = ""

    @property
    def total_items(self) -> int:
        return sum(count.total for count in self.counts)

    @property
    def empty(self) -> bool:
        return not self.model and not self.total_items

    def to_json(self, stat_only: bool = False) -> dict[str, Any]:
        found: dict[str, Any] = {
            "space": self.space,
            "environment": self.environment,
            "old": self.old.to_json(),
            "new": self.new.to_json(),
            "model": [change.to_json() for change in self.model],
            "counts": [count.to_json() for count in self.counts],
            "total_items": self.total_items,
        }
        if not stat_only:
            found["items"] = [item.to_json() for item in self.items]
            found["omitted"] = self.omitted
            found["see_all"] = self.see_all if self.omitted else None
        return found
