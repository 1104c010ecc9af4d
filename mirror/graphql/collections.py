"""Collections: the root ones (`xCollection`, `assetCollection`, `entryCollection`) run
by the delivery engine, as /entries and /assets are; nested ones (an array field with
`where` or `order`) and `linkedFrom` ones filtered and sorted with the engine's own
filters and order. A page is `{"items", "total", "skip", "limit"}`."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from mirror.delivery.answers import DeliveryError
from mirror.delivery.content import Item
from mirror.delivery.order import sort_page
from mirror.delivery.paths import Reader
from mirror.delivery.query import MAX_LIMIT, OrderKey, Query
from mirror.graphql.context import RequestContext
from mirror.graphql.errors import field_error
from mirror.graphql.filters import compile_where

Page = dict[str, Any]


def page(items: list[Any], total: int, skip: int, limit: int) -> Page:
    return {"items": items, "total": total, "skip": skip, "limit": limit}


def bounds(skip: Any, limit: Any) -> tuple[int, int]:
    """`skip` and `limit` as given (limits.py refuses others before execution)."""
    return max(0, int(skip or 0)), max(0, min(int(100 if limit is None else limit), MAX_LIMIT))


def order_keys(order: list[OrderKey | None] | None) -> list[OrderKey]:
    return [key for key in order or [] if key is not None]


def search(
    ctx: RequestContext,
    item_type: str,
    content_type: str | None,
    filter_name: str,
    code: str,
    arguments: dict[str, Any],
) -> tuple[list[Item], int]:
    """The stored items of a root collection's page, and how many match in all."""
    skip, limit = bounds(arguments.get("skip"), arguments.get("limit"))
    reader = Reader(ctx.revision.schema, code, item_type, content_type)
    try:
        compiled = compile_where(arguments.get("where"), filter_name, reader, ctx)
        query = Query(
            limit=limit,
            skip=skip,
            locale=code,
            content_type=content_type,
            order=order_keys(arguments.get("order")),
            conditions=compiled.conditions,
        )
        return ctx.revision.engine.search(query, item_type, compiled.predicates)
    except DeliveryError as refusal:
        raise refused(refusal) from None


def refine(
    ctx: RequestContext,
    items: list[Item],
    content_type: str,
    code: str,
    arguments: dict[str, Any],
) -> tuple[list[Item], int]:
    """Items of a nested collection (its links' targets, in link order) after the
    collection's own `where` and `order`: the page, and how many match."""
    skip, limit = bounds(arguments.get("skip"), arguments.get("limit"))
    reader = Reader(ctx.revision.schema, code, "Entry", content_type)
    where = arguments.get("where")
    try:
        if where:
            test = compile_where(where, filter_name(ctx, content_type), reader, ctx).test(
                reader, ctx
            )
            items = [item for item in items if test(item)]
        keys = order_keys(arguments.get("order"))
        ordered = sort_page(list(items), keys, reader, None, skip + limit) if keys else items
    except DeliveryError as refusal:
        raise refused(refusal) from None
    return ordered[skip : skip + limit], len(items)


def linking(
    ctx: RequestContext,
    target: str,
    fields: dict[str, list[str]],
    locales: list[str],
    content_type: str | None,
    code: str,
    arguments: dict[str, Any],
) -> tuple[list[Item], int]:
    """Entries linking to `target` through `fields`, sorted (by default as root
    collections are: `sys.updatedAt` descending, then `sys.id`), and their count."""
    skip, limit = bounds(arguments.get("skip"), arguments.get("limit"))
    found = ctx.revision.content.entries_linking(target, fields, locales)
    reader = Reader(ctx.revision.schema, code, "Entry", content_type)
    try:
        ordered = sort_page(found, order_keys(arguments.get("order")), reader, None, skip + limit)
    except DeliveryError as refusal:
        raise refused(refusal) from None
    return ordered[skip : skip + limit], len(found)


def filter_name(ctx: RequestContext, content_type: str) -> str:
    plan = ctx.revision.served.model.types[content_type]
    return f"{plan.name}Filter"


def refused(refusal: DeliveryError) -> GraphQLError:
    """A filter or order the engine refuses (a value it cannot read, say)."""
    body = refusal.answer.body
    details = body.get("details") if isinstance(body.get("details"), dict) else None
    return field_error("BAD_USER_INPUT", str(body.get("message")), details)
