"""Reads a space folder (the format documented in sample_space/README.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mirror.errors import MirrorError
from mirror.wire import is_safe_id

KINDS = {"entries": "Entry", "assets": "Asset"}


class SpaceFolderError(MirrorError):
    """The space folder is not in the documented format."""

    def __str__(self) -> str:
        return f"the space folder is not valid: {self.args[0] if self.args else ''}"


@dataclass(frozen=True)
class Change:
    """One change of a round: put (create or replace), patch (merge fields) or delete."""

    action: str
    kind: str
    id: str
    content_type: str | None = None
    fields: dict[str, Any] | None = None
    remove: tuple[str, ...] = ()


@dataclass
class SpaceDefinition:
    folder: Path | None  # None: made in memory (a synthetic space)
    id: str
    name: str
    environment: str
    access_token: str
    management_token: str
    starts_at: datetime
    locales: list[dict[str, Any]]
    content_types: dict[str, dict[str, Any]]
    rounds: list[Sequence[Change]] = field(default_factory=list)
    round_notes: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # in-memory asset files

    def read_file(self, relative: str) -> bytes:
        """A file the space ships (asset bytes); never one outside its folder."""
        if relative in self.files:
            return self.files[relative]
        if self.folder is None:
            raise SpaceFolderError(f"{relative}: no such file")
        path = (self.folder / relative).resolve()
        if self.folder.resolve() not in path.parents:
            raise SpaceFolderError(f"{relative}: outside the space folder")
        return path.read_bytes()


def load_space(folder: Path) -> SpaceDefinition:
    meta = _read_json(folder / "space.json")
    content_types = {}
    for path in sorted((folder / "content_types").glob("*.json")):
        content_types[path.stem] = {"id": path.stem, **_read_json(path)}
    space = SpaceDefinition(
        folder=folder,
        id=meta["id"],
        name=meta.get("name", meta["id"]),
        environment=meta.get("environment", "master"),
        access_token=meta["accessToken"],
        management_token=meta["managementToken"],
        starts_at=datetime.fromisoformat(meta["startsAt"].replace("Z", "+00:00")),
        locales=_read_json(folder / "locales.json"),
        content_types=content_types,
    )
    space.rounds.append(_initial_changes(folder))
    space.round_notes.append("initial content")
    round_files = sorted((folder / "rounds").glob("*.json"), key=lambda p: int(p.stem))
    for number, path in enumerate(round_files, start=1):
        if int(path.stem) != number:
            raise SpaceFolderError(f"rounds/: expected {number}.json, found {path.name}")
        data = _read_json(path)
        space.rounds.append([_parse_change(c, path.name) for c in data["changes"]])
        space.round_notes.append(data.get("about", ""))
    return space


def _initial_changes(folder: Path) -> list[Change]:
    changes = []
    for path in sorted((folder / "assets").glob("*.json")):
        changes.append(Change("put", "Asset", path.stem, None, _read_json(path)["fields"]))
    for path in sorted((folder / "entries").glob("*/*.json")):
        fields = _read_json(path)["fields"]
        changes.append(Change("put", "Entry", path.stem, path.parent.name, fields))
    for change in changes:
        _check_ids(change, str(folder))
    return changes


def _parse_change(raw: dict[str, Any], where: str) -> Change:
    actions = [a for a in ("put", "patch", "delete") if a in raw]
    if len(actions) != 1:
        raise SpaceFolderError(f"{where}: each change needs exactly one of put, patch, delete")
    action = actions[0]
    parts = raw[action].split("/")
    if parts[0] not in KINDS or len(parts) != (3 if parts[0] == "entries" else 2):
        raise SpaceFolderError(
            f"{where}: {raw[action]!r} is not entries/<type>/<id> or assets/<id>"
        )
    change = Change(
        action=action,
        kind=KINDS[parts[0]],
        id=parts[-1],
        content_type=parts[1] if parts[0] == "entries" else None,
        fields=raw.get("fields"),
        remove=tuple(raw.get("remove", ())),
    )
    _check_ids(change, where)
    return change


def _check_ids(change: Change, where: str) -> None:
    if not is_safe_id(change.id) or (change.content_type and not is_safe_id(change.content_type)):
        raise SpaceFolderError(f"{where}: unsafe id in {change}")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpaceFolderError(
            f"{path} is missing: {path.parent} is not a space folder "
            "(see sample_space/README.md for the format)"
        ) from None
    except (OSError, ValueError) as error:
        raise SpaceFolderError(f"{path}: {error}") from None
