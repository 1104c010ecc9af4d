"""The emulator's HTTP face: the Delivery API (sync; entries, assets, content types,
locales and tags through the DeliveryEngine over the current round), asset files,
and Management-API-shaped writes."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

from mirror import model
from mirror.delivery.content import MemoryContent
from mirror.delivery.engine import DeliveryEngine
from mirror.delivery.http import (
    SPACE_PATH,
    MalformedBody,
    QuietHandler,
    QuietServer,
    Response,
    answer_headers,
    base_url,
    bearer,
    error,
    invalid_token,
    json_response,
    method_not_allowed,
    not_found,
    offered_token,
    preflight,
    same_token,
    size_in_words,
    without_token,
)
from mirror.emulator.faults import Fault, FaultInjector, FaultPlan
from mirror.emulator.space import SpaceDefinition, load_space
from mirror.emulator.store import HOST_PLACEHOLDER, ContentStore, NotFound
from mirror.emulator.sync import answer_sync
from mirror.emulator.tokens import SyncFilter
from mirror.resources import sample_space_dir
from mirror.wire import (
    MANAGEMENT_MEDIA_TYPE,
    MAX_RESPONSE_BYTES,
    SyncQueryError,
    is_safe_id,
    parse_json,
)
from mirror.wire import compact_json as _json

_FILE_PATH = re.compile(r"^/files/([^/]+)/([^/]+)/([0-9a-f]{32})/([^/]+)$")


@dataclass
class EmulatorConfig:
    space_dir: Path | None = None  # None: the bundled sample space
    host: str = "127.0.0.1"
    port: int = 0
    round: int | None = None  # None: the space's last round
    access_token: str | None = None  # None: the space folder's
    management_token: str | None = None
    faults: FaultPlan = field(default_factory=FaultPlan)
    space: SpaceDefinition | None = None  # given: serve this instead of a folder
    max_response_bytes: int = MAX_RESPONSE_BYTES
    log: Callable[[str], None] | None = None


class Emulator:
    """A running emulator: `with Emulator(config) as emu: requests.get(emu.base_url + ...)`."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        space = self.config.space or load_space(self.config.space_dir or sample_space_dir())
        self.store = ContentStore(space, self.config.round)
        self.space = space
        self.access_token = self.config.access_token or space.access_token
        self.management_token = self.config.management_token or space.management_token
        self.faults = FaultInjector(self.config.faults)
        self._server = _Server((self.config.host, self.config.port), _Handler)
        self._server.emulator = self
        self._thread: threading.Thread | None = None
        # Requests seen, by the last segment of their path ("sync", "locales", ...),
        # and responses sent, by status: for tests and benchmarks to read.
        self.request_counts: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        self._count_lock = threading.Lock()
        self._delivery: tuple[int, DeliveryEngine] | None = None
        self._delivery_lock = threading.Lock()

    def delivery(self) -> DeliveryEngine:
        """The Delivery API over the store as it is now: built once per store version
        (its log position), not per request."""
        with self._delivery_lock:
            head = self.store.head
            if self._delivery is None or self._delivery[0] != head:
                self._delivery = (head, DeliveryEngine(_current_content(self.store, head)))
            return self._delivery[1]

    def count(self, path: str, authorized: bool) -> None:
        """Count a request: by the last segment of its path, asset files as "files"
        (and "files-with-auth" when one carried an Authorization header)."""
        with self._count_lock:
            if path.startswith("/files/"):
                self.request_counts["files"] += 1
                self.request_counts["files-with-auth"] += authorized
            else:
                self.request_counts[path.rstrip("/").rsplit("/", 1)[-1]] += 1

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return base_url(self.config.host, self.port)

    def facts(self) -> dict[str, str]:
        """What a client needs to connect: printed by `mirror serve`."""
        return {
            "base_url": self.base_url,
            "space": self.space.id,
            "environment": self.space.environment,
            "access_token": self.access_token,
            "management_token": self.management_token,
        }

    def start(self) -> Emulator:
        self._thread = threading.Thread(target=self.serve_forever, name="emulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class _Server(QuietServer):
    emulator: Emulator


class _Handler(QuietHandler):
    server: _Server
    server_version = "mirror-emulator"
    # Writes carry whole files (data: URLs of assets): Contentful's own upload cap is
    # far higher, but a test server holds what it reads in memory.
    max_body = 64 * 2**20

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_OPTIONS(self) -> None:
        requested = self.headers.get_all("Access-Control-Request-Headers")
        self._send(preflight(None, requested), drop=False)

    def do_POST(self) -> None:
        self._send(method_not_allowed("POST"), drop=False)

    def do_PATCH(self) -> None:
        self._send(method_not_allowed("PATCH"), drop=False)

    def _dispatch(self, method: str) -> None:
        started = time.perf_counter()
        emulator = self.server.emulator
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        emulator.count(url.path, "Authorization" in self.headers)
        fault = Fault()
        try:
            body = self.read_body()
            if body.data is None:
                size = size_in_words(body.size, body.exact)
                response = error(
                    413,
                    "PayloadTooLarge",
                    f"The request body is {size}; the emulator reads up to {self.max_body}",
                )
            elif method == "GET":
                fault = emulator.faults.draw()
                response = _faulted(fault) or _route_get(
                    emulator, url.path, url.query, query, self.headers
                )
            else:
                response = _route_write(emulator, method, url.path, self.headers, body.data)
        except MalformedBody:
            self.close_connection = True
            response = error(400, "BadRequest", "The request body is not valid chunked encoding.")
        except Exception as failure:  # the emulator must answer, even for its own bugs
            response = error(500, "ServerError", f"Internal error: {type(failure).__name__}")
        if fault.delay:
            time.sleep(fault.delay)
        self._send(response, drop=fault.drop and response.status == 200)
        emulator.status_counts[response.status] += 1
        if emulator.config.log:
            elapsed = (time.perf_counter() - started) * 1000
            path = re.sub(r"access_token=[^&]*", "access_token=***", self.path)
            note = f" {response.summary}" if response.summary else ""
            emulator.config.log(f"{method} {path} {response.status}{note} {elapsed:.0f}ms")

    def refuse(self, status: int, code: str, message: str) -> None:
        self._send(error(status, code, message), drop=False)

    def _send(self, response: Response, drop: bool) -> None:
        headers_read = getattr(self, "headers", None)  # none when http.server refused
        address, port = self.server.server_address[:2]
        ours = base_url(str(address), int(port)).removeprefix("http://")
        host = (headers_read.get("Host") if headers_read else None) or ours
        body = response.body.replace(HOST_PLACEHOLDER.encode(), host.encode())
        headers = answer_headers(response, body)
        limit = self.server.emulator.config.faults.rate_limit
        if limit:
            headers["X-Contentful-RateLimit-Second-Limit"] = str(limit)
        payload = self.head(response.status, headers)
        try:
            if drop:
                self.wfile.write(payload + body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(payload + body)
        except OSError:
            self.close_connection = True


def _faulted(fault: Fault) -> Response | None:
    if fault.status == 429:
        response = error(429, "RateLimitExceeded", "You have exceeded the rate limit.")
        response.headers["X-Contentful-RateLimit-Reset"] = str(fault.reset_seconds)
        return response
    if fault.status == 500:
        return error(500, "ServerError", "Internal server error (injected by --error-rate).")
    if fault.status == 503:
        return error(503, "ServiceUnavailable", "Service unavailable (injected by --error-rate).")
    return None


def _route_get(
    emulator: Emulator, raw_path: str, raw_query: str, query: dict[str, list[str]], headers: Any
) -> Response:
    file_match = _FILE_PATH.match(raw_path)
    if file_match:
        return _asset_file(emulator, *file_match.groups())
    match = SPACE_PATH.match(raw_path)
    if not match:
        return not_found()
    space_id, environment, rest = match.groups()
    refused = _check_space(emulator, space_id, environment)
    if refused:
        return refused
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    if not same_token(offered_token(headers.get("Authorization"), pairs), emulator.access_token):
        return invalid_token()
    rest = rest or ""
    if rest == "" and environment is None:  # /spaces/{s}; with an environment: it
        return json_response(200, emulator.store.space_json())
    if rest == "/sync":
        prefix = f"/spaces/{space_id}" + (f"/environments/{environment}" if environment else "")
        try:
            return _sync_response(emulator, query, prefix)
        except SyncQueryError as refusal:
            return error(400, refusal.code, refusal.message, refusal.details)
    answer = emulator.delivery().answer(rest, without_token(pairs))
    return json_response(answer.status, answer.body)


def _current_content(store: ContentStore, head: int) -> MemoryContent:
    """The store's published items at log position `head`, as delivery Content."""
    events = store.sync_items(-1, head, SyncFilter())
    space = store.space
    return MemoryContent(
        space_id=space.id,
        environment=space.environment,
        locale_items=store.locales_json(),
        content_type_items=store.content_types_json(),
        items=[parse_json(event.body) for event in reversed(events)],
    )


def _sync_response(emulator: Emulator, query: dict[str, list[str]], prefix: str) -> Response:
    page = answer_sync(emulator.store, query)
    next_key = "nextPageUrl" if page.more else "nextSyncUrl"
    next_url = f"http://{HOST_PLACEHOLDER}{prefix}/sync?sync_token={page.token}"
    body = b"".join(
        (
            b'{"sys":{"type":"Array"},"items":[',
            b",".join(event.body for event in page.events),
            f'],"{next_key}":"{next_url}"}}'.encode(),
        )
    )
    limit = emulator.config.max_response_bytes
    if len(body) > limit:
        message = f"Response size too big. Maximum allowed response size: {limit}b"
        return error(400, "BadRequest", message)
    return Response(200, body, summary=f"{len(page.events)} items")


def _route_write(emulator: Emulator, method: str, path: str, headers: Any, body: bytes) -> Response:
    match = SPACE_PATH.match(path)
    kind_match = (
        re.fullmatch(r"/(entries|assets)/([^/]+)", (match.group(3) or "")) if match else None
    )
    if not match or not kind_match:
        return not_found()
    space_id, environment, _ = match.groups()
    refused = _check_space(emulator, space_id, environment or emulator.space.environment)
    if refused:
        return refused
    if not same_token(bearer(headers.get("Authorization")), emulator.management_token):
        return invalid_token()
    kind = "Entry" if kind_match.group(1) == "entries" else "Asset"
    item_id = unquote(kind_match.group(2))
    if not is_safe_id(item_id):
        return _invalid([f"id {item_id!r}: must match [A-Za-z0-9_.-]{{1,64}} and not be . or .."])
    store = emulator.store
    if method == "DELETE":
        try:
            store.delete(kind, item_id)
        except NotFound:
            return not_found()
        return Response(204, media_type=MANAGEMENT_MEDIA_TYPE)
    try:
        data = json.loads(body or b"null")
    except ValueError as error:
        return _invalid([f"body: not JSON ({error})"])
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        return _invalid(['body: must be an object {"fields": {field: {locale: value}}}'])
    try:
        if kind == "Entry":
            content_type = headers.get("X-Contentful-Content-Type")
            item, created = store.put_entry(item_id, content_type, data["fields"])
        else:
            item, created = store.put_asset(item_id, data["fields"])
    except model.ValidationFailed as error:
        return _invalid(error.errors)
    sys = item["sys"]
    item = {
        **item,
        "sys": {**sys, "version": sys["revision"] * 2, "publishedVersion": sys["revision"] * 2 - 1},
    }
    return Response(201 if created else 200, _json(item), media_type=MANAGEMENT_MEDIA_TYPE)


def _asset_file(emulator: Emulator, space_id: str, asset_id: str, sha: str, name: str) -> Response:
    blob = emulator.store.blob(sha)
    if space_id != emulator.space.id or blob is None:
        return not_found()
    return Response(200, blob.data, media_type=blob.content_type, summary=f"{len(blob.data)} bytes")


def _check_space(emulator: Emulator, space_id: str, environment: str | None) -> Response | None:
    if space_id != emulator.space.id:
        return not_found("Space", space_id)
    if environment is not None and environment != emulator.space.environment:
        return not_found("Environment", environment)
    return None


def _invalid(errors: list[str]) -> Response:
    details = {"errors": [{"name": "invalid", "details": line} for line in errors]}
    response = error(422, "ValidationFailed", "Validation error: " + "; ".join(errors), details)
    response.media_type = MANAGEMENT_MEDIA_TYPE
    return response
