"""The types every Contentful GraphQL schema has, whatever the content model: the
scalars, `Sys`, `ContentfulMetadata`, `Location`, the image transform options, the
`Entry` and `_Node` interfaces and the filters of `sys` and `contentfulMetadata`.
`Builtins()` makes a fresh set for one schema."""

from __future__ import annotations

import re
from datetime import timezone
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLString,
    IntValueNode,
    StringValueNode,
    ValueNode,
    value_from_ast_untyped,
)

from mirror.delivery.values import instant

STRING_OPERATORS = ("", "_not", "_exists", "_contains", "_not_contains", "_in", "_not_in")
RANGE_OPERATORS = ("", "_not", "_exists", "_gt", "_gte", "_lt", "_lte", "_in", "_not_in")
BOOLEAN_OPERATORS = ("", "_not", "_exists")
LIST_OPERATORS = ("_contains_all", "_contains_some", "_contains_none", "_exists")
_HEX_COLOR = re.compile(r"^rgb:[0-9A-Fa-f]{6}$")
_IMAGE_FORMATS = {
    "AVIF": "AVIF image format.",
    "JPG": "JPG image format.",
    "JPG_PROGRESSIVE": "Progressive JPG format stores multiple passes of an image in "
    "progressively higher detail.",
    "PNG": "PNG image format",
    "PNG8": "8-bit PNG images support up to 256 colors and weigh less than the standard "
    "24-bit PNG equivalent.",
    "WEBP": "WebP image format.",
}
_FOCUS = [
    *("CENTER", "TOP", "TOP_RIGHT", "RIGHT", "BOTTOM_RIGHT", "BOTTOM", "BOTTOM_LEFT", "LEFT"),
    *("TOP_LEFT", "FACE", "FACES"),
]
_STRATEGIES = ["CROP", "FILL", "FIT", "PAD", "SCALE", "THUMB"]


_CANONICAL = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z"
)


def serialize_date_time(value: Any) -> str:
    """A stored date as Contentful's GraphQL API sends it: UTC, milliseconds, `Z`
    (`2026-02-14` → `2026-02-14T00:00:00.000Z`); text that is no date goes as it is."""
    text = str(value)
    if _CANONICAL.fullmatch(text):  # as stored by Contentful: already what is sent
        return text
    moment = instant(text)
    if moment is None:
        return text
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _date_time_input(value: Any) -> str:
    if not isinstance(value, str) or instant(value) is None:
        raise ValueError(f"DateTime cannot represent {value!r}: expected an ISO 8601 date")
    return value


def _literal(parse: Any) -> Any:
    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        if isinstance(node, (StringValueNode, IntValueNode)):
            return parse(int(node.value) if isinstance(node, IntValueNode) else node.value)
        raise ValueError("not a literal of this type")

    return parse_literal


def _whole(name: str, low: int, high: int) -> Any:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number between {low} and {high}")
        return value

    return parse


def _hex_color(value: Any) -> str:
    if not isinstance(value, str) or not _HEX_COLOR.match(value):
        raise ValueError("HexColor must look like rgb:ffffff")
    return value


def _untyped(node: ValueNode, variables: Any = None) -> Any:
    return value_from_ast_untyped(node, variables)


def _scalars() -> dict[str, GraphQLScalarType]:
    dimension, quality = _whole("Dimension", 1, 4000), _whole("Quality", 1, 100)
    return {
        "DateTime": GraphQLScalarType(
            "DateTime",
            description="A date-time string at UTC, such as 2007-12-03T10:15:30Z, compliant "
            "with the 'date-time' format of RFC 3339.",
            serialize=serialize_date_time,
            parse_value=_date_time_input,
            parse_literal=_literal(_date_time_input),
        ),
        "JSON": GraphQLScalarType(
            "JSON",
            description="The `JSON` scalar type represents JSON values as specified by ECMA-404.",
            serialize=lambda value: value,
            parse_value=lambda value: value,
            parse_literal=_untyped,
        ),
        "Dimension": GraphQLScalarType(
            "Dimension",
            description="The 'Dimension' type represents dimensions as whole numeric values "
            "between `1` and `4000`.",
            serialize=int,
            parse_value=dimension,
            parse_literal=_literal(dimension),
        ),
        "Quality": GraphQLScalarType(
            "Quality",
            description="The 'Quality' type represents quality as whole numeric values "
            "between `1` and `100`.",
            serialize=int,
            parse_value=quality,
            parse_literal=_literal(quality),
        ),
        "HexColor": GraphQLScalarType(
            "HexColor",
            description="The 'HexColor' type represents color in `rgb:ffffff` string format.",
            serialize=str,
            parse_value=_hex_color,
            parse_literal=_literal(_hex_color),
        ),
    }


def _fields(**fields: Any) -> dict[str, Any]:
    return dict(sorted(fields.items()))


def operator_fields(
    name: str, value_type: GraphQLInputType, operators: tuple[str, ...]
) -> dict[str, GraphQLInputField]:
    """The filter inputs of one field: `slug`, `slug_not`, `slug_in: [String]`, ..."""
    made = {}
    for operator in operators:
        if operator == "_exists":
            kind: GraphQLInputType = GraphQLBoolean
        elif operator in ("_in", "_not_in") or operator.startswith("_contains_"):
            kind = GraphQLList(value_type)
        else:
            kind = value_type
        made[name + operator] = GraphQLInputField(kind)
    return made


class Builtins:
    """One schema's fixed types."""

    def __init__(self) -> None:
        scalars = _scalars()
        self.date_time = scalars["DateTime"]
        self.json = scalars["JSON"]
        self.sys = self._sys()
        self.tag = GraphQLObjectType(
            "ContentfulTag",
            _fields(id=GraphQLField(GraphQLString), name=GraphQLField(GraphQLString)),
            description="Represents a tag entity for finding and organizing content easily.",
        )
        self.metadata = GraphQLObjectType(
            "ContentfulMetadata",
            {
                "tags": GraphQLField(
                    GraphQLNonNull(GraphQLList(self.tag)), extensions={"cost": ("link",)}
                )
            },
        )
        self.location = GraphQLObjectType(
            "Location", _fields(lat=GraphQLField(GraphQLFloat), lon=GraphQLField(GraphQLFloat))
        )
        self.circle, self.rectangle = self._areas()
        self.transform = self._transform(scalars)
        self.resource_sys = GraphQLObjectType(
            "ResourceSys",
            _fields(
                linkType=GraphQLField(GraphQLNonNull(GraphQLString)),
                urn=GraphQLField(GraphQLNonNull(GraphQLString)),
            ),
        )
        self.resource_link = GraphQLInterfaceType(
            "ResourceLink",
            {"sys": GraphQLField(GraphQLNonNull(self.resource_sys))},
            resolve_type=_type_name_of,
        )
        self.entry = GraphQLInterfaceType(
            "Entry",
            _fields(
                contentfulMetadata=GraphQLField(GraphQLNonNull(self.metadata)),
                sys=GraphQLField(GraphQLNonNull(self.sys)),
            ),
            resolve_type=_type_name_of,
        )
        self.node = GraphQLInterfaceType(
            "_Node", {"_id": GraphQLField(GraphQLNonNull(GraphQLID))}, resolve_type=_type_name_of
        )
        self.sys_filter = self._sys_filter()
        self.metadata_filter = self._metadata_filter()

    def _sys(self) -> GraphQLObjectType:
        return GraphQLObjectType(
            "Sys",
            _fields(
                id=GraphQLField(GraphQLNonNull(GraphQLString)),
                spaceId=GraphQLField(GraphQLNonNull(GraphQLString)),
                environmentId=GraphQLField(GraphQLNonNull(GraphQLString)),
                publishedAt=GraphQLField(self.date_time),
                firstPublishedAt=GraphQLField(self.date_time),
                publishedVersion=GraphQLField(GraphQLInt),
                locale=GraphQLField(GraphQLString, description="The locale that was requested."),
            ),
        )

    def _areas(self) -> tuple[GraphQLInputObjectType, GraphQLInputObjectType]:
        number = GraphQLInputField(GraphQLNonNull(GraphQLFloat))
        circle = GraphQLInputObjectType("Circle", _fields(lat=number, lon=number, radius=number))
        corners = ("topLeftLat", "topLeftLon", "bottomRightLat", "bottomRightLon")
        rectangle = GraphQLInputObjectType(
            "Rectangle", _fields(**{corner: number for corner in corners})
        )
        return circle, rectangle

    def _transform(self, scalars: dict[str, GraphQLScalarType]) -> GraphQLInputObjectType:
        formats = GraphQLEnumType("ImageFormat", {n: n for n in _IMAGE_FORMATS})
        for value_name, text in _IMAGE_FORMATS.items():
            formats.values[value_name].description = text
        focus = GraphQLEnumType("ImageResizeFocus", {n: n for n in sorted(_FOCUS)})
        strategy = GraphQLEnumType("ImageResizeStrategy", {n: n for n in _STRATEGIES})
        return GraphQLInputObjectType(
            "ImageTransformOptions",
            _fields(
                width=GraphQLInputField(scalars["Dimension"], description="Desired width."),
                height=GraphQLInputField(scalars["Dimension"], description="Desired height."),
                quality=GraphQLInputField(scalars["Quality"], description="Desired quality."),
                cornerRadius=GraphQLInputField(
                    GraphQLInt, description="Corner radius (-1: ellipse)."
                ),
                resizeStrategy=GraphQLInputField(strategy, description="Defaults to `FIT`."),
                resizeFocus=GraphQLInputField(focus, description="Defaults to `CENTER`."),
                backgroundColor=GraphQLInputField(scalars["HexColor"], description="rgb:ffffff"),
                format=GraphQLInputField(formats, description="Defaults to the original's."),
            ),
        )

    def _sys_filter(self) -> GraphQLInputObjectType:
        fields = {
            **operator_fields("id", GraphQLString, STRING_OPERATORS),
            **operator_fields("publishedAt", self.date_time, RANGE_OPERATORS),
            **operator_fields("firstPublishedAt", self.date_time, RANGE_OPERATORS),
            **operator_fields("publishedVersion", GraphQLFloat, RANGE_OPERATORS),
        }
        return GraphQLInputObjectType("SysFilter", dict(sorted(fields.items())))

    def _metadata_filter(self) -> GraphQLInputObjectType:
        strings = GraphQLInputField(GraphQLList(GraphQLString))
        tags = GraphQLInputObjectType(
            "ContentfulMetadataTagsFilter",
            _fields(id_contains_all=strings, id_contains_none=strings, id_contains_some=strings),
        )
        return GraphQLInputObjectType(
            "ContentfulMetadataFilter",
            _fields(tags=GraphQLInputField(tags), tags_exists=GraphQLInputField(GraphQLBoolean)),
        )


def locale_argument() -> dict[str, GraphQLArgument]:
    return {"locale": GraphQLArgument(GraphQLString)}


def _type_name_of(value: Any, *_: Any) -> Any:
    """Every object behind an interface or union knows its GraphQL type name."""
    return value.type_name
