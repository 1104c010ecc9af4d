"""A mirror revision's index: one SQLite file per commit, so that a server answers
from a revision of 100,000 entries without reading them all at each start.

It lives in the repository's git dir (<git-dir>/mirror/<mirror key>/serve/<commit>.sqlite),
never in the work tree. It is built from git objects only (`ls-tree`, then every
item's blob streamed through one `cat-file --batch`), or, when the index of another
commit is cached (the previous round's, usually), derived from a copy of it and
`diff-tree` between the two commits: a 100-change round costs a file copy and 100
blobs. Either way it is written under a temporary name and renamed when complete,
so a reader only ever opens a finished index, which nothing changes afterwards;
two servers starting at once at worst both build it, and one rename wins.

It holds each entry and asset (kind, id, content type, sys.updatedAt, path, the
item as compact JSON) and, for entries, one row per scalar field value per locale
(links as `field.sys.id`), so `content_type + fields.slug=x` is an index lookup.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirror.client.guard import mirror_key
from mirror.client.tree import place_of
from mirror.delivery.lru import Lru
from mirror.delivery.objects import GitObjects
from mirror.errors import MirrorError
from mirror.wire import compact_json, parse_json

FORMAT = "3"  # 2: items_in_order; 3: the unreadable files in meta
KEEP = 4  # cached indexes kept per mirror, newest first (by last use)
LONGEST_VALUE = 256  # longer strings are not indexed: no query value of this size matches them
_CHUNK = 500
SORTED_KEPT = 5_000  # find_page keeps the sorted ids of a query matching up to this many
MATCHES_KEPT = 200_000  # ids in all, per index
_FILE_MODES = ("100644", "100755")  # not links (120000) nor submodules

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (
    rowid INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    content_type TEXT,
    updated_at TEXT NOT NULL,
    path TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE field_values (
    content_type TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    locale TEXT NOT NULL,
    item INTEGER NOT NULL,
    PRIMARY KEY (content_type, field, value, locale, item)
) WITHOUT ROWID;
"""
_INDEXES = """
CREATE UNIQUE INDEX items_by_id ON items (kind, id);
CREATE INDEX items_by_type ON items (content_type);
CREATE INDEX items_by_time ON items (updated_at, kind, id);
CREATE INDEX items_in_order ON items (rowid, updated_at, id);
"""


# -- what the index holds ---------------------------------------------------------------


@dataclass(frozen=True)
class ItemPath:
    kind: str  # "Entry" or "Asset"
    id: str
    content_type: str | None


def item_path(relative: str) -> ItemPath | None:
    """The item a mirror path holds: entries/<type>/<id>.json or assets/<id>.json."""
    place = place_of(relative)
    if place is None or place.kind not in ("entry", "asset"):
        return None
    if place.kind == "entry":
        return ItemPath("Entry", place.item_id, place.content_type)
    return ItemPath("Asset", place.item_id, None)


def parse_item(where: ItemPath, raw: bytes) -> dict[str, Any] | None:
    """The item in a file, if it is what its path says (else verify's business, not ours)."""
    try:
        item = parse_json(raw)
        sys = item["sys"]
        agrees = sys["id"] == where.id and sys["type"] == where.kind
        if where.kind == "Entry":
            agrees = agrees and sys["contentType"]["sys"]["id"] == where.content_type
        if agrees and isinstance(sys.get("updatedAt"), str):
            return dict(item)
    except (ValueError, KeyError, TypeError):
        pass
    return None


def number_text(value: float | int) -> str:
    """One spelling per number, so 5, 5.0 and "5" meet."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    if isinstance(value, str) and len(value) <= LONGEST_VALUE:
        return value
    return None


def _link_id(value: Any) -> str | None:
    if isinstance(value, dict):
        sys = value.get("sys")
        if isinstance(sys, dict) and sys.get("type") == "Link" and isinstance(sys.get("id"), str):
            return str(sys["id"])
    return None


def field_values(fields: Any) -> Iterator[tuple[str, str, str]]:
    """(field, locale, value) for every scalar value, array element and link target
    (as `field.sys.id`) of an entry's fields."""
    if not isinstance(fields, dict):
        return
    for name, by_locale in fields.items():
        if not isinstance(by_locale, dict):
            continue
        for locale, value in by_locale.items():
            for element in value if isinstance(value, list) else [value]:
                target = _link_id(element)
                if target is not None:
                    yield f"{name}.sys.id", locale, target
                elif (text := _scalar_text(element)) is not None:
                    yield name, locale, text


def lookup_values(raw: str) -> list[str] | None:
    """The stored spellings a query value can match; None if the index cannot tell."""
    if len(raw) > LONGEST_VALUE:
        return None
    values = [raw]
    with contextlib.suppress(ValueError, OverflowError):
        number = float(raw)
        if number == number:  # not NaN
            values.append(number_text(number))
    return sorted(set(values))


# -- the index -----------------------------------------------------------------------

_ORDER_COLUMNS = {"updated_at": "updated_at", "id": "id"}  # what find_page may sort by


def _matching(
    content_type: str, equalities: Mapping[str, tuple[list[str], Sequence[str]]]
) -> tuple[str, list[Any]]:
    """SQL selecting the rowids of the entries with, for every field, one of its values
    in one of its locales (any locale when none are given)."""
    selects, params = [], []
    for field, (values, locales) in sorted(equalities.items()):
        sql = (
            "SELECT item FROM field_values WHERE content_type = ? AND field = ? "
            f"AND value IN ({','.join('?' * len(values))})"
        )
        params += [content_type, field, *values]
        if locales:
            sql += f" AND locale IN ({','.join('?' * len(locales))})"
            params += list(locales)
        selects.append(sql)
    return " INTERSECT ".join(selects), params


@dataclass(frozen=True)
class Row:
    updated_at: str
    kind: str
    id: str
    body: bytes


class RevisionIndex:
    """An open, finished index: read-only, safe to share between threads."""

    def __init__(self, path: Path, origin: str) -> None:
        self.path = path
        self.origin = origin  # "cached", "built" or "updated"
        self._db = sqlite3.connect(
            f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        self._matches: Lru[list[str]] = Lru(1024, len, MATCHES_KEPT)
        try:
            meta = dict(self._query("SELECT key, value FROM meta", ()))
            if meta.get("format") != FORMAT:
                raise sqlite3.DatabaseError("not an index of this format")
        except sqlite3.Error:
            self._db.close()
            raise
        self.commit = str(meta["commit"])
        self.derived_from = str(meta.get("derived_from") or "") or None
        # Files under entries/ and assets/ that hold no item of their path (not JSON,
        # another id or type, a second file of one id): not served, `mirror verify`'s
        # to explain.
        self.unreadable: list[str] = json.loads(meta.get("unreadable") or "[]")

    def close(self) -> None:
        self._db.close()

    def _query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def body(self, kind: str, item_id: str) -> bytes | None:
        rows = self._query("SELECT body FROM items WHERE kind = ? AND id = ?", (kind, item_id))
        return bytes(rows[0][0]) if rows else None

    def bodies(self, kind: str, content_type: str | None = None) -> Iterator[bytes]:
        """Every item of `kind` (and content type), fetched a chunk at a time, so no
        statement stays open while the caller works."""
        where = "kind = ?" + (" AND content_type = ?" if content_type is not None else "")
        params: list[Any] = [kind] + ([content_type] if content_type is not None else [])
        last = -1
        while True:
            rows = self._query(
                f"SELECT rowid, body FROM items WHERE {where} AND rowid > ? "
                f"ORDER BY rowid LIMIT {_CHUNK}",
                [*params, last],
            )
            for _, body in rows:
                yield bytes(body)
            if len(rows) < _CHUNK:
                return
            last = rows[-1][0]

    def bodies_by_id(self, kind: str, ids: Sequence[str]) -> dict[str, bytes]:
        """The items of `kind` among `ids` that exist, by id: one query per chunk of ids
        (the GraphQL API's links, loaded for a whole page at once)."""
        found: dict[str, bytes] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT id, body FROM items WHERE kind = ? AND id IN ({marks})", [kind, *chunk]
            )
            found.update((str(item_id), bytes(body)) for item_id, body in rows)
        return found

    def linking(
        self, target: str, fields: dict[str, list[str]], locales: Sequence[str]
    ) -> list[bytes]:
        """Entries whose link fields hold a link to `target` in one of `locales`:
        `fields` names, per content type, the link fields to look in."""
        selects, params = [], []
        for content_type, names in sorted(fields.items()):
            selects.append(
                "SELECT item FROM field_values WHERE content_type = ? "
                f"AND field IN ({','.join('?' * len(names))}) AND value = ? "
                f"AND locale IN ({','.join('?' * len(locales))})"
            )
            params += [content_type, *(f"{name}.sys.id" for name in names), target, *locales]
        if not selects or not locales:
            return []
        sql = f"SELECT body FROM items WHERE rowid IN ({' UNION '.join(selects)}) ORDER BY rowid"
        return [bytes(body) for (body,) in self._query(sql, params)]

    def find(
        self, content_type: str, equalities: dict[str, list[str]], locales: Sequence[str]
    ) -> list[bytes]:
        """Entries of `content_type` having, for every field, one of its values in one
        of `locales` (any locale when empty)."""
        matching, params = _matching(
            content_type, {field: (values, locales) for field, values in equalities.items()}
        )
        sql = f"SELECT body FROM items WHERE rowid IN ({matching}) ORDER BY rowid"
        return [bytes(body) for (body,) in self._query(sql, params)]

    def find_page(
        self,
        content_type: str,
        equalities: dict[str, tuple[list[str], list[str]]],
        order: Sequence[tuple[str, bool]],
        skip: int,
        limit: int,
    ) -> tuple[int, list[str]]:
        """How many entries of `content_type` have, for every field, one of its values in
        one of its locales (`field -> (values, locales)`), and the ids of one page of them
        sorted by `order` (`updated_at` or `id`, descending or not), from the index alone.
        Up to SORTED_KEPT matches are all sorted and kept, so that the next page of them
        is a slice of that list."""
        key = (content_type, tuple(sorted(equalities.items())), tuple(order))
        kept = self._matches.get(repr(key))
        if kept is not None:
            return len(kept), kept[skip : skip + limit]
        matching, params = _matching(content_type, equalities)
        total = int(self._query(f"SELECT count(*) FROM ({matching})", params)[0][0])
        page_skip, page_limit = skip, limit
        if total <= SORTED_KEPT:  # sorting them all costs what sorting for one page does
            skip, limit = 0, total
        elif limit <= 0 or skip >= total:
            return total, []
        keys = ", ".join(
            f"{_ORDER_COLUMNS[name]} {'DESC' if desc else 'ASC'}" for name, desc in order
        )
        # Sorted through items_in_order, which holds the sort keys without the bodies:
        # 1,000 matches sort in half the time it takes with the bodies.
        sql = (
            f"SELECT id FROM items INDEXED BY items_in_order WHERE rowid IN ({matching}) "
            f"ORDER BY {keys} LIMIT ? OFFSET ?"
        )
        ids = [str(item_id) for (item_id,) in self._query(sql, [*params, limit, skip])]
        if total > SORTED_KEPT:
            return total, ids
        self._matches.put(repr(key), ids)
        return total, ids[page_skip : page_skip + page_limit]

    def page(
        self,
        kinds: Sequence[str],
        content_type: str | None,
        after: tuple[str, str, str] | None,
        limit: int,
    ) -> list[Row]:
        """Items newest first (sys.updatedAt, then kind and id, descending) after the
        key `after`: one page of an initial sync."""
        marks = ",".join("?" * len(kinds))
        sql = f"SELECT updated_at, kind, id, body FROM items WHERE kind IN ({marks})"
        params: list[Any] = list(kinds)
        if content_type is not None:
            sql += " AND content_type = ?"
            params.append(content_type)
        if after is not None:
            sql += " AND (updated_at, kind, id) < (?, ?, ?)"
            params += list(after)
        sql += " ORDER BY updated_at DESC, kind DESC, id DESC LIMIT ?"
        return [Row(u, k, i, bytes(b)) for u, k, i, b in self._query(sql, [*params, limit])]

    def count(self, kind: str) -> int:
        return int(self._query("SELECT count(*) FROM items WHERE kind = ?", (kind,))[0][0])


# -- building ----------------------------------------------------------------------------


class IndexCache:
    """The folder of one mirror's cached indexes, and building them."""

    def __init__(self, objects: GitObjects, prefix: str) -> None:
        self.objects = objects
        self.prefix = prefix
        self.folder = objects.git_dir / "mirror" / mirror_key(prefix) / "serve"

    def path(self, commit: str) -> Path:
        return self.folder / f"{commit}.sqlite"

    def cached(self, commit: str) -> RevisionIndex | None:
        """The index of `commit` if it was built already."""
        if not self.path(commit).is_file():
            return None
        try:
            index = RevisionIndex(self.path(commit), "cached")
        except sqlite3.Error:
            return None
        with contextlib.suppress(OSError):
            os.utime(self.path(commit))  # in use: not among the first to be pruned
        return index

    def open(self, commit: str) -> RevisionIndex:
        """The index of `commit`: cached, derived from a cached one, or built."""
        found = self.cached(commit)
        if found:
            return found
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with _build_lock(self.folder / f"{commit}.lock"):
                found = self.cached(commit)  # another server may have built it meanwhile
                if found:
                    return found
                origin = self._write(commit)
                self.prune(keep=commit)
        except OSError as error:
            raise MirrorError(f"cannot write the serve index in {self.folder}: {error}") from None
        return RevisionIndex(self.path(commit), origin)

    def _write(self, commit: str) -> str:
        temporary = self.folder / f".{commit}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            base = self._base_for(commit)
            if base is not None:
                shutil.copyfile(self.path(base), temporary)
                with _writable(temporary) as db:
                    _Writer(db, self).update(base, commit)
                origin = "updated"
            else:
                with _writable(temporary) as db:
                    _script(db, _SCHEMA)
                    _Writer(db, self).build(commit)
                    _script(db, _INDEXES)
                origin = "built"
            os.replace(temporary, self.path(commit))
        finally:
            temporary.unlink(missing_ok=True)
        return origin

    def _base_for(self, commit: str) -> str | None:
        """A cached index to derive from: the nearest first-parent ancestor's, else
        the most recently used one of a commit the repository still has."""
        ancestors = self.objects.run("rev-list", "--first-parent", "--max-count=100", commit)
        for candidate in ancestors.decode().split()[1:]:
            if self._usable(candidate):
                return candidate
        for path in self._indexes():
            candidate = path.name.removesuffix(".sqlite")
            if candidate == commit or not self.objects.is_commit(candidate):
                continue
            if self._usable(candidate):
                return candidate
        return None

    def _usable(self, commit: str) -> bool:
        if not self.path(commit).exists():
            return False
        try:
            RevisionIndex(self.path(commit), "cached").close()
        except sqlite3.Error:
            return False
        return True

    def _indexes(self) -> list[Path]:
        """Cached index files, most recently used first."""
        found = []
        for path in self.folder.glob("*.sqlite"):
            with contextlib.suppress(OSError):
                found.append((path.stat().st_mtime, path))
        return [path for _, path in sorted(found, reverse=True)]

    def prune(self, keep: str) -> None:
        """Keep the KEEP most recently used indexes (and `keep`); drop leftovers of
        builds that died. An index open elsewhere stays readable there (POSIX)."""
        for path in self._indexes()[KEEP:]:
            if path.name != f"{keep}.sqlite":
                path.unlink(missing_ok=True)
        stale = time.time() - 3600
        for path in self.folder.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < stale:
                    path.unlink()


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
        # Gone once the index is: a server still waiting on it builds nothing new
        # (it finds the index), one arriving later finds no lock to wait on.
        path.unlink(missing_ok=True)
    finally:
        os.close(handle)


def _script(db: sqlite3.Connection, script: str) -> None:
    """Run `script` inside the open transaction (executescript would commit it)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@contextlib.contextmanager
def _writable(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        # A temporary file, renamed only once complete: no journal needed.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -65536")
        db.execute("BEGIN")
        yield db
        db.execute("COMMIT")
    finally:
        db.close()


class _Writer:
    def __init__(self, db: sqlite3.Connection, cache: IndexCache) -> None:
        self.db = db
        self.cache = cache
        self.objects = cache.objects
        self.prefix = cache.prefix
        self.unreadable: set[str] = set()

    def build(self, commit: str) -> None:
        listing = self.objects.run(
            "ls-tree", "-r", "-z", commit, "--", self.prefix + "entries", self.prefix + "assets"
        )
        found: list[tuple[ItemPath, str, str]] = []
        for record in listing.split(b"\0"):
            if not record:
                continue
            info, _, name = record.partition(b"\t")
            mode, kind, object_id = info.decode().split()
            path = name.decode("utf-8", "surrogateescape").removeprefix(self.prefix)
            where = item_path(path)
            if where is not None and kind == "blob" and mode in _FILE_MODES:
                found.append((where, path, object_id))
        del listing
        self._insert(found, fresh=True)
        self._meta(commit, None)

    def update(self, base: str, commit: str) -> None:
        gone: list[tuple[ItemPath, str]] = []
        added: list[tuple[ItemPath, str, str]] = []
        row = self.db.execute("SELECT value FROM meta WHERE key = 'unreadable'").fetchone()
        self.unreadable = set(json.loads(row[0] if row else "[]"))
        for change in self.objects.changes(base, commit, self.prefix):
            where = item_path(change.path)
            if where is None:
                continue
            self.unreadable.discard(change.path)
            if change.old_id is not None:
                gone.append((where, change.path))
            if change.new_id is not None:
                added.append((where, change.path, change.new_id))
        for item, path in gone:
            self._delete(item, path)
        self._insert(added)
        self._meta(commit, base)

    def _insert(self, found: list[tuple[ItemPath, str, str]], fresh: bool = False) -> None:
        """Add the items of `found` (item, path, blob id); when not `fresh`, each
        replaces the item of its id (an update, or an entry moved to another type)."""
        seen: set[tuple[str, str]] = set()
        items: list[tuple[Any, ...]] = []
        values: list[tuple[Any, ...]] = []
        rowid = int(self.db.execute("SELECT coalesce(max(rowid), 0) FROM items").fetchone()[0])
        blobs = self.objects.blobs([object_id for _, _, object_id in found])
        for (where, path, _), raw in zip(found, blobs, strict=True):
            item = parse_item(where, raw) if raw is not None else None
            if item is None or (where.kind, where.id) in seen:
                # One id in two files: the first path stays (verify reports both).
                self.unreadable.add(path)
                continue
            seen.add((where.kind, where.id))
            if not fresh:
                self._delete(where, None)
            rowid += 1
            updated_at = item["sys"]["updatedAt"]
            body = compact_json(item)
            items.append((rowid, where.kind, where.id, where.content_type, updated_at, path, body))
            if where.content_type is not None:
                for name, locale, value in field_values(item.get("fields")):
                    values.append((where.content_type, name, value, locale, rowid))
            if len(items) >= 2000:
                self._flush(items, values)
        self._flush(items, values)

    def _flush(self, items: list[tuple[Any, ...]], values: list[tuple[Any, ...]]) -> None:
        self.db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?)", items)
        self.db.executemany("INSERT OR IGNORE INTO field_values VALUES (?, ?, ?, ?, ?)", values)
        items.clear()
        values.clear()

    def _delete(self, where: ItemPath, path: str | None) -> None:
        """Remove the item `where` (only if it lives at `path`, when given)."""
        row = self.db.execute(
            "SELECT rowid, path, content_type, body FROM items WHERE kind = ? AND id = ?",
            (where.kind, where.id),
        ).fetchone()
        if row is None or (path is not None and row[1] != path):
            return
        rowid, _, content_type, body = row
        if content_type is not None:
            fields = parse_json(body).get("fields")
            self.db.executemany(
                "DELETE FROM field_values WHERE content_type = ? AND field = ? AND value = ? "
                "AND locale = ? AND item = ?",
                ((content_type, n, v, loc, rowid) for n, loc, v in field_values(fields)),
            )
        self.db.execute("DELETE FROM items WHERE rowid = ?", (rowid,))

    def _meta(self, commit: str, base: str | None) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [
                ("format", FORMAT),
                ("commit", commit),
                ("derived_from", base or ""),
                ("unreadable", json.dumps(sorted(self.unreadable))),
            ],
        )
