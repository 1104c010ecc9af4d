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
