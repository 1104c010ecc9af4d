"""A query's conditions as one test on stored items: every condition, full-text
`query=`, `links_to_*`, `mimetype_group` and search on references, combined with AND."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mirror.delivery.answers import (
    REFERENCE_CONTENT_TYPE_MESSAGE,
    bad_request,
    invalid_value,
    unknown_path,
)
from mirror.delivery.content import Item
from mirror.delivery.localize import MISSING, delivered_fields, field_chain, value_in
from mirror.delivery.mimetypes import in_group, known_group
from mirror.delivery.paths import LINK, Reader, Target, links_in
from mirror.delivery.query import Condition, Query
from mirror.delivery.values import (
    LOCATION,
    STRING,
    TEXT,
    Test,
    contains_all,
    equals_any,
    exists,
    in_range,
    matches,
    within,
    words,
)

Predicate = Callable[[Item], bool]
Lookup = Callable[[str], Item | None]
_TEXT_TYPES = frozenset({"Symbol", "Text", "RichText", "Array"})


@dataclass
class Filter:
    """The compiled conditions of a query, and its `near` point if any."""

    predicates: list[Predicate] = field(default_factory=list)
    near: tuple[Target, str] | None = None

    def __call__(self, item: Item) -> bool:
        return all(predicate(item) for predicate in self.predicates)


def compile_filter(query: Query, reader: Reader, lookup: Lookup | None = None) -> Filter:
    """Check and compile every condition; raises DeliveryError for what Contentful refuses."""
    compiled = Filter()
    plain, references = _split_references(query.conditions)
    for condition in plain:
        target = reader.target(condition.path)
        if condition.operator == "near":
            _check_kind(condition, target, (LOCATION,))
            compiled.near = (target, condition.value)
        else:
            compiled.predicates.append(_predicate(condition, target))
    for name, conditions in references.items():
        compiled.predicates.append(_reference(name, conditions, reader, lookup))
    compiled.predicates += _special(query, reader)
    return compiled


def _predicate(condition: Condition, target: Target) -> Predicate:
    test = _test(condition, target)
    extract = target.extract
    return lambda item: test(extract(item))


def _test(condition: Condition, target: Target) -> Test:
    operator, kind, key, text = condition.operator, target.kind, condition.key, condition.value
    if operator == "exists":
        return exists(text, key)
    if operator == "within":
        _check_kind(condition, target, (LOCATION,))
        return within(text, key)
    if kind in (LOCATION, LINK):
        _check_kind(condition, target, ())
    if operator == "match":
        return matches(text)
    if operator in ("lt", "lte", "gt", "gte"):
        return in_range(operator, kind, text, key)
    kind = STRING if kind == TEXT else kind
    if operator in ("", "ne"):
        test = equals_any(kind, [text], key)
    elif operator in ("in", "nin"):
        test = equals_any(kind, condition.values(), key)
    else:  # all
        return contains_all(kind, condition.values(), key)
    if operator in ("ne", "nin"):
        return lambda value: not test(value)
    return test


def _check_kind(condition: Condition, target: Target, kinds: tuple[str, ...]) -> None:
    if target.kind not in kinds:
        raise invalid_value(
            condition.key.split("[")[0],
            f"The operator {condition.operator or 'equality'} does not apply to this field",
        )


def _split_references(
    conditions: list[Condition],
) -> tuple[list[Condition], dict[str, list[Condition]]]:
    """Conditions on a referenced entry (`fields.F.fields.G`, `fields.F.sys.contentType`)
    grouped by the link field F, apart from the rest."""
    plain: list[Condition] = []
    references: dict[str, list[Condition]] = {}
    for condition in conditions:
        path = condition.path
        on_reference = path[0] == "fields" and len(path) > 3 and path[2] in ("fields", "sys")
        if on_reference and path[2:4] != ("sys", "id"):
            references.setdefault(path[1], []).append(condition)
        else:
            plain.append(condition)
    return plain, references


def _reference(
    name: str, conditions: list[Condition], reader: Reader, lookup: Lookup | None
) -> Predicate:
    """Entries whose link field `name` points at an entry passing every condition."""
    path = ("fields", name)
    definition = reader.field_def(name, path)
    kind_of = next(
        (c for c in conditions if c.path[2:] == ("sys", "contentType", "sys", "id")), None
    )
    if kind_of is None or kind_of.operator not in ("", "in") or lookup is None:
        raise bad_request(REFERENCE_CONTENT_TYPE_MESSAGE)
    others = [c for c in conditions if c is not kind_of]
    for condition in others:
        if condition.path[2] != "fields":
            raise unknown_path(".".join(condition.path))
    linked_types = set(kind_of.values())
    inner_reader = Reader(reader.schema, reader.locale, "Entry", kind_of.values()[0])
    inner = [
        _predicate(Condition(c.path[2:], c.operator, c.value), inner_reader.target(c.path[2:]))
        for c in others
    ]
    value = reader.field_value(definition)

    def linked_passes(entry_id: str) -> bool:
        entry = lookup(entry_id)
        if entry is None or entry["sys"]["contentType"]["sys"]["id"] not in linked_types:
            return False
        return all(predicate(entry) for predicate in inner)

    return lambda item: any(linked_passes(i) for i in links_in(value(item), "Entry", []))


def _special(query: Query, reader: Reader) -> list[Predicate]:
    predicates: list[Predicate] = []
    if query.full_text is not None:
        predicates.append(_full_text(query.full_text, reader))
    for link_type, target in (("Entry", query.links_to_entry), ("Asset", query.links_to_asset)):
        if target is not None:
            predicates.append(_links_to(link_type, target))
    if query.mimetype_group is not None:
        predicates.append(_mimetype(query.mimetype_group, reader))
    return predicates


def _full_text(text: str, reader: Reader) -> Predicate:
    """`query=`: every word of the text occurs in the item's text fields."""
    wanted = words(text)
    schema, locale = reader.schema, reader.locale

    def passes(item: Item) -> bool:
        found: set[str] = set()
        for _, raw, definition in delivered_fields(schema, item):
            if definition is None or definition.type in _TEXT_TYPES:
                value = value_in(raw, field_chain(schema, definition, locale))
                if value is not MISSING:
                    found |= words(value)
        return wanted <= found

    return passes


def _links_to(link_type: str, target_id: str) -> Predicate:
    return lambda item: target_id in links_in(item.get("fields") or {}, link_type, [])


def _mimetype(group: str, reader: Reader) -> Predicate:
    if not known_group(group):
        raise invalid_value("mimetype_group", f"Unknown mimetype group {group!r}")
    file_value = reader.field_value(reader.field_def("file", ("fields", "file")))

    def passes(item: Item) -> bool:
        file: Any = file_value(item)
        return isinstance(file, dict) and in_group(str(file.get("contentType", "")), group)

    return passes
