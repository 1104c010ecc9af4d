"""`mirror serve DIR`: a read-only Content Delivery API over a mirror at one commit.

The DeliveryEngine answers entries, assets, content types, locales, tags and the
environment; HistorySync answers /sync with the tokens in the mirror's commits;
LocalFiles serves the asset files the mirror keeps. Everything is read from git
objects, so a `mirror sync` may run meanwhile. With `follow`, the served commit moves
when `rev` (HEAD) does: a new `ServedRevision` replaces the old one at once, and the
old one closes when the last request that started on it has finished. With
`serve_in_workers`, several processes forked from the bound server accept on its socket,
each with its own revision and index connection: GraphQL execution holds one GIL per
process, so more cores answer more requests.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

from mirror.delivery.engine import DeliveryEngine
from mirror.delivery.history_sync import HistorySync
from mirror.delivery.http import (
    SPACE_PATH,
    Body,
    MalformedBody,
    QuietHandler,
    QuietServer,
    Response,
    answer_headers,
    base_url,
    error,
    invalid_token,
    json_response,
    method_not_allowed,
    not_found,
    offered_token,
    preflight,
    same_token,
    without_token,
)
from mirror.delivery.local_files import LocalFiles
from mirror.delivery.revision import (
    PARSED_BYTES,
    RevisionContent,
    locate,
    open_revision,
    resolve,
)
from mirror.errors import MirrorError, UsageError
from mirror.graphql.http import PREFIX as GRAPHQL_PREFIX
from mirror.graphql.http import GraphQLEndpoint, GraphQLRequest, token_refused
from mirror.graphql.http import refusal as graphql_refusal
from mirror.graphql.limits import MAX_QUERY_BYTES
from mirror.graphql.revision import RevisionSource

_HOST_HEADER = re.compile(r"^(?:[A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")
_ITEMS_ARE_ASSETS = re.compile(r"^/assets/?$")
_FOLLOWER = "mirror-serve-follow"
DRAIN_SECONDS = 30.0  # how long a stop waits for the answers being made
_GRAPHQL_METHODS = ("GET", "POST", "HEAD", "OPTIONS")


@dataclass
class MirrorServerConfig:
    directory: Path
    rev: str = "HEAD"
    follow: bool = False  # serve each new commit `rev` names, checked every poll_seconds
    host: str = "127.0.0.1"
    port: int = 0
    access_token: str | None = None  # None: any token or none (loopback only)
    poll_seconds: float = 1.0
    log: Callable[[str], None] | None = None
    cache_bytes: int = PARSED_BYTES  # parsed items kept per served commit (--cache-mb)
    warn: Callable[[str], None] | None = None  # what is said even when requests are not


def _how_it_ended(status: int) -> str:
    """A wait status in words: `was killed by SIGKILL`, `exited with status 1`."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"was killed by {signal.Signals(number).name}"
        except ValueError:
            return f"was killed by signal {number}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def give_back_freed_memory() -> None:
    """Return to the system what this process freed but the C allocator kept: building
    a commit's index leaves about 90 MB of it at 100k entries, which a server would
    otherwise keep resident, and each worker forked after it too. glibc only."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServedRevision:
    """One commit being served, counted while requests use it."""

    def __init__(self, directory: Path, rev: str, cache_bytes: int = PARSED_BYTES) -> None:
        self.directory = directory
        self.content: RevisionContent = open_revision(directory, rev, cache_bytes)
        self.commit = self.content.commit
        self.engine = DeliveryEngine(self.content)
        self.files = LocalFiles(self.content)
        self._sync: HistorySync | None = None
        self._sync_lock = threading.Lock()  # not _lock: reading the history takes a while
        self._graphql: GraphQLEndpoint | None = None
        self._lock = threading.Lock()
        self._users = 0
        self._retired = False

    def sync(self) -> HistorySync:
        """The Sync API over this commit (built on first use: it reads the history)."""
        with self._sync_lock:
            if self._sync is None:
                self._sync = HistorySync(self.directory, self.commit, self.content)
            return self._sync

    def graphql(self) -> GraphQLEndpoint:
        """The GraphQL Content API over this commit (its schema is built on first use)."""
        with self._lock:
            if self._graphql is None:
                self._graphql = GraphQLEndpoint(RevisionSource(self.content, self.files))
            return self._graphql

    def acquire(self) -> None:
        with self._lock:
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            done = self._retired and self._users == 0
        if done:
            self.content.close()

    def retire(self) -> None:
        """No new request will start here; close once the running ones have finished."""
        with self._lock:
            self._retired = True
            done = self._users == 0
        if done:
            self.content.close()


class MirrorServer:
    """A running server: `with MirrorServer(config) as server: get(server.base_url + ...)`.
    `listening`: a socket bound already (a worker's, from the server that forked it)."""

    def __init__(self, config: MirrorServerConfig, listening: socket.socket | None = None) -> None:
        if not is_loopback(config.host) and not config.access_token:
            raise UsageError(
                f"--host {config.host} lets other machines read the mirror: pass "
                "--access-token TOKEN too (every request must then carry it), or serve on "
                "127.0.0.1"
            )
        self.config = config
        self.objects, _ = locate(config.directory)
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._answering = 0  # requests being answered now
        try:
            self._current = ServedRevision(config.directory, config.rev, config.cache_bytes)
        except BaseException:
            self.objects.close()
            raise
        if listening is None:  # a worker's was said by the server that forked it
            self._warn_unreadable(self._current)
        self._skipped: str | None = None
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        try:
            self._server = _Server((config.host, config.port), _Handler, listening is None)
        except BaseException:
            self._current.retire()
            self.objects.close()
            raise
        self._server.mirror = self
        if listening is not None:
            self._server.socket.close()
            self._server.socket = listening
            self._server.server_address = listening.getsockname()[:2]
        self._serving = False

    @property
    def commit(self) -> str:
        return self._current.commit

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return base_url(self.config.host, self.port)

    def facts(self) -> dict[str, str]:
        """What a client needs to connect: printed by `mirror serve DIR`."""
        content = self._current.content
        facts = {
            "base_url": self.base_url,
            "space": content.space_id,
            "environment": content.environment,
            "revision": self.config.rev,
            "commit": content.commit,
        }
        if self.config.access_token:
            facts["access_token"] = self.config.access_token
        return facts

    # -- the served revision -------------------------------------------------------------

    def acquire(self) -> ServedRevision:
        """The revision a request is answered from; release it when done."""
        with self._lock:
            served = self._current
            served.acquire()
        return served

    def refresh(self) -> bool:
        """Serve the commit `rev` names now, if it moved; True when it did."""
        try:
            commit = resolve(self.objects, self.config.rev)
        except MirrorError:
            return False
        if commit in (self._current.commit, self._skipped):
            return False
        try:
            fresh = ServedRevision(self.config.directory, commit, self.config.cache_bytes)
        except MirrorError as refusal:
            self._skipped = commit  # said once, not every second
            self._say(f"not serving {commit[:10]}: {refusal}")
            return False
        with self._lock:
            old, self._current = self._current, fresh
        if fresh.content.index.origin != "cached":
            give_back_freed_memory()
        had_unreadable = bool(old.content.index.unreadable)
        old.retire()
        self._say(f"serving {commit[:10]}")
        self._warn_unreadable(fresh, had_unreadable)
        return True

    def _warn_unreadable(self, served: ServedRevision, had_unreadable: bool = False) -> None:
        """Files the commit holds that no answer shows: a site built from it would lack
        their pages without a word, so it is said when the commit is served (and that
        all are served again, after a commit that had such files)."""
        unreadable = served.content.index.unreadable
        if self.config.warn is None:
            return
        if not unreadable:
            if had_unreadable:
                self.config.warn(f"every file at {served.commit[:10]} is served again")
            return
        shown = ", ".join(unreadable[:3])
        more = f" and {len(unreadable) - 3} more" if len(unreadable) > 3 else ""
        self.config.warn(
            f"warning: {len(unreadable)} file(s) at {served.commit[:10]} hold no readable "
            f"entry or asset and are not served: {shown}{more}; "
            f"mirror verify {self.config.directory} says why"
        )

    def _follow(self) -> None:
        while not self._stopped.wait(self.config.poll_seconds):
            self.refresh()

    def _say(self, line: str) -> None:
        if self.config.log:
            self.config.log(line)

    # -- running -------------------------------------------------------------------------

    def start(self) -> MirrorServer:
        self._serving = True
        self._spawn(self.serve_forever, "mirror-serve")
        return self

    def serve_forever(self) -> None:
        if self.config.follow and not any(t.name == _FOLLOWER for t in self._threads):
            self._spawn(self._follow, _FOLLOWER)
        self._serving = True
        self._server.serve_forever(poll_interval=0.1)

    def serve_in_workers(self, workers: int) -> None:
        """Serve from `workers` processes forked now, all accepting on this server's
        socket, each opening the revision anew (git objects and index connections are
        not shared across a fork; the index is built by now). Returns when interrupted
        (Ctrl-C, SIGTERM), after stopping them; a worker that stops on its own stops
        them all, with a MirrorError."""
        listening = self._server.socket
        listening.setblocking(False)  # a worker that loses the race to accept waits again
        with self._lock:
            self._current.retire()
        self.objects.close()
        give_back_freed_memory()
        children = [self._fork_worker(listening) for _ in range(workers)]
        try:
            pid, status = os.wait()
            raise MirrorError(f"worker process {pid} {_how_it_ended(status)}; stopping the others")
        finally:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            for pid in children:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)

    def _fork_worker(self, listening: socket.socket) -> int:
        pid = os.fork()
        if pid:
            return pid
        code = 0
        try:
            worker = MirrorServer(self.config, listening)
            try:
                worker.serve_forever()
            finally:
                worker.stop()
        except KeyboardInterrupt:
            pass  # SIGTERM from the parent, or Ctrl-C
        except BaseException as failure:  # said here: a worker never returns to the caller
            print(f"Error: mirror serve worker {os.getpid()}: {failure}", file=sys.stderr)
            code = 1
        finally:
            sys.stderr.flush()
            os._exit(code)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around each request's answer: `stop` lets the running ones finish."""
        with self._idle:
            self._answering += 1
        try:
            yield
        finally:
            with self._idle:
                self._answering -= 1
                self._idle.notify_all()

    def stop(self) -> None:
        """No new connection; the answers being made are finished and sent (for at most
        DRAIN_SECONDS: a stop is not held up for ever), then everything closes."""
        self._stopped.set()
        if self._serving:  # else shutdown() would wait for a loop that never ran
            self._server.shutdown()
        with self._idle:
            self._idle.wait_for(lambda: self._answering == 0, timeout=DRAIN_SECONDS)
        self._server.server_close()
        for thread in self._threads:
            thread.join()
        with self._lock:
            self._current.retire()
        self.objects.close()

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class _Server(QuietServer):
    mirror: MirrorServer

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setblocking(True)  # whatever the shared listening socket is
        return connection, address


class _Handler(QuietHandler):
    server: _Server
    server_version = "mirror-serve"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_HEAD(self) -> None:
        self._answer("HEAD")

    def do_OPTIONS(self) -> None:
        methods = _GRAPHQL_METHODS if self.path.startswith(GRAPHQL_PREFIX) else None
        requested = self.headers.get_all("Access-Control-Request-Headers")
        self._send(preflight(methods, requested), "OPTIONS", time.perf_counter())

    def do_POST(self) -> None:
        if self.path.startswith(GRAPHQL_PREFIX):  # the one API that reads with POST
            self._answer("POST")
        else:
            self._refuse()

    def _refuse(self) -> None:
        self.close_connection = True  # its body, if any, is never read
        if self.path.startswith(GRAPHQL_PREFIX):
            response = graphql_refusal(
                405,
                "METHOD_NOT_ALLOWED",
                f"The GraphQL Content API reads with GET and POST: {self.command[:16]} is not "
                "allowed.",
            )
            response.headers["Allow"] = ", ".join(_GRAPHQL_METHODS)
        else:
            response = method_not_allowed(self.command)
        self._send(response, self.command, time.perf_counter())

    do_PUT = do_DELETE = do_PATCH = _refuse

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code == 501:  # any other method (TRACE, BREW, ...): the same JSON 405 as writes
            self._refuse()
            return
        if code == 414:
            self.refused_request_line()
            graphql = self.path.startswith(GRAPHQL_PREFIX)
            message = "The URL is longer than this server reads (64 KB)"
            explain = (
                "send the query as a POST body"
                if graphql
                else "ask for fewer entries at once (sys.id[in] of fewer ids, say)"
            )
        super().send_error(code, message, explain)

    def refuse(self, status: int, code: str, message: str) -> None:
        """In the shape of the API the path names: GraphQL's errors, or REST's."""
        if self.path.startswith(GRAPHQL_PREFIX):
            graphql_code = re.sub(r"(?<!^)(?=[A-Z])", "_", code).upper()
            response = graphql_refusal(status, graphql_code, message)
        else:
            response = error(status, code, message)
        self._send(response, self.command, time.perf_counter())

    def _answer(self, method: str) -> None:
        with self.server.mirror.answering():
            started = time.perf_counter()
            try:
                body = self._body() if method == "POST" else Body(b"", 0)
            except MalformedBody:
                self.close_connection = True
                self.refuse(400, "BadRequest", "The request body is not valid chunked encoding.")
                return
            served = self.server.mirror.acquire()
            try:
                response = self._route(served, urlsplit(self.path), method, body)
            except MirrorError as failure:
                response = error(500, "ServerError", str(failure))
            except Exception as failure:  # answer, even for our own bugs
                response = error(500, "ServerError", f"Internal error: {type(failure).__name__}")
            finally:
                served.release()
            self._send(response, method, started)

    def _body(self) -> Body:
        """A POST's body and its size. A body past what a query may be is read (up to
        max_body) and dropped: the answer says how big it was."""
        body = self.read_body()
        if body.data is not None and body.size > MAX_QUERY_BYTES:
            body.data = None
        return body

    def reads_body(self) -> bool:
        """Only GraphQL's POST reads a body."""
        graphql = self.command == "POST" and self.path.startswith(GRAPHQL_PREFIX)
        return graphql and super().reads_body()

    def _route(self, served: ServedRevision, url: SplitResult, method: str, body: Body) -> Response:
        pairs = parse_qsl(url.query, keep_blank_values=True)
        if url.path.startswith("/files/"):
            # Public, as Contentful's asset CDN is: pages load them with <img src>, which
            # sends no token. They are the published files the answers link to anyway.
            return served.files.answer(url.path, pairs)
        expected = self.server.mirror.config.access_token
        offered = offered_token(self.headers.get("Authorization"), pairs)
        graphql = url.path.startswith(GRAPHQL_PREFIX)
        if expected and not same_token(offered, expected):
            return token_refused(offered) if graphql else invalid_token()
        if graphql:
            request = GraphQLRequest(
                method,
                url.path,
                without_token(pairs),
                self.headers.get("Content-Type") or "",
                body.data or b"",
                self._host(),
                body.size,
                body.exact,
            )
            return served.graphql().answer(request)
        match = SPACE_PATH.match(url.path)
        if match is None:
            return not_found()
        space, environment, rest = match.groups()
        content = served.content
        if space != content.space_id:
            return not_found("Space", space)
        if environment is not None and environment != content.environment:
            return not_found("Environment", environment)
        rest = rest or ""
        if rest == "" and environment is None:  # /spaces/{s}; with an environment: it
            return json_response(200, served.engine.space())
        if rest == "/sync":
            try:
                sync = served.sync()
            except MirrorError as refusal:  # a commit without a usable sync token
                return error(400, "BadRequest", str(refusal))
            status, page = sync.answer(without_token(pairs), f"http://{self._host()}{url.path}")
            return Response(status, page, summary="sync")
        answer = served.engine.answer(rest, without_token(pairs))
        if answer.status == 200:
            served.files.localize_urls(
                answer.body, self._host(), bool(_ITEMS_ARE_ASSETS.match(rest))
            )
        return json_response(answer.status, answer.body)

    def _host(self) -> str:
        """The address the client used, for URLs in answers; ours if its Host is odd."""
        host = self.headers.get("Host") or ""
        if _HOST_HEADER.match(host):
            return host
        address, port = self.server.server_address[:2]
        return base_url(str(address), int(port)).removeprefix("http://")

    def _send(self, response: Response, method: str, started: float) -> None:
        payload = self.head(response.status, answer_headers(response, response.body))
        try:
            self.wfile.write(payload + (b"" if method == "HEAD" else response.body))
        except OSError:  # gone, or not reading its answer for `timeout` seconds
            self.close_connection = True
        log = self.server.mirror.config.log
        if log:
            elapsed = (time.perf_counter() - started) * 1000
            path = re.sub(r"access_token=[^&]*", "access_token=***", self.path)
            note = f" {response.summary}" if response.summary else ""
            log(f"{method} {path} {response.status}{note} {elapsed:.0f}ms")
