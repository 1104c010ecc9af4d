"""Asset files: each asset's file, for every locale, at assets/files/<id>/<locale>/<name>.

Files are fetched only from Contentful's asset hosts (*.ctfassets.net, https) or the
configured base URL's own origin (the emulator), never with the access token
(asset URLs are public), several at a time, each retried like sync requests,
written to a temporary file and renamed once its size matches details.size.
A failed download fails the round: a mirror with files silently missing is worse
than no new round.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from mirror import __version__
from mirror.client.deadline import http_session
from mirror.client.source import (
    LOOPBACK,
    Retry,
    RetryPolicy,
    retry_on_status,
    retrying,
    within,
)
from mirror.errors import InvalidData, SourceUnavailable
from mirror.wire import is_safe_id, parse_json

FILES = "assets/files"
_LOCALE = re.compile(r"^[A-Za-z0-9_-]{1,35}$")
WORKERS = 4


@dataclass(frozen=True)
class AssetFile:
    path: str  # mirror-relative
    url: str  # absolute, checked
    size: int | None


def safe_file_name(name: object) -> str:
    """A file name from the source, refused if it could leave its folder or hide."""
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or len(name.encode("utf-8")) > 200
        or any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        raise InvalidData(f"the source sent an unsafe asset file name {str(name)[:80]!r}")
    return name


def files_of(asset: dict[str, Any], base_url: str) -> dict[str, AssetFile]:
    """The files an asset has, by locale, with their target paths and checked URLs."""
    asset_id = asset["sys"]["id"]
    if not is_safe_id(asset_id):
        raise InvalidData(f"the source sent an unsafe asset id {str(asset_id)[:80]!r}")
    found = {}
    for locale, file in ((asset.get("fields") or {}).get("file") or {}).items():
        if not isinstance(file, dict) or not file.get("url"):
            continue
        if not _LOCALE.match(locale):
            raise InvalidData(f"the source sent an unsafe locale code {locale[:40]!r}")
        name = safe_file_name(file.get("fileName") or file["url"].rsplit("/", 1)[-1])
        size = (file.get("details") or {}).get("size")
        found[locale] = AssetFile(
            f"{FILES}/{asset_id}/{locale}/{name}",
            allowed_url(file["url"], base_url),
            size if isinstance(size, int) else None,
        )
    return found


def allowed_url(url: str, base_url: str) -> str:
    """The absolute URL to fetch, or InvalidData if it points anywhere it should not."""
    base = urlsplit(base_url)
    if url.startswith("//"):
        url = ("http:" if base.hostname in LOOPBACK else "https:") + url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    contentful = parts.scheme == "https" and (
        host == "ctfassets.net" or host.endswith(".ctfassets.net")
    )
    own_origin = (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower())
    if not (contentful or own_origin):
        raise InvalidData(
            f"the source sent an asset URL on {parts.scheme}://{parts.netloc}, which is neither "
            "a Contentful asset host nor the base URL's origin; not downloaded"
        )
    return url


class Downloads:
    """Bounded concurrent downloads into the mirror folder, waited for at round end."""

    def __init__(self, root: Path, policy: RetryPolicy) -> None:
        self.root = root
        self.policy = policy
        self._session = http_session()
        self._session.headers["User-Agent"] = f"contentful-mirror/{__version__}"
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="asset-download")
        self._pending: list[tuple[AssetFile, Future[None]]] = []

    def fetch(self, file: AssetFile) -> None:
        self._pending.append((file, self._pool.submit(self._download, file)))

    def wait(self, done: Callable[[AssetFile], None]) -> None:
        """Wait for every download; `done` is called for each, in the order asked."""
        for file, future in self._pending:
            future.result()
            done(file)
        self._pending.clear()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._session.close()

    def _download(self, file: AssetFile) -> None:
        target = self.root / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.part")

        def attempt() -> None:
            try:
                received = self._receive(file, temporary)
            except requests.exceptions.RequestException as error:
                temporary.unlink(missing_ok=True)
                raise Retry(f"network error ({type(error).__name__})") from None
            if file.size is not None and received != file.size:
                temporary.unlink(missing_ok=True)
                raise InvalidData(
                    f"{file.path}: downloaded {received} bytes where the asset says {file.size}"
                )
            os.replace(temporary, target)

        where = urlsplit(file.url).netloc
        retrying(self.policy, f"downloading {file.path} from {where} kept failing", attempt)

    def _receive(self, file: AssetFile, temporary: Path) -> int:
        """Stream the file into `temporary`, the whole request (connect, headers, body)
        within the policy's timeout; returns the bytes received."""

        seconds = self.policy.timeout
        get = self._session.get
        try:
            with (
                within(seconds, f"GET {urlsplit(file.url).path}"),
                get(file.url, stream=True, timeout=seconds, allow_redirects=False) as response,
            ):
                if response.status_code != 200:
                    retry_on_status(response, self.policy)
                    raise SourceUnavailable(
                        f"could not download {file.path}: {file.url} answered HTTP "
                        f"{response.status_code}; the round was rolled back, try again later"
                    )
                received = 0
                with open(temporary, "wb") as out:
                    for chunk in response.iter_content(1 << 16):
                        out.write(chunk)
                        received += len(chunk)
                return received
        except Retry:
            temporary.unlink(missing_ok=True)
            raise


class PlannedDownloads:
    """Stands in for Downloads in a dry run: lists what would be fetched, fetches nothing."""

    def __init__(self) -> None:
        self.planned: list[AssetFile] = []

    def fetch(self, file: AssetFile) -> None:
        self.planned.append(file)

    def wait(self, done: Callable[[AssetFile], None]) -> None:
        for file in self.planned:
            done(file)

    def close(self) -> None:
        pass


def old_files(old: bytes | None, base_url: str) -> dict[str, AssetFile]:
    """The files an asset had before this round, from its old JSON (best effort)."""
    if old is None:
        return {}
    try:
        return files_of(parse_json(old), base_url)
    except (ValueError, KeyError, TypeError, InvalidData):
        return {}


class AssetFiles:
    """Keeps assets/files/ in step with the round's assets: fetches new or changed
    files, removes files of deleted assets and lost locales, and reports each
    change through `record(action, path)` and `sink` (the packer)."""

    def __init__(
        self,
        tree: Any,
        downloads: Downloads | PlannedDownloads,
        base_url: str,
        record: Callable[[str, str], None],
        sink: Any = None,
    ) -> None:
        self.tree, self.downloads, self.base_url = tree, downloads, base_url
        self.record, self.sink = record, sink
        self._pending: dict[str, bool] = {}  # path -> existed before

    def asset_written(self, item: dict[str, Any], old: bytes | None) -> None:
        new, before = files_of(item, self.base_url), old_files(old, self.base_url)
        for locale, file in new.items():
            previous = before.get(locale)
            if previous and previous.path != file.path:
                self._remove(previous.path)
            unchanged = previous and (previous.url, previous.size) == (file.url, file.size)
            if not (unchanged and self.tree.exists(file.path)):
                self._fetch(file)
        for locale, previous in before.items():
            if locale not in new:
                self._remove(previous.path)

    def asset_removed(self, asset_id: str) -> None:
        for path in sorted(self.tree.files_under(f"{FILES}/{asset_id}", suffix="")):
            self._remove(path)

    def backfill(self, asset_paths: list[str]) -> None:
        """Fetch every file an existing asset has and the mirror lacks (downloads just
        switched on, or a full sync)."""
        for path in asset_paths:
            raw = self.tree.read(path)
            try:
                files = files_of(parse_json(raw or b"{}"), self.base_url)
            except InvalidData as refused:
                raise InvalidData(
                    f"{path}: {refused}; its URL is from where the mirror synced before, so "
                    "run mirror sync --full to fetch every asset again from the current source"
                ) from None
            except (ValueError, KeyError, TypeError):
                continue  # verify reports a broken asset file; nothing to download here
            for file in files.values():
                if file.path not in self._pending and not self.tree.exists(file.path):
                    self._fetch(file)

    def finish(self) -> None:
        def done(file: AssetFile) -> None:
            self.record("~" if self._pending[file.path] else "+", file.path)
            if self.sink:
                self.sink.add_file(file.path, self.tree.root / file.path)

        self.downloads.wait(done)

    def _fetch(self, file: AssetFile) -> None:
        if file.path in self._pending:
            return
        self._pending[file.path] = self.tree.exists(file.path)
        self.downloads.fetch(file)

    def _remove(self, path: str) -> None:
        if self.tree.remove(path) is not None:
            self.record("-", path)
            if self.sink:
                self.sink.remove(path)
            self.tree.prune(path, stop=FILES)
