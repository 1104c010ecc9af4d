"""The Sync API answered from a mirror's history, with Contentful's own tokens.

Each round commit carries the token Contentful gave for it (its Sync-Token
trailer). An initial sync pages through the served revision's items and ends with
the served revision's token; a sync_token found in the trailer of a round on the
first-parent history of the served commit gets exactly what differs between that
round's tree and the served tree: items added or changed, and DeletedEntry /
DeletedAsset for those removed. So a client may start from a bundle made at round
12, catch up here, and later go on at Contentful with the same token (it is
Contentful's). Tokens of the pages in between (nextPageUrl) are ours: they name
the commits and the last item served, and are checked like any other token.

A delta from a Contentful token uses the mirror's own filters (those its tokens
were issued for) and limit; an initial sync may ask for narrower ones, but its
token is still the mirror's. Historical deletions (initial=true&type=Deletion) are
not in a mirror: that sync is empty.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mirror.client import tree as paths
from mirror.delivery import answers
from mirror.delivery.index import IndexCache, ItemPath, RevisionIndex, item_path, parse_item
from mirror.delivery.revision import RevisionContent, open_revision
from mirror.errors import MirrorError
from mirror.wire import (
    INVALID_TOKEN,
    MAX_PAGE_LIMIT,
    MAX_RESPONSE_BYTES,
    SYNC_TYPES,
    TOKEN_PATTERN,
    SyncQueryError,
    compact_json,
    is_safe_id,
    link,
    parse_json,
    sync_request,
)

_KINDS = {"all": ("Entry", "Asset"), "Entry": ("Entry",), "Asset": ("Asset",)}
_CACHED_DELTAS = 8

Key = tuple[str, str, str]  # (sys.updatedAt, kind, id): pages run down this order


@dataclass(frozen=True)
class Position:
    """Where a sync stands: from round `since` (None: initial) to commit `until`,
    after the item `after` (None: from the newest)."""

    since: str | None
    until: str
    after: Key | None
    type: str
    content_type: str | None
    limit: int

    def encode(self) -> str:
        payload = [
            1,
            self.since or "",
            self.until,
            list(self.after or ()),
            self.type,
            self.content_type or "",
            self.limit,
        ]
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class Change:
    """An item of a delta: its key, and the blob it is (or the deletion it is)."""

    key: Key
    blob: str | None
    deletion: bytes | None


class HistorySync:
    """Sync requests against the mirror in `directory` as at `served_commit`."""

    def __init__(
        self, directory: Path, served_commit: str, content: RevisionContent | None = None
    ) -> None:
        self.content = content or open_revision(directory, served_commit)
        self.objects = self.content.objects
        self.commit = self.content.commit
        self.state = self.content.state
        self.rounds = self._rounds()  # (commit, token), newest first
        self._commit_of = {token: commit for commit, token in self.rounds}  # oldest wins
        self._token_at = dict(self.rounds)
        self.token = self._token_at.get(self.commit) or next(
            (token for _, token in self.rounds), self.state.sync_token or ""
        )
        if not TOKEN_PATTERN.match(self.token):
            raise MirrorError(
                f"the mirror at {self.commit[:10]} has no usable sync token, so it cannot "
                "answer sync requests: run mirror sync first"
            )
        self._token_at[self.commit] = self.token
        self._order = {commit: n for n, (commit, _) in enumerate(reversed(self.rounds))}
        self._order[self.commit] = len(self.rounds)
        self._deltas: dict[tuple[Any, ...], list[Change]] = {}
        self._indexes: dict[str, RevisionIndex] = {self.commit: self.content.index}

    def _rounds(self) -> list[tuple[str, str]]:
        """Rounds on the served commit's first-parent history, newest first: commits
        that changed this mirror's state file and carry a token for its space."""
        keys = ("Sync-Token", "Sync-Space", "Sync-Environment")
        trailers = "%x1f".join(f"%(trailers:key={k},valueonly,separator=)" for k in keys)
        out = self.objects.run(
            "log",
            "--first-parent",
            f"--format=%H%x1f{trailers}%x1e",
            self.commit,
            "--",
            self.content.prefix + paths.STATE,
        )
        found = []
        wanted = (self.state.space, self.state.environment)
        for record in out.decode("utf-8", "replace").split("\x1e"):
            parts = [part.strip() for part in record.split("\x1f")]
            if len(parts) != 4 or (parts[2], parts[3]) != wanted:
                continue
            if TOKEN_PATTERN.match(parts[1]):
                found.append((parts[0], parts[1]))
        return found

    # -- answering ---------------------------------------------------------------------

    def answer(self, query: list[tuple[str, str]], base_url_for_next: str) -> tuple[int, bytes]:
        """(status, body) for a sync request; `base_url_for_next` is the sync URL that
        nextPageUrl and nextSyncUrl continue (`https://host/spaces/s/environments/e/sync`)."""
        try:
            position = self._position(query)
            items, following = self._page(position)
        except SyncQueryError as refused:
            return 400, error_body(refused.code, refused.message, refused.details)
        if following is not None:
            key, token = "nextPageUrl", following.encode()
        elif (position.type, position.content_type) == (self.state.type, self.state.content_type):
            key, token = "nextSyncUrl", self._token_at[position.until]
        else:
            # Other filters than the mirror's: Contentful's token would bring other items
            # later, so the next sync continues from a token of ours that keeps the filters.
            key, token = "nextSyncUrl", replace(position, since=position.until, after=None).encode()
        url = json.dumps(f"{base_url_for_next}?sync_token={token}")
        body = b"".join(
            (
                b'{"sys":{"type":"Array"},"items":[',
                b",".join(items),
                f'],"{key}":{url}}}'.encode(),
            )
        )
        if len(body) > MAX_RESPONSE_BYTES:
            message = f"Response size too big. Maximum allowed response size: {MAX_RESPONSE_BYTES}b"
            return 400, error_body("BadRequest", message)
        return 200, body

    def _position(self, query: list[tuple[str, str]]) -> Position:
        params = {name: value for name, value in query if name != "access_token"}
        wanted = sync_request(params)
        if wanted is None:
            return self._continued(params["sync_token"])
        type_, content_type, limit = wanted
        if content_type is not None and not is_safe_id(content_type):
            raise SyncQueryError("BadRequest", f"Unknown content type {content_type[:64]!r}.")
        return Position(None, self.commit, None, type_, content_type, limit)

    def _continued(self, token: str) -> Position:
        """The position a token stands for: a round's Contentful token (a delta to the
        served commit, with the mirror's filters), or one of our page tokens."""
        since = self._commit_of.get(token)
        if since is not None:
            state = self.state
            limit = min(max(state.limit, 1), MAX_PAGE_LIMIT)
            return Position(since, self.commit, None, state.type, state.content_type, limit)
        position = self._decode(token)
        if position is None:
            raise SyncQueryError("BadRequest", INVALID_TOKEN)
        return position

    def _decode(self, token: str) -> Position | None:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            version, since, until, after, type_, content_type, limit = json.loads(raw)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            return None
        order = self._order
        valid = (
            version == 1
            and until in order
            and (since == "" or (since in order and order[since] <= order[until]))
            and type_ in SYNC_TYPES
            and (content_type == "" or (is_safe_id(content_type) and type_ == "Entry"))
            and isinstance(limit, int)
            and 1 <= limit <= MAX_PAGE_LIMIT
            and isinstance(after, list)
            and (after == [] or _is_key(after))
        )
        if not valid:
            return None
        key = (after[0], after[1], after[2]) if after else None
        if since and since == until and key is None:  # a filtered sync's next-sync token
            return Position(since, self.commit, None, type_, content_type or None, limit)
        return Position(since or None, until, key, type_, content_type or None, limit)

    def _page(self, position: Position) -> tuple[list[bytes], Position | None]:
        initial = position.since is None
        rows = self._initial(position) if initial else self._delta_page(position)
        if len(rows) <= position.limit:
            return [body for _, body in rows], None
        rows = rows[: position.limit]
        following = Position(
            position.since,
            position.until,
            rows[-1][0],
            position.type,
            position.content_type,
            position.limit,
        )
        return [body for _, body in rows], following

    # -- initial -----------------------------------------------------------------------

    def _initial(self, position: Position) -> list[tuple[Key, bytes]]:
        kinds = _KINDS.get(position.type)
        if kinds is None:
            return []  # deletions before the mirror's first round: it never saw them
        index = self._index(position.until)
        rows = index.page(kinds, position.content_type, position.after, position.limit + 1)
        return [((row.updated_at, row.kind, row.id), row.body) for row in rows]

    def _index(self, commit: str) -> RevisionIndex:
        """The index of a commit whose sync is under way: the served one's, or one
        still cached (a page token minted before the served commit moved on)."""
        index = self._indexes.get(commit)
        if index is None:
            index = IndexCache(self.objects, self.content.prefix).cached(commit)
            if index is None:
                raise SyncQueryError("BadRequest", INVALID_TOKEN)
            self._indexes[commit] = index
        return index

    # -- delta -------------------------------------------------------------------------

    def _delta_page(self, position: Position) -> list[tuple[Key, bytes]]:
        changes = self._delta(position)
        if position.after is not None:
            changes = [c for c in changes if c.key < position.after]
        page = changes[: position.limit + 1]
        wanted = [c.blob for c in page if c.blob is not None]
        bodies = iter(self.objects.blobs(wanted))
        rows = []
        for change in page:
            if change.deletion is not None:
                rows.append((change.key, change.deletion))
            else:
                rows.append((change.key, compact_json(parse_json(next(bodies) or b"null"))))
        return rows

    def _delta(self, position: Position) -> list[Change]:
        """What differs between the trees of `since` and `until`, newest first."""
        assert position.since is not None
        cache_key = (position.since, position.until, position.type, position.content_type)
        found = self._deltas.get(cache_key)
        if found is not None:
            return found
        present: dict[tuple[str, str], tuple[ItemPath, str]] = {}
        removed: dict[tuple[str, str], tuple[ItemPath, str]] = {}
        for change in self.objects.changes(position.since, position.until, self.content.prefix):
            where = item_path(change.path)
            if where is None:
                continue
            if change.new_id is not None:
                present[(where.kind, where.id)] = (where, change.new_id)
            elif change.old_id is not None:
                removed.setdefault((where.kind, where.id), (where, change.old_id))
        kinds = _KINDS.get(position.type, ())
        live = [
            (where, blob)
            for where, blob in present.values()
            if where.kind in kinds and position.content_type in (None, where.content_type)
        ]
        changes = self._changed(live)
        deleted = [v for k, v in removed.items() if k not in present]
        changes += self._deletions(position, deleted)
        changes.sort(key=lambda c: c.key, reverse=True)
        self._deltas[cache_key] = changes
        while len(self._deltas) > _CACHED_DELTAS:
            self._deltas.pop(next(iter(self._deltas)))
        return changes

    def _changed(self, live: list[tuple[ItemPath, str]]) -> list[Change]:
        found = []
        for (where, blob), raw in zip(live, self.objects.blobs([b for _, b in live]), strict=True):
            item = parse_item(where, raw) if raw is not None else None
            if item is not None:
                found.append(Change((item["sys"]["updatedAt"], where.kind, where.id), blob, None))
        return found

    def _deletions(self, position: Position, deleted: list[tuple[ItemPath, str]]) -> list[Change]:
        type_ = position.type
        wanted = [
            (where, blob)
            for where, blob in deleted
            if type_ in ("all", "Deletion") or type_ == f"Deleted{where.kind}"
        ]
        if not wanted:
            return []
        assert position.since is not None
        times = self._deletion_times(position.since, position.until)
        found = []
        old_bodies = self.objects.blobs([blob for _, blob in wanted])
        for (where, _), raw in zip(wanted, old_bodies, strict=True):
            old = (parse_item(where, raw) if raw is not None else None) or {"sys": {}}
            when = times.get((where.kind, where.id)) or times.get(("", ""), "")
            sys = {
                "space": link("Space", self.state.space),
                "environment": link("Environment", self.state.environment),
                "id": where.id,
                "type": f"Deleted{where.kind}",
                "createdAt": old["sys"].get("createdAt", when),
                "updatedAt": when,
                "deletedAt": when,
                "revision": old["sys"].get("revision", 1),
            }
            body = compact_json({"sys": sys})
            found.append(Change((when, where.kind, where.id), None, body))
        return found

    def _deletion_times(self, since: str, until: str) -> dict[tuple[str, str], str]:
        """When each item was last removed between two commits: the time of the
        round (commit) that removed it; ("", "") holds the time of `until`."""
        prefix = self.content.prefix
        out = self.objects.run(
            "log",
            "--first-parent",
            "--diff-filter=D",
            "--name-only",
            "-z",
            "--format=%x01%ct",
            f"{since}..{until}",
            "--",
            prefix + "entries",
            prefix + "assets",
        )
        times: dict[tuple[str, str], str] = {}
        for record in out.split(b"\x01")[1:]:
            stamp, *names = record.split(b"\0")
            when = _iso(int(stamp))
            for name in names:
                where = item_path(name.decode("utf-8", "replace").strip("\n").removeprefix(prefix))
                if where is not None:
                    times.setdefault((where.kind, where.id), when)  # newest first
        head = self.objects.run("log", "-1", "--format=%ct", until).decode().strip()
        times[("", "")] = _iso(int(head or 0))
        return times


def _is_key(value: list[Any]) -> bool:
    return (
        len(value) == 3
        and all(isinstance(part, str) for part in value)
        and value[1] in ("Entry", "Asset")
        and is_safe_id(value[2])
    )


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def error_body(code: str, message: str, details: Any = None) -> bytes:
    """An error as Contentful words it: {"sys": {"type": "Error", "id": code}, ...}."""
    return compact_json(answers.error_body(code, message, details))
