"""The content model as the GraphQL schema sees it: for each content type its type
name, its fields by kind (a scalar, a link to one type, to several, to any entry,
an array of links, rich text, ...) and who links to it. Everything the schema,
the resolvers and the cost rule need to know about the model is decided here, once,
and checked for the collisions Contentful refuses (errors.SchemaGenerationError)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mirror.delivery.content import Item
from mirror.delivery.localize import FieldDef, Locales, Schema
from mirror.graphql import names
from mirror.graphql.errors import SchemaGenerationError

# Field kinds.
SCALAR = "scalar"  # Symbol, Text, Integer, Number, Boolean, Date
LOCATION = "location"
OBJECT = "object"
SYMBOLS = "symbols"  # Array of Symbol
RICH_TEXT = "richText"
ASSET = "asset"  # Link to Asset
ENTRY = "entry"  # Link to Entry
ASSETS = "assets"  # Array of Links to Assets
ENTRIES = "entries"  # Array of Links to Entries
RESOURCE = "resource"  # ResourceLink (another space's entry)
RESOURCES = "resources"  # Array of ResourceLinks

SCALARS = {
    "Symbol": "String",
    "Text": "String",
    "Integer": "Int",
    "Number": "Float",
    "Boolean": "Boolean",
    "Date": "DateTime",
}
ORDERABLE = frozenset({"Symbol", "Integer", "Number", "Boolean", "Date"})
LINKS_LIMIT = 1000  # what a rich text field's `links` may hold when no validation says less
# Rich text nodes that link to entries or assets: their size validations bound `links`.
_LINK_NODES = (
    "embedded-entry-block",
    "embedded-entry-inline",
    "entry-hyperlink",
    "embedded-asset-block",
    "asset-hyperlink",
)


@dataclass(frozen=True)
class FieldPlan:
    """One content type field in the schema."""

    id: str
    name: str  # its GraphQL field: the id, or id + "Collection" for an array of links
    kind: str
    definition: FieldDef
    targets: tuple[str, ...] | None = None  # content types an entry link admits; None: any
    union: bool = False  # several admitted types (a union), not one (the type itself)
    max_items: int | None = None  # an array's size validation
    links_limit: int = LINKS_LIMIT  # rich text: entities its `links` can hold

    @property
    def scalar(self) -> str | None:
        return SCALARS.get(self.definition.type) if self.kind == SCALAR else None

    @property
    def orderable(self) -> bool:
        return self.kind == SCALAR and self.definition.type in ORDERABLE

    @property
    def single_type(self) -> str | None:
        """The one content type an entry link or array admits, if it is one."""
        if self.kind in (ENTRY, ENTRIES) and self.targets and not self.union:
            return self.targets[0]
        return None

    def admits(self, content_type: str) -> bool:
        return self.targets is None or content_type in self.targets


@dataclass
class TypePlan:
    """One content type: its GraphQL names and fields (sorted by GraphQL name)."""

    id: str
    name: str
    description: str
    fields: list[FieldPlan]
    # content type id -> its fields that may link to this type, for `linkedFrom`
    linked_from: dict[str, list[FieldPlan]] = field(default_factory=dict)

    @property
    def root_field(self) -> str:
        return names.root_field(self.name)

    @property
    def collection_field(self) -> str:
        return names.collection_field(self.name)

    def field_named(self, name: str) -> FieldPlan | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass
class ContentModel:
    """Every content type of a space as the GraphQL schema has it."""

    space_id: str
    types: dict[str, TypePlan]  # by content type id, sorted by type name
    asset_linked_from: dict[str, list[FieldPlan]] = field(default_factory=dict)

    def type_of(self, content_type: str) -> TypePlan | None:
        return self.types.get(content_type)

    @classmethod
    def build(cls, space_id: str, content_types: Iterable[Item]) -> ContentModel:
        items = sorted(content_types, key=lambda ct: str(ct["sys"]["id"]))
        known = {str(ct["sys"]["id"]) for ct in items}
        plans = [_type_plan(space_id, ct, known) for ct in items]
        _check_type_names(plans)
        model = cls(space_id, {plan.id: plan for plan in sorted(plans, key=lambda p: p.name)})
        model._link_back()
        return model

    def _link_back(self) -> None:
        for source in self.types.values():
            for plan in source.fields:
                if plan.kind in (ASSET, ASSETS):
                    self.asset_linked_from.setdefault(source.id, []).append(plan)
                if plan.kind not in (ENTRY, ENTRIES):
                    continue
                for target in self.types.values():
                    if plan.admits(target.id):
                        target.linked_from.setdefault(source.id, []).append(plan)


def _type_plan(space_id: str, item: Item, known: set[str]) -> TypePlan:
    content_type = str(item["sys"]["id"])
    name = names.type_name(content_type)
    link = (
        f"[See type definition](https://app.contentful.com/spaces/{space_id}"
        f"/content_types/{content_type})"
    )
    description = " ".join(part for part in (item.get("description") or "", link) if part)
    definitions = Schema({content_type: item}, Locales([])).fields_of(content_type) or {}
    fields = [
        plan
        for data in item.get("fields") or []
        if isinstance(data, dict) and not data.get("omitted")
        if (plan := _field_plan(definitions[data["id"]], data, known)) is not None
    ]
    _check_field_names(content_type, fields)
    return TypePlan(content_type, name, description, sorted(fields, key=lambda f: f.name))


def _field_plan(definition: FieldDef, data: Item, known: set[str]) -> FieldPlan | None:
    name = names.field_name(definition.id)
    if name is None:
        return None
    kind = definition.type
    if kind in SCALARS:
        return FieldPlan(definition.id, name, SCALAR, definition)
    simple = {"Location": LOCATION, "Object": OBJECT, "RichText": RICH_TEXT}
    if kind in simple:
        limit = _links_limit(data.get("validations")) if kind == "RichText" else LINKS_LIMIT
        return FieldPlan(definition.id, name, simple[kind], definition, links_limit=limit)
    if kind == "Link":
        return _link_plan(definition, name, data.get("validations"), known)
    if kind == "ResourceLink":
        return FieldPlan(definition.id, name, RESOURCE, definition)
    if kind == "Array":
        return _array_plan(definition, name, data, known)
    return None


def _link_plan(
    definition: FieldDef, name: str, validations: Any, known: set[str]
) -> FieldPlan | None:
    if definition.link_type == "Asset":
        return FieldPlan(definition.id, name, ASSET, definition)
    if definition.link_type != "Entry":
        return None
    targets, union = _targets(validations, known)
    return FieldPlan(definition.id, name, ENTRY, definition, targets, union)


def _array_plan(definition: FieldDef, name: str, data: Item, known: set[str]) -> FieldPlan | None:
    items = data.get("items") or {}
    size = _size_max(data.get("validations"))
    if definition.items_type == "Symbol":
        return FieldPlan(definition.id, name, SYMBOLS, definition, max_items=size)
    if definition.items_type == "ResourceLink":
        kind = RESOURCES
    elif definition.link_type == "Asset":
        kind = ASSETS
    elif definition.link_type == "Entry":
        targets, union = _targets(items.get("validations"), known)
        return FieldPlan(
            definition.id, name + "Collection", ENTRIES, definition, targets, union, size
        )
    else:
        return None
    return FieldPlan(definition.id, name + "Collection", kind, definition, max_items=size)


def _targets(validations: Any, known: set[str]) -> tuple[tuple[str, ...] | None, bool]:
    """The content types a link admits, and whether they make a union. A validation
    naming several types gives a union of those that exist (one, if the others were
    deleted); one naming a single existing type gives that type; none gives Entry."""
    for validation in validations or []:
        named = validation.get("linkContentType") if isinstance(validation, dict) else None
        if isinstance(named, list) and named:
            existing = tuple(sorted({str(t) for t in named} & known))
            if not existing:
                return None, False
            return existing, len(set(named)) > 1
    return None, False


def _size_max(validations: Any) -> int | None:
    for validation in validations or []:
        size = validation.get("size") if isinstance(validation, dict) else None
        if isinstance(size, dict) and isinstance(size.get("max"), int) and size["max"] >= 0:
            return int(size["max"])
    return None


def _links_limit(validations: Any) -> int:
    """The most entries and assets a rich text field may link to: the sum of its link
    nodes' size validations (a node type not enabled counts 0); 1000 without them."""
    enabled: set[str] | None = None
    nodes: dict[str, Any] = {}
    for validation in validations or []:
        if not isinstance(validation, dict):
            continue
        if isinstance(validation.get("enabledNodeTypes"), list):
            enabled = {str(node) for node in validation["enabledNodeTypes"]}
        if isinstance(validation.get("nodes"), dict):
            nodes = validation["nodes"]
    total = 0
    for node in _LINK_NODES:
        if enabled is not None and node not in enabled:
            continue
        size = _size_max(nodes.get(node))
        if size is None:
            return LINKS_LIMIT
        total += size
    return min(total, LINKS_LIMIT)


def _check_field_names(content_type: str, fields: list[FieldPlan]) -> None:
    seen: dict[str, list[str]] = {}
    for plan in fields:
        if plan.name in names.RESERVED_FIELD_NAMES:
            raise SchemaGenerationError.reserved_field(content_type, plan.id, plan.name)
        seen.setdefault(plan.name, []).append(plan.id)
    for name, ids in seen.items():
        if len(ids) > 1:
            raise SchemaGenerationError.colliding_fields(content_type, ids, name)


def _check_type_names(plans: list[TypePlan]) -> None:
    """Every generated type name once: content types that map to one name, or a
    content type whose name is another's helper type, cannot be served."""
    owners: dict[str, list[str]] = {}
    for plan in plans:
        for name in _generated_names(plan):
            owners.setdefault(name, [])
            if plan.id not in owners[name]:
                owners[name].append(plan.id)
    for name, ids in sorted(owners.items()):
        if len(ids) > 1:
            raise SchemaGenerationError.colliding_types(ids, name)


def _generated_names(plan: TypePlan) -> list[str]:
    base = plan.name
    found = [base, *(base + s for s in ("Collection", "Filter", "Order", "LinkingCollections"))]
    found.append(f"cf{base}NestedFilter")
    for field_plan in plan.fields:
        stem = names.helper_name(base, field_plan.id)
        if field_plan.kind == RICH_TEXT:
            found += [stem, *(stem + s for s in ("Links", "Entries", "Assets", "Resources"))]
        elif field_plan.kind == RESOURCE or (field_plan.kind == ENTRY and field_plan.union):
            found.append(stem)
        elif field_plan.kind in (ENTRIES, RESOURCES):
            found.append(stem + "Collection")
            if field_plan.union or field_plan.kind == RESOURCES:
                found.append(stem + "Item")
    return found
