"""Where a reviewed mirror is: its repository and its path in it. A review reads only
git objects, so the folder need not exist in the work tree: a mirror synced with
`--branch` is missing from the branch checked out until its pull request is merged."""

from __future__ import annotations

import os
from pathlib import Path

from mirror.delivery import revision
from mirror.delivery.objects import GitObjects
from mirror.errors import UsageError


def locate(directory: Path) -> tuple[GitObjects, str]:
    """The repository holding `directory` and the folder's path in it ("" or "a/b/"),
    found from its nearest existing folder (git resolves any link there, as for
    `directory` itself when it exists); the missing rest is taken as written."""
    existing, missing = _nearest_existing(directory)
    if not existing.is_dir():
        raise UsageError(
            f"{directory}: {existing} is not a folder"
            if missing
            else f"{directory} is not a folder"
        )
    if ".." in missing:
        raise UsageError(f"{directory}: '..' after {existing / missing[0]}, which does not exist")
    try:
        objects, prefix = revision.locate(existing)
    except UsageError:
        raise UsageError(
            f"{directory} is not a mirror (not in a git repository): name a folder mirror sync made"
        ) from None
    return objects, prefix + "".join(f"{part}/" for part in missing)


def _nearest_existing(directory: Path) -> tuple[Path, list[str]]:
    """`directory`'s nearest ancestor (or itself) that exists, and the parts below it."""
    missing: list[str] = []
    path = directory
    while not os.path.lexists(path) and path != path.parent:
        missing.insert(0, path.name)
        path = path.parent
    return path, missing
