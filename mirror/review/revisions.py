"""Which two commits a review compares: the last sync round and its parent, REV and
HEAD, or A and B (`A..B`). Every revision is checked before it is used."""

from __future__ import annotations

from dataclasses import dataclass

from mirror.client import tree as paths
from mirror.delivery.objects import GitObjects
from mirror.errors import UsageError


@dataclass(frozen=True)
class Span:
    """From `old` (None: before the first commit, so everything is new) to `new`."""

    old: str | None
    new: str


def parse(rev1: str | None, rev2: str | None) -> tuple[str, str] | None:
    """The two revisions asked for, None for the last round. `REV` alone means
    `REV..HEAD`, as `git diff REV..HEAD` does; `A..B` may be one argument."""
    if rev1 is None:
        if rev2 is not None:
            raise UsageError("give REV1 before REV2")
        return None
    if "..." in rev1:
        raise UsageError(f"{rev1!r}: A...B is not supported; give A..B or A B")
    if ".." in rev1:
        if rev2 is not None:
            raise UsageError(f"{rev1!r} already names two revisions; drop {rev2!r}")
        old, _, new = rev1.partition("..")
        return old or "HEAD", new or "HEAD"
    return rev1, rev2 or "HEAD"


def resolve_span(
    objects: GitObjects, prefix: str, rev1: str | None, rev2: str | None, name: str
) -> Span:
    """The commits to compare; UsageError for a revision that names no commit, a folder
    that is no mirror at the newer one, or a mirror without rounds. `name` is the
    folder as the user gave it."""
    asked = parse(rev1, rev2)
    if asked is None:
        new = last_round(objects, prefix)
        if new is None:
            check_mirror(objects, prefix, Span(None, commit_of(objects, "HEAD")), name, "HEAD")
            raise UsageError("the mirror has no sync round yet: run mirror sync on it first")
        return Span(parent(objects, new), new)
    span = Span(commit_of(objects, asked[0]), commit_of(objects, asked[1]))
    check_mirror(objects, prefix, span, name, asked[1])
    return span


def check_mirror(objects: GitObjects, prefix: str, span: Span, name: str, rev: str) -> None:
    """UsageError unless the mirror exists at `span.new` (`rev` as the user named it).
    A folder that is a mirror at neither end is no mirror at all: advising a sync
    there would create a mirror inside one, or beside it."""
    state = prefix + paths.STATE
    if objects.blob(f"{span.new}:{state}") is not None:
        return
    if span.old is None or objects.blob(f"{span.old}:{state}") is None:
        raise UsageError(f"{name} is not a mirror at {rev} (no {paths.STATE})")
    raise UsageError(
        f"{name} is not a mirror at commit {span.new[:10]} (no {state}); "
        "name a commit made by mirror sync"
    )


def commit_of(objects: GitObjects, rev: str) -> str:
    if not rev or rev.startswith("-") or any(c in rev for c in "\n\0 "):
        raise UsageError(f"{rev!r} is not a revision")
    out = objects.run("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False)
    commit = out.decode().strip()
    if not commit:
        if rev == "HEAD":
            raise UsageError("the mirror has no commit yet: run mirror sync on it first")
        raise UsageError(
            f"unknown revision {rev!r}: the repository has no such commit "
            "(mirror log DIR lists the rounds)"
        )
    return commit


def parent(objects: GitObjects, commit: str) -> str | None:
    """The first parent of `commit`; None for a root commit."""
    out = objects.run("rev-parse", "--verify", "-q", f"{commit}^1", check=False)
    return out.decode().strip() or None


def last_round(objects: GitObjects, prefix: str) -> str | None:
    """The newest commit from HEAD that is a sync round: it carries a Sync-Token
    trailer and touches the mirror's mirror.json (HEAD itself, unless someone committed
    by hand since, or the mirror lives in a larger repository). None if there is none."""
    head = commit_of(objects, "HEAD")
    out = objects.run(
        "log",
        "-1",
        "--format=%H",
        "--grep=^Sync-Token: ",
        head,
        "--",
        prefix + paths.STATE,
    )
    return out.decode().strip() or None
