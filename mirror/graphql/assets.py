"""Asset fields: `title`, `description`, the file's `contentType`, `fileName`, `size`,
`width`, `height` (each in a locale, with fallback), and `url`: the URL the REST server
gives for that asset and locale (this server's /files/… when the mirror holds the file),
made absolute as Contentful's GraphQL API makes it, with the Images API parameters of
`transform` for images."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from mirror.delivery.localize import ASSET_FIELDS, Schema, localize
from mirror.graphql.context import RequestContext
from mirror.graphql.errors import field_error
from mirror.graphql.loader import EntryNode
from mirror.images.params import transform_query

Info = GraphQLResolveInfo
_FILE_PARTS: dict[str, tuple[str, ...]] = {
    "contentType": ("contentType",),
    "fileName": ("fileName",),
    "size": ("details", "size"),
    "width": ("details", "image", "width"),
    "height": ("details", "image", "height"),
}


def _file(ctx: RequestContext, node: EntryNode, locale: str | None) -> Any:
    code = node.locale if locale is None else ctx.locale(node.locale, locale)
    return ctx.value(node, ASSET_FIELDS["file"], "file", code), code


def asset_field(name: str) -> Callable[..., Any]:
    if name in ("title", "description"):
        definition = ASSET_FIELDS[name]

        def resolve_text(node: EntryNode, info: Info, locale: str | None = None) -> Any:
            ctx: RequestContext = info.context
            code = node.locale if locale is None else ctx.locale(node.locale, locale)
            return ctx.value(node, definition, name, code)

        return resolve_text
    path = _FILE_PARTS[name]

    def resolve(node: EntryNode, info: Info, locale: str | None = None) -> Any:
        value, _ = _file(info.context, node, locale)
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return value

    return resolve


def asset_url(
    node: EntryNode,
    info: Info,
    locale: str | None = None,
    transform: dict[str, Any] | None = None,
) -> str | None:
    ctx: RequestContext = info.context
    file, code = _file(ctx, node, locale)
    if not isinstance(file, dict) or not isinstance(file.get("url"), str):
        return None
    url = ctx.revision.asset_url(node.item, code, ctx.host)
    if url is None:
        return None
    if transform and str(file.get("contentType") or "").startswith("image/"):
        query = _transform_query(transform)
        if query:
            url = f"{url}?{query}"
    return str(url)


def _transform_query(transform: dict[str, Any]) -> str:
    try:
        return transform_query(transform)
    except ValueError as refusal:
        raise field_error("BAD_USER_INPUT", str(refusal)) from None


def served_url(
    files: Any, schema: Schema, asset: dict[str, Any], code: str, host: str
) -> str | None:
    """The URL of an asset's file in a locale as the REST server answers it (LocalFiles
    points it at this server when the mirror holds the file), made absolute: `http:` for
    this server's own, `https:` for Contentful's CDN."""
    localized = localize(schema, asset, code)
    if files.held():  # else LocalFiles leaves every URL as stored
        files.localize_urls(localized, host, False)
    file = (localized.get("fields") or {}).get("file")
    url = file.get("url") if isinstance(file, dict) else None
    if not isinstance(url, str):
        return None
    if url.startswith("//"):
        return ("http:" if url.startswith(f"//{host}/") else "https:") + url
    return url
