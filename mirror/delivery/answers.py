"""What the engine answers: a status and a JSON body, and the Delivery API's error
bodies in Contentful's shapes (sys.type Error, sys.id, message, details)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

INVALID_QUERY_MESSAGE = (
    "The query you sent was invalid. Probably a filter or ordering specification is not "
    "applicable to the type of a field."
)
CONTENT_TYPE_REQUIRED_MESSAGE = (
    "A Content Type ID is required. When querying for Entries and involving fields you need "
    "to limit your query to a specific Content Type. Please send a Content Type ID (not the "
    'name) as the URI query parameter "content_type"'
)
REFERENCE_CONTENT_TYPE_MESSAGE = (
    "When searching on references you must specify the Content Type of the reference. "
    "Please send a Content Type id as a query parameter"
)
NOT_FOUND_MESSAGE = "The resource could not be found."
MAX_RESPONSE_BYTES = 7_340_032


def too_big_message(maximum: int) -> str:
    return f"Response size too big. Maximum allowed response size: {maximum}b."


@dataclass
class Answer:
    """One answer of the Delivery API: HTTP status and JSON body."""

    status: int
    body: dict[str, Any]


class DeliveryError(Exception):
    """A request the Delivery API refuses; `answer` is the error it sends."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.answer = Answer(status, error_body(code, message, details))


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"sys": {"type": "Error", "id": code}, "message": message}
    if details is not None:
        body["details"] = details
    body["requestId"] = uuid.uuid4().hex
    return body


def invalid_query(*errors: dict[str, Any]) -> DeliveryError:
    """400 InvalidQuery with `details.errors`."""
    return DeliveryError(400, "InvalidQuery", INVALID_QUERY_MESSAGE, {"errors": list(errors)})


def unknown_path(path: str) -> DeliveryError:
    """An unknown parameter or path, as cfexampleapi-104 and -117 answer it."""
    return invalid_query(
        {
            "name": "unknown",
            "path": path.split("."),
            "details": f'The path "{path}" is not recognized',
        }
    )


def invalid_value(path: str, details: str) -> DeliveryError:
    """A parameter whose value cannot apply (shape unverified: no recording shows it)."""
    return invalid_query({"name": "invalid", "path": path.split("."), "details": details})


def bad_request(message: str) -> DeliveryError:
    return DeliveryError(400, "BadRequest", message)


def unknown_content_type(content_type: str) -> DeliveryError:
    return invalid_query({"name": "unknownContentType", "value": content_type})


def not_found(kind: str, item_id: str, space: str, environment: str) -> DeliveryError:
    details = {"type": kind, "id": item_id, "environment": environment, "space": space}
    return DeliveryError(404, "NotFound", NOT_FOUND_MESSAGE, details)


def collection(items: list[Any], total: int, skip: int, limit: int) -> dict[str, Any]:
    return {"sys": {"type": "Array"}, "total": total, "skip": skip, "limit": limit, "items": items}
