"""What a request's resolvers read, and the batched loading of links.

graphql-core resolves a page item by item, depth first; loading each link as it is met
would cost one index query per link. Instead the items resolved together (a page, or
the targets of one field across a page) form a `Batch`: the first time a link field is
read on one of them, the targets of that field are loaded for all of them at once, and
those targets form the next batch. A page of 100 entries with 3 link fields costs 3
index queries, one more per level below."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

from mirror.delivery.content import Content, Item
from mirror.delivery.paths import links_in

Ids = Callable[[Item], Iterable[str]]


class Batch:
    """Stored items resolved together; `children` holds the targets loaded for them."""

    __slots__ = ("children", "items")

    def __init__(self, items: list[Item]) -> None:
        self.items = items
        self.children: dict[Hashable, Batch] = {}


class EntryNode:
    """An entry or asset as a resolver sees it: the stored item (every locale), its
    GraphQL type, the locale its fields are read in, and its batch."""

    __slots__ = ("batch", "fallback", "item", "locale", "type_name")

    def __init__(
        self, item: Item, type_name: str, locale: str, fallback: bool, batch: Batch
    ) -> None:
        self.item = item
        self.type_name = type_name
        self.locale = locale
        self.fallback = fallback  # False: useFallbackLocale: false, no fallback chain
        self.batch = batch

    @property
    def id(self) -> str:
        return str(self.item["sys"]["id"])

    @property
    def kind(self) -> str:
        return str(self.item["sys"]["type"])


class LinkLoader:
    """A request's cache of entries and assets by id, filled a batch at a time."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self._items: dict[tuple[str, str], Item | None] = {}

    def load(self, kind: str, ids: Iterable[str]) -> None:
        """Read the `kind` items of `ids` not read yet, together."""
        missing = [i for i in dict.fromkeys(ids) if (kind, i) not in self._items]
        if not missing:
            return
        many = getattr(self.content, "items_by_id", None)
        if many is not None:
            found: dict[str, Item] = many(kind, missing)
        else:  # a Content without the index (MemoryContent): one by one
            single = self.content.entry if kind == "Entry" else self.content.asset
            found = {i: item for i in missing if (item := single(i)) is not None}
        for item_id in missing:
            self._items[(kind, item_id)] = found.get(item_id)

    def get(self, kind: str, item_id: str) -> Item | None:
        if (kind, item_id) not in self._items:
            self.load(kind, [item_id])
        return self._items[(kind, item_id)]

    def targets(self, batch: Batch, key: Hashable, kind: str, ids_of: Ids) -> Batch:
        """The `kind` items `ids_of` names in each item of `batch` (one field, read in
        one locale: `key` says which), loaded together once, as the next batch."""
        child = batch.children.get(key)
        if child is None:
            ids = [i for item in batch.items for i in ids_of(item)]
            self.load(kind, ids)
            found = (self._items.get((kind, i)) for i in dict.fromkeys(ids))
            child = batch.children[key] = Batch([item for item in found if item is not None])
        return child


def link_ids(value: Any, kind: str) -> list[str]:
    """The ids of the `kind` links in a field value (one link or an array of them)."""
    if isinstance(value, dict):  # the common case: one link
        sys = value.get("sys")
        if isinstance(sys, dict) and sys.get("type") == "Link":
            found = sys.get("id")
            return [found] if sys.get("linkType") == kind and isinstance(found, str) else []
    if not isinstance(value, (dict, list)):
        return []
    return links_in(value, kind, [])
