"""Turning stored items (every locale, as the Sync API sends them) into the items a
Delivery answer carries: one locale with fallback, or every locale (`locale=*`);
fields the content type omits or no longer has are not delivered."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mirror.delivery.answers import bad_request
from mirror.delivery.content import Item

ALL_LOCALES = "*"


class _Missing:
    """A field without a value in the locales asked for."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Locales:
    """The space's locales: the default and each code's fallback chain."""

    def __init__(self, items: list[Item]) -> None:
        self.codes = [item["code"] for item in items]
        self.default = next((i["code"] for i in items if i.get("default")), None) or (
            self.codes[0] if self.codes else "en-US"
        )
        self._fallback = {item["code"]: item.get("fallbackCode") for item in items}

    def check(self, code: str | None) -> str:
        """The locale a request asks for (the default when absent); unknown → 400."""
        if code is None:
            return self.default
        if code != ALL_LOCALES and code not in self._fallback:
            raise bad_request(f"Unknown locale: {code}")
        return code

    def chain(self, code: str) -> tuple[str, ...]:
        """`code`, its fallback, that one's fallback, ... (each once)."""
        chain: list[str] = []
        current: str | None = code
        while current is not None and current not in chain:
            chain.append(current)
            current = self._fallback.get(current)
        return tuple(chain)


@dataclass
class FieldDef:
    """What the engine needs of one content type field."""

    id: str
    type: str
    localized: bool
    omitted: bool = False
    items_type: str | None = None
    link_type: str | None = None


ASSET_FIELDS = {
    name: FieldDef(name, kind, localized=True)
    for name, kind in (("title", "Symbol"), ("description", "Text"), ("file", "Object"))
}


@dataclass
class Schema:
    """Content types by id and locales: how to read and deliver fields."""

    content_types: dict[str, Item]
    locales: Locales
    _fields: dict[str, dict[str, FieldDef]] = field(default_factory=dict)

    def fields_of(self, content_type: str) -> dict[str, FieldDef] | None:
        """The fields of a content type by id; None when the type is unknown."""
        if content_type not in self._fields:
            item = self.content_types.get(content_type)
            if item is None:
                return None
            self._fields[content_type] = {f["id"]: _field_def(f) for f in item.get("fields", [])}
        return self._fields[content_type]

    def fields_of_item(self, item: Item) -> dict[str, FieldDef] | None:
        """None when every field is delivered (localized): assets, unknown types."""
        sys = item["sys"]
        if sys["type"] == "Asset":
            return None
        return self.fields_of(sys["contentType"]["sys"]["id"])


def _field_def(data: Item) -> FieldDef:
    items = data.get("items") or {}
    return FieldDef(
        id=data["id"],
        type=data.get("type", "Symbol"),
        localized=bool(data.get("localized")),
        omitted=bool(data.get("omitted")),
        items_type=items.get("type"),
        link_type=data.get("linkType") or items.get("linkType"),
    )


def value_in(raw: dict[str, Any] | None, chain: tuple[str, ...]) -> Any:
    """The first value along `chain` of a stored field ({locale: value}), or MISSING."""
    if not raw:
        return MISSING
    for code in chain:
        if code in raw:
            return raw[code]
    return MISSING


def field_chain(schema: Schema, definition: FieldDef | None, locale: str) -> tuple[str, ...]:
    """Where a field's value comes from in a single-locale answer."""
    if definition is not None and not definition.localized:
        return (schema.locales.default,)
    code = schema.locales.default if locale == ALL_LOCALES else locale
    return schema.locales.chain(code)


def delivered_fields(
    schema: Schema, item: Item
) -> Iterator[tuple[str, dict[str, Any], FieldDef | None]]:
    """The stored fields an answer may show: (id, {locale: value}, definition)."""
    definitions = schema.fields_of_item(item)
    for name, raw in (item.get("fields") or {}).items():
        if definitions is None:
            yield name, raw, None
            continue
        definition = definitions.get(name)
        if definition is not None and not definition.omitted:
            yield name, raw, definition


def localize(schema: Schema, item: Item, locale: str) -> Item:
    """The item as an answer shows it: sys (+ locale), fields, metadata if stored."""
    sys = dict(item["sys"])
    fields: dict[str, Any] = {}
    if locale == ALL_LOCALES:
        for name, raw, _ in delivered_fields(schema, item):
            fields[name] = raw
    else:
        sys["locale"] = locale
        for name, raw, definition in delivered_fields(schema, item):
            value = value_in(raw, field_chain(schema, definition, locale))
            if value is not MISSING:
                fields[name] = value
    answer: Item = {"sys": sys, "fields": fields}
    if "metadata" in item:
        answer["metadata"] = item["metadata"]
    return answer


def select(item: Item, paths: list[tuple[str, ...]] | None) -> Item:
    """The parts of an answer item `select=` keeps; `metadata` only when selected.
    A selected part of sys keeps sys.locale with it (the SDKs read it)."""
    if paths is None:
        return item
    kept: Item = {}
    for path in paths:
        part = item.get(path[0])
        if not isinstance(part, dict):
            continue
        if len(path) == 1:
            kept[path[0]] = part
            continue
        chosen = kept.setdefault(path[0], {})
        if path[1] in part and chosen is not part:
            chosen[path[1]] = part[path[1]]
        if path[0] == "sys" and "locale" in part and chosen is not part:
            chosen["locale"] = part["locale"]
    return kept
