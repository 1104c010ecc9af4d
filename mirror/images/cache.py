"""Transformed images kept on disk, so the same file with the same parameters is encoded
once: <git-dir>/mirror/<mirror key>/images/<key>.<format>, beside the serve index and never
in the work tree.

A key is the SHA-256 of the source file's Git blob id and the parameters in their normal
form (ImageParams.query): nothing from a request names a file, and a file changed by a
later round gets new entries, while one unchanged across rounds keeps its own. Entries are
written under a temporary name and renamed when complete, so a reader (of this server, or
of another serving the same mirror) only ever sees a whole one. The folder is bounded: past
MAX_BYTES, the least recently used entries (a hit touches its entry) are removed until it
holds 90% of that, and leftovers of writes that died are removed after an hour.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import threading
import time
from pathlib import Path

from mirror.client.guard import mirror_key
from mirror.images.params import FORMATS

FORMAT = "1"  # part of every key: a change in how results are made leaves old entries unused
MAX_BYTES = 256 * 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{64}$")
_STALE_SECONDS = 3600


def images_folder(git_dir: Path, prefix: str) -> Path:
    """The cache folder of the mirror at `prefix` in the repository of `git_dir`."""
    return git_dir / "mirror" / mirror_key(prefix) / "images"


def blob_id(data: bytes) -> str:
    """The Git blob id of a file's bytes (what `git hash-object` prints)."""
    digest = hashlib.sha1(f"blob {len(data)}\0".encode())
    digest.update(data)
    return digest.hexdigest()


def cache_key(source_blob: str, query: str) -> str:
    return hashlib.sha256(f"{FORMAT}\n{source_blob}\n{query}".encode()).hexdigest()


class ImageCache:
    """One mirror's folder of transformed images; safe to share between threads."""

    def __init__(self, folder: Path, max_bytes: int = MAX_BYTES) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._held: int | None = None  # bytes in the folder, as last counted plus writes
        self._lock = threading.Lock()

    def path(self, key: str, image_format: str) -> Path:
        if not _KEY.match(key) or image_format not in FORMATS:
            raise ValueError(f"not a cache entry: {key!r}.{image_format!r}")
        return self.folder / f"{key}.{image_format}"

    def get(self, key: str, image_format: str) -> bytes | None:
        path = self.path(key, image_format)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: among the last to be removed
        return data

    def put(self, key: str, image_format: str, data: bytes) -> bool:
        """Keep `data` as the entry `key`; False if the folder cannot be written (a
        read-only repository: results are then made again for each request)."""
        path = self.path(key, image_format)
        temporary = self.folder / f".{key}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            return False
        with self._lock:
            self._held = None if self._held is None else self._held + len(data)
            if self._held is None or self._held > self.max_bytes:
                self._held = self._prune()
        return True

    def _prune(self) -> int:
        """Remove the least recently used entries past max_bytes; the bytes left."""
        entries, stale = [], time.time() - _STALE_SECONDS
        with contextlib.suppress(OSError), os.scandir(self.folder) as listing:
            for entry in listing:
                with contextlib.suppress(OSError):
                    status = entry.stat()
                    if entry.name.endswith(".tmp"):
                        if status.st_mtime < stale:
                            os.unlink(entry.path)
                        continue
                    entries.append((status.st_mtime, status.st_size, entry.path))
        held = sum(size for _, size, _ in entries)
        if held <= self.max_bytes:
            return held
        for _, size, path in sorted(entries):
            if held <= self.max_bytes * 0.9:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                held -= size
        return held
