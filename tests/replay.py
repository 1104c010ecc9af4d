"""A small HTTP server that replays a recorded Contentful scenario (shared/conformance).

Sync requests are matched by their query (initial=true with its filters, or the
sync_token), other requests by their path; next-page URLs are rewritten to this
server's own address, as the conformance README asks. Content type lists are
built from the content types the scenario recorded one by one.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

_NEXT_URL = re.compile(r"^https?://[^/]+")


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class ReplayServer:
    exchanges: list[dict[str, Any]]
    seen: list[Seen] = field(default_factory=list)
    overrides: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # path -> answer
    rewrite_next_urls: bool = True

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                server.seen.append(Seen(url.path, query, dict(self.headers.items())))
                status, body = server.answer(url.path, query, self.headers.get("Host", ""))
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.contentful.delivery.v1+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    def answer(self, path: str, query: dict[str, list[str]], host: str) -> tuple[int, bytes]:
        if path in self.overrides:
            return self.overrides[path]
        if path.endswith("/sync"):
            found = self._sync_exchange(query)
            if found is None:
                return 400, _error("BadRequest", "no such recorded sync request")
            body = dict(found["body"])
            for key in ("nextPageUrl", "nextSyncUrl"):
                if key in body and self.rewrite_next_urls:
                    body[key] = _NEXT_URL.sub(f"http://{host}", body[key])
            return found["status"], json.dumps(body).encode()
        if path.endswith("/content_types"):
            items = [e["body"] for e in self.exchanges if "/content_types/" in e["request"]]
            unique = {item["sys"]["id"]: item for item in items}
            listed = [unique[k] for k in sorted(unique)]
            collection = {
                "sys": {"type": "Array"},
                "total": len(listed),
                "skip": 0,
                "limit": 1000,
                "items": listed,
            }
            return 200, json.dumps(collection).encode()
        if path.endswith("/locales"):
            recorded = [
                e for e in self.exchanges if e["request"].split("?")[0].endswith("/locales")
            ]
            if recorded:
                return 200, json.dumps(recorded[0]["body"]).encode()
            default = {"code": "en-US", "name": "English", "default": True, "fallbackCode": None}
            return 200, json.dumps(
                {"sys": {"type": "Array"}, "total": 1, "skip": 0, "limit": 1000, "items": [default]}
            ).encode()
        return 404, _error("NotFound", "The resource could not be found.")

    def _sync_exchange(self, query: dict[str, list[str]]) -> dict[str, Any] | None:
        wanted = {k: v[-1] for k, v in query.items() if k != "limit"}
        for exchange in self.exchanges:
            request = exchange["request"]
            if not request.split("?")[0].endswith("/sync"):
                continue
            recorded = {
                k: v[-1] for k, v in parse_qs(urlsplit(request.split(" ", 1)[1]).query).items()
            }
            if recorded == wanted:
                return exchange
        return None

    def sync_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith("/sync")]


def _error(code: str, message: str) -> bytes:
    return json.dumps({"sys": {"type": "Error", "id": code}, "message": message}).encode()


REPLAY_TOKEN = "replay-token-123"


def replay_sync_args(
    server: ReplayServer, directory: Path, space: str, *extra: str, token: str = REPLAY_TOKEN
) -> list[str]:
    """`mirror sync` arguments for a mirror of a recorded space served by `server`."""
    return [
        "sync",
        str(directory),
        "--space",
        space,
        "--access-token",
        token,
        "--base-url",
        server.base_url,
        *extra,
    ]
