"""The resolvers the generated schema calls: root fields, entry fields, links, arrays of
links and `linkedFrom`. Each reads the stored item (every locale) through the request's
context: values along the locale's fallback chain as the REST API delivers them, links
through the batched loader. Positions that cannot be filled get Contentful's errors:
a single link raises (null there), a list holds the error in place of the element."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from mirror.delivery.content import Item
from mirror.delivery.localize import value_in
from mirror.delivery.paths import Reader
from mirror.graphql import collections
from mirror.graphql import model as kinds
from mirror.graphql.assets import asset_field, asset_url
from mirror.graphql.context import RequestContext
from mirror.graphql.errors import unexpected_type, unresolvable
from mirror.graphql.filters import compile_where
from mirror.graphql.loader import Batch, EntryNode, link_ids
from mirror.graphql.model import FieldPlan, TypePlan
from mirror.graphql.richtext import itself, rich_json, rich_links, rich_text

__all__ = [
    "asset_field",
    "asset_url",
    "itself",
    "rich_json",
    "rich_links",
    "rich_text",
]

Resolver = Callable[..., Any]
Info = GraphQLResolveInfo


# -- the root ------------------------------------------------------------------------


def _root_node(info: Info, kind: str, arguments: dict[str, Any]) -> EntryNode | None:
    ctx: RequestContext = info.context
    code = ctx.locale(ctx.default_locale, arguments.get("locale"))
    item = ctx.loader.get(kind, str(arguments["id"]))
    if item is None:
        return None
    fallback = arguments.get("useFallbackLocale") is not False
    return ctx.node(item, code, fallback, Batch([item]))


def root_entry(plan: TypePlan) -> Resolver:
    def resolve(_root: Any, info: Info, **arguments: Any) -> EntryNode | None:
        node = _root_node(info, "Entry", arguments)
        return node if node is not None and node.type_name == plan.name else None

    return resolve


def root_asset(_root: Any, info: Info, **arguments: Any) -> EntryNode | None:
    return _root_node(info, "Asset", arguments)


def root_node(_root: Any, info: Info, **arguments: Any) -> EntryNode | None:
    return _root_node(info, "Entry", arguments)


def _root_page(
    info: Info,
    item_type: str,
    content_type: str | None,
    filter_name: str,
    arguments: dict[str, Any],
) -> collections.Page:
    ctx: RequestContext = info.context
    code = ctx.locale(ctx.default_locale, arguments.get("locale"))
    items, total = collections.search(ctx, item_type, content_type, filter_name, code, arguments)
    skip, limit = collections.bounds(arguments.get("skip"), arguments.get("limit"))
    return collections.page(ctx.page_nodes(items, code), total, skip, limit)


def root_collection(plan: TypePlan) -> Resolver:
    def resolve(_root: Any, info: Info, **arguments: Any) -> collections.Page:
        return _root_page(info, "Entry", plan.id, f"{plan.name}Filter", arguments)

    return resolve


def root_assets(_root: Any, info: Info, **arguments: Any) -> collections.Page:
    return _root_page(info, "Asset", None, "AssetFilter", arguments)


def root_entries(_root: Any, info: Info, **arguments: Any) -> collections.Page:
    return _root_page(info, "Entry", None, "EntryFilter", arguments)


# -- what every entry and asset has --------------------------------------------------


def sys(node: EntryNode, info: Info) -> dict[str, Any]:
    stored = node.item["sys"]
    content = info.context.revision.content
    return {
        "id": stored["id"],
        "spaceId": content.space_id,
        "environmentId": content.environment,
        "publishedAt": stored.get("updatedAt"),
        "firstPublishedAt": stored.get("createdAt"),
        "publishedVersion": stored.get("revision"),
        "locale": node.locale,
    }


def metadata(node: EntryNode, info: Info) -> dict[str, Any]:
    names: dict[str, Any] = info.context.revision.tag_names
    tags = ((node.item.get("metadata") or {}).get("tags")) or []
    found = [(tag.get("sys") or {}).get("id") for tag in tags if isinstance(tag, dict)]
    return {"tags": [{"id": tag, "name": names.get(tag)} for tag in found if tag is not None]}


def node_id(node: EntryNode, _info: Info) -> str:
    return node.id


class Linking:
    """What `linkedFrom` resolves to: the node, and the locales its links are read in."""

    __slots__ = ("locales", "node")

    def __init__(self, node: EntryNode, locales: list[str]) -> None:
        self.node = node
        self.locales = locales


def linked_from(node: EntryNode, info: Info, allowedLocales: list[str] | None = None) -> Linking:
    ctx: RequestContext = info.context
    locales = [ctx.default_locale]
    for code in allowedLocales or []:
        if code is not None and ctx.locale(node.locale, code) not in locales:
            locales.append(code)
    return Linking(node, locales)


def linking_collection(source: TypePlan | None, for_asset: bool) -> Resolver:
    """A collection of `TLinkingCollections` (`entryCollection` when `source` is None)."""

    def resolve(linking: Linking, info: Info, **arguments: Any) -> collections.Page:
        ctx: RequestContext = info.context
        node = linking.node
        code = ctx.locale(node.locale, arguments.get("locale"))
        model = ctx.revision.served.model
        plan = model.type_of(node.item["sys"].get("contentType", {}).get("sys", {}).get("id", ""))
        sources = model.asset_linked_from if for_asset else (plan.linked_from if plan else {})
        fields = {
            content_type: [field.id for field in plans]
            for content_type, plans in sources.items()
            if source is None or content_type == source.id
        }
        content_type = source.id if source else None
        items, total = collections.linking(
            ctx, node.id, fields, linking.locales, content_type, code, arguments
        )
        skip, limit = collections.bounds(arguments.get("skip"), arguments.get("limit"))
        return collections.page(ctx.page_nodes(items, code), total, skip, limit)

    return resolve


# -- content fields --------------------------------------------------------------------


def field_value(plan: FieldPlan) -> Resolver:
    definition, name = plan.definition, plan.id

    def resolve(node: EntryNode, info: Info, locale: str | None = None) -> Any:
        ctx: RequestContext = info.context
        code = node.locale if locale is None else ctx.locale(node.locale, locale)
        return ctx.value(node, definition, name, code)

    return resolve


def _targets(
    ctx: RequestContext, node: EntryNode, plan: FieldPlan, kind: str
) -> tuple[list[str], Batch]:
    """The ids a link field holds (read in the parent's locale), and the batch of the
    targets of this field across the parent's batch, loaded together."""
    definition, name = plan.definition, plan.id
    chain = ctx.chain(definition, node.locale, node.fallback)

    def ids_of(item: Item) -> list[str]:
        return link_ids(value_in((item.get("fields") or {}).get(name), chain), kind)

    batch = node.batch.children.get((name, chain))
    if batch is None:
        batch = ctx.loader.targets(node.batch, (name, chain), kind, ids_of)
    return ids_of(node.item), batch


def _where_test(
    ctx: RequestContext, info: Info, plan: FieldPlan, code: str, where: dict[str, Any]
) -> Callable[[Item], bool]:
    """A link's `where` (2024), compiled once per request and field."""
    key = (id(info.field_nodes[0]), code)
    found = ctx.memo.get(key)
    if found is None:
        target = plan.single_type or ""
        reader = Reader(ctx.revision.schema, code, "Entry", target)
        filter_name = collections.filter_name(ctx, target)
        found = ctx.memo[key] = compile_where(where, filter_name, reader, ctx).test(reader, ctx)
    return found


def _target_node(
    ctx: RequestContext, owner: EntryNode, plan: FieldPlan, item: Item, code: str, batch: Batch
) -> EntryNode | GraphQLError:
    if item["sys"]["type"] == "Entry" and not plan.admits(item["sys"]["contentType"]["sys"]["id"]):
        return unexpected_type(owner, plan.id, item)
    found = ctx.node(item, code, owner.fallback, batch)
    return found if found is not None else unexpected_type(owner, plan.id, item)


def link(plan: FieldPlan) -> Resolver:
    kind = "Asset" if plan.kind == kinds.ASSET else "Entry"

    def resolve(
        node: EntryNode,
        info: Info,
        locale: str | None = None,
        preview: bool | None = None,
        where: dict[str, Any] | None = None,
    ) -> EntryNode | None:
        ctx: RequestContext = info.context
        code = node.locale if locale is None else ctx.locale(node.locale, locale)
        ids, batch = _targets(ctx, node, plan, kind)
        if not ids:
            return None
        item = ctx.loader.get(kind, ids[0])
        if item is None:
            if where is not None:
                return None  # a filtered link skips what it cannot resolve
            raise unresolvable(node, plan.id, kind, ids[0])
        found = _target_node(ctx, node, plan, item, code, batch)
        if isinstance(found, GraphQLError):
            raise found
        if where is not None and not _where_test(ctx, info, plan, code, where)(item):
            return None
        return found

    return resolve


def link_collection(plan: FieldPlan) -> Resolver:
    """An array of links as `fCollection`: its targets in saved order, unresolvable
    ones null in place with an error; with `where` or `order`, filtered and sorted."""
    kind = "Asset" if plan.kind == kinds.ASSETS else "Entry"

    def resolve(node: EntryNode, info: Info, **arguments: Any) -> collections.Page:
        ctx: RequestContext = info.context
        code = ctx.locale(node.locale, arguments.get("locale"))
        skip, limit = collections.bounds(arguments.get("skip"), arguments.get("limit"))
        ids, batch = _targets(ctx, node, plan, kind)
        if arguments.get("where") or arguments.get("order"):
            found = [item for i in ids if (item := ctx.loader.get(kind, i)) is not None]
            chosen, total = collections.refine(ctx, found, plan.single_type or "", code, arguments)
            items: list[Any] = [_target_node(ctx, node, plan, item, code, batch) for item in chosen]
            return collections.page(items, total, skip, limit)
        items = []
        for target in ids[skip : skip + limit]:
            item = ctx.loader.get(kind, target)
            if item is None:
                items.append(unresolvable(node, plan.id, kind, target))
            else:
                items.append(_target_node(ctx, node, plan, item, code, batch))
        return collections.page(items, len(ids), skip, limit)

    return resolve


def _resource_of(value: Any) -> dict[str, Any] | None:
    sys_ = value.get("sys") if isinstance(value, dict) else None
    if not isinstance(sys_, dict) or not isinstance(sys_.get("urn"), str):
        return None
    return {"sys": {"linkType": str(sys_.get("linkType") or ""), "urn": sys_["urn"]}}


def resource(plan: FieldPlan) -> Resolver:
    """A ResourceLink field: the reference itself (the other space is not served)."""
    definition = plan.definition

    def resolve(node: EntryNode, info: Info, locale: str | None = None) -> Any:
        ctx: RequestContext = info.context
        code = node.locale if locale is None else ctx.locale(node.locale, locale)
        return _resource_of(ctx.value(node, definition, plan.id, code))

    return resolve


def resource_collection(plan: FieldPlan) -> Resolver:
    definition = plan.definition

    def resolve(node: EntryNode, info: Info, **arguments: Any) -> collections.Page:
        ctx: RequestContext = info.context
        code = ctx.locale(node.locale, arguments.get("locale"))
        skip, limit = collections.bounds(arguments.get("skip"), arguments.get("limit"))
        stored = ctx.value(node, definition, plan.id, code)
        found = [_resource_of(value) for value in stored] if isinstance(stored, list) else []
        return collections.page(found[skip : skip + limit], len(found), skip, limit)

    return resolve
