"""Building the GraphQLSchema of a content model (shared/GRAPHQL.md §3-4, Contentful's 2024
generation): one object type per content type with its collection, linking collections,
filter and order inputs and per-field helper types (unions, array collections, rich text
links, resource links); `Asset`, `Entry`, `Query`; the resolvers of resolvers.py attached,
and each field's part in the complexity rule (limits.py) in its `extensions`."""

from __future__ import annotations

from typing import Any

from graphql import (
    DirectiveLocation,
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLDirective,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
    specified_directives,
)

from mirror.graphql import model as kinds
from mirror.graphql import resolvers as resolve
from mirror.graphql.builtins import Builtins, locale_argument
from mirror.graphql.inputs import Inputs, asset_order_enum, order_enum
from mirror.graphql.model import ContentModel, FieldPlan, TypePlan
from mirror.graphql.names import helper_name, upper_first


def _paging(
    *, order: GraphQLInputType | None = None, where: GraphQLInputType | None = None
) -> dict[str, GraphQLArgument]:
    arguments = {
        "skip": GraphQLArgument(GraphQLInt, default_value=0),
        "limit": GraphQLArgument(GraphQLInt, default_value=100),
        "preview": GraphQLArgument(GraphQLBoolean),
        **locale_argument(),
    }
    if order is not None:
        arguments["order"] = GraphQLArgument(GraphQLList(order))
    if where is not None:
        arguments["where"] = GraphQLArgument(where)
    return dict(sorted(arguments.items()))


def _sorted(fields: dict[str, GraphQLField]) -> dict[str, GraphQLField]:
    return dict(sorted(fields.items()))


def _cost(*rule: Any) -> dict[str, Any]:
    """How a field counts in a query's complexity (limits.py)."""
    return {"cost": rule}


class Builder:
    """Makes the schema of one content model; `inputs.terms` says what its filters test."""

    def __init__(self, model: ContentModel) -> None:
        self.model = model
        self.builtins = Builtins()
        self.inputs = Inputs(self.builtins, model)
        self.objects: dict[str, GraphQLObjectType] = {}
        self.collections: dict[str, GraphQLObjectType] = {}
        self.asset = self._asset()
        self.asset_collection = self._collection("AssetCollection", self.asset)
        self.entry_collection = self._collection("EntryCollection", self.builtins.entry)

    def schema(self) -> GraphQLSchema:
        directive = GraphQLDirective("contentSourceMaps", [DirectiveLocation.QUERY])
        return GraphQLSchema(
            query=self._query(),
            types=[self.entry_type(plan) for plan in self.model.types.values()],
            directives=[*specified_directives, directive],
        )

    # -- the root --------------------------------------------------------------------

    def _query(self) -> GraphQLObjectType:
        single = {
            "id": GraphQLArgument(GraphQLNonNull(GraphQLString)),
            "preview": GraphQLArgument(GraphQLBoolean),
            "useFallbackLocale": GraphQLArgument(GraphQLBoolean),
            **locale_argument(),
        }
        fields: dict[str, GraphQLField] = {}
        for plan in self.model.types.values():
            entry_type = self.entry_type(plan)
            fields[plan.root_field] = GraphQLField(
                entry_type,
                dict(sorted(single.items())),
                resolve.root_entry(plan),
                extensions=_cost("link"),
            )
            fields[plan.collection_field] = GraphQLField(
                self._collection(f"{plan.name}Collection", entry_type),
                _paging(
                    order=order_enum(f"{plan.name}Order", plan), where=self.inputs.filter(plan)
                ),
                resolve.root_collection(plan),
                extensions=_cost("collection", None),
            )
        fields["asset"] = GraphQLField(
            self.asset, dict(sorted(single.items())), resolve.root_asset, extensions=_cost("link")
        )
        fields["assetCollection"] = GraphQLField(
            self.asset_collection,
            _paging(order=asset_order_enum(), where=self.inputs.asset_filter()),
            resolve.root_assets,
            extensions=_cost("collection", None),
        )
        fields["entryCollection"] = GraphQLField(
            self.entry_collection,
            _paging(order=order_enum("EntryOrder", None), where=self.inputs.entry_filter()),
            resolve.root_entries,
            extensions=_cost("collection", None),
        )
        node_arguments = {
            "id": GraphQLArgument(GraphQLNonNull(GraphQLID)),
            "preview": GraphQLArgument(GraphQLBoolean),
            **locale_argument(),
        }
        fields["_node"] = GraphQLField(
            self.builtins.node,
            dict(sorted(node_arguments.items())),
            resolve.root_node,
            extensions=_cost("link"),
        )
        return GraphQLObjectType("Query", _sorted(fields))

    def _collection(self, name: str, item_type: GraphQLOutputType) -> GraphQLObjectType:
        if name not in self.collections:
            self.collections[name] = GraphQLObjectType(
                name,
                {
                    "items": GraphQLField(GraphQLNonNull(GraphQLList(item_type))),
                    "limit": GraphQLField(GraphQLNonNull(GraphQLInt)),
                    "skip": GraphQLField(GraphQLNonNull(GraphQLInt)),
                    "total": GraphQLField(GraphQLNonNull(GraphQLInt)),
                },
            )
        return self.collections[name]

    # -- entry types -----------------------------------------------------------------

    def entry_type(self, plan: TypePlan) -> GraphQLObjectType:
        if plan.id not in self.objects:
            self.objects[plan.id] = GraphQLObjectType(
                plan.name,
                lambda: self._entry_fields(plan),
                interfaces=[self.builtins.entry, self.builtins.node],
                description=plan.description,
            )
        return self.objects[plan.id]

    def _entry_fields(self, plan: TypePlan) -> dict[str, GraphQLField]:
        fields = {
            "sys": GraphQLField(GraphQLNonNull(self.builtins.sys), resolve=resolve.sys),
            "contentfulMetadata": GraphQLField(
                GraphQLNonNull(self.builtins.metadata), resolve=resolve.metadata
            ),
            "_id": GraphQLField(GraphQLNonNull(GraphQLID), resolve=resolve.node_id),
            "linkedFrom": GraphQLField(
                self._linking(plan),
                {"allowedLocales": GraphQLArgument(GraphQLList(GraphQLString))},
                resolve.linked_from,
            ),
        }
        for field_plan in plan.fields:
            made = self._content_field(plan, field_plan)
            if made is not None:
                fields[field_plan.name] = made
        return _sorted(fields)

    def _content_field(self, owner: TypePlan, plan: FieldPlan) -> GraphQLField | None:
        kind = plan.kind
        if kind in (kinds.SCALAR, kinds.LOCATION, kinds.OBJECT, kinds.SYMBOLS):
            return GraphQLField(
                self._value_type(plan), locale_argument(), resolve.field_value(plan)
            )
        if kind == kinds.RICH_TEXT:
            return GraphQLField(
                self._rich_text(owner, plan), locale_argument(), resolve.rich_text(plan)
            )
        if kind in (kinds.ASSET, kinds.ENTRY):
            return self._link_field(owner, plan)
        if kind in (kinds.ASSETS, kinds.ENTRIES):
            return self._array_field(owner, plan)
        if kind == kinds.RESOURCE:
            return GraphQLField(
                self._resource(helper_name(owner.name, plan.id)),
                locale_argument(),
                resolve.resource(plan),
            )
        if kind == kinds.RESOURCES:
            item = self._resource(helper_name(owner.name, plan.id, "Item"))
            collection = self._collection(helper_name(owner.name, plan.id, "Collection"), item)
            arguments = {k: v for k, v in _paging().items() if k != "preview"}
            return GraphQLField(
                collection,
                arguments,
                resolve.resource_collection(plan),
                extensions=_cost("collection", plan.max_items),
            )
        return None

    def _value_type(self, plan: FieldPlan) -> GraphQLOutputType:
        if plan.kind == kinds.LOCATION:
            return self.builtins.location
        if plan.kind == kinds.OBJECT:
            return self.builtins.json
        if plan.kind == kinds.SYMBOLS:
            return GraphQLList(GraphQLString)
        scalars: dict[str, GraphQLOutputType] = {
            "String": GraphQLString,
            "Int": GraphQLInt,
            "Float": GraphQLFloat,
            "Boolean": GraphQLBoolean,
        }
        return scalars.get(plan.scalar or "", self.builtins.date_time)

    def _target_type(self, owner: TypePlan, plan: FieldPlan, suffix: str) -> GraphQLOutputType:
        """What an entry link holds: one type, a union of several, or any Entry."""
        if plan.targets is None:
            return self.builtins.entry
        members = [self.entry_type(self.model.types[t]) for t in plan.targets]
        if not plan.union:
            return members[0]
        return GraphQLUnionType(
            helper_name(owner.name, plan.id, suffix),
            sorted(members, key=lambda member: member.name),
            resolve_type=lambda value, *_: value.type_name,
        )

    def _link_field(self, owner: TypePlan, plan: FieldPlan) -> GraphQLField:
        arguments = {"preview": GraphQLArgument(GraphQLBoolean), **locale_argument()}
        if plan.kind == kinds.ASSET:
            target: GraphQLOutputType = self.asset
        else:
            target = self._target_type(owner, plan, "")
            single = self.model.type_of(plan.single_type or "")
            if single is not None:
                arguments["where"] = GraphQLArgument(self.inputs.filter(single))
        return GraphQLField(
            target, dict(sorted(arguments.items())), resolve.link(plan), extensions=_cost("link")
        )

    def _array_field(self, owner: TypePlan, plan: FieldPlan) -> GraphQLField:
        order: GraphQLInputType | None = None
        where: GraphQLInputType | None = None
        if plan.kind == kinds.ASSETS:
            collection = self.asset_collection
        else:
            item = self._target_type(owner, plan, "Item")
            collection = self._collection(helper_name(owner.name, plan.id, "Collection"), item)
            single = self.model.type_of(plan.single_type or "")
            if single is not None:
                order = order_enum(helper_name(owner.name, plan.id, "CollectionOrder"), single)
                where = self.inputs.filter(single)
        return GraphQLField(
            collection,
            _paging(order=order, where=where),
            resolve.link_collection(plan),
            extensions=_cost("collection", plan.max_items),
        )

    # -- rich text, resources, linking collections, assets -------------------------------

    def _rich_text(self, owner: TypePlan, plan: FieldPlan) -> GraphQLObjectType:
        stem = helper_name(owner.name, plan.id)
        entries = GraphQLNonNull(GraphQLList(self.builtins.entry))
        assets = GraphQLNonNull(GraphQLList(self.asset))
        lists: dict[str, dict[str, GraphQLOutputType]] = {
            "Entries": {n: entries for n in ("block", "hyperlink", "inline")},
            "Assets": {n: assets for n in ("block", "hyperlink")},
        }
        links: dict[str, GraphQLField] = {}
        for suffix, members in lists.items():
            kind = "Entry" if suffix == "Entries" else "Asset"
            links[suffix.lower()] = GraphQLField(
                GraphQLNonNull(
                    GraphQLObjectType(
                        stem + suffix,
                        {
                            n: GraphQLField(t, resolve=resolve.rich_links(kind, n))
                            for n, t in members.items()
                        },
                    )
                ),
                resolve=resolve.itself,
            )
        resources = {
            n: GraphQLField(
                GraphQLNonNull(
                    GraphQLList(GraphQLNonNull(self._resource(f"{stem}Resources{upper_first(n)}")))
                ),
                resolve=resolve.rich_links("Resource", n),
            )
            for n in ("block", "hyperlink", "inline")
        }
        links["resources"] = GraphQLField(
            GraphQLNonNull(GraphQLObjectType(stem + "Resources", resources)), resolve=resolve.itself
        )
        return GraphQLObjectType(
            stem,
            {
                "json": GraphQLField(GraphQLNonNull(self.builtins.json), resolve=resolve.rich_json),
                "links": GraphQLField(
                    GraphQLNonNull(GraphQLObjectType(stem + "Links", _sorted(links))),
                    resolve=resolve.itself,
                    extensions=_cost("links", plan.links_limit),
                ),
            },
        )

    def _resource(self, name: str) -> GraphQLObjectType:
        return GraphQLObjectType(
            name,
            {"sys": GraphQLField(GraphQLNonNull(self.builtins.resource_sys))},
            interfaces=[self.builtins.resource_link],
        )

    def _linking(self, plan: TypePlan | None) -> GraphQLObjectType:
        """`TLinkingCollections` (`AssetLinkingCollections` for None)."""
        name = f"{plan.name if plan else 'Asset'}LinkingCollections"
        sources = plan.linked_from if plan else self.model.asset_linked_from

        def fields() -> dict[str, GraphQLField]:
            made = {
                "entryCollection": GraphQLField(
                    self.entry_collection,
                    _paging(),
                    resolve.linking_collection(None, plan is None),
                    extensions=_cost("collection", None),
                )
            }
            for source_id in sources:
                source = self.model.types[source_id]
                field_name = source.collection_field
                order = None
                if plan is not None:
                    order = order_enum(f"{name}{upper_first(field_name)}Order", source)
                made[field_name] = GraphQLField(
                    self._collection(f"{source.name}Collection", self.entry_type(source)),
                    _paging(order=order),
                    resolve.linking_collection(source, plan is None),
                    extensions=_cost("collection", None),
                )
            return _sorted(made)

        return GraphQLObjectType(name, fields)

    def _asset(self) -> GraphQLObjectType:
        def fields() -> dict[str, GraphQLField]:
            made = {
                name: GraphQLField(kind, locale_argument(), resolve.asset_field(name))
                for name, kind in (
                    ("title", GraphQLString),
                    ("description", GraphQLString),
                    ("contentType", GraphQLString),
                    ("fileName", GraphQLString),
                    ("size", GraphQLInt),
                    ("width", GraphQLInt),
                    ("height", GraphQLInt),
                )
            }
            made["url"] = GraphQLField(
                GraphQLString,
                {**locale_argument(), "transform": GraphQLArgument(self.builtins.transform)},
                resolve.asset_url,
            )
            made["sys"] = GraphQLField(GraphQLNonNull(self.builtins.sys), resolve=resolve.sys)
            made["contentfulMetadata"] = GraphQLField(
                GraphQLNonNull(self.builtins.metadata), resolve=resolve.metadata
            )
            made["linkedFrom"] = GraphQLField(
                self._linking(None),
                {"allowedLocales": GraphQLArgument(GraphQLList(GraphQLString))},
                resolve.linked_from,
            )
            return _sorted(made)

        return GraphQLObjectType(
            "Asset",
            fields,
            description="Represents a binary file in a space. An asset can be any file type.",
        )
