"""Contentful's naming rules for the GraphQL schema it generates (shared/GRAPHQL.md §3).

A content type id becomes a type name: upper-first when the id is only letters and
digits (`pageBlogPost` → `PageBlogPost`, `5TbTQ4S6xqSeAU6WGQmQ2e` keeps its case),
else the camel case of its words, upper-first (`my-2content-type` → `My2ContentType`);
a name that starts with a digit or is reserved gets the prefix `ContentType`. Root
fields are type names with the first letter lower-cased. Helper types are the type
name followed by the field name, upper-first (`PagePageContent`).
"""

from __future__ import annotations

import re

RESERVED_TYPE_NAMES = frozenset(
    {
        "Query",
        "String",
        "Int",
        "Float",
        "Boolean",
        "Location",
        "Circle",
        "Rectangle",
        "DateTime",
        "RichText",
        "Asset",
        "AssetCollection",
        "AssetLinkingCollections",
        "AssetFilter",
        "AssetOrder",
        "Entry",
        "EntryCollection",
        "EntryOrder",
        "Sys",
        "SysFilter",
        "ContentfulMetadata",
        "ContentfulTag",
        "ContentfulMetadataFilter",
        "ContentfulMetadataTagsFilter",
        "Dimension",
        "HexColor",
        "Quality",
        "ImageResizeFocus",
        "ImageResizeStrategy",
        "ImageFormat",
        "ImageTransformOptions",
        "ResourceSys",
        "ResourceLink",
        "ResourceLinkCollection",
        "Never",
    }
)
# Fields every entry type has: a content type field may not take these names.
RESERVED_FIELD_NAMES = frozenset({"sys", "contentfulMetadata", "linkedFrom", "_id"})
TYPE_PREFIX = "ContentType"

_ALPHANUMERIC = re.compile(r"^[A-Za-z0-9]+$")
_GRAPHQL_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
# The words of an id with separators, as lodash's `words` splits ASCII text: a
# capitalised or lower-case run, an upper-case run (an acronym) before a capitalised
# word or the end, digits on their own.
_WORD = re.compile(
    r"[A-Z]?[a-z]+(?=[^A-Za-z0-9]|[A-Z]|$)"
    r"|[A-Z]+(?=[^A-Za-z0-9]|[A-Z][a-z]|$)"
    r"|[A-Z]?[a-z]+"
    r"|[A-Z]+"
    r"|[0-9]+"
)


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def camel_words(text: str) -> str:
    """The camel case of the words of `text`, lower-first (lodash's camelCase)."""
    words = _WORD.findall(text)
    return "".join(
        word.lower() if number == 0 else upper_first(word.lower())
        for number, word in enumerate(words)
    )


def type_name(content_type_id: str) -> str:
    """The GraphQL type of a content type: `pageBlogPost` → `PageBlogPost`."""
    if _ALPHANUMERIC.match(content_type_id):
        name = upper_first(content_type_id)
    else:
        name = upper_first(camel_words(content_type_id))
    if not name or name[0].isdigit() or name in RESERVED_TYPE_NAMES:
        name = TYPE_PREFIX + name
    return name


def root_field(type_name_: str) -> str:
    """The root field of one entry of a type: `PageBlogPost` → `pageBlogPost`."""
    return lower_first(type_name_)


def collection_field(type_name_: str) -> str:
    """The root collection field of a type: `PageBlogPost` → `pageBlogPostCollection`."""
    return lower_first(type_name_) + "Collection"


def field_name(field_id: str) -> str | None:
    """A content type field's GraphQL name: its id when that is a GraphQL name (as
    every id Contentful's web app accepts is); otherwise the camel case of its words
    (unverified), or None when even that is no GraphQL name."""
    if _GRAPHQL_NAME.match(field_id):
        return field_id
    name = camel_words(field_id)
    return name if _GRAPHQL_NAME.match(name) else None


def helper_name(type_name_: str, field: str, *suffixes: str) -> str:
    """A helper type of one field: `helper_name("Page", "topSection", "Item")`."""
    return type_name_ + upper_first(field) + "".join(suffixes)
