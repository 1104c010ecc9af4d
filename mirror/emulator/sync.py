"""The Sync endpoint's rules: which query is allowed, and which page it returns."""

from __future__ import annotations

from dataclasses import dataclass

from mirror.emulator import tokens
from mirror.emulator.store import ContentStore, Event
from mirror.emulator.tokens import Position, SyncFilter
from mirror.wire import (
    INVALID_TOKEN,
    SyncQueryError,
    sync_request,
)


@dataclass(frozen=True)
class SyncPage:
    events: list[Event]
    token: str
    more: bool  # True: the token belongs in nextPageUrl; False: in nextSyncUrl


def answer_sync(store: ContentStore, query: dict[str, list[str]]) -> SyncPage:
    params = {name: values[-1] for name, values in query.items() if name != "access_token"}
    wanted = sync_request(params)
    if wanted is None:
        position = _continue(store, params)
    else:
        head = store.head
        position = Position(-1, head, 0, str(store.digest(head)), SyncFilter(*wanted))
    return _page(store, position)


def _continue(store: ContentStore, params: dict[str, str]) -> Position:
    try:
        position = tokens.decode(params["sync_token"])
    except tokens.BadToken:
        raise SyncQueryError("BadRequest", INVALID_TOKEN) from None
    if store.digest(position.until) != position.digest:
        raise SyncQueryError("BadRequest", INVALID_TOKEN)
    if not position.is_page:
        head = store.head
        return Position(position.until, head, 0, str(store.digest(head)), position.filter)
    return position


def _page(store: ContentStore, position: Position) -> SyncPage:
    events = store.sync_items(position.since, position.until, position.filter)
    end = position.offset + position.filter.limit
    page = events[position.offset : end]
    if end < len(events):
        following = Position(position.since, position.until, end, position.digest, position.filter)
        return SyncPage(page, tokens.encode(following), more=True)
    done = Position(position.until, position.until, 0, position.digest, position.filter)
    return SyncPage(page, tokens.encode(done), more=False)
