"""Errors of the GraphQL Content API in Contentful's shape (shared/GRAPHQL.md §2):
`{"message", "locations", "path", "extensions": {"contentful": {"code", "requestId",
"details"?, "documentationUrl"?}}}`. Three kinds: a `RequestError` answers the whole
request with its HTTP status and no data; a `SchemaGenerationError` (422) is what every
request gets while the content model cannot become a schema; `field_error` makes the
error of one position (null in place, the rest of `data` still returned)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from mirror.delivery.content import Item
from mirror.graphql.loader import EntryNode

UNRESOLVABLE_LINK_DOCUMENTATION = "https://ctfl.io/graphql-api-error-unresolvable-link"


class RequestError(Exception):
    """A request answered with an error and no data: its status, code and message."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def errors(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "extensions": contentful(self.code, self.details)}]


class SchemaGenerationError(RequestError):
    """The content model has names Contentful cannot turn into a schema (422)."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(422, code, f"Schema generation failed. {message}", details)

    @classmethod
    def colliding_types(cls, content_types: list[str], name: str) -> SchemaGenerationError:
        quoted = ", ".join(f"'{content_type}'" for content_type in content_types)
        return cls(
            "COLLIDING_TYPE_NAMES",
            f"Type name generated for the content types {quoted} would be the same for all "
            f"of them: '{name}'",
            {"collidingContentTypeIds": content_types, "resultingTypeName": name},
        )

    @classmethod
    def colliding_fields(
        cls, content_type: str, field_ids: list[str], name: str
    ) -> SchemaGenerationError:
        quoted = ", ".join(f"'{field_id}'" for field_id in field_ids)
        return cls(
            "COLLIDING_FIELD_NAMES",
            f"Field name generated for the fields {quoted} of the content type "
            f"'{content_type}' would be the same for all of them: '{name}'",
            {
                "contentTypeId": content_type,
                "collidingFieldIds": field_ids,
                "resultingFieldName": name,
            },
        )

    @classmethod
    def reserved_field(cls, content_type: str, field_id: str, name: str) -> SchemaGenerationError:
        return cls(
            "RESERVED_FIELD_NAME",
            f"Field name '{name}' generated for the field '{field_id}' of the content type "
            f"'{content_type}' is reserved",
            {"contentTypeId": content_type, "fieldId": field_id, "resultingFieldName": name},
        )


def contentful(code: str, details: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    """The `extensions` of an error; the request id is added when the answer is written."""
    inner: dict[str, Any] = {"code": code}
    if details is not None:
        inner["details"] = details
    inner.update(more)
    return {"contentful": inner}


def field_error(code: str, message: str, details: dict[str, Any] | None = None) -> GraphQLError:
    """An error a resolver raises: graphql-core nulls that field and records it there."""
    more = (
        {"documentationUrl": UNRESOLVABLE_LINK_DOCUMENTATION} if code == "UNRESOLVABLE_LINK" else {}
    )
    return GraphQLError(
        f"Query execution error. {message}", extensions=contentful(code, details, **more)
    )


def unknown_locale(code: str) -> GraphQLError:
    """A `locale` argument naming no locale of the space (message unverified)."""
    return field_error(
        "UNKNOWN_LOCALE", f"Requested locale '{code}' does not exist in the space", {"locale": code}
    )


def with_request_id(errors: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    """The errors as sent: each one's `extensions.contentful` names the request."""
    for error in errors:
        extensions = error.setdefault("extensions", {})
        extensions.setdefault("contentful", {"code": "UNKNOWN"})["requestId"] = request_id
    return errors


def unresolvable(owner: EntryNode, field_id: str, kind: str, target: str) -> GraphQLError:
    """A link whose target the served revision lacks (missing, unpublished or deleted)."""
    what = "entry" if kind == "Entry" else "asset"
    source = "entry" if owner.kind == "Entry" else "asset"
    return field_error(
        "UNRESOLVABLE_LINK",
        f"Link from {source} '{owner.id}' to {what} '{target}' on field '{field_id}' within "
        f"type '{owner.type_name}' cannot be resolved",
        {
            "type": owner.type_name,
            "field": field_id,
            "linkType": kind,
            "linkId": target,
            "linkingEntryId": owner.id,
        },
    )


def unexpected_type(owner: EntryNode, field_id: str, target: Item) -> GraphQLError:
    """A link to an entry whose content type the field's GraphQL type cannot hold."""
    content_type = target["sys"]["contentType"]["sys"]["id"]
    return field_error(
        "UNEXPECTED_LINKED_CONTENT_TYPE",
        f"Link from entry '{owner.id}' to entry '{target['sys']['id']}' on field '{field_id}' "
        f"within type '{owner.type_name}' returned an unexpected content type "
        f"'{content_type}'",
        {
            "type": owner.type_name,
            "field": field_id,
            "linkId": target["sys"]["id"],
            "contentType": content_type,
            "linkingEntryId": owner.id,
        },
    )
