"""The `where` and `order` inputs of the schema: `TFilter`, `cfTNestedFilter`, `TOrder`
(and its copies for nested and linking collections), `AssetFilter`, `AssetOrder`,
`EntryFilter`, `EntryOrder`. Each filter input's keys are recorded as `Term`s (what a
key tests, in the delivery engine's terms: a path and an operator), which
`filters.py` turns into tests; each order value is the delivery engine's `OrderKey`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLFloat,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLString,
)

from mirror.delivery.query import OrderKey
from mirror.graphql import model as kinds
from mirror.graphql.builtins import (
    BOOLEAN_OPERATORS,
    LIST_OPERATORS,
    RANGE_OPERATORS,
    STRING_OPERATORS,
    Builtins,
    operator_fields,
)
from mirror.graphql.model import ContentModel, FieldPlan, TypePlan

# A filter suffix → the delivery engine's operator ("!match": not [match]).
OPERATORS = {
    "": "",
    "_not": "ne",
    "_exists": "exists",
    "_contains": "match",
    "_not_contains": "!match",
    "_in": "in",
    "_not_in": "nin",
    "_gt": "gt",
    "_gte": "gte",
    "_lt": "lt",
    "_lte": "lte",
    "_contains_all": "all",
    "_contains_some": "in",
    "_contains_none": "nin",
    "_within_circle": "within",
    "_within_rectangle": "within",
}
# What GraphQL's sys fields are in a stored item (see README, "GraphQL and images").
SYS_PATHS: dict[str, tuple[str, ...]] = {
    "id": ("sys", "id"),
    "publishedAt": ("sys", "updatedAt"),
    "firstPublishedAt": ("sys", "createdAt"),
    "publishedVersion": ("sys", "revision"),
}
ASSET_STRINGS: dict[str, tuple[str, ...]] = {
    "title": ("fields", "title"),
    "description": ("fields", "description"),
    "url": ("fields", "file", "url"),
    "contentType": ("fields", "file", "contentType"),
    "fileName": ("fields", "file", "fileName"),
}
ASSET_NUMBERS: dict[str, tuple[str, ...]] = {
    "size": ("fields", "file", "details", "size"),
    "width": ("fields", "file", "details", "image", "width"),
    "height": ("fields", "file", "details", "image", "height"),
}
ASSET_ORDER = ("url", "size", "contentType", "fileName", "width", "height")


@dataclass(frozen=True)
class Term:
    """What one key of a `where` input tests. kind: "path" (a stored path with an
    operator), "sys", "metadata", "and", "or", or "nested" (entries a link points at
    pass the filter named `nested`)."""

    kind: str
    path: tuple[str, ...] = ()
    operator: str = ""
    suffix: str = ""
    field: FieldPlan | None = None
    nested: str = ""


SYS_TERMS = {
    name + suffix: Term("path", path, OPERATORS[suffix], suffix)
    for name, path in SYS_PATHS.items()
    for suffix in (STRING_OPERATORS if name == "id" else RANGE_OPERATORS)
}


@dataclass
class Inputs:
    """The schema's filter and order inputs, and the terms of every filter by name."""

    builtins: Builtins
    model: ContentModel
    terms: dict[str, dict[str, Term]] = field(default_factory=dict)
    filters: dict[str, GraphQLInputObjectType] = field(default_factory=dict)

    def filter(self, plan: TypePlan, nested: bool = False) -> GraphQLInputObjectType:
        """`TFilter`, or `cfTNestedFilter` (without filters on linked entries)."""
        name = f"cf{plan.name}NestedFilter" if nested else f"{plan.name}Filter"
        if name not in self.filters:
            fields: dict[str, GraphQLInputField] = {}
            terms: dict[str, Term] = {}
            for field_plan in plan.fields:
                self._field_inputs(field_plan, nested, fields, terms)
            self.filters[name] = self._with_connectives(name, fields, terms)
        return self.filters[name]

    def _with_connectives(
        self, name: str, fields: dict[str, GraphQLInputField], terms: dict[str, Term]
    ) -> GraphQLInputObjectType:
        terms.update(sys=Term("sys"), contentfulMetadata=Term("metadata"))
        terms.update(AND=Term("and"), OR=Term("or"))
        self.terms[name] = terms

        def all_fields() -> dict[str, GraphQLInputField]:
            made = {
                **fields,
                "sys": GraphQLInputField(self.builtins.sys_filter),
                "contentfulMetadata": GraphQLInputField(self.builtins.metadata_filter),
                "AND": GraphQLInputField(GraphQLList(self.filters[name])),
                "OR": GraphQLInputField(GraphQLList(self.filters[name])),
            }
            return dict(sorted(made.items()))

        self.filters[name] = GraphQLInputObjectType(name, all_fields)
        return self.filters[name]

    def _field_inputs(
        self,
        plan: FieldPlan,
        nested: bool,
        fields: dict[str, GraphQLInputField],
        terms: dict[str, Term],
    ) -> None:
        path = ("fields", plan.id)
        base = plan.name
        made: dict[str, GraphQLInputField] = {}
        if plan.kind == kinds.SCALAR:
            value_type, operators = self._scalar_operators(plan)
            made = operator_fields(base, value_type, operators)
        elif plan.kind == kinds.SYMBOLS:
            made = operator_fields(base, GraphQLString, LIST_OPERATORS)
        elif plan.kind == kinds.RICH_TEXT:
            made = operator_fields(base, GraphQLString, ("_contains", "_exists", "_not_contains"))
        elif plan.kind == kinds.LOCATION:
            made = operator_fields(base, GraphQLBoolean, ("_exists",))
            made[base + "_within_circle"] = GraphQLInputField(self.builtins.circle)
            made[base + "_within_rectangle"] = GraphQLInputField(self.builtins.rectangle)
        elif plan.kind in (kinds.ASSET, kinds.ENTRY, kinds.ASSETS, kinds.ENTRIES):
            made = operator_fields(base, GraphQLBoolean, ("_exists",))
            target = self.model.type_of(plan.single_type or "")
            if target is not None and not nested:
                key = base.removesuffix("Collection") if plan.kind == kinds.ENTRIES else base
                nested_filter = self.filter(target, nested=True)
                fields[key] = GraphQLInputField(nested_filter)
                terms[key] = Term("nested", path, field=plan, nested=nested_filter.name)
        for key, input_field in made.items():
            suffix = key[len(base) :]
            fields[key] = input_field
            terms[key] = Term("path", path, OPERATORS[suffix], suffix, plan)

    def _scalar_operators(self, plan: FieldPlan) -> tuple[GraphQLInputType, tuple[str, ...]]:
        scalar = plan.scalar
        if scalar == "String":
            return GraphQLString, STRING_OPERATORS
        if scalar == "Boolean":
            return GraphQLBoolean, BOOLEAN_OPERATORS
        value_type = {"Int": GraphQLInt, "Float": GraphQLFloat}.get(
            scalar or "", self.builtins.date_time
        )
        return value_type, RANGE_OPERATORS

    # -- assets and entries of any type ------------------------------------------------

    def asset_filter(self) -> GraphQLInputObjectType:
        fields: dict[str, GraphQLInputField] = {}
        terms: dict[str, Term] = {}
        groups = (
            (ASSET_STRINGS, GraphQLString, STRING_OPERATORS),
            (ASSET_NUMBERS, GraphQLInt, RANGE_OPERATORS),
        )
        for paths, value_type, operators in groups:
            for name, path in paths.items():
                for key, input_field in operator_fields(name, value_type, operators).items():
                    suffix = key[len(name) :]
                    fields[key] = input_field
                    terms[key] = Term("path", path, OPERATORS[suffix], suffix)
        return self._with_connectives("AssetFilter", fields, terms)

    def entry_filter(self) -> GraphQLInputObjectType:
        return self._with_connectives("EntryFilter", {}, {})


def order_enum(name: str, plan: TypePlan | None) -> GraphQLEnumType:
    """`TOrder` (or a copy under another name); `plan` None: EntryOrder."""
    keys: dict[str, tuple[str, ...]] = {f"sys_{name}": path for name, path in SYS_PATHS.items()}
    for field_plan in plan.fields if plan is not None else []:
        if field_plan.orderable:
            keys[field_plan.name] = ("fields", field_plan.id)
    return _enum(name, keys)


def asset_order_enum() -> GraphQLEnumType:
    keys = {f"sys_{name}": path for name, path in SYS_PATHS.items()}
    keys.update({name: {**ASSET_STRINGS, **ASSET_NUMBERS}[name] for name in ASSET_ORDER})
    return _enum("AssetOrder", keys)


def _enum(name: str, keys: Mapping[str, tuple[str, ...]]) -> GraphQLEnumType:
    values = {}
    for key, path in keys.items():
        values[f"{key}_ASC"] = GraphQLEnumValue(OrderKey(path, False))
        values[f"{key}_DESC"] = GraphQLEnumValue(OrderKey(path, True))
    return GraphQLEnumType(name, dict(sorted(values.items())))
