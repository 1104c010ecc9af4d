"""The SQLite bundle's tables and how rows get into them, whole or by changes.

Schema version 1 (`PRAGMA user_version`; the README has the table):

    meta(key PRIMARY KEY, value)          mirror_commit, mirror_path, include_files
    sync_state(space, environment, base_url, sync_token, round)        one row
    locales(code PRIMARY KEY, name, is_default, fallback_code, json)
    content_types(id PRIMARY KEY, name, display_field, json)
    entries(id PRIMARY KEY, content_type, created_at, updated_at, revision, fields, json)
    assets(id PRIMARY KEY, created_at, updated_at, revision, fields, json)
    entry_fields(entry_id, locale, fields)    PRIMARY KEY (entry_id, locale)
    asset_fields(asset_id, locale, fields)    PRIMARY KEY (asset_id, locale)
    files(asset_id, locale, file_name, content_type, data)   with --include-files

`entry_fields` and `asset_fields` hold each item's fields for each locale as the
Delivery API answers `locale=<code>` (mirror.delivery.localize does the resolving):
an app reads one row and needs no fallback logic of its own. Whatever order rows
arrive in, a table's rows are the same for the same commit: an updated bundle and a
fresh one dump alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from mirror.client.state import MirrorState
from mirror.delivery.localize import Locales, Schema, localize
from mirror.wire import compact_json, parse_json

SCHEMA_VERSION = 1
SCHEMA = f"""
PRAGMA page_size = 16384;
PRAGMA user_version = {SCHEMA_VERSION};
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sync_state (space TEXT NOT NULL, environment TEXT NOT NULL, base_url TEXT NOT NULL,
                         sync_token TEXT NOT NULL, round INTEGER NOT NULL);
CREATE TABLE locales (code TEXT PRIMARY KEY, name TEXT, is_default INTEGER NOT NULL,
                      fallback_code TEXT, json TEXT NOT NULL);
CREATE TABLE content_types (id TEXT PRIMARY KEY, name TEXT, display_field TEXT,
                            json TEXT NOT NULL);
CREATE TABLE entries (id TEXT PRIMARY KEY, content_type TEXT NOT NULL, created_at TEXT,
                      updated_at TEXT, revision INTEGER, fields TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX entries_by_content_type ON entries(content_type);
CREATE TABLE assets (id TEXT PRIMARY KEY, created_at TEXT, updated_at TEXT, revision INTEGER,
                     fields TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE entry_fields (entry_id TEXT NOT NULL, locale TEXT NOT NULL, fields TEXT NOT NULL,
                           PRIMARY KEY (entry_id, locale));
CREATE TABLE asset_fields (asset_id TEXT NOT NULL, locale TEXT NOT NULL, fields TEXT NOT NULL,
                           PRIMARY KEY (asset_id, locale));
CREATE TABLE files (asset_id TEXT NOT NULL, locale TEXT NOT NULL, file_name TEXT NOT NULL,
                    content_type TEXT, data BLOB NOT NULL,
                    PRIMARY KEY (asset_id, locale, file_name));
"""


class BundleTables:
    """Puts items into an open bundle and takes them out, keeping the resolved rows
    (and the files' content types) in step with the items."""

    def __init__(
        self, db: sqlite3.Connection, locales: list[dict[str, Any]], types: list[dict[str, Any]]
    ) -> None:
        self.db = db
        self.locales = locales
        self.schema = Schema({ct["sys"]["id"]: ct for ct in types}, Locales(locales))

    @property
    def codes(self) -> list[str]:
        return self.schema.locales.codes

    def put_state(self, state: MirrorState, meta: dict[str, str]) -> None:
        self.db.execute("DELETE FROM sync_state")
        self.db.execute(
            "INSERT INTO sync_state VALUES (?, ?, ?, ?, ?)",
            (state.space, state.environment, state.base_url, state.sync_token, state.round),
        )
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", sorted(meta.items()))

    def put_locales(self) -> None:
        self.db.execute("DELETE FROM locales")
        for loc in self.locales:
            self.db.execute(
                "INSERT INTO locales VALUES (?, ?, ?, ?, ?)",
                (
                    loc["code"],
                    loc.get("name"),
                    int(bool(loc.get("default"))),
                    loc.get("fallbackCode"),
                    _text(loc),
                ),
            )

    def put_content_type(self, ct: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO content_types VALUES (?, ?, ?, ?)",
            (ct["sys"]["id"], ct.get("name"), ct.get("displayField"), _text(ct)),
        )
        self._retype(ct["sys"]["id"], ct)

    def delete_content_type(self, type_id: str) -> None:
        self.db.execute("DELETE FROM content_types WHERE id = ?", (type_id,))
        self._retype(type_id, None)

    def _retype(self, type_id: str, ct: dict[str, Any] | None) -> None:
        types = {k: v for k, v in self.schema.content_types.items() if k != type_id}
        self.schema = Schema({**types, **({type_id: ct} if ct else {})}, self.schema.locales)

    def put_entry(self, entry: dict[str, Any]) -> None:
        sys = entry["sys"]
        self.db.execute(
            "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                sys["id"],
                sys["contentType"]["sys"]["id"],
                sys.get("createdAt"),
                sys.get("updatedAt"),
                sys.get("revision"),
                _text(entry.get("fields") or {}),
                _text(entry),
            ),
        )
        self._put_resolved("entry_fields", entry)

    def delete_entry(self, entry_id: str) -> None:
        self.db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
        self.db.execute("DELETE FROM entry_fields WHERE entry_id = ?", (entry_id,))

    def put_asset(self, asset: dict[str, Any]) -> None:
        sys = asset["sys"]
        self.db.execute(
            "INSERT OR REPLACE INTO assets VALUES (?, ?, ?, ?, ?, ?)",
            (
                sys["id"],
                sys.get("createdAt"),
                sys.get("updatedAt"),
                sys.get("revision"),
                _text(asset.get("fields") or {}),
                _text(asset),
            ),
        )
        self._put_resolved("asset_fields", asset)

    def delete_asset(self, asset_id: str) -> None:
        self.db.execute("DELETE FROM assets WHERE id = ?", (asset_id,))
        self.db.execute("DELETE FROM asset_fields WHERE asset_id = ?", (asset_id,))

    def put_file(self, asset_id: str, locale: str, name: str, data: bytes) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, NULL, ?)",
            (asset_id, locale, name, data),
        )

    def delete_file(self, asset_id: str, locale: str, name: str) -> None:
        self.db.execute(
            "DELETE FROM files WHERE asset_id = ? AND locale = ? AND file_name = ?",
            (asset_id, locale, name),
        )

    def type_files(self, asset_ids: Iterable[str] | None = None) -> None:
        """Set each file's content type from its asset (`fields.file.<locale>`, when
        that names this file); NULL when the asset does not describe it."""
        query = "SELECT DISTINCT asset_id FROM files"
        wanted = sorted(set(asset_ids)) if asset_ids is not None else None
        ids = wanted if wanted is not None else [row[0] for row in self.db.execute(query)]
        for asset_id in ids:
            row = self.db.execute("SELECT json FROM assets WHERE id = ?", (asset_id,)).fetchone()
            asset = parse_json(row[0]) if row else {}
            files = (asset.get("fields") or {}).get("file") or {}
            for locale, name in self.db.execute(
                "SELECT locale, file_name FROM files WHERE asset_id = ?", (asset_id,)
            ).fetchall():
                file = files.get(locale)
                if not isinstance(file, dict) or file.get("fileName") != name:
                    file = {}
                self.db.execute(
                    "UPDATE files SET content_type = ? "
                    "WHERE asset_id = ? AND locale = ? AND file_name = ?",
                    (file.get("contentType"), asset_id, locale, name),
                )

    def resolve_entries_of(self, type_ids: Iterable[str]) -> None:
        """Resolve again the entries of content types that changed (a field that
        became localized, or omitted), from the items the bundle holds."""
        for type_id in sorted(set(type_ids)):
            rows = self.db.execute(
                "SELECT json FROM entries WHERE content_type = ?", (type_id,)
            ).fetchall()
            for (raw,) in rows:
                self._put_resolved("entry_fields", parse_json(raw))

    def _put_resolved(self, table: str, item: dict[str, Any]) -> None:
        key = "entry_id" if table == "entry_fields" else "asset_id"
        item_id = item["sys"]["id"]
        self.db.execute(f"DELETE FROM {table} WHERE {key} = ?", (item_id,))
        self.db.executemany(
            f"INSERT INTO {table} VALUES (?, ?, ?)",
            [
                (item_id, code, _text(localize(self.schema, item, code)["fields"]))
                for code in self.codes
            ],
        )

    def counts(self) -> tuple[int, int]:
        entries = self.db.execute("SELECT count(*) FROM entries").fetchone()[0]
        assets = self.db.execute("SELECT count(*) FROM assets").fetchone()[0]
        return int(entries), int(assets)


def read_stamp(db: sqlite3.Connection) -> tuple[int, dict[str, str], tuple[str, str] | None]:
    """A bundle's schema version, meta and (space, environment); raises
    sqlite3.DatabaseError when the file is no SQLite database."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if version != SCHEMA_VERSION or not {"meta", "sync_state"} <= tables:
        return version, {}, None
    meta = {str(k): str(v) for k, v in db.execute("SELECT key, value FROM meta")}
    row = db.execute("SELECT space, environment FROM sync_state").fetchone()
    return version, meta, (str(row[0]), str(row[1])) if row else None


def _text(value: Any) -> str:
    return compact_json(value).decode("utf-8")
