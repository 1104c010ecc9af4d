"""Reading a Delivery API query string: paging, locale, include, order, select and
the search conditions, with the errors Contentful gives for what it refuses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mirror.delivery.answers import invalid_query, invalid_value, unknown_path

OPERATORS = frozenset(
    {"ne", "in", "nin", "all", "exists", "lt", "lte", "gt", "gte", "match", "near", "within"}
)
MAX_LIMIT = 1000
MAX_INCLUDE = 10
_KEY = re.compile(r"^(?P<path>[^\[\]]+)(?:\[(?P<operator>[a-z]+)\])?$")
_SELECT_ROOTS = frozenset({"sys", "fields", "metadata"})


@dataclass(frozen=True)
class Condition:
    """One search condition: `path[operator]=value` (operator "" for equality)."""

    path: tuple[str, ...]
    operator: str
    value: str
    listed: tuple[str, ...] | None = None  # the values of a list given as a list (GraphQL)

    @property
    def key(self) -> str:
        dotted = ".".join(self.path)
        return f"{dotted}[{self.operator}]" if self.operator else dotted

    def values(self) -> list[str]:
        """The comma list of [in], [nin], [all] (or the list given, commas and all)."""
        return list(self.listed) if self.listed is not None else self.value.split(",")


@dataclass(frozen=True)
class OrderKey:
    path: tuple[str, ...]
    descending: bool


@dataclass
class Query:
    """A parsed query; `conditions` combine with AND."""

    limit: int = 100
    skip: int = 0
    include: int = 1
    locale: str | None = None
    content_type: str | None = None
    order: list[OrderKey] = field(default_factory=list)
    select: list[tuple[str, ...]] | None = None
    conditions: list[Condition] = field(default_factory=list)
    full_text: str | None = None
    links_to_entry: str | None = None
    links_to_asset: str | None = None
    mimetype_group: str | None = None

    def touches_fields(self) -> bool:
        paths = [c.path for c in self.conditions] + [k.path for k in self.order]
        paths += self.select or []
        return any(path[0] == "fields" and len(path) > 1 for path in paths)


# Parameters each collection accepts besides conditions on the paths its `accepts` allows.
ENTRY_PARAMETERS = frozenset(
    {"limit", "skip", "include", "locale", "content_type", "order", "select", "query"}
    | {"links_to_entry", "links_to_asset"}
)
ASSET_PARAMETERS = frozenset(
    {"limit", "skip", "locale", "order", "select", "query", "mimetype_group"}
)
TYPE_PARAMETERS = frozenset({"limit", "skip", "order", "locale"})


def parse(pairs: list[tuple[str, str]], parameters: frozenset[str], roots: frozenset[str]) -> Query:
    """A Query from decoded pairs; `roots` are the first path parts conditions may use
    ("sys", "fields", "metadata", "name")."""
    query = Query()
    for name, value in pairs:
        if name in parameters:
            _set_parameter(query, name, value)
        else:
            query.conditions.append(_condition(name, value, roots))
    return query


def _set_parameter(query: Query, name: str, value: str) -> None:
    if name in ("limit", "skip", "include"):
        setattr(query, name, _count(name, value))
    elif name == "order":
        query.order = [_order_key(key) for key in value.split(",") if key.strip()]
    elif name == "select":
        query.select = [_select_path(path) for path in value.split(",") if path.strip()]
    elif name == "query":
        query.full_text = value
    else:
        setattr(query, name, value)


def _count(name: str, value: str) -> int:
    maximum = {"limit": MAX_LIMIT, "include": MAX_INCLUDE}.get(name)
    text = value.strip()
    if not text.isdigit() or (maximum is not None and int(text) > maximum):
        bound = f"between 0 and {maximum}" if maximum is not None else "0 or more"
        raise invalid_value(name, f"The value of {name} must be an integer {bound}")
    return int(text)


def _condition(name: str, value: str, roots: frozenset[str]) -> Condition:
    match = _KEY.match(name)
    if match is None:
        raise unknown_path(name)
    path = tuple(match["path"].split("."))
    operator = match["operator"] or ""
    if path[0] not in roots or "" in path:
        raise unknown_path(match["path"])
    if operator and operator not in OPERATORS:
        raise unknown_path(name)
    return Condition(path, operator, value)


def _order_key(text: str) -> OrderKey:
    key = text.strip()
    descending = key.startswith("-")
    path = tuple(key.lstrip("-").split("."))
    if path[0] not in ("sys", "fields") or len(path) < 2 or "" in path:
        raise unknown_path(key.lstrip("-"))
    return OrderKey(path, descending)


def _select_path(text: str) -> tuple[str, ...]:
    path = tuple(text.strip().split("."))
    if path[0] not in _SELECT_ROOTS or "" in path:
        raise unknown_path(text.strip())
    if len(path) > 2:
        raise invalid_query(
            {
                "name": "select",
                "details": "Select operator only supports a depth of 2 (e.g. fields.name).",
            }
        )
    return path
