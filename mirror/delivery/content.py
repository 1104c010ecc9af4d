"""What the delivery engine reads: one revision of a space, items as the Sync API
sends them (every locale, no `sys.locale`), content types and locales as the
Delivery API sends them. Two kinds provide it: `MemoryContent` (lists in memory:
the emulator, tests) and the mirror at a Git revision (mirror.delivery.revision).

Optional, beyond the Protocol's required methods: `find_entries(content_type,
equalities, locale_codes)` (see `IndexedContent`), a superset of the entries whose
fields equal the given values, or None when it cannot tell. The mirror's
`RevisionContent` answers it from its per-commit SQLite index (mirror.delivery.index)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

Item = dict[str, Any]


class Content(Protocol):
    """One revision of a space, read-only."""

    space_id: str
    environment: str

    def locales(self) -> list[Item]:
        """The /locales items: code, name, default, fallbackCode, sys."""
        ...

    def content_types(self) -> list[Item]:
        """Every content type, as /content_types sends them."""
        ...

    def tags(self) -> list[Item]:
        """Tag objects ({name, sys}); a mirror without tags.json has none."""
        ...

    def entries(self, content_type: str | None = None) -> Iterator[Item]:
        """Every entry (of one content type, if given), in any order."""
        ...

    def assets(self) -> Iterator[Item]:
        """Every asset, in any order."""
        ...

    def entry(self, entry_id: str) -> Item | None: ...

    def asset(self, asset_id: str) -> Item | None: ...


class IndexedContent(Content, Protocol):
    """A `Content` that may also offer this optional fast path; the engine uses it when
    present (checked with getattr), so MemoryContent need not implement it."""

    def find_entries(
        self, content_type: str, equalities: dict[str, str], locale_codes: list[str]
    ) -> Iterable[Item] | None:
        """Candidate entries of `content_type` for field equalities: keys are field
        paths without the `fields.` prefix ("slug", or "author.sys.id" for a link),
        values the raw query strings. Must return every entry that holds, for each key,
        that value (as text, a number of that value, true/false, an array element or
        a link target) in one of `locale_codes` (any locale if empty); may return more:
        the engine checks every condition again. None: cannot tell (the engine then
        reads every entry of the content type)."""
        ...


@dataclass
class MemoryContent:
    """Content held in lists: the emulator's current round, or a recorded space."""

    space_id: str
    environment: str
    locale_items: list[Item]
    content_type_items: list[Item]
    items: Iterable[Item]
    tag_items: list[Item] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._entries: dict[str, Item] = {}
        self._assets: dict[str, Item] = {}
        for item in self.items:
            kind = item["sys"]["type"]
            if kind == "Entry":
                self._entries[item["sys"]["id"]] = item
            elif kind == "Asset":
                self._assets[item["sys"]["id"]] = item

    def locales(self) -> list[Item]:
        return list(self.locale_items)

    def content_types(self) -> list[Item]:
        return list(self.content_type_items)

    def tags(self) -> list[Item]:
        return list(self.tag_items)

    def entries(self, content_type: str | None = None) -> Iterator[Item]:
        for entry in self._entries.values():
            if content_type is None or entry["sys"]["contentType"]["sys"]["id"] == content_type:
                yield entry

    def assets(self) -> Iterator[Item]:
        yield from self._assets.values()

    def entry(self, entry_id: str) -> Item | None:
        return self._entries.get(entry_id)

    def asset(self, asset_id: str) -> Item | None:
        return self._assets.get(asset_id)
