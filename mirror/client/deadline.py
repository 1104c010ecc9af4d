"""Deadlines for whole requests.

requests' timeout bounds each socket read, so a server that sends a byte a second
never trips it. A Deadline bounds the whole request instead: a timer shuts the
request's socket down when time is up, which wakes whatever read is blocked on it.
The connections of an `http_session()` tell the Deadline of their thread which
socket they use.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_this_thread = threading.local()


class Deadline:
    """The time limit of the one request this thread makes inside `with Deadline(s):`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self._fired = False
        self._connection: HTTPConnection | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    @property
    def passed(self) -> bool:
        return self._fired or time.monotonic() >= self._end

    def __enter__(self) -> Deadline:
        _this_thread.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()
        _this_thread.deadline = None
        with self._lock:
            self._connection = None  # a late timer must not touch a pooled connection

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection
            fired = self._fired
        if fired:
            _shut(connection)

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            connection = self._connection
        if connection is not None:
            _shut(connection)


def _shut(connection: HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            # The plain socket's shutdown, also under TLS: it wakes a blocked read at once.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watch(connection: HTTPConnection) -> None:
    deadline: Deadline | None = getattr(_this_thread, "deadline", None)
    if deadline is not None:
        deadline.watch(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self)  # a deadline that passed while connecting ends the request now

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


_mounting = threading.Lock()


def http_session() -> requests.Session:
    """A session whose requests a Deadline can bound; it picks up no .netrc
    credentials and no proxies from the environment."""
    session = requests.Session()
    session.trust_env = False
    watch_requests(session)
    return session


def watch_requests(session: requests.Session) -> None:
    """Let Deadline bound `session`'s requests; safe to call from several threads."""
    with _mounting:
        if isinstance(session.adapters.get("https://"), _WatchedAdapter):
            return
        for prefix in ("https://", "http://"):
            old = session.adapters.get(prefix)
            session.mount(prefix, _WatchedAdapter())
            if old is not None:
                old.close()
