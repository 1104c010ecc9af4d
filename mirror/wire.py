"""The wire format shared by the client and the emulator: ids, media types, JSON bytes."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

DELIVERY_MEDIA_TYPE = "application/vnd.contentful.delivery.v1+json"
MANAGEMENT_MEDIA_TYPE = "application/vnd.contentful.management.v1+json"

# Contentful's id alphabet. "." and ".." match it, so they are refused separately.
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Sync tokens are opaque but always URL-safe.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,4096}$")

MAX_PAGE_LIMIT = 1000
DEFAULT_PAGE_LIMIT = 100
MAX_RESPONSE_BYTES = 7_340_032

SYNC_TYPES = ("all", "Entry", "Asset", "Deletion", "DeletedEntry", "DeletedAsset")


def is_safe_id(value: object) -> bool:
    """True when `value` is an id that may become a file or folder name."""
    return isinstance(value, str) and value not in (".", "..") and bool(ID_PATTERN.match(value))


def link(link_type: str, target_id: str) -> dict[str, Any]:
    return {"sys": {"type": "Link", "linkType": link_type, "id": target_id}}


def canonical_json(value: Any) -> bytes:
    """The bytes a mirror file holds: sorted keys, 2-space indent, UTF-8, final newline.

    The same value always gives the same bytes, so re-syncing unchanged content
    changes nothing and a diff shows only what changed.
    """
    try:
        return orjson.dumps(value, option=_CANONICAL)
    except TypeError:  # integers beyond 64 bits, which orjson refuses
        text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)
        return text.encode("utf-8") + b"\n"


_CANONICAL = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE


def compact_json(value: Any) -> bytes:
    """The bytes the emulator sends: compact, UTF-8."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_json(raw: bytes) -> Any:
    """Parse JSON bytes; raises ValueError on malformed input."""
    return orjson.loads(raw)


# The Sync API's parameters and the messages of its 400 answers, as Contentful words them:
# the emulator and `mirror serve DIR` answer alike.
SYNC_PARAMETERS = ("initial", "sync_token", "type", "content_type", "limit")
TOKEN_WITH_PARAMETERS = (
    "When passing a sync token you can not pass any other parameters. If you want to sync "
    'with a specific limit, start a new sync with "initial".'
)
CONTENT_TYPE_NEEDS_ENTRY = "When passing a content_type the type must be set to Entry."
INVALID_TOKEN = (
    "The sync token is not valid for this space and environment. "
    "Start a new sync with initial=true."
)


class SyncQueryError(Exception):
    """A sync request Contentful answers with 400: `code` (BadRequest, InvalidQuery),
    its message and details."""

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


def sync_request(params: dict[str, str]) -> tuple[str, str | None, int] | None:
    """Check a sync request's parameters as Contentful does. None for a continued sync
    (`sync_token` alone); for an initial sync (`initial=true`, or `1`), its filter:
    (type, content_type, limit). SyncQueryError otherwise."""
    unknown = sorted(set(params) - set(SYNC_PARAMETERS))
    if unknown:
        errors = [
            {"name": "unknown", "details": f"The query parameter {n!r} is not allowed"}
            for n in unknown
        ]
        raise SyncQueryError("InvalidQuery", "The query you sent was invalid.", {"errors": errors})
    if "sync_token" in params:
        if set(params) != {"sync_token"}:
            raise SyncQueryError("BadRequest", TOKEN_WITH_PARAMETERS)
        return None
    if params.get("initial", "").lower() not in ("true", "1"):  # Contentful takes both
        raise SyncQueryError("BadRequest", "Pass initial=true to start a sync, or a sync_token.")
    type_ = params.get("type", "all")
    if type_ not in SYNC_TYPES:
        allowed = ", ".join(SYNC_TYPES)
        raise SyncQueryError("BadRequest", f"Unknown type {type_!r}; use one of {allowed}.")
    content_type = params.get("content_type")
    if content_type is not None and type_ != "Entry":
        raise SyncQueryError("BadRequest", CONTENT_TYPE_NEEDS_ENTRY)
    raw_limit = params.get("limit", str(DEFAULT_PAGE_LIMIT))
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise SyncQueryError(
            "BadRequest", f"limit must be an integer from 1 to {MAX_PAGE_LIMIT}, not {raw_limit!r}."
        )
    return type_, content_type, limit
