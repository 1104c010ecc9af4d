"""The Sync endpoint's rules: which query is allowed, and which page it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mirror.emulator import tokens
from mirror.emulator.store import ContentStore, Event
from mirror.emulator.tokens import Position, SyncFilter
from mirror.wire import (
    CONTENT_TYPE_NEEDS_ENTRY,
    DEFAULT_PAGE_LIMIT,
    INVALID_TOKEN,
    MAX_PAGE_LIMIT,
    SYNC_PARAMETERS,
    SYNC_TYPES,
    TOKEN_WITH_PARAMETERS,
)


class SyncQueryError(Exception):
    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


@dataclass(frozen=True)
class SyncPage:
    events: list[Event]
    token: str
    more: bool  # True: the token belongs in nextPageUrl; False: in nextSyncUrl


def answer_sync(store: ContentStore, query: dict[str, list[str]]) -> SyncPage:
    params = {name: values[-1] for name, values in query.items() if name != "access_token"}
    unknown = sorted(set(params) - set(SYNC_PARAMETERS))
    if unknown:
        errors = [
            {"name": "unknown", "details": f"The query parameter {n!r} is not allowed"}
            for n in unknown
        ]
        raise SyncQueryError("InvalidQuery", "The query you sent was invalid.", {"errors": errors})
    if "sync_token" in params:
        position = _continue(store, params)
    elif params.get("initial", "").lower() == "true":
        head = store.head
        position = Position(-1, head, 0, str(store.digest(head)), _filter(params))
    else:
        raise SyncQueryError("BadRequest", "Pass initial=true to start a sync, or a sync_token.")
    return _page(store, position)


def _continue(store: ContentStore, params: dict[str, str]) -> Position:
    try:
        position = tokens.decode(params["sync_token"])
    except tokens.BadToken:
        raise SyncQueryError("BadRequest", INVALID_TOKEN) from None
    if store.digest(position.until) != position.digest:
        raise SyncQueryError("BadRequest", INVALID_TOKEN)
    if set(params) != {"sync_token"}:
        raise SyncQueryError("BadRequest", TOKEN_WITH_PARAMETERS)
    if not position.is_page:
        head = store.head
        return Position(position.until, head, 0, str(store.digest(head)), position.filter)
    return position


def _filter(params: dict[str, str], defaults: SyncFilter | None = None) -> SyncFilter:
    defaults = defaults or SyncFilter(limit=DEFAULT_PAGE_LIMIT)
    type_ = params.get("type", defaults.type)
    if type_ not in SYNC_TYPES:
        allowed = ", ".join(SYNC_TYPES)
        raise SyncQueryError("BadRequest", f"Unknown type {type_!r}; use one of {allowed}.")
    content_type = params.get("content_type", defaults.content_type)
    if content_type is not None and type_ != "Entry":
        raise SyncQueryError("BadRequest", CONTENT_TYPE_NEEDS_ENTRY)
    raw_limit = params.get("limit", str(defaults.limit))
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise SyncQueryError(
            "BadRequest", f"limit must be an integer from 1 to {MAX_PAGE_LIMIT}, not {raw_limit!r}."
        )
    return SyncFilter(type_, content_type, limit)


def _page(store: ContentStore, position: Position) -> SyncPage:
    events = store.sync_items(position.since, position.until, position.filter)
    end = position.offset + position.filter.limit
    page = events[position.offset : end]
    if end < len(events):
        following = Position(position.since, position.until, end, position.digest, position.filter)
        return SyncPage(page, tokens.encode(following), more=True)
    done = Position(position.until, position.until, 0, position.digest, position.filter)
    return SyncPage(page, tokens.encode(done), more=False)
