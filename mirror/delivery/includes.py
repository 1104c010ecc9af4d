"""Includes of an /entries answer: the entries and assets its items link to, found by
id (never by scanning the space). Entries come down to `include` levels, assets one
level deeper, as Contentful answers (shared/DELIVERY.md, "Includes"); each item once,
nothing already in `items`; a link the content cannot resolve is a notResolvable error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mirror.delivery.content import Content, Item

Localizer = Callable[[Item], Item]


@dataclass
class Included:
    entries: list[Item] = field(default_factory=list)
    assets: list[Item] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add_to(self, body: dict[str, Any]) -> None:
        """`includes` and `errors` of the answer, only when not empty."""
        includes = {
            kind: items
            for kind, items in (("Entry", self.entries), ("Asset", self.assets))
            if items
        }
        if includes:
            body["includes"] = includes
        if self.errors:
            body["errors"] = self.errors


def resolve(
    page: list[Item], items: list[Item], depth: int, content: Content, localize: Localizer
) -> Included:
    """Follow links from the answer's `items` (as answered: localized and selected);
    `page` holds the same items as stored."""
    included = Included()
    seen = {(item["sys"]["type"], item["sys"]["id"]) for item in page}
    frontier = items
    for level in range(1, depth + 2 if depth > 0 else 1):
        wanted: list[tuple[str, str]] = []
        for link_type, link_id in _links(frontier):
            if (link_type, link_id) in seen or (link_type == "Entry" and level > depth):
                continue
            seen.add((link_type, link_id))
            wanted.append((link_type, link_id))
        found = _read(content, wanted)
        next_frontier: list[Item] = []
        for link_type, link_id in wanted:
            stored = found.get((link_type, link_id))
            if stored is None:
                included.errors.append(_not_resolvable(link_type, link_id))
            elif link_type == "Entry":
                next_frontier.append(localize(stored))
                included.entries.append(next_frontier[-1])
            else:
                included.assets.append(localize(stored))
        frontier = next_frontier
    return included


def _read(content: Content, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], Item]:
    """The linked items that exist, read together where the content can (one index query
    per kind and level, not one per link)."""
    many = getattr(content, "items_by_id", None)
    found: dict[tuple[str, str], Item] = {}
    for kind in ("Entry", "Asset"):
        ids = [link_id for link_type, link_id in wanted if link_type == kind]
        if not ids:
            continue
        if many is not None:
            found.update(((kind, item_id), item) for item_id, item in many(kind, ids).items())
            continue
        single = content.entry if kind == "Entry" else content.asset
        found.update(((kind, i), item) for i in ids if (item := single(i)) is not None)
    return found


def _links(items: list[Item]) -> list[tuple[str, str]]:
    """The (link type, id) of every Entry and Asset link in the items' fields, in
    document order (a stack, not nested generators: rich text nests deep)."""
    found: list[tuple[str, str]] = []
    stack: list[Any] = [item.get("fields") for item in reversed(items)]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(reversed(value))
        elif isinstance(value, dict):
            sys = value.get("sys")
            if isinstance(sys, dict) and sys.get("type") == "Link":
                if sys.get("linkType") in ("Entry", "Asset") and isinstance(sys.get("id"), str):
                    found.append((sys["linkType"], sys["id"]))
                continue
            stack.extend(reversed(list(value.values())))
    return found


def _not_resolvable(link_type: str, link_id: str) -> dict[str, Any]:
    return {
        "sys": {"id": "notResolvable", "type": "error"},
        "details": {"type": "Link", "linkType": link_type, "id": link_id},
    }
