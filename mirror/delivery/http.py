"""What both Delivery API servers put on the wire: the emulator (mirror.emulator.server)
and the mirror at a revision (mirror.delivery.server). Paths, tokens, errors in
Contentful's shapes and the headers every answer carries; no routing of resources
(the DeliveryEngine does that) and no sockets (each server owns its own)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import math
import re
import socket
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mirror.delivery.answers import error_body
from mirror.wire import DELIVERY_MEDIA_TYPE, compact_json

SPACE_PATH = re.compile(r"^/spaces/([^/]+)(?:/environments/([^/]+))?(/.*)?$")
INVALID_TOKEN_MESSAGE = "The access token you sent could not be found or is invalid."
NOT_FOUND_MESSAGE = "The resource could not be found."
READ_METHODS = ("GET", "HEAD", "OPTIONS")
_REQUEST_ID = re.compile(rb'"requestId":"([0-9a-f]{32})"')
# Headers a browser may send cross-origin: the SDKs send these two besides Authorization.
_ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-Contentful-User-Agent",
    "X-Contentful-Locale",
)
# A header name (RFC 9110's token); a preflight asking for others than these gets them all
# allowed: the servers are read-only and send no credentials, and clients add their own
# (contentful.js's X-Contentful-Locale-Based-Publishing, Apollo's apollographql-client-*).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass
class Response:
    """One HTTP answer before it is written: status, body, extra headers and media type;
    `summary` is what a request log line says about it."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = DELIVERY_MEDIA_TYPE
    summary: str = ""


def json_response(status: int, value: Any, summary: str = "") -> Response:
    return Response(status, compact_json(value), summary=summary)


def error(status: int, code: str, message: str, details: Any = None) -> Response:
    """An error as Contentful words it: {"sys": {"type": "Error", "id": code}, ...}."""
    return Response(status, compact_json(error_body(code, message, details)), summary=code)


def not_found(kind: str | None = None, item_id: str | None = None) -> Response:
    """404 NotFound; `kind` and `item_id` name what is missing (a Space, an Environment)."""
    details = {"type": kind, "id": item_id} if kind else None
    return error(404, "NotFound", NOT_FOUND_MESSAGE, details)


def invalid_token() -> Response:
    """401 AccessTokenInvalid, word for word as Contentful sends it (cfexampleapi-132)."""
    return error(401, "AccessTokenInvalid", INVALID_TOKEN_MESSAGE)


def method_not_allowed(method: str) -> Response:
    """A write to a read-only server (shape unverified: the Delivery API is read-only
    at Contentful too, and no recording shows what it answers)."""
    response = error(
        405,
        "MethodNotAllowed",
        f"The Content Delivery API is read-only: {method[:16]} is not allowed.",
    )
    response.headers["Allow"] = ", ".join(READ_METHODS)
    return response


def preflight(
    methods: tuple[str, ...] | None = None, requested: list[str] | None = None
) -> Response:
    """The answer to a browser's CORS preflight (OPTIONS): which reads it may send
    (`methods`: for a path read with others than GET, such as GraphQL's POST), with the
    headers it asked for (`requested`: its Access-Control-Request-Headers lines) if they
    are all header names."""
    allowed = ", ".join(methods or READ_METHODS)
    names = {name.lower(): name for name in _ALLOWED_HEADERS}
    asked = [name.strip() for line in requested or () for name in line.split(",")]
    asked = [name for name in asked if name]
    if sum(map(len, asked)) <= 2048 and all(_HEADER_NAME.fullmatch(name) for name in asked):
        for name in asked:
            names.setdefault(name.lower(), name)
    headers = {
        "Access-Control-Allow-Methods": allowed,
        "Access-Control-Allow-Headers": ", ".join(names.values()),
        "Access-Control-Max-Age": "86400",
        "Vary": "Access-Control-Request-Headers",
        "Allow": allowed,
    }
    return Response(204, headers=headers)


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer T` header."""
    value = authorization or ""
    return value[7:].strip() if value.lower().startswith("bearer ") else None


def offered_token(authorization: str | None, query: list[tuple[str, str]]) -> str | None:
    """The token a request carries: its Bearer header, else its last access_token."""
    from_query = [value for name, value in query if name == "access_token"]
    return bearer(authorization) or (from_query[-1] if from_query else None)


def same_token(offered: str | None, expected: str) -> bool:
    return offered is not None and hmac.compare_digest(offered.encode(), expected.encode())


def without_token(query: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in query if name != "access_token"]


def answer_headers(response: Response, body: bytes) -> dict[str, str]:
    """Every header of an answer whose (final) body is `body`."""
    # An error names its request in its body too: the header says the same id.
    named = _REQUEST_ID.search(body) if response.status >= 400 else None
    headers = {
        "Content-Type": response.media_type,
        "Content-Length": str(len(body)),
        "X-Contentful-Request-Id": named[1].decode() if named else uuid.uuid4().hex,
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "Etag",
        **response.headers,
    }
    if response.status == 200 and response.media_type == DELIVERY_MEDIA_TYPE:
        headers["ETag"] = f'W/"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    if response.status == 204:
        headers.pop("Content-Type")
    return headers


def status_line(status: int, reason: str) -> str:
    return f"HTTP/1.1 {status} {reason}"


# How long, and how much, a connection closed with a request unread is drained.
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 8 * 2**20

# What http.server refuses before a request reaches a server (a malformed request
# line, a line over 64 KB, more than 100 headers, an HTTP version it does not speak).
REFUSAL_IDS = {
    400: "BadRequest",
    414: "UriTooLong",
    431: "RequestHeaderFieldsTooLarge",
    505: "HttpVersionNotSupported",
}


def base_url(host: str, port: int) -> str:
    """The URL clients reach a server on `host` at: an IPv6 address in brackets, and
    for a server on every address (0.0.0.0, ::) this machine's loopback one."""
    reachable = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{f'[{reachable}]' if ':' in reachable else reachable}:{port}"


class QuietServer(ThreadingHTTPServer):
    """What the emulator and the mirror server share: a thread per connection, IPv4 or
    IPv6 as the address is, a port free again at once after a stop, and clients that
    hang up mid-answer taken for what they are (no traceback on stderr)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], *arguments: Any, **options: Any) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, *arguments, **options)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@dataclass
class Body:
    """A request's body as read: `data` (None: past the limit, not read) and `size`
    (not `exact`: a chunked body of more than size - 1 bytes, not read to its end)."""

    data: bytes | None
    size: int
    exact: bool = True


def size_in_words(size: int, exact: bool = True) -> str:
    """`size` bytes as an answer says it; not `exact`: more than size - 1 (the rest of
    a chunked body was not read)."""
    return f"{size} bytes" if exact else f"more than {size - 1} bytes"


class MalformedBody(Exception):
    """A body that says it is sent in chunks and is not."""


class _Reads(io.RawIOBase):
    """A connection's reads, each given only the time left until `deadline`: a client
    sending a byte now and then cannot stretch one request for ever. Writes keep the
    connection's own timeout (`patience`)."""

    def __init__(self, connection: socket.socket, patience: float) -> None:
        self.connection = connection
        self.patience = patience
        self.deadline = math.inf

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request was not received in time")
        self.connection.settimeout(min(left, self.patience))
        try:
            return self.connection.recv_into(buffer)
        finally:
            self.connection.settimeout(self.patience)


class QuietHandler(BaseHTTPRequestHandler):
    """What the emulator's and the mirror server's handlers share: HTTP/1.1 with
    keep-alive, answers sent without Nagle's delay, no access log on stderr (each
    server logs requests its own way), and http.server's own refusals in JSON."""

    protocol_version = "HTTP/1.1"
    # A request not received whole this long after the connection was ready for it
    # (a body shorter than its Content-Length, a byte sent now and then, an idle
    # keep-alive connection) is not waited for: the connection is let go, so that no
    # client holds a thread for ever.
    timeout = 60

    # The largest body a server reads; a larger one is refused unread, and the
    # connection closes after the answer.
    max_body = 2**20

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reads = _Reads(self.connection, self.timeout)
        made, self.rfile = self.rfile, io.BufferedReader(self._reads)
        made.close()  # the file socketserver made holds the socket open until closed
        self.unread_body = False

    def handle_one_request(self) -> None:
        self._reads.deadline = time.monotonic() + self.timeout
        self.unread_body = False
        super().handle_one_request()

    def parse_request(self) -> bool:
        """http.server's parsing, and what it leaves unchecked of a body's framing
        (RFC 9112 6.3): one Content-Length, a number; with chunks, the connection
        closes after the answer. A body no handler reads is not taken for the next
        request: the connection closes after the answer instead."""
        if not super().parse_request():
            return False
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or ()}
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if len(lengths) > 1:
            self.send_error(400, "The request has several Content-Length headers")
            return False
        length = next(iter(lengths), "0")
        if not chunked and not length.isdigit():
            self.send_error(400, f"Content-Length is not a number of bytes: {length[:20]!r}")
            return False
        if chunked and lengths:
            self.close_connection = True
        self.unread_body = chunked or int(length) > 0
        return True

    def handle_expect_100(self) -> bool:
        """Ask for the body (100 Continue) only if it will be read; otherwise the
        refusal is the answer, at once."""
        return super().handle_expect_100() if self.reads_body() else True

    def reads_body(self) -> bool:
        """Whether this request's body would be read (a server may say more)."""
        length = self.headers.get("Content-Length") or "0"
        return length.isdigit() and int(length) <= self.max_body

    def read_body(self) -> Body:
        """This request's body, read whole up to `max_body` bytes; past that it is not
        read (`data` None) and the connection closes after the answer."""
        self.unread_body = False
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = self._chunks()
            if data is None:
                self.close_connection = True
                return Body(None, self.max_body + 1, exact=False)
            return Body(data, len(data))
        size = int(self.headers.get("Content-Length") or 0)  # checked by parse_request
        if size > self.max_body:
            self.close_connection = True
            return Body(None, size)
        return Body(self.rfile.read(size), size)

    def _chunks(self) -> bytes | None:
        """A body sent in chunks (a stream, Transfer-Encoding: chunked); None past
        max_body, and the rest is not read. MalformedBody if it is not chunks."""
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1026).split(b";", 1)[0].strip()
            try:
                length = int(line, 16)
            except ValueError:
                raise MalformedBody from None
            if length < 0:
                raise MalformedBody
            size += length
            if size > self.max_body:
                return None
            if length == 0:
                while self.rfile.readline(1026).strip():  # trailers, then the blank line
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(length))
            self.rfile.readline(3)  # the CRLF after the chunk

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def finish(self) -> None:
        """After the last answer on a connection the client may still be sending what
        was not read (a body too big to read): closing a socket with unread data
        resets the connection, and the client may lose the answer before reading it.
        So the server stops sending, and reads and drops what comes for a moment."""
        super().finish()
        if not self.close_connection:
            return
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            until = time.monotonic() + _LINGER_SECONDS
            dropped = 0
            while dropped < _LINGER_BYTES and (left := until - time.monotonic()) > 0:
                self.connection.settimeout(left)
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                dropped += len(chunk)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A request http.server refuses, answered in the API's JSON (not its HTML page);
        the connection closes after it, since the rest of the request is unread."""
        self.close_connection = True
        self.refused_request_line()
        reason = self.responses.get(code, ("Bad Request",))[0]
        said = f"{message}: {explain}" if message and explain else message or reason
        self.refuse(code, REFUSAL_IDS.get(code, "BadRequest"), f"{said[:200]}.")

    def refused_request_line(self) -> None:
        """Set the path and method of a request http.server refused, from its line as
        far as it came: it may have refused before setting them, or left the
        connection's previous request's."""
        words = getattr(self, "raw_requestline", b"")[:1024].split()
        self.path = words[1].decode("latin-1") if len(words) > 1 else ""
        self.command = self.command or (words[0].decode("latin-1")[:16] if words else "GET")

    def head(self, status: int, headers: dict[str, str]) -> bytes:
        """The status line and headers of an answer; `Connection: close` when the
        connection closes after it (the client must not send more on it)."""
        if self.unread_body:
            self.close_connection = True
        if self.close_connection:
            headers["Connection"] = "close"
        else:  # how long an idle connection is kept, for clients that reuse them
            headers["Keep-Alive"] = f"timeout={int(self.timeout)}"
        lines = [status_line(status, self.responses.get(status, ("",))[0])]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def refuse(self, status: int, code: str, message: str) -> None:
        """Send a refusal of this request (`code` as a REST error id); each server
        sends it its own way."""
        raise NotImplementedError
