"""Rich text fields: `json` (the stored document) and `links`, the entries, assets and
resources the document embeds or links to, per node type, in document order, each
once. Targets are loaded for the field across the whole batch at once; an unresolvable
one is null in place with its UNRESOLVABLE_LINK error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLResolveInfo

from mirror.delivery.content import Item
from mirror.delivery.localize import value_in
from mirror.graphql.context import RequestContext
from mirror.graphql.errors import unexpected_type, unresolvable
from mirror.graphql.loader import EntryNode
from mirror.graphql.model import FieldPlan

Info = GraphQLResolveInfo
NODE_TYPES = {
    ("Entry", "block"): "embedded-entry-block",
    ("Entry", "inline"): "embedded-entry-inline",
    ("Entry", "hyperlink"): "entry-hyperlink",
    ("Asset", "block"): "embedded-asset-block",
    ("Asset", "hyperlink"): "asset-hyperlink",
    ("Resource", "block"): "embedded-resource-block",
    ("Resource", "inline"): "embedded-resource-inline",
    ("Resource", "hyperlink"): "resource-hyperlink",
}


class RichText:
    """A rich text field of one node, read in one locale."""

    __slots__ = ("document", "locale", "node", "plan")

    def __init__(self, node: EntryNode, plan: FieldPlan, document: dict[str, Any], locale: str):
        self.node = node
        self.plan = plan
        self.document = document
        self.locale = locale


def rich_text(plan: FieldPlan) -> Callable[..., Any]:
    definition = plan.definition

    def resolve(node: EntryNode, info: Info, locale: str | None = None) -> RichText | None:
        ctx: RequestContext = info.context
        code = node.locale if locale is None else ctx.locale(node.locale, locale)
        document = ctx.value(node, definition, plan.id, code)
        return RichText(node, plan, document, code) if isinstance(document, dict) else None

    return resolve


def rich_json(text: RichText, _info: Info) -> dict[str, Any]:
    return text.document


def itself(value: Any, _info: Info) -> Any:
    """`links`, `links.entries`, ...: the same rich text, one level down."""
    return value


def targets(document: Any, node_types: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(node type, the link's sys) of each node of `node_types`, in document order."""
    if isinstance(document, list):
        for element in document:
            yield from targets(element, node_types)
    elif isinstance(document, dict):
        node_type = document.get("nodeType")
        target = (document.get("data") or {}).get("target")
        if node_type in node_types and isinstance(target, dict):
            sys = target.get("sys")
            if isinstance(sys, dict):
                yield str(node_type), sys
        yield from targets(document.get("content"), node_types)


def _ids(document: Any, node_types: set[str]) -> list[str]:
    found = (sys.get("id") for _, sys in targets(document, node_types))
    return list(dict.fromkeys(i for i in found if isinstance(i, str)))


def rich_links(kind: str, list_name: str) -> Callable[..., Any]:
    """`links.entries.block` and the like: `kind` Entry, Asset or Resource."""
    node_type = NODE_TYPES[(kind, list_name)]
    if kind == "Resource":
        return _resources(node_type)
    all_of_kind = {name for (k, _), name in NODE_TYPES.items() if k == kind}

    def resolve(text: RichText, info: Info) -> list[Any]:
        ctx: RequestContext = info.context
        node, plan = text.node, text.plan
        chain = ctx.chain(plan.definition, text.locale, node.fallback)

        def ids_of(item: Item) -> list[str]:
            document = value_in((item.get("fields") or {}).get(plan.id), chain)
            return _ids(document, all_of_kind)

        batch = ctx.loader.targets(node.batch, ("rich", plan.id, chain, kind), kind, ids_of)
        found: list[Any] = []
        for target in _ids(text.document, {node_type}):
            item = ctx.loader.get(kind, target)
            if item is None:
                found.append(unresolvable(node, plan.id, kind, target))
                continue
            made = ctx.node(item, text.locale, node.fallback, batch)
            found.append(made if made is not None else unexpected_type(node, plan.id, item))
        return found

    return resolve


def _resources(node_type: str) -> Callable[..., Any]:
    def resolve(text: RichText, _info: Info) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for _, sys in targets(text.document, {node_type}):
            urn = sys.get("urn")
            if isinstance(urn, str) and urn not in found:
                found[urn] = {"sys": {"linkType": str(sys.get("linkType") or ""), "urn": urn}}
        return list(found.values())

    return resolve
