"""The emulator's content: an append-only log of published versions and deletions.

Every write appends an event holding the item's JSON exactly as sync pages carry
it. Initial syncs read the latest event of each item up to a position; deltas read
the latest event of each item changed between two positions. Positions and a
digest of the log up to them are what sync tokens encode.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from mirror import model
from mirror.emulator.media import guess_content_type, image_size
from mirror.emulator.space import Change, SpaceDefinition, SpaceFolderError
from mirror.emulator.tokens import SyncFilter
from mirror.errors import UsageError
from mirror.wire import compact_json, link, parse_json

# Asset URLs are stored with this stand-in for host:port, replaced per response,
# so one stored body serves whatever address a client used to reach us.
HOST_PLACEHOLDER = "emulator-host.invalid"
_FILE_URL = re.compile(r"/files/[^/]+/[^/]+/([0-9a-f]{32})/[^/]+$")
_ZERO_DIGEST = "0" * 16


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str  # "Entry" or "Asset"
    id: str
    content_type: str | None
    deleted: bool
    body: bytes


@dataclass
class Item:
    """An item's identity and latest published bytes; its fields are parsed from
    those bytes when needed, so a 100k-item space costs bytes, not object trees."""

    kind: str
    id: str
    content_type: str | None
    created_at: str
    revision: int
    deleted: bool = False
    body: bytes = b""

    @property
    def fields(self) -> dict[str, Any]:
        return dict(parse_json(self.body).get("fields") or {})


@dataclass(frozen=True)
class Blob:
    data: bytes
    content_type: str


class NotFound(LookupError):
    """No such item."""


class ContentStore:
    """Thread-safe; the HTTP server and in-process callers (demo, tests) share one."""

    def __init__(self, space: SpaceDefinition, until_round: int | None = None) -> None:
        self.space = space
        self.locale_codes = [locale["code"] for locale in space.locales]
        self.default_locale = next(loc["code"] for loc in space.locales if loc.get("default"))
        self._lock = threading.RLock()
        self._events: list[Event] = []
        self._digests = [_ZERO_DIGEST]
        self._items: dict[tuple[str, str], Item] = {}
        self._blobs: dict[str, Blob] = {}
        self._last_time = space.starts_at - timedelta(seconds=1)
        self._cache: OrderedDict[tuple[Any, ...], list[Event]] = OrderedDict()
        self.round = -1
        last = len(space.rounds) - 1
        if until_round is not None and until_round > last:
            choose = f"pass --round 0 to {last}" if last > 0 else "pass --round 0"
            raise UsageError(
                f"--round {until_round}: the space has {last} "
                f"round{'' if last == 1 else 's'} of changes after "
                f"its initial content (round 0); {choose}"
            )
        for number in range(last + 1 if until_round is None else until_round + 1):
            self.apply_round(number)

    # -- positions -------------------------------------------------------------

    @property
    def head(self) -> int:
        return len(self._events)

    def digest(self, seq: int) -> str | None:
        with self._lock:
            return self._digests[seq] if 0 <= seq < len(self._digests) else None

    # -- writes ----------------------------------------------------------------

    def apply_round(self, number: int) -> None:
        """Apply round `number` of the space folder, with deterministic timestamps."""
        with self._lock:
            if number != self.round + 1:
                raise ValueError(f"round {number} cannot follow round {self.round}")
            base = self.space.starts_at + timedelta(days=7 * number)
            for index, change in enumerate(self.space.rounds[number]):
                self._apply_change(change, base + timedelta(minutes=index))
            self.round = number

    def put_entry(
        self, entry_id: str, content_type: str | None, fields: Any, at: datetime | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Create or replace an entry and publish it; returns (item, created)."""
        with self._lock:
            existing = self._items.get(("Entry", entry_id))
            if existing and not existing.deleted:
                content_type = existing.content_type
            if content_type is None:
                raise model.ValidationFailed(
                    ["X-Contentful-Content-Type: required when creating an entry"]
                )
            definition = self.space.content_types.get(content_type)
            if definition is None:
                raise model.ValidationFailed([f"content type {content_type!r} does not exist"])
            model.check_entry_fields(fields, definition, self.locale_codes, self.default_locale)
            return self._publish("Entry", entry_id, content_type, fields, at)

    def put_asset(
        self, asset_id: str, fields: Any, at: datetime | None = None
    ) -> tuple[dict[str, Any], bool]:
        with self._lock:
            model.check_asset_fields(fields, self.locale_codes)
            files = {
                locale: self._store_file(asset_id, locale, spec)
                for locale, spec in (fields.get("file") or {}).items()
            }
            resolved = {**fields, **({"file": files} if files else {})}
            return self._publish("Asset", asset_id, None, resolved, at)

    def delete(self, kind: str, item_id: str, at: datetime | None = None) -> None:
        with self._lock:
            item = self._items.get((kind, item_id))
            if item is None or item.deleted:
                raise NotFound(f"{kind} {item_id}")
            when = self._tick(at)
            item.deleted = True
            sys = self._sys(item, f"Deleted{kind}", when)
            sys["deletedAt"] = when
            self._append(item, {"sys": sys})

    def item(self, kind: str, item_id: str) -> dict[str, Any]:
        with self._lock:
            item = self._items.get((kind, item_id))
            if item is None or item.deleted:
                raise NotFound(f"{kind} {item_id}")
            return dict(parse_json(item.body))

    # -- reads -----------------------------------------------------------------

    def sync_items(self, since: int, until: int, sync_filter: SyncFilter) -> list[Event]:
        """The events a sync from `since` (-1: initial) to `until` returns, newest first."""
        key = (since, until, sync_filter.type, sync_filter.content_type)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            events = self._events[max(since, 0) : until]
        wanted = _predicate(sync_filter, initial=since < 0)
        seen: set[tuple[str, str]] = set()
        result = []
        for event in reversed(events):
            identity = (event.kind, event.id)
            if identity in seen:
                continue
            seen.add(identity)
            if wanted(event):
                result.append(event)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > 16:
                self._cache.popitem(last=False)
        return result

    def blob(self, sha: str) -> Blob | None:
        return self._blobs.get(sha)

    def content_types_json(self) -> list[dict[str, Any]]:
        return [self.content_type_json(ct_id) for ct_id in sorted(self.space.content_types)]

    def content_type_json(self, ct_id: str) -> dict[str, Any]:
        definition = self.space.content_types[ct_id]
        created = _iso(self.space.starts_at - timedelta(days=1))
        sys = {
            "space": link("Space", self.space.id),
            "id": ct_id,
            "type": "ContentType",
            "createdAt": created,
            "updatedAt": created,
            "environment": link("Environment", self.space.environment),
            "revision": 1,
        }
        body = {k: definition.get(k) for k in ("displayField", "name", "description")}
        return {"sys": sys, **body, "fields": definition["fields"]}

    def locales_json(self) -> list[dict[str, Any]]:
        return [
            {
                "code": loc["code"],
                "name": loc["name"],
                "default": bool(loc.get("default")),
                "fallbackCode": loc.get("fallbackCode"),
                "optional": bool(loc.get("optional")),
                "sys": {"id": _short_id(loc["code"]), "type": "Locale", "version": 1},
            }
            for loc in self.space.locales
        ]

    def space_json(self) -> dict[str, Any]:
        keys = ("code", "default", "name", "fallbackCode")
        return {
            "sys": {"type": "Space", "id": self.space.id},
            "name": self.space.name,
            "locales": [{k: loc.get(k) for k in keys} for loc in self.space.locales],
        }

    # -- internals -------------------------------------------------------------

    def _apply_change(self, change: Change, when: datetime) -> None:
        if change.action == "delete":
            self.delete(change.kind, change.id, at=when)
            return
        fields = dict(change.fields or {})
        if change.action == "patch":
            current = self._items.get((change.kind, change.id))
            if current is None or current.deleted:
                raise SpaceFolderError(f"patch of missing {change.kind} {change.id}")
            fields = {**current.fields, **fields}
            for name in change.remove:
                fields.pop(name, None)
        if change.kind == "Entry":
            self.put_entry(change.id, change.content_type, fields, at=when)
        else:
            self.put_asset(change.id, fields, at=when)

    def _publish(
        self, kind: str, item_id: str, content_type: str | None, fields: Any, at: datetime | None
    ) -> tuple[dict[str, Any], bool]:
        when = self._tick(at)
        item = self._items.get((kind, item_id))
        created = item is None or item.deleted
        if item is None or item.deleted:
            item = Item(kind, item_id, content_type, when, 0)
            self._items[(kind, item_id)] = item
        item.revision += 1
        sys = self._sys(item, item.kind, when)
        if item.kind == "Entry":
            sys["contentType"] = link("ContentType", str(item.content_type))
        body = {"metadata": {"tags": []}, "sys": sys, "fields": fields}
        self._append(item, body)
        return body, created

    def _sys(self, item: Item, type_: str, updated_at: str) -> dict[str, Any]:
        return {
            "space": link("Space", self.space.id),
            "id": item.id,
            "type": type_,
            "createdAt": item.created_at,
            "updatedAt": updated_at,
            "environment": link("Environment", self.space.environment),
            "revision": item.revision,
        }

    def _append(self, item: Item, body: dict[str, Any]) -> None:
        data = compact_json(body)
        if not item.deleted:
            item.body = data
        seq = len(self._events) + 1
        event = Event(seq, item.kind, item.id, item.content_type, item.deleted, data)
        self._events.append(event)
        previous = self._digests[-1].encode()
        self._digests.append(hashlib.sha256(previous + data).hexdigest()[:16])

    def _tick(self, at: datetime | None) -> str:
        when = at or datetime.now(timezone.utc)
        when = max(when, self._last_time + timedelta(milliseconds=1))
        self._last_time = when
        return _iso(when)

    def _store_file(self, asset_id: str, locale: str, spec: Any) -> dict[str, Any]:
        problem = f"fields.file.{locale}"
        if not isinstance(spec, dict):
            raise model.ValidationFailed([f"{problem}: must be an object"])
        data, file_name = self._file_bytes(spec, problem)
        sha = hashlib.sha256(data).hexdigest()[:32]
        content_type = spec.get("contentType") or guess_content_type(file_name)
        self._blobs[sha] = Blob(data, content_type)
        details: dict[str, Any] = {"size": len(data)}
        size = image_size(data)
        if size:
            details["image"] = {"width": size[0], "height": size[1]}
        url = f"//{HOST_PLACEHOLDER}/files/{self.space.id}/{asset_id}/{sha}/{file_name}"
        return {"url": url, "fileName": file_name, "contentType": content_type, "details": details}

    def _file_bytes(self, spec: dict[str, Any], problem: str) -> tuple[bytes, str]:
        if "path" in spec:
            data = self.space.read_file(spec["path"])
            name = spec.get("fileName") or spec["path"].rsplit("/", 1)[-1]
        elif isinstance(spec.get("upload"), str):
            data = _data_url_bytes(spec["upload"], problem)
            name = spec.get("fileName") or ""
        elif isinstance(spec.get("url"), str) and (match := _FILE_URL.search(spec["url"])):
            blob = self._blobs.get(match.group(1))
            if blob is None:
                raise model.ValidationFailed([f"{problem}.url: no such file here"])
            data, name = blob.data, spec.get("fileName") or spec["url"].rsplit("/", 1)[-1]
        else:
            raise model.ValidationFailed(
                [f"{problem}: needs upload (a data: URL) or the url of a file already served"]
            )
        if not re.fullmatch(r"[A-Za-z0-9_.() -]{1,128}", name) or name in (".", ".."):
            raise model.ValidationFailed([f"{problem}.fileName: missing or unsafe"])
        return data, name


def _predicate(sync_filter: SyncFilter, initial: bool) -> Callable[[Event], bool]:
    type_, content_type = sync_filter.type, sync_filter.content_type
    if type_ == "all":
        return (lambda e: not e.deleted) if initial else (lambda e: True)
    if type_ == "Entry":
        return lambda e: (
            e.kind == "Entry" and not e.deleted and content_type in (None, e.content_type)
        )
    if type_ == "Asset":
        return lambda e: e.kind == "Asset" and not e.deleted
    if type_ == "Deletion":
        return lambda e: e.deleted
    kind = type_.removeprefix("Deleted")
    return lambda e: e.deleted and e.kind == kind


def _data_url_bytes(url: str, problem: str) -> bytes:
    head, _, payload = url.partition(",")
    if not head.startswith("data:") or not head.endswith(";base64"):
        raise model.ValidationFailed([f"{problem}.upload: must be a data:...;base64, URL"])
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise model.ValidationFailed([f"{problem}.upload: invalid base64"]) from None


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{when.microsecond // 1000:03d}Z"
    )


def _short_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:22]
