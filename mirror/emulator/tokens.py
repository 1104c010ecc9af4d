"""Sync tokens: opaque URL-safe strings that encode a position in the change log.

A token names a sequence number of the store's log together with a digest of the
log up to it, so it stays valid across restarts over the same space folder and is
refused (400) when the history it came from is not the one being served.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass


class BadToken(ValueError):
    """The token cannot be decoded."""


@dataclass(frozen=True)
class SyncFilter:
    type: str = "all"
    content_type: str | None = None
    limit: int = 100


@dataclass(frozen=True)
class Position:
    """Where a sync stands.

    `until` is the log position the sync reaches; `since` is where a delta starts
    (-1 for an initial sync); `offset` counts the items already served on earlier
    pages of the same response sequence. A finished sync has since == until and
    offset 0: that is the token of a `nextSyncUrl`.
    """

    since: int
    until: int
    offset: int
    digest: str
    filter: SyncFilter

    @property
    def is_page(self) -> bool:
        return self.since != self.until or self.offset != 0


def encode(position: Position) -> str:
    f = position.filter
    payload = [
        1,
        position.since,
        position.until,
        position.offset,
        position.digest,
        f.type,
        f.content_type or "",
        f.limit,
    ]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, since, until, offset, digest, type_, content_type, limit = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise BadToken(str(error)) from None
    valid = (
        version == 1
        and all(isinstance(n, int) for n in (since, until, offset, limit))
        and isinstance(digest, str)
        and isinstance(type_, str)
        and isinstance(content_type, str)
        and -1 <= since <= until
        and offset >= 0
    )
    if not valid:
        raise BadToken("malformed token")
    return Position(since, until, offset, digest, SyncFilter(type_, content_type or None, limit))
