"""Where a query path (`sys.updatedAt`, `fields.likes`, `fields.bestFriend.sys.id`,
`metadata.tags.sys.id`, `fields.file.details.size`) reads its value in a stored
item, and what kind of value it is. Field values are read in the query's locale
(with fallback), straight from the stored item, before any localizing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mirror.delivery.answers import CONTENT_TYPE_REQUIRED_MESSAGE, bad_request, unknown_path
from mirror.delivery.content import Item
from mirror.delivery.localize import (
    ASSET_FIELDS,
    MISSING,
    FieldDef,
    Schema,
    field_chain,
    value_in,
)
from mirror.delivery.values import AUTO, BOOLEAN, DATE, LOCATION, NUMBER, STRING, TEXT

Extract = Callable[[Item], Any]
LINK = "link"

SYS_KINDS = {
    "id": STRING,
    "type": STRING,
    "createdAt": DATE,
    "updatedAt": DATE,
    "revision": NUMBER,
    "publishedVersion": NUMBER,
    "version": NUMBER,
    "visibility": STRING,
}
ENTRY_SYS_KINDS = {**SYS_KINDS, "contentType.sys.id": STRING}
FIELD_KINDS = {
    "Symbol": STRING,
    "Text": TEXT,
    "RichText": TEXT,
    "Integer": NUMBER,
    "Number": NUMBER,
    "Date": DATE,
    "Boolean": BOOLEAN,
    "Location": LOCATION,
    "Link": LINK,
    "Object": AUTO,
}


@dataclass(frozen=True)
class Target:
    """What a path reads: its value in a stored item (MISSING if none) and its kind."""

    extract: Extract
    kind: str


@dataclass
class Reader:
    """Targets for the items of one collection, in one query."""

    schema: Schema
    locale: str
    item_type: str  # "Entry", "Asset", or a name for other collections
    content_type: str | None = None

    def target(self, path: tuple[str, ...]) -> Target:
        root = path[0]
        if root == "sys":
            return self._sys(path)
        if root == "fields" and len(path) >= 2:
            return self._field(path)
        if root == "metadata":
            return _metadata(path)
        if len(path) == 1 and self.item_type not in ("Entry", "Asset"):
            return Target(lambda item: item.get(root, MISSING), STRING)
        raise unknown_path(".".join(path))

    def _sys(self, path: tuple[str, ...]) -> Target:
        rest = ".".join(path[1:])
        kinds = ENTRY_SYS_KINDS if self.item_type == "Entry" else SYS_KINDS
        if rest not in kinds:
            raise unknown_path(".".join(path))
        return Target(_walker(path), kinds[rest])

    def field_def(self, name: str, path: tuple[str, ...]) -> FieldDef:
        if self.item_type == "Asset":
            definitions: dict[str, FieldDef] | None = ASSET_FIELDS
        elif self.content_type is None:
            raise bad_request(CONTENT_TYPE_REQUIRED_MESSAGE)
        else:
            definitions = self.schema.fields_of(self.content_type)
        definition = (definitions or {}).get(name)
        if definition is None:
            raise unknown_path(".".join(path))
        return definition

    def field_value(self, definition: FieldDef) -> Extract:
        """The field's value in this query's locale, read from a stored item."""
        chain = field_chain(self.schema, definition, self.locale)
        name = definition.id
        return lambda item: value_in((item.get("fields") or {}).get(name), chain)

    def _field(self, path: tuple[str, ...]) -> Target:
        definition = self.field_def(path[1], path)
        value = self.field_value(definition)
        rest = path[2:]
        if not rest:
            return Target(value, _field_kind(definition))
        if rest == ("sys", "id") and _field_kind(definition) == LINK:
            return Target(lambda item: _link_ids(value(item)), STRING)
        if definition.type in ("Object", "Location") or self.item_type == "Asset":
            return Target(lambda item: _walk(value(item), rest), AUTO)
        raise unknown_path(".".join(path))


def _field_kind(definition: FieldDef) -> str:
    if definition.type == "Array":
        return LINK if definition.items_type == "Link" else STRING
    return FIELD_KINDS.get(definition.type, AUTO)


def _walker(path: tuple[str, ...]) -> Extract:
    return lambda item: _walk(item, path)


def _walk(value: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _link_ids(value: Any) -> Any:
    if value is MISSING:
        return MISSING
    links = value if isinstance(value, list) else [value]
    return [link_id for link in links if (link_id := _walk(link, ("sys", "id"))) is not MISSING]


def _metadata(path: tuple[str, ...]) -> Target:
    if path == ("metadata", "tags"):
        return Target(lambda item: _walk(item, path) or MISSING, STRING)
    if path == ("metadata", "tags", "sys", "id"):
        return Target(lambda item: _link_ids(_walk(item, ("metadata", "tags"))), STRING)
    raise unknown_path(".".join(path))


def links_in(value: Any, link_type: str, found: list[str]) -> list[str]:
    """Ids of every Link of `link_type` inside a value (arrays, objects, rich text)."""
    if isinstance(value, list):
        for element in value:
            links_in(element, link_type, found)
    elif isinstance(value, dict):
        sys = value.get("sys")
        if isinstance(sys, dict) and sys.get("type") == "Link":
            if sys.get("linkType") == link_type and isinstance(sys.get("id"), str):
                found.append(sys["id"])
            return found
        for element in value.values():
            links_in(element, link_type, found)
    return found
