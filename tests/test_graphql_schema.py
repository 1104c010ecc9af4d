"""The GraphQL schema generated from a content model is the one Contentful generated for
the same model: the three recorded spaces of ../shared/conformance/graphql (every type,
field, argument, input field, enum value and union member, with the same names and type
signatures), their sites' operations validate against it, and the naming rules and
schema-generation errors are Contentful's."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    build_client_schema,
    parse,
    validate,
)

from mirror.graphql.errors import SchemaGenerationError
from mirror.graphql.names import type_name
from mirror.graphql.schema import build_schema
from tests.graphql_support import conformance, content_model, differences

SPACES = ("blog", "ecommerce", "marketing")


def recorded(space: str) -> GraphQLSchema:
    return build_client_schema({"__schema": conformance(f"schema-{space}.json")["__schema"]})


def generated(space: str) -> GraphQLSchema:
    return build_schema(*content_model(space)).schema


@pytest.mark.parametrize("space", SPACES)
def test_the_generated_schema_has_everything_contentful_generated(space: str) -> None:
    assert differences(recorded(space), generated(space)) == []


@pytest.mark.parametrize("space", SPACES)
def test_content_types_keep_their_descriptions_and_interfaces(space: str) -> None:
    theirs, ours = recorded(space), generated(space)
    entry_types = [t for t in theirs.type_map.values() if isinstance(t, GraphQLObjectType)]
    entry_types = [t for t in entry_types if "Entry" in {i.name for i in t.interfaces}]
    assert entry_types
    for recorded_type in entry_types:
        mine = ours.type_map[recorded_type.name]
        assert mine.description == recorded_type.description
        assert {"Entry", "_Node"} <= {i.name for i in mine.interfaces}  # type: ignore[union-attr]


@pytest.mark.parametrize("space", SPACES)
def test_every_operation_of_the_site_validates(space: str) -> None:
    schema = generated(space)
    operations = conformance(f"queries-{space}.json")["operations"]
    assert len(operations) == {"blog": 5, "ecommerce": 5, "marketing": 15}[space]
    for operation in operations:
        errors = validate(schema, parse(operation["document"]))
        assert errors == [], (operation["name"], errors)


def test_without_the_deleted_type_a_one_member_union_is_the_type_itself() -> None:
    data = conformance("content-types-marketing.json")
    schema = build_schema(data["reconstruction"]["space_id"], data["items"]).schema
    cta = schema.type_map["ComponentCta"]
    assert isinstance(cta, GraphQLObjectType)
    assert str(cta.fields["targetPage"].type) == "Page"
    assert "ComponentCtaTargetPage" not in schema.type_map


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("my-2content-type", "My2ContentType"),  # Contentful's own examples
        ("Location", "ContentTypeLocation"),
        ("5TbTQ4S6xqSeAU6WGQmQ2e", "ContentType5TbTQ4S6xqSeAU6WGQmQ2e"),
        ("pageBlogPost", "PageBlogPost"),
        ("friendly-user", "FriendlyUser"),
        ("location", "ContentTypeLocation"),
        ("blog_post", "BlogPost"),
        ("asset", "ContentTypeAsset"),
    ],
)
def test_type_names_follow_contentfuls_rules(content_type: str, expected: str) -> None:
    assert type_name(content_type) == expected


def _content_type(content_type: str, *fields: dict[str, Any]) -> dict[str, Any]:
    return {"sys": {"id": content_type}, "name": content_type, "fields": list(fields)}


def _symbol(field_id: str) -> dict[str, Any]:
    return {"id": field_id, "name": field_id, "type": "Symbol"}


def test_root_fields_of_a_prefixed_type_are_lower_first() -> None:
    schema = build_schema("s", [_content_type("Location", _symbol("name"))]).schema
    assert {"contentTypeLocation", "contentTypeLocationCollection"} <= set(
        schema.query_type.fields  # type: ignore[union-attr]
    )


def test_content_types_with_one_type_name_cannot_be_served() -> None:
    with pytest.raises(SchemaGenerationError) as raised:
        build_schema("s", [_content_type("A_car", _symbol("x")), _content_type("a_car_")])
    error = raised.value
    assert (error.status, error.code) == (422, "COLLIDING_TYPE_NAMES")
    assert error.message == (
        "Schema generation failed. Type name generated for the content types 'A_car', "
        "'a_car_' would be the same for all of them: 'ACar'"
    )
    assert error.details == {
        "collidingContentTypeIds": ["A_car", "a_car_"],
        "resultingTypeName": "ACar",
    }


def test_a_helper_type_colliding_with_a_content_type_cannot_be_served() -> None:
    rich = {"id": "content", "name": "content", "type": "RichText"}
    with pytest.raises(SchemaGenerationError) as raised:
        build_schema("s", [_content_type("blogPost", rich), _content_type("blogPostContent")])
    assert raised.value.code == "COLLIDING_TYPE_NAMES"
    assert raised.value.details == {
        "collidingContentTypeIds": ["blogPost", "blogPostContent"],
        "resultingTypeName": "BlogPostContent",
    }


def test_reserved_and_colliding_field_names_cannot_be_served() -> None:
    with pytest.raises(SchemaGenerationError) as reserved:
        build_schema("s", [_content_type("post", _symbol("linkedFrom"))])
    assert (reserved.value.status, reserved.value.code) == (422, "RESERVED_FIELD_NAME")
    links = {
        "id": "items",
        "name": "items",
        "type": "Array",
        "items": {"type": "Link", "linkType": "Asset"},
    }
    with pytest.raises(SchemaGenerationError) as colliding:
        build_schema("s", [_content_type("post", links, _symbol("itemsCollection"))])
    assert colliding.value.code == "COLLIDING_FIELD_NAMES"
    assert colliding.value.details["resultingFieldName"] == "itemsCollection"  # type: ignore[index]


def test_every_field_type_gets_its_graphql_type_filters_and_order() -> None:
    fields = [
        {"id": "title", "type": "Symbol"},
        {"id": "body", "type": "Text"},
        {"id": "count", "type": "Integer"},
        {"id": "price", "type": "Number"},
        {"id": "on", "type": "Boolean"},
        {"id": "day", "type": "Date"},
        {"id": "place", "type": "Location"},
        {"id": "extra", "type": "Object"},
        {"id": "words", "type": "Array", "items": {"type": "Symbol"}},
        {"id": "story", "type": "RichText"},
        {"id": "anything", "type": "Link", "linkType": "Entry"},
        {"id": "pictures", "type": "Array", "items": {"type": "Link", "linkType": "Asset"}},
    ]
    schema = build_schema("s", [_content_type("thing", *fields)]).schema
    thing = schema.type_map["Thing"]
    assert isinstance(thing, GraphQLObjectType)
    types = {name: str(field.type) for name, field in thing.fields.items()}
    assert types == {
        "_id": "ID!",
        "anything": "Entry",
        "body": "String",
        "contentfulMetadata": "ContentfulMetadata!",
        "count": "Int",
        "day": "DateTime",
        "extra": "JSON",
        "linkedFrom": "ThingLinkingCollections",
        "on": "Boolean",
        "picturesCollection": "AssetCollection",
        "place": "Location",
        "price": "Float",
        "story": "ThingStory",
        "sys": "Sys!",
        "title": "String",
        "words": "[String]",
    }
    where = schema.type_map["ThingFilter"]
    assert isinstance(where, GraphQLInputObjectType)
    assert {"place_within_circle", "place_within_rectangle", "words_contains_some"} <= set(
        where.fields
    )
    assert not any(name.startswith("extra") for name in where.fields)
    order = schema.type_map["ThingOrder"]
    assert isinstance(order, GraphQLEnumType)
    assert {v.removesuffix("_ASC") for v in order.values if v.endswith("_ASC")} == {
        "count",
        "day",
        "on",
        "price",
        "title",
        "sys_firstPublishedAt",
        "sys_id",
        "sys_publishedAt",
        "sys_publishedVersion",
    }
