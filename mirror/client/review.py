"""Reading a mirror back: its status, its rounds, and whether it is consistent."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mirror import model
from mirror.client import tree as paths
from mirror.client.history import History
from mirror.client.state import MirrorState
from mirror.client.tree import MirrorTree
from mirror.errors import MirrorStateError, UsageError
from mirror.schemas import schemas
from mirror.wire import parse_json

_SUBJECT = re.compile(
    r"^sync (?P<where>\S+): \+(?P<added>\d+) ~(?P<changed>\d+) -(?P<deleted>\d+)$"
)


@dataclass
class Round:
    """One commit of the mirror, as `mirror log` shows it."""

    commit: str
    date: str
    added: int
    changed: int
    deleted: int
    token: str
    subject: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def open_mirror(directory: Path) -> tuple[History, MirrorState]:
    raw = MirrorTree(directory).read(paths.STATE)
    if raw is None or (not (directory / ".git").exists() and not _inside_repository(directory)):
        raise UsageError(
            f"{directory} is not a mirror (no mirror.json); run mirror sync on it first"
        )
    return History(directory), MirrorState.from_bytes(raw, str(directory / paths.STATE))


def _inside_repository(directory: Path) -> bool:
    result = subprocess.run(
        ["git", "-C", str(directory), "rev-parse", "--git-dir"], capture_output=True, check=False
    )
    return result.returncode == 0


def rounds(history: History) -> list[Round]:
    """Every round of the mirror, newest first: commits that carry a Sync-Token."""
    fields = "%H%x1f%aI%x1f%s%x1f%(trailers:key=Sync-Token,valueonly,separator=)%x1e"
    out = history.log(f"--format={fields}")
    found = []
    for record in out.split("\x1e"):
        parts = record.strip("\n").split("\x1f")
        if len(parts) != 4 or not parts[3].strip():
            continue
        commit, date, subject, token = parts
        match = _SUBJECT.match(subject)
        added, changed, deleted = (
            int(match[k]) if match else 0 for k in ("added", "changed", "deleted")
        )
        found.append(Round(commit, date, added, changed, deleted, token.strip(), subject))
    return found


def status(directory: Path) -> dict[str, Any]:
    history, state = open_mirror(directory)
    tree = MirrorTree(directory)
    per_type = Counter(path.split("/")[1] for path in tree.files_under(paths.ENTRIES))
    history_rounds = rounds(history)
    last = history_rounds[0].to_json() if history_rounds else None
    return {
        "space": state.space,
        "environment": state.environment,
        "base_url": state.base_url,
        "round": state.round,
        "filters": {"type": state.type, "content_type": state.content_type},
        "token": state.sync_token,
        "last_round": last,
        "entries_per_content_type": dict(sorted(per_type.items())),
        "assets": sum(1 for _ in tree.files_under(paths.ASSETS, depth=1)),
        "download_assets": state.download_assets,
        "counts": state.counts,
        "clean": not history.dirty_paths(),
    }


PREVIEW_HOSTS = ("preview.contentful.com", "preview.eu.contentful.com")


@dataclass
class Verdict:
    """What verify found. Problems make a mirror inconsistent; dangling links do with
    --strict; warnings never do (a draft without a required field is one)."""

    problems: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)

    def consistent(self, strict: bool) -> bool:
        return not self.problems and not (strict and self.dangling)


def verify(directory: Path) -> Verdict:
    """Check every file against schemas/ and its content type, paths against ids, the
    state file against HEAD; collect links to items the mirror does not have."""
    history, state = open_mirror(directory)
    tree = MirrorTree(directory)
    verdict = Verdict()
    links_found = tree.symlinks()
    verdict.problems += [
        f"{link}: a symbolic link; mirror never follows one (mirror sync --full replaces it)"
        for link in links_found
    ]
    locales = _load(tree, paths.LOCALES, verdict) or []
    codes = [str(loc.get("code")) for loc in locales if isinstance(loc, dict)]
    defaults = [str(loc["code"]) for loc in locales if isinstance(loc, dict) and loc.get("default")]
    default = (defaults or codes or ["en-US"])[0]
    for locale in locales:
        _schema(verdict, "locale", locale, paths.LOCALES)
    content_types = _content_types(tree, verdict)
    preview = urlsplit(state.base_url or "").hostname in PREVIEW_HOSTS
    entries: dict[str, str] = {}  # id -> path: one id, one file
    assets: set[str] = set()
    links: list[tuple[str, str, str]] = []
    for path, item in _items(tree, paths.ENTRIES, verdict):
        name = path.split("/")[2]
        if name.removesuffix(".json") in entries:
            verdict.problems.append(
                f"{path}: the same entry id as {entries[name.removesuffix('.json')]}; "
                "one of them is stale (mirror sync --full removes it)"
            )
        if _schema(verdict, "entry", item, path):
            draft = preview or is_draft(item)
            _check_entry(verdict, path, item, content_types, codes, default, draft=draft)
        entries[name.removesuffix(".json")] = path
        links += [(path, kind, target) for kind, target in _links(item.get("fields"))]
        verdict.checked["entries"] += 1
    for path, item in _items(tree, paths.ASSETS, verdict):
        if (
            _schema(verdict, "asset", item, path)
            and item["sys"]["id"] + ".json" != path.split("/")[1]
        ):
            verdict.problems.append(f"{path}: holds asset {item['sys']['id']!r}")
        assets.add(path.split("/")[1].removesuffix(".json"))
        verdict.checked["assets"] += 1
    for path, kind, target in links:
        if target not in (entries if kind == "Entry" else assets):
            verdict.dangling.append(
                f"{path}: links to {kind} {target}, which the mirror does not have"
            )
    _check_state(verdict, history, state, set(entries), assets)
    return verdict


def is_draft(item: dict[str, Any]) -> bool:
    """Whether an item was never published, so only the Preview API serves it: its
    sys.revision (how often it was published) is 0, or it has neither revision nor
    publishedVersion. Real Preview responses show drafts with revision 0."""
    sys = item.get("sys") or {}
    if "revision" in sys:
        return bool(sys["revision"] == 0)
    return "publishedVersion" not in sys


def _check_entry(
    verdict: Verdict,
    path: str,
    item: dict[str, Any],
    content_types: dict[str, dict[str, Any]],
    codes: list[str],
    default: str,
    *,
    draft: bool,
) -> None:
    """Problems of one entry. Drafts (a Preview mirror's entries, or any entry never
    published) may lack required fields: Contentful checks those only on publishing."""
    _, content_type, name = path.split("/")
    sys = item["sys"]
    if sys["id"] + ".json" != name:
        verdict.problems.append(f"{path}: holds entry {sys['id']!r}")
    if sys["contentType"]["sys"]["id"] != content_type:
        verdict.problems.append(f"{path}: is an entry of {sys['contentType']['sys']['id']!r}")
    definition = content_types.get(content_type)
    if definition is None:
        verdict.problems.append(f"{path}: content type {content_type!r} is not in content_types/")
        return
    try:
        model.check_entry_fields(item.get("fields") or {}, definition, codes, default)
    except model.ValidationFailed as failure:
        tolerated = failure.missing_required if draft else []
        verdict.problems += [f"{path}: {line}" for line in failure.errors if line not in tolerated]
        verdict.warnings += [f"{path}: {line} (a draft)" for line in tolerated]


def _check_state(
    verdict: Verdict, history: History, state: MirrorState, entries: set[str], assets: set[str]
) -> None:
    committed = history.show(f"HEAD:{history.path(paths.STATE)}")
    if committed is None:
        verdict.problems.append(f"{paths.STATE}: not committed")
    elif MirrorState.from_bytes(committed, paths.STATE) != state:
        verdict.problems.append(f"{paths.STATE}: differs from the one committed at HEAD")
    logged = rounds(history)
    if not logged or logged[0].token != state.sync_token:
        verdict.problems.append(
            f"{paths.STATE}: its sync token is not the last commit's Sync-Token"
        )
    for kind, found in (("entries", len(entries)), ("assets", len(assets))):
        if state.counts.get(kind, found) != found:
            verdict.problems.append(
                f"{paths.STATE}: counts {state.counts.get(kind)} {kind}, the folder holds {found}"
            )
    dirty = history.dirty_paths()
    if dirty:
        verdict.problems.append(f"uncommitted changes: {', '.join(dirty[:5])}")


def _content_types(tree: MirrorTree, verdict: Verdict) -> dict[str, dict[str, Any]]:
    found = {}
    for path, item in _items(tree, paths.CONTENT_TYPES, verdict):
        if _schema(verdict, "content_type", item, path):
            ct_id = item["sys"]["id"]
            if f"{ct_id}.json" != path.split("/")[1]:
                verdict.problems.append(f"{path}: holds content type {ct_id!r}")
            found[ct_id] = {**item, "id": ct_id}
    return found


def _items(tree: MirrorTree, folder: str, verdict: Verdict) -> Iterator[tuple[str, Any]]:
    for path in tree.files_under(folder, depth=2 if folder == paths.ENTRIES else 1):
        item = _load(tree, path, verdict)
        if item is not None:
            yield path, item


def _load(tree: MirrorTree, path: str, verdict: Verdict) -> Any:
    try:
        raw = tree.read(path)
    except MirrorStateError:
        return None  # a symbolic link, reported as such

    if raw is None:
        verdict.problems.append(f"{path}: missing")
        return None
    try:
        return parse_json(raw)
    except ValueError:
        verdict.problems.append(f"{path}: not valid JSON")
        return None


def _schema(verdict: Verdict, name: str, value: Any, path: str) -> bool:
    error = schemas().first_error(name, value)
    if error:
        verdict.problems.append(f"{path}: {error}")
    return error is None


def _links(value: Any) -> Iterator[tuple[str, str]]:
    """(linkType, id) of every Entry and Asset link inside a fields value, rich text included.
    ResourceLinks (cross-space references) point into another space: never dangling."""
    if isinstance(value, dict):
        sys = value.get("sys")
        if isinstance(sys, dict) and sys.get("type") == "Link":
            if sys.get("linkType") in ("Entry", "Asset") and isinstance(sys.get("id"), str):
                yield sys["linkType"], sys["id"]
            return
        for child in value.values():
            yield from _links(child)
    elif isinstance(value, list):
        for child in value:
            yield from _links(child)


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
