"""`order=` and `[near]`: sorting matched stored items before a page is cut.
Default `-sys.updatedAt,sys.id` (Contentful's since 2020-01-13); `sys.id` always breaks
remaining ties so that every answer is deterministic. Items without a value sort as
the largest (last ascending, first descending: unverified)."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from mirror.delivery.answers import invalid_value
from mirror.delivery.content import Item
from mirror.delivery.localize import MISSING
from mirror.delivery.paths import LINK, Reader, Target
from mirror.delivery.query import OrderKey
from mirror.delivery.values import (
    AUTO,
    LOCATION,
    TEXT,
    auto_kind,
    comparable,
    coordinates,
    distance_km,
    point,
)

DEFAULT_ORDER = [OrderKey(("sys", "updatedAt"), True), OrderKey(("sys", "id"), False)]
_TIE_BREAK = OrderKey(("sys", "id"), False)
_CANONICAL_SYS = frozenset({("sys", "id"), ("sys", "createdAt"), ("sys", "updatedAt")})
SortKey = Callable[[Item], tuple[int, Any]]


def sort_page(
    items: list[Item],
    keys: list[OrderKey],
    reader: Reader,
    near: tuple[Target, str] | None = None,
    end: int | None = None,
) -> list[Item]:
    """The first `end` items (all when None) in the order the query asks for."""
    passes = sort_passes(keys, reader, near)
    end = len(items) if end is None else end
    if end <= 0:
        return []
    if end < len(items) // 4:
        items = _front(items, end, *passes[0])
    # Stable sorts from the least significant key to the most significant.
    for sort_key, descending in reversed(passes):
        items.sort(key=sort_key, reverse=descending)
    return items[:end]


def sort_passes(
    keys: list[OrderKey], reader: Reader, near: tuple[Target, str] | None = None
) -> list[tuple[SortKey, bool]]:
    """(key, descending) from the most significant; raises for keys that cannot order."""
    passes: list[tuple[SortKey, bool]] = []
    if near is not None:
        passes.append((_distance_key(*near), False))
    keys = keys or DEFAULT_ORDER
    if keys[-1] != _TIE_BREAK:
        keys = [*keys, _TIE_BREAK]
    passes += [(_sort_key(key, reader), key.descending) for key in keys]
    return passes


def _front(items: list[Item], end: int, key: SortKey, descending: bool) -> list[Item]:
    """The items that can be among the first `end` by the most significant key: those
    up to the end-th value, ties included (a short list to sort fully)."""
    pick = heapq.nlargest if descending else heapq.nsmallest
    boundary = key(pick(end, items, key=key)[-1])
    if descending:
        return [item for item in items if key(item) >= boundary]
    return [item for item in items if key(item) <= boundary]


def _sort_key(key: OrderKey, reader: Reader) -> SortKey:
    target = reader.target(key.path)
    name = ".".join(key.path)
    if target.kind in (TEXT, LINK) or _is_array(key.path, reader):
        raise invalid_value(name, f"Cannot order by {name}")
    extract, kind = target.extract, target.kind
    if key.path in _CANONICAL_SYS:
        # Every stored item has these, and their text (one fixed ISO format for the
        # timestamps) orders correctly.
        name = key.path[1]
        return lambda item: (0, item["sys"][name])
    if kind == LOCATION:
        return lambda item: _present(point(extract(item)))
    if key.path[-2:] == ("sys", "id"):
        return lambda item: _present(_single(extract(item)))
    if kind == AUTO:
        # Untyped values (inside objects) order within their kind: numbers before text.
        return lambda item: _present(_ranked(extract(item)))
    return lambda item: _present(comparable(extract(item), kind))


def _ranked(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)):
        return (auto_kind(value), value)
    return None


def _is_array(path: tuple[str, ...], reader: Reader) -> bool:
    if path[0] != "fields" or len(path) != 2 or reader.item_type != "Entry":
        return False
    return reader.field_def(path[1], path).type == "Array"


def _single(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else None


def _present(value: Any) -> tuple[int, Any]:
    if value is MISSING or value is None:
        return (1, 0)
    return (0, value)


def _distance_key(target: Target, text: str) -> SortKey:
    latitude, longitude = coordinates(text, (2,), "near")
    centre = (latitude, longitude)

    def key(item: Item) -> tuple[int, Any]:
        found = point(target.extract(item))
        return (1, 0) if found is None else (0, distance_km(found, centre))

    return key
