"""A mirror folder at one Git revision, as delivery `Content`.

Everything is read from git objects of that commit (and from its index, see
mirror.delivery.index), never from the work tree: a `mirror sync` running at the
same time may rewrite the files and move HEAD without disturbing what is served.
Ids, locale codes and file names from requests are checked before they name
anything, and they only ever name git objects, never a filesystem path.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mirror.client import tree as paths
from mirror.client.assets import FILES, safe_file_name
from mirror.client.state import MirrorState
from mirror.delivery.content import Item
from mirror.delivery.index import (
    LONGEST_VALUE,
    IndexCache,
    RevisionIndex,
    lookup_values,
    number_text,
)
from mirror.delivery.lru import PARSED_MB, Lru
from mirror.delivery.objects import GitObjects
from mirror.errors import InvalidData, UsageError
from mirror.wire import is_safe_id, parse_json

LOCALE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,35}$")  # as asset file folders are named
TAGS = "tags.json"
# Parsed items kept per served commit, in about this much memory (a parsed item takes
# about 7 times its JSON's size): what a 100,000-entry mirror's busy pages show.
PARSED_BYTES = PARSED_MB * 2**20
PARSED_SIZE = 7  # bytes in memory per byte of JSON
# Field types whose values the index holds exactly (with `.sys.id`: link fields).
_EXACT_TYPES = ("Symbol", "Text", "Integer", "Number", "Boolean")


def locate(directory: Path) -> tuple[GitObjects, str]:
    """The repository holding `directory`, and the folder's path in it ("" or "a/b/")."""
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    result = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--absolute-git-dir", "--show-prefix"],
        cwd=directory,
        env={**env, "LC_ALL": "C"},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = result.stdout.split("\n")
    if result.returncode != 0 or len(lines) < 3:
        raise UsageError(
            f"{directory} is not a mirror (not in a git repository): name a folder mirror sync made"
        )
    return GitObjects(Path(lines[0]), Path(lines[1])), lines[2]


def resolve(objects: GitObjects, rev: str) -> str:
    """The commit `rev` names; UsageError if it names none."""
    if not rev or rev.startswith("-") or any(c in rev for c in "\n\0 "):
        raise UsageError(f"--rev {rev!r} is not a revision")
    out = objects.run("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False)
    commit = out.decode().strip()
    if not commit and rev == "HEAD":
        raise UsageError("the mirror has no rounds yet (no commit): run mirror sync on it first")
    if not commit:
        raise UsageError(
            f"--rev {rev} names no commit of the repository (mirror log DIR lists the rounds)"
        )
    return commit


def open_revision(
    directory: Path, rev: str = "HEAD", parsed_bytes: int = PARSED_BYTES
) -> RevisionContent:
    """The mirror in `directory` as it is at `rev` (building its index if needed), keeping
    up to `parsed_bytes` of parsed items."""
    objects, prefix = locate(directory)
    try:
        commit = resolve(objects, rev)
        raw = objects.blob(f"{commit}:{prefix}{paths.STATE}")
        if raw is None:
            raise UsageError(
                f"{directory} is not a mirror at {rev} (commit {commit[:10]} has no "
                f"{prefix}{paths.STATE}); name a commit made by mirror sync"
            )
        state = MirrorState.from_bytes(raw, f"{prefix}{paths.STATE} at {commit[:10]}")
        index = IndexCache(objects, prefix).open(commit)
    except BaseException:
        objects.close()
        raise
    return RevisionContent(objects, prefix, commit, state, index, parsed_bytes)


class RevisionContent:
    """`Content` of one mirror commit. Also: `find_entries` (the index's fast path),
    `asset_file` (downloaded files), and the commit, prefix and state it reads."""

    def __init__(
        self,
        objects: GitObjects,
        prefix: str,
        commit: str,
        state: MirrorState,
        index: RevisionIndex,
        parsed_bytes: int = PARSED_BYTES,
    ) -> None:
        self.objects = objects
        self.prefix = prefix
        self.commit = commit
        self.state = state
        self.index = index
        self.space_id = state.space
        self.environment = state.environment
        self._locales: list[Item] | None = None
        self._content_types: list[Item] | None = None
        self._tags: list[Item] | None = None
        self._items: Lru[Item] = Lru(budget=parsed_bytes)

    def close(self) -> None:
        self.index.close()
        self.objects.close()

    def __enter__(self) -> RevisionContent:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _json(self, relative: str) -> Any:
        return self.objects.json(self.commit, self.prefix + relative)

    # -- Content ---------------------------------------------------------------------

    def locales(self) -> list[Item]:
        if self._locales is None:
            found = self._json(paths.LOCALES)
            self._locales = [loc for loc in found or [] if isinstance(loc, dict)]
        return list(self._locales)

    def content_types(self) -> list[Item]:
        if self._content_types is None:
            self._content_types = self._read_content_types()
        return list(self._content_types)

    def _read_content_types(self) -> list[Item]:
        folder = f"{self.prefix}{paths.CONTENT_TYPES}/"
        listing = self.objects.run("ls-tree", "-z", self.commit, "--", folder)
        found = []
        for record in filter(None, listing.split(b"\0")):
            info, _, name = record.partition(b"\t")
            file_name = name.decode("utf-8", "surrogateescape").removeprefix(folder)
            type_id = file_name.removesuffix(".json")
            if info.split()[1] != b"blob" or not file_name.endswith(".json"):
                continue
            item = self._json(f"{paths.CONTENT_TYPES}/{file_name}")
            if is_safe_id(type_id) and isinstance(item, dict):
                found.append(item)
        return sorted(found, key=lambda ct: str(ct.get("sys", {}).get("id")))

    def tags(self) -> list[Item]:
        if self._tags is None:
            found = self._json(TAGS)
            if isinstance(found, dict):
                found = found.get("items")
            self._tags = [tag for tag in found or [] if isinstance(tag, dict)]
        return list(self._tags)

    def entries(self, content_type: str | None = None) -> Iterator[Item]:
        if content_type is not None and not is_safe_id(content_type):
            return
        for body in self.index.bodies("Entry", content_type):
            yield parse_json(body)

    def assets(self) -> Iterator[Item]:
        for body in self.index.bodies("Asset"):
            yield parse_json(body)

    def entry(self, entry_id: str) -> Item | None:
        return self._item("Entry", entry_id)

    def asset(self, asset_id: str) -> Item | None:
        return self._item("Asset", asset_id)

    def _item(self, kind: str, item_id: str) -> Item | None:
        if not is_safe_id(item_id):
            return None
        found = self._parsed(kind, [item_id]).get(item_id)
        return None if found is None else dict(found)

    # -- beyond Content ----------------------------------------------------------------

    def find_entries(
        self, content_type: str, equalities: dict[str, str], locale_codes: list[str]
    ) -> Iterator[Item] | None:
        """Candidate entries of `content_type`: for every `field path -> raw value` of
        `equalities` ("slug", or "author.sys.id" for a link), the entry holds that
        value in one of `locale_codes` (any locale if empty), as a string, a number
        of the same value, true/false, an array element or a link target. A superset
        of the matches; None when the index cannot answer (unknown field, a field
        type such as Date or Location whose equality is not textual, a very long
        value): the caller then filters every entry itself."""
        if not equalities or not is_safe_id(content_type):
            return None
        definition = next(
            (ct for ct in self.content_types() if ct.get("sys", {}).get("id") == content_type),
            None,
        )
        if definition is None:
            return None
        lookups: dict[str, list[str]] = {}
        for key, raw in equalities.items():
            values = lookup_values(raw)
            if values is None or not _indexed(definition, key):
                return None
            lookups[key] = values
        bodies = self.index.find(content_type, lookups, list(locale_codes))
        return (parse_json(body) for body in bodies)

    def find_page(
        self,
        content_type: str,
        equalities: dict[str, str],
        locale: str,
        order: list[tuple[str, bool]],
        skip: int,
        limit: int,
    ) -> tuple[int, list[Item]] | None:
        """`find_entries` when the index alone can answer exactly: how many entries of
        `content_type` have fields that, as delivered in `locale`, equal `equalities`,
        and one page of them sorted by `order` (`updated_at` or `id`). None when it
        cannot: a localized field read in a locale with fallbacks, a field type or a
        value the index does not hold in one spelling."""
        definition = self._content_type(content_type)
        defaults = [loc for loc in self.locales() if loc.get("default")]
        if definition is None or not equalities or len(defaults) != 1:
            return None
        if defaults[0].get("fallbackCode"):  # values read in it could come from another
            return None
        default = defaults[0]["code"]
        lookups: dict[str, tuple[list[str], list[str]]] = {}
        for key, raw in equalities.items():
            field = _field(definition, key.partition(".")[0])
            values = _exact_values(field, key, raw)
            if field is None or values is None or (field.get("localized") and locale != default):
                return None
            lookups[key] = (values, [default])
        total, ids = self.index.find_page(content_type, lookups, order, skip, limit)
        found = self._parsed("Entry", ids)
        return total, [found[item_id] for item_id in ids if item_id in found]

    def _content_type(self, content_type: str) -> Item | None:
        if not is_safe_id(content_type):
            return None
        return next(
            (ct for ct in self.content_types() if ct.get("sys", {}).get("id") == content_type),
            None,
        )

    def items_by_id(self, kind: str, ids: Iterable[str]) -> dict[str, Item]:
        """Entries (kind "Entry") or assets ("Asset") by id, those that exist, read
        together: what a GraphQL page's links need costs one index query, not one each.
        The items are shared with later readers: nobody may change them."""
        return self._parsed(kind, [item_id for item_id in ids if is_safe_id(item_id)])

    def _parsed(self, kind: str, ids: list[str]) -> dict[str, Item]:
        """The items of `kind` among `ids` that exist, parsed: those parsed lately are
        kept (`PARSED_BYTES` of them), so that the next page that shows them, or links to them,
        reads them from memory. Nobody may change what this gives."""
        held = self._items.get_many([(kind, item_id) for item_id in ids])
        found = {key[1]: item for key, item in held.items()}  # type: ignore[index]
        missing = [item_id for item_id in ids if item_id not in found]
        if missing:
            kept = []
            for item_id, body in self.index.bodies_by_id(kind, missing).items():
                item = found[item_id] = parse_json(body)
                kept.append(((kind, item_id), item, len(body) * PARSED_SIZE))
            self._items.put_many(kept)
        return found

    def entries_linking(
        self, target: str, fields: dict[str, list[str]], locale_codes: list[str]
    ) -> list[Item]:
        """Entries linking to entry or asset `target` through the given link fields
        (content type id -> field ids) in one of `locale_codes`: GraphQL's linkedFrom."""
        if not is_safe_id(target):
            return []
        safe = {ct: names for ct, names in fields.items() if is_safe_id(ct) and names}
        return [parse_json(body) for body in self.index.linking(target, safe, list(locale_codes))]

    def asset_file(self, asset_id: str, locale: str, file_name: str) -> bytes | None:
        """The downloaded file of asset `asset_id` in `locale`, as committed, or None:
        None too for any id, locale or name that is unsafe or not that asset's file."""
        try:
            safe_file_name(file_name)
        except InvalidData:
            return None
        if not is_safe_id(asset_id) or not LOCALE_CODE.match(locale):
            return None
        asset = self.asset(asset_id)
        file = ((asset or {}).get("fields") or {}).get("file") or {}
        spec = file.get(locale) if isinstance(file, dict) else None
        if not isinstance(spec, dict):
            return None
        names = {spec.get("fileName"), str(spec.get("url") or "").rsplit("/", 1)[-1]}
        if file_name not in names:
            return None
        return self.objects.blob(
            f"{self.commit}:{self.prefix}{FILES}/{asset_id}/{locale}/{file_name}"
        )


def _field(content_type: Item, name: str) -> Item | None:
    return next((f for f in content_type.get("fields") or [] if f.get("id") == name), None)


def _exact_values(field: Item | None, key: str, raw: str) -> list[str] | None:
    """The one spelling the index holds of a value an equality on `field` matches
    exactly (a number as the index writes numbers), or None."""
    if field is None or len(raw) > LONGEST_VALUE:
        return None
    kind, items = field.get("type"), (field.get("items") or {}).get("type")
    if key.endswith(".sys.id"):
        linked = kind == "Link" or (kind == "Array" and items == "Link")
        return [raw] if linked else None
    if kind in ("Symbol", "Text") or (kind == "Array" and items == "Symbol"):
        return [raw]
    if kind == "Boolean":
        return [raw] if raw in ("true", "false") else None
    if kind in ("Integer", "Number"):
        try:
            number = float(raw)
        except ValueError:
            return None
        return [number_text(number)] if math.isfinite(number) else None
    return None


def _indexed(content_type: Item, key: str) -> bool:
    """Whether the index holds `fields.<key>` of this content type exactly."""
    name, _, rest = key.partition(".")
    field = next((f for f in content_type.get("fields") or [] if f.get("id") == name), None)
    if field is None:
        return False
    kind, items = field.get("type"), (field.get("items") or {}).get("type")
    if rest == "":
        return kind in _EXACT_TYPES or (kind == "Array" and items == "Symbol")
    if rest == "sys.id":
        return kind == "Link" or (kind == "Array" and items == "Link")
    return False
