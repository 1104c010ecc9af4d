"""Fetches sync pages, content types and locales from a Delivery API origin.

The access token goes only in the Authorization header and only to the configured
origin; next-page URLs are read for their token and never followed elsewhere.
Every request, body and all, must finish within the policy's timeout (`Deadline`).
Failures come out as MirrorError subclasses after bounded retries.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import requests

from mirror import __version__
from mirror.client.deadline import Deadline, http_session
from mirror.errors import (
    AuthError,
    InvalidData,
    MirrorError,
    NotFound,
    SourceUnavailable,
    UsageError,
)
from mirror.schemas import schemas
from mirror.wire import TOKEN_PATTERN, is_safe_id, parse_json

RETRY_STATUSES = {429, 500, 502, 503, 504}
T = TypeVar("T")
RESPONSE_TOO_BIG = "Response size too big"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ResponseTooBig(MirrorError):
    """A sync page was over Contentful's response size cap; a smaller limit is the cure."""


class TokenRejected(MirrorError):
    """The source refused the mirror's sync token."""


@dataclass(frozen=True)
class Origin:
    """The Delivery API the mirror talks to: base URL, space, environment."""

    base_url: str
    space: str
    environment: str

    @property
    def environment_path(self) -> str:
        return f"/spaces/{self.space}/environments/{self.environment}"

    def url(self, path: str) -> str:
        return self.base_url + self.environment_path + path


@dataclass(frozen=True)
class SyncStart:
    """How a sync begins: from a token, or initially with filters and a page limit."""

    token: str | None = None
    type: str = "all"
    content_type: str | None = None
    limit: int = 1000

    def params(self) -> dict[str, str]:
        if self.token is not None:
            return {"sync_token": self.token}
        params = {"initial": "true", "limit": str(self.limit)}
        if self.type != "all":
            params["type"] = self.type
        if self.content_type:
            params["content_type"] = self.content_type
        return params


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_token: str
    last: bool  # True: next_token is the next sync's token


def _quiet(line: str) -> None:
    pass


@dataclass
class RetryPolicy:
    retries: int = 5
    timeout: float = 30.0  # seconds for a whole request: connect, headers and body
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    notice: Callable[[str], None] = field(default=_quiet)  # one line per retry, for stderr


def normalize_base_url(raw: str) -> str:
    """The base URL without a trailing slash; refuses what the token must not be sent to."""
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--base-url {raw!r} is not an http(s) URL such as https://cdn.contentful.com"
        )
    if (
        parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or parts.path not in ("", "/")
    ):
        raise UsageError(
            f"--base-url {raw!r} must be a bare origin such as https://cdn.contentful.com"
        )
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise UsageError(
            f"refusing to send the access token over plain http to {parts.hostname}; use https"
        )
    return f"{parts.scheme}://{parts.netloc}"


class SyncSource:
    def __init__(
        self, origin: Origin, access_token: str, policy: RetryPolicy | None = None
    ) -> None:
        if not access_token or any(c.isspace() or not c.isprintable() for c in access_token):
            raise UsageError(
                "the access token is empty or holds spaces or control characters; "
                "pass it with --access-token or CONTENTFUL_ACCESS_TOKEN"
            )
        self.origin = origin
        self.policy = policy or RetryPolicy()
        self._session = http_session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json",
                "User-Agent": f"contentful-mirror/{__version__}",
                "X-Contentful-User-Agent": f"app contentful-mirror/{__version__}",
            }
        )
        self.requests_made = 0

    def close(self) -> None:
        self._session.close()

    # -- the Sync API ----------------------------------------------------------

    def pages(self, start: SyncStart) -> Iterator[Page]:
        """Every page of one sync, from `start` to the page carrying nextSyncUrl.

        While the caller writes page k, a second thread downloads page k+1. Only
        the download happens there (the GIL is free during socket I/O); parsing and
        validation stay in this thread, so the two never fight over the GIL. The
        next request goes out only after its URL passed the origin check.
        """
        url = self.origin.url("/sync")
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="page-download")
        try:
            pending = pool.submit(self._get, url, start.params(), start.token is not None)
            while True:
                body = self._parse(pending.result(), url)
                last = isinstance(body, dict) and "nextSyncUrl" in body
                token = self._token_of(_next_url(body))
                if not last:
                    pending = pool.submit(self._get, url, {"sync_token": token}, True)
                error = schemas().first_error("sync_page", body)
                if error:
                    raise InvalidData(
                        f"the source sent an invalid sync page: {_item_hint(body, error)}"
                    )
                yield Page(body["items"], token, last)
                if last:
                    return
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def content_types(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            body = self._get_json(
                self.origin.url("/content_types"), {"skip": str(len(found)), "limit": "1000"}
            )
            error = schemas().first_error("content_type_collection", body)
            if error:
                raise InvalidData(f"the source sent invalid content types: {error}")
            found += body["items"]
            if not body["items"] or len(found) >= int(body.get("total", len(found))):
                return found

    def tags(self) -> list[dict[str, Any]] | None:
        """The environment's tags ({name, sys}), sorted by id; None where the source has no
        /tags endpoint (old recordings, emulators), which is not an error."""
        found: list[dict[str, Any]] = []
        while True:
            try:
                body = self._get_json(
                    self.origin.url("/tags"), {"skip": str(len(found)), "limit": "1000"}
                )
            except NotFound:
                return None
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list) or not all(_is_tag(tag) for tag in items):
                raise InvalidData("the source sent invalid tags: each needs sys.type Tag and an id")
            found += items
            if not items or len(found) >= int(body.get("total", len(found))):
                return sorted(found, key=lambda tag: str(tag["sys"]["id"]))

    def locales(self) -> list[dict[str, Any]]:
        body = self._get_json(self.origin.url("/locales"), {"limit": "1000"})
        error = schemas().first_error("locale_collection", body)
        if error:
            raise InvalidData(f"the source sent invalid locales: {error}")
        return list(body["items"])

    # -- plumbing --------------------------------------------------------------

    def _token_of(self, url: str) -> str:
        parts = urlsplit(url)
        if not _same_origin(parts, urlsplit(self.origin.base_url)):
            where = f"{parts.scheme}://{parts.netloc}"
            raise InvalidData(
                f"the source pointed the next page to another origin ({where}); "
                "refusing to follow it"
            )
        tokens = parse_qs(parts.query).get("sync_token", [])
        if len(tokens) != 1 or not TOKEN_PATTERN.match(tokens[0]):
            raise InvalidData("the source sent a next-page URL without a usable sync_token")
        return tokens[0]

    def _get_json(self, url: str, params: dict[str, str], sync: bool = False) -> Any:
        return self._parse(self._get(url, params, sync), url)

    @staticmethod
    def _parse(response: requests.Response, url: str) -> Any:
        try:
            return parse_json(response.content)
        except ValueError:
            raise InvalidData(f"the source sent malformed JSON for {urlsplit(url).path}") from None

    def _get(self, url: str, params: dict[str, str], sync: bool) -> requests.Response:
        what = urlsplit(url).path

        def attempt() -> requests.Response:
            self.requests_made += 1
            seconds = self.policy.timeout
            with within(seconds, f"GET {what}"):
                # Not streamed: the body is read here, inside the deadline.
                response = self._session.get(
                    url, params=params, timeout=seconds, allow_redirects=False
                )
            if response.status_code == 200:
                return response
            retry_on_status(response, self.policy)
            self._refuse(response, what, sync)
            raise AssertionError("unreachable")

        return retrying(self.policy, f"{self.origin.base_url} kept failing for {what}", attempt)

    def _refuse(self, response: requests.Response, what: str, sync: bool) -> None:
        status = response.status_code
        message = _error_message(response)
        if status in (401, 403):
            raise AuthError(
                f"{self.origin.base_url} refused the access token (HTTP {status}: {message}); "
                "check --access-token / CONTENTFUL_ACCESS_TOKEN and that it belongs to this space"
            )
        if status == 404:
            raise NotFound(
                f"space {self.origin.space!r} or environment {self.origin.environment!r} "
                f"not found at {self.origin.base_url}; check --space, --environment and "
                "--base-url (or CONTENTFUL_SPACE_ID, CONTENTFUL_ENVIRONMENT, CONTENTFUL_BASE_URL)"
            )
        if status == 400 and RESPONSE_TOO_BIG in message:
            raise ResponseTooBig(message)
        if status == 400 and sync:
            raise TokenRejected(message)
        if 300 <= status < 400:
            raise InvalidData(
                f"{self.origin.base_url} answered {what} with a redirect; not followed"
            )
        raise MirrorError(f"{self.origin.base_url} answered {what} with HTTP {status}: {message}")


class Retry(Exception):
    """One attempt failed in a way worth another try (after `wait` seconds, if given).
    `request` says which (`GET /path`); `timed_out` marks a passed deadline."""

    def __init__(
        self,
        problem: str,
        wait: float | None = None,
        *,
        request: str = "",
        timed_out: bool = False,
    ) -> None:
        super().__init__(problem)
        self.problem, self.wait = problem, wait
        self.request, self.timed_out = request, timed_out


def retrying(policy: RetryPolicy, failing: str, attempt: Callable[[], T]) -> T:
    """Run `attempt` until it succeeds, at most 1 + policy.retries times, telling
    policy.notice about each retry. A 429 waits for its reset header; other failures
    back off exponentially with jitter."""
    attempts, timeouts = policy.retries + 1, 0
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except Retry as failure:
            last, timeouts = failure, timeouts + failure.timed_out
        if number < attempts:
            wait = last.wait if last.wait is not None else _backoff(policy, number)
            policy.notice(
                f"{last.request or failing}: {last.problem} "
                f"(attempt {number} of {attempts}); retrying in {wait:.1f}s"
            )
            policy.sleep(wait)
    raise SourceUnavailable(f"{failing}: {_gave_up(last, timeouts, attempts)}")


def _gave_up(last: Retry, timeouts: int, attempts: int) -> str:
    """Why retrying stopped, and the advice that fits: more retries do not cure timeouts."""
    if not last.timed_out:
        return f"{last.problem} after {attempts} attempts; try again later or raise --retries"
    if timeouts == attempts:
        each = f"on each of {attempts} attempts" if attempts > 1 else "on its only attempt"
    else:
        each = f"on the last of {attempts} attempts ({timeouts} timed out)"
    return f"{last.problem} {each}; check the server or raise --timeout"


def retry_on_status(response: requests.Response, policy: RetryPolicy) -> None:
    """Raise Retry for the statuses worth retrying (429, 5xx)."""
    status = response.status_code
    if status in RETRY_STATUSES:
        wait = _reset_seconds(response, policy.backoff_cap) if status == 429 else None
        request = f"{response.request.method} {urlsplit(response.url).path}"
        raise Retry(f"HTTP {status}", wait, request=request)


@contextlib.contextmanager
def within(seconds: float, request: str) -> Iterator[Deadline]:
    """Make one request of a `watch_requests` session inside this block, within
    `seconds` for connect, headers and body; its network failures come out as Retry,
    saying "timed out" when the deadline passed."""
    deadline = Deadline(seconds)
    try:
        with deadline:
            yield deadline
    except requests.exceptions.RequestException as error:
        if deadline.passed or isinstance(error, requests.exceptions.Timeout):
            raise Retry(f"timed out after {seconds:g}s", request=request, timed_out=True) from None
        raise Retry(f"network error ({type(error).__name__})", request=request) from None


def _backoff(policy: RetryPolicy, attempt: int) -> float:
    """Exponential, with jitter so that many clients do not retry in step."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2.0 ** (attempt - 1))
    return ceiling * (0.5 + random.random() / 2)


def _is_tag(value: Any) -> bool:
    sys = value.get("sys") if isinstance(value, dict) else None
    return isinstance(sys, dict) and sys.get("type") == "Tag" and is_safe_id(sys.get("id"))


def _next_url(body: Any) -> str:
    """The page's nextPageUrl or nextSyncUrl, before the full schema check."""
    if isinstance(body, dict):
        for key in ("nextSyncUrl", "nextPageUrl"):
            if isinstance(body.get(key), str):
                return str(body[key])
    raise InvalidData("the source sent a sync page with neither nextPageUrl nor nextSyncUrl")


def _same_origin(next_url: Any, base: Any) -> bool:
    """Same host; a scheme difference is tolerated only where no port is named (old
    recordings show http:// next URLs from an https service). Requests always go to
    the configured base, never to the URL itself."""
    if not next_url.hostname or next_url.hostname.lower() != (base.hostname or "").lower():
        return False
    if next_url.port is None and base.port is None:
        return True
    default = {"http": 80, "https": 443}
    return bool(
        (next_url.port or default.get(next_url.scheme)) == (base.port or default.get(base.scheme))
    )


def _reset_seconds(response: requests.Response, cap: float) -> float | None:
    """How long a 429 asks us to wait (X-Contentful-RateLimit-Reset), within reason."""
    try:
        seconds = float(response.headers["X-Contentful-RateLimit-Reset"])
    except (KeyError, ValueError):
        return None
    return min(max(0.0, seconds), 2 * cap)


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
        return str(body.get("message") or body["sys"]["id"])[:300]
    except (ValueError, KeyError, TypeError, AttributeError):
        return response.reason or "no message"


def _item_hint(body: Any, error: str) -> str:
    """Name the item a schema error is in, so the message says which one is bad."""
    path = error.split(":", 1)[0].split("/")
    if len(path) > 1 and path[0] == "items" and path[1].isdigit():
        try:
            item_id = body["items"][int(path[1])]["sys"]["id"]
            return f"item {int(path[1])} (id {str(item_id)[:80]!r}): {error}"
        except (KeyError, IndexError, TypeError):
            pass
    return error
