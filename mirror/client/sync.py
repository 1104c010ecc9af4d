"""`mirror sync`: one round as a transaction. The commit is the only checkpoint;
any failure, Ctrl-C or kill leaves (or, on the next run, puts) the mirror's files
back exactly as at HEAD, with the sync token of HEAD. With `--branch NAME` the same
round runs in the mirror's private work tree and lands on NAME (mirror.client.branch)."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import git

from mirror.client import tree as paths
from mirror.client.assets import AssetFiles, Downloads, PlannedDownloads
from mirror.client.branch import ReviewBranch
from mirror.client.guard import RoundGuard, kill_point
from mirror.client.history import DEFAULT_AUTHOR, Author, History
from mirror.client.packer import Packer
from mirror.client.round import Progress, Round, RoundResult
from mirror.client.source import (
    Origin,
    ResponseTooBig,
    RetryPolicy,
    SyncSource,
    SyncStart,
    TokenRejected,
    normalize_base_url,
)
from mirror.client.state import MirrorState
from mirror.client.tree import MirrorTree
from mirror.errors import (
    MirrorError,
    MirrorStateError,
    StorageFailed,
    UsageError,
    storage_failed,
    storage_problem,
)
from mirror.wire import SYNC_TYPES, is_safe_id

DEFAULT_BASE_URL = "https://cdn.contentful.com"
BODY_LINES = 100


@dataclass
class SyncOptions:
    directory: Path
    access_token: str | None = None
    space: str | None = None
    environment: str | None = None
    base_url: str | None = None
    type: str | None = None
    content_type: str | None = None
    limit: int | None = None
    full: bool = False
    dry_run: bool = False
    force: bool = False
    download_assets: bool | None = None  # None: as the mirror has it
    push: str | None = None  # a remote name or URL: push after the round
    branch: str | None = None  # commit the round on this branch, not the one checked out
    author: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress: Progress | None = None
    notice: Callable[[str], None] = lambda message: None


@dataclass
class SyncReport:
    status: str  # "synced", "up-to-date" or "dry-run"
    space: str
    environment: str
    round: int  # for a dry run: the round it would make
    token: str
    commit: str | None  # after --push: the commit pushed (rebased, if it had to be);
    # with --branch: NAME's tip after the run, whether or not the round changed anything
    added: int
    changed: int
    deleted: int
    pages: int
    items: int
    seconds: float
    limit: int
    recovered: bool = False
    pushed: bool = False
    branch: str | None = None  # --branch NAME
    discarded: list[str] = field(default_factory=list)  # what --force threw away
    details: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "details"}
        data["seconds"] = round(self.seconds, 3)
        return data


def run_sync(options: SyncOptions) -> SyncReport:
    started = time.monotonic()
    author = _author(options.author)
    if options.branch:
        return _sync_onto_branch(options, options.branch, author, started)
    if options.dry_run:
        return _dry_run(options, started)
    if not (options.directory / paths.STATE).exists():
        _source(_resolve(options, None), options).close()  # usage errors before any write
    history = _open_history(options.directory)
    try:
        return _sync_round(options, history, author, started)
    except BaseException:
        history.forget_if_new(options.directory)
        raise


def _open_history(directory: Path) -> History:
    new = not directory.exists()
    try:
        return History(directory)
    except (OSError, git.GitCommandError) as error:
        if new:
            shutil.rmtree(directory, ignore_errors=True)
        if isinstance(error, OSError):
            raise storage_failed(error, f"creating the mirror in {directory}") from None
        lines = str(error.stderr).replace("'", " ").strip().splitlines()
        reason = storage_problem(lines) or (lines or ["git init failed"])[-1].strip()
        raise StorageFailed(f"{reason} while creating the mirror in {directory}") from None


def _sync_round(
    options: SyncOptions, history: History, author: Author, started: float
) -> SyncReport:
    with RoundGuard(history.git_dir, history.prefix) as guard:
        return _guarded_round(options, history, guard, author, started)


def _guarded_round(
    options: SyncOptions, history: History, guard: RoundGuard, author: Author, started: float
) -> SyncReport:
    """One round, `guard` held: recover, check, fetch, commit, and push if asked."""
    tree = MirrorTree(options.directory)
    recovered = _recover(history, guard, options)
    discarded = _discard_or_refuse(history, options)
    obstacles = _obstacles(tree, history, options)
    held = tree.counts() if options.full else None  # what the files hold before
    state = _read_state(tree)
    config = _resolve(options, state)
    if options.push:  # refused before the round, not after: a detached HEAD, no remote
        history.branch()
        history.check_remote(options.push)
    source = _source(config, options)
    # an initial sync into a folder that holds items already recounts them at its end
    populated = state is None and (tree.exists(paths.ENTRIES) or tree.exists(paths.ASSETS))
    guard.wait_for_housekeeping()
    guard.begin_round()
    packer: list[Packer] = []
    try:
        plan = _Plan(state, config, obstacles, _baseline(history, options), held)
        result, config = _fetch(source, tree, plan, options, history, guard, packer)
        report = _finish(
            result,
            config,
            state,
            tree,
            history,
            guard,
            packer[0],
            author,
            started,
            plan.held,
            populated,
        )
    except BaseException:
        _roll_back(history, guard, packer, options)
        raise
    finally:
        source.close()
    report.recovered, report.discarded = recovered, discarded
    if options.push:
        # also after an up-to-date round: catches up; a rebase gives a new commit id
        pushed = history.push(options.push, author)
        report.commit = pushed if report.commit else report.commit
        report.pushed = True
    return report


def _sync_onto_branch(
    options: SyncOptions, name: str, author: Author, started: float
) -> SyncReport:
    """`--branch NAME`: the round runs in the mirror's private work tree, from where
    NAME starts (mirror.client.branch), and NAME moves to its commit; the branch
    checked out, its files, index and HEAD, do not change."""
    branch = ReviewBranch(options.directory, name, options.notice)
    if options.push:
        branch.check_remote(options.push)
    with branch.guard() as guard:
        worktree = branch.open_worktree(guard)
        start = branch.plan(options.push, fetch=not options.dry_run)
        if branch.state_at(start.content) is None:
            _source(_resolve(options, None), options).close()  # usage errors before any write
        if options.dry_run:
            report = _dry_run_in(options, worktree.check_out(start.content), started)
        else:
            begin = branch.carry(start, author)
            directory = worktree.check_out(begin)
            inner = dataclasses.replace(options, directory=directory, push=None, branch=None)
            report = _guarded_round(inner, History(directory), guard, author, started)
            report.commit = report.commit or begin  # NAME's tip, whether or not it changed
            branch.move(report.commit, start)
            kill_point("after-branch-ref")
            if options.push:
                report.pushed = branch.push(options.push, report.commit, start)
        report.branch = name
        return report


def _dry_run_in(options: SyncOptions, directory: Path, started: float) -> SyncReport:
    """A dry run of the mirror checked out at `directory` (the private work tree)."""
    tree = MirrorTree(directory, dry_run=True)
    inner = dataclasses.replace(options, directory=directory, push=None, branch=None)
    _obstacles(tree, History(directory), inner)
    return _dry_run_round(inner, tree, _read_state(tree), [], started)


@dataclass
class _Plan:
    """What a round starts from: the mirror's state before it and the settings now."""

    previous: MirrorState | None
    config: MirrorState
    obstacles: tuple[str, ...]  # links, files or folders in the way: a full round clears them
    baseline: set[str] | None  # files changed by hand, for a full round
    held: dict[str, int] | None = None  # entry and asset files before a full round

    @property
    def drop_asset_files(self) -> bool:
        return bool(self.previous and self.previous.download_assets) and not (
            self.config.download_assets
        )

    @property
    def backfill(self) -> bool:
        was_downloading = self.previous is None or self.previous.download_assets
        return self.config.download_assets and not was_downloading


def _roll_back(
    history: History, guard: RoundGuard, packer: list[Packer], options: SyncOptions
) -> None:
    """Put the files back as at HEAD. If that fails too (the disk is still refusing),
    the journal stays, so that the next run finishes the rollback before anything
    else; the round's own error is the one reported."""
    for stream in packer:
        stream.abort()
    try:
        history.restore()
    except (MirrorError, OSError) as failure:
        options.notice(
            f"the rollback could not finish ({failure}); the next mirror sync finishes it "
            "before it does anything else"
        )
        return
    guard.end_round()


def _obstacles(tree: MirrorTree, history: History, options: SyncOptions) -> tuple[str, ...]:
    """What is in the round's way: refused, or in a full round cleared. A broken
    mirror.json is refused either way: it holds where the sync stands."""
    found = tree.obstacles()
    if paths.STATE in found:
        last = history.last_round()
        restore = (
            f"restore it from the last round (remove it, then git checkout {last[:10]} -- "
            f"{paths.STATE}) and commit"
            if last
            else "remove it"
        )
        raise MirrorStateError(
            f"{tree.describe_obstacle(paths.STATE)}, not the mirror's state file; {restore}"
        )
    if found and not options.full:
        tree.refuse_obstacles()
    return tuple(found)


def _discard_or_refuse(history: History, options: SyncOptions) -> list[str]:
    dirty = history.dirty_paths()
    if not dirty:
        return []
    shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
    if not options.force:
        raise MirrorStateError(
            f"the mirror has uncommitted changes ({shown}); commit or discard them, "
            "or pass --force to overwrite them"
        )
    if not options.dry_run:
        history.restore()
    options.notice(
        f"--force {'would discard' if options.dry_run else 'discarded'} uncommitted "
        f"changes: {shown}"
    )
    return dirty


def _baseline(history: History, options: SyncOptions) -> set[str] | None:
    """For a full round: the files someone changed by hand (in commits that are no
    sync round), so that the round can tell what it restores or fixes from what the
    source added or updated."""
    return history.edited_by_hand((paths.ENTRIES, paths.ASSETS)) if options.full else None


def _recover(history: History, guard: RoundGuard, options: SyncOptions) -> bool:
    crashed = guard.interrupted_round()
    if crashed is None:
        return False
    history.restore()
    guard.end_round()
    options.notice(
        f"recovered from an interrupted sync ({crashed}): the mirror is back at its last commit"
    )
    return True


def _fetch(
    source: SyncSource,
    tree: MirrorTree,
    plan: _Plan,
    options: SyncOptions,
    history: History,
    guard: RoundGuard,
    packer: list[Packer],
) -> tuple[RoundResult, MirrorState]:
    """Run the round; an initial sync whose page is too big restarts with a smaller limit.
    Asset files are downloaded too when the mirror keeps them.

    `packer` holds the round's fast-import stream, so that the caller can abort it.
    """
    config = plan.config
    while True:
        start = _start(config, options)
        packer[:] = [history.packer(guard.spool)]
        round_ = Round(
            source,
            tree,
            start,
            packer[0],
            options.full,
            options.progress,
            backfill=plan.backfill,
            obstacles=plan.obstacles,
            baseline=plan.baseline,
            drop_asset_files=plan.drop_asset_files,
        )
        downloads = Downloads(tree.root, options.retry) if config.download_assets else None
        if downloads:
            round_.asset_files = AssetFiles(
                tree, downloads, config.base_url, round_.record_file, packer[0]
            )
        try:
            return round_.run(), config
        except ResponseTooBig:
            if start.token is not None or start.limit <= 1:
                raise MirrorError(
                    "a page of changes is over Contentful's response size cap at limit "
                    f"{config.limit}; "
                    f"run mirror sync --full --limit {max(1, config.limit // 2)}"
                ) from None
            smaller = max(1, start.limit // 2)
            options.notice(
                f"a page at limit {start.limit} was too big for the source; "
                f"restarting the initial sync with limit {smaller}"
            )
            packer[0].abort()
            history.restore()
            guard.begin_round()
            config.limit = smaller
        except TokenRejected as error:
            raise _rejected(error) from None
        finally:
            if downloads:
                downloads.close()


def _finish(
    result: RoundResult,
    config: MirrorState,
    previous: MirrorState | None,
    tree: MirrorTree,
    history: History,
    guard: RoundGuard,
    packer: Packer,
    author: Author,
    started: float,
    held: dict[str, int] | None,
    populated: bool,
) -> SyncReport:
    config.sync_token = result.token
    counts = {"entries": 0, "assets": 0, **(previous.counts if previous else {})}
    for kind, delta in result.kinds.items():
        counts[kind] += delta
    notes = _setting_changes(previous, config)
    if held is not None and previous is not None:  # a full round: counts never drift for good
        notes += [
            f"Counts corrected: mirror.json said {previous.counts.get(kind)} {kind}, "
            f"the files held {held[kind]}"
            for kind in ("entries", "assets")
            if previous.counts.get(kind) != held[kind]
        ]
    if held is not None or (previous is None and populated):
        counts.update(tree.counts())  # recounted from the files
    config.counts = dict(sorted({**counts, **result.model}.items()))
    if not result.changed and not notes:
        packer.abort()
        guard.end_round()  # nothing was written: a new token alone is not worth a commit
        return _report(
            "up-to-date", config, result, None, started, previous.round if previous else 0
        )
    config.round = (previous.round if previous else 0) + 1
    state_bytes = config.to_bytes()
    tree.write(paths.STATE, state_bytes)
    packer.add(paths.STATE, state_bytes)
    message = commit_message(config, result, notes)
    kill_point("before-commit")
    commit = history.commit(packer, guard.spool, guard.scratch, message, author)
    kill_point("after-commit")
    guard.end_round()
    if previous is not None:
        history.tidy(guard.housekeeping_lock)  # after an initial sync: nothing small to fold
    return _report("synced", config, result, commit, started, config.round)


def _setting_changes(previous: MirrorState | None, config: MirrorState) -> list[str]:
    """What a round changes in mirror.json besides its token and round: worth a commit
    of its own even when no item changed, and said in the commit message."""
    if previous is None:
        return []
    notes = []
    if previous.base_url != config.base_url:
        notes.append(f"Base URL: {previous.base_url} -> {config.base_url}")
    if previous.download_assets != config.download_assets:
        on = config.download_assets
        notes.append(
            "Asset files: downloads switched on"
            if on
            else "Asset files: downloads switched off, assets/files/ removed"
        )
    if (previous.type, previous.content_type) != (config.type, config.content_type):
        before = previous.content_type or previous.type
        notes.append(f"Filters: {before} -> {config.content_type or config.type}")
    if previous.limit != config.limit:
        notes.append(f"Page limit: {previous.limit} -> {config.limit}")
    return notes


def commit_message(state: MirrorState, result: RoundResult, notes: Sequence[str] = ()) -> str:
    counts = result.counts
    subject = (
        f"sync {state.space}/{state.environment}: +{counts['+']} ~{counts['~']} -{counts['-']}"
    )
    lines = []
    if result.reconciled:
        tally = ", ".join(
            f"{result.reconciled[label]} {label}"
            for label in ("restored", "fixed", "removed", "added", "updated")
            if result.reconciled[label]
        )
        lines += [f"Full reconcile with the source: {tally}.", ""]
    if notes:
        lines += [*notes, ""]
    for change in sorted(result.details, key=lambda c: c.path)[:BODY_LINES]:
        lines.append(change.describe())
    hidden = sum(counts.values()) - len(lines)
    if hidden > 0:
        lines.append(f"... and {hidden} more")
    trailers = [
        f"Sync-Token: {state.sync_token}",
        f"Sync-Space: {state.space}",
        f"Sync-Environment: {state.environment}",
    ]
    return "\n".join([subject, "", *lines, "", *trailers]) + "\n"


def _report(
    status: str,
    state: MirrorState,
    result: RoundResult,
    commit: str | None,
    started: float,
    round_number: int,
) -> SyncReport:
    return SyncReport(
        status=status,
        space=state.space,
        environment=state.environment,
        round=round_number,
        token=state.sync_token or "",
        commit=commit,
        added=result.counts["+"],
        changed=result.counts["~"],
        deleted=result.counts["-"],
        pages=result.pages,
        items=result.items,
        seconds=time.monotonic() - started,
        limit=state.limit,
        details=[c.describe() for c in sorted(result.details, key=lambda c: c.path)],
    )


def _dry_run(options: SyncOptions, started: float) -> SyncReport:
    """Fetch and report what a real run would change, refusing where it would refuse
    (locked, dirty, in the way, a detached HEAD or no remote with --push); writes
    nothing but the lock, which it holds while it looks."""
    tree = MirrorTree(options.directory, dry_run=True)
    if not _in_repository(options.directory):
        return _dry_run_round(options, tree, None, [], started)
    history = History(options.directory)
    with contextlib.ExitStack() as stack:
        try:
            guard = stack.enter_context(RoundGuard(history.git_dir, history.prefix))
            if guard.interrupted_round():
                options.notice(
                    "an interrupted sync left files behind; the real run rolls them back first"
                )
        except StorageFailed:
            pass  # a read-only mirror: nothing can sync it meanwhile, and a look is harmless
        discarded = _discard_or_refuse(history, options)
        _obstacles(tree, history, options)
        state = _read_state(tree)
        if options.push:
            history.branch()
            history.check_remote(options.push)
        return _dry_run_round(options, tree, state, discarded, started)
    raise AssertionError("unreachable")


def _in_repository(directory: Path) -> bool:
    if not directory.is_dir():
        return False
    found = subprocess.run(
        ["git", "-C", str(directory), "rev-parse", "--git-dir"], capture_output=True, check=False
    )
    return found.returncode == 0


def _dry_run_round(
    options: SyncOptions,
    tree: MirrorTree,
    state: MirrorState | None,
    discarded: list[str],
    started: float,
) -> SyncReport:
    config = _resolve(options, state)
    source = _source(config, options)
    plan = _Plan(state, config, (), None)
    try:
        start = _start(config, options)
        round_ = Round(
            source,
            tree,
            start,
            None,
            options.full,
            options.progress,
            backfill=plan.backfill,
            drop_asset_files=plan.drop_asset_files,
        )
        if config.download_assets:
            planned = PlannedDownloads()
            round_.asset_files = AssetFiles(tree, planned, config.base_url, round_.record_file)
        result = round_.run()
    except TokenRejected as error:
        raise _rejected(error) from None
    finally:
        source.close()
    config.sync_token = result.token
    next_round = (state.round if state else 0) + 1
    report = _report("dry-run", config, result, None, started, next_round)
    report.discarded = discarded
    return report


def _rejected(error: TokenRejected) -> MirrorStateError:
    return MirrorStateError(
        f"the source rejected the mirror's sync token ({error}); "
        "run mirror sync --full to sync everything again"
    )


def _read_state(tree: MirrorTree) -> MirrorState | None:
    raw = tree.read(paths.STATE)
    return None if raw is None else MirrorState.from_bytes(raw, str(tree.root / paths.STATE))


def _resolve(options: SyncOptions, state: MirrorState | None) -> MirrorState:
    """The mirror's settings: from its state once it has one, else from the options."""
    if state is not None:
        for name, given in (
            ("space", options.space),
            ("environment", options.environment),
            ("base_url", options.base_url and normalize_base_url(options.base_url)),
        ):
            if given and given != getattr(state, name) and name != "base_url":
                raise UsageError(
                    f"this mirror is of {name} {getattr(state, name)!r}, not {given!r}; "
                    f"sync another {name} into another folder"
                )
        config = MirrorState(**{**state.__dict__, "counts": dict(state.counts)})
        if options.base_url and normalize_base_url(options.base_url) != state.base_url:
            config.base_url = normalize_base_url(options.base_url)
            options.notice(
                f"moving this mirror of {state.space}/{state.environment} from "
                f"{state.base_url} to {config.base_url} (remembered from this round on)"
            )
        if options.download_assets is not None:
            config.download_assets = options.download_assets
        if state.download_assets and config.download_assets is False:
            options.notice("asset file downloads are off: this round removes assets/files/")
        _warn_if_preview(config, options)
        if options.full:
            _apply_filters(config, options, keep=True)
        elif any(v is not None for v in (options.type, options.content_type, options.limit)):
            options.notice(
                "--type, --content-type and --limit set up the initial sync; this "
                "mirror keeps its own (use --full to sync again with new ones)"
            )
        return config
    if not options.space:
        raise UsageError("no space given: pass --space or set CONTENTFUL_SPACE_ID")
    if not is_safe_id(options.space) or not is_safe_id(options.environment or "master"):
        raise UsageError("--space and --environment must be Contentful ids ([A-Za-z0-9_.-])")
    config = MirrorState(
        space=options.space,
        environment=options.environment or "master",
        base_url=normalize_base_url(options.base_url or DEFAULT_BASE_URL),
        download_assets=bool(options.download_assets),
    )
    _apply_filters(config, options, keep=False)
    _warn_if_preview(config, options)
    return config


def _warn_if_preview(config: MirrorState, options: SyncOptions) -> None:
    host = urlsplit(config.base_url).hostname or ""
    if host.startswith("preview.") and host.endswith(".contentful.com"):
        options.notice(
            "the Preview API does not officially implement sync, and deletions may not "
            "arrive from it: schedule a regular mirror sync --full to reconcile"
        )


def _apply_filters(config: MirrorState, options: SyncOptions, keep: bool) -> None:
    if options.type is not None or not keep:
        config.type = options.type or "all"
    if options.content_type is not None or not keep:
        config.content_type = options.content_type
    elif options.type not in (None, "Entry"):
        config.content_type = None  # --full --type all drops the content type filter
    if options.limit is not None:
        config.limit = options.limit
    if config.type not in SYNC_TYPES:
        raise UsageError(f"--type must be one of {', '.join(SYNC_TYPES)}")
    if config.content_type and config.type != "Entry":
        if options.type is None:
            config.type = "Entry"  # --content-type implies --type Entry
        else:
            raise UsageError("--content-type needs --type Entry (the Sync API refuses other types)")
    if config.content_type and not is_safe_id(config.content_type):
        raise UsageError("--content-type must be a Contentful id")
    if not 1 <= config.limit <= 1000:
        raise UsageError("--limit must be from 1 to 1000")


def _start(config: MirrorState, options: SyncOptions) -> SyncStart:
    if config.sync_token and not options.full:
        return SyncStart(token=config.sync_token, limit=config.limit)
    return SyncStart(type=config.type, content_type=config.content_type, limit=config.limit)


def _source(config: MirrorState, options: SyncOptions) -> SyncSource:
    if not options.access_token:
        raise UsageError("no access token: pass --access-token or set CONTENTFUL_ACCESS_TOKEN")
    origin = Origin(config.base_url, config.space, config.environment)
    return SyncSource(origin, options.access_token, options.retry)


def _author(text: str | None) -> Author:
    try:
        return Author.parse(text or DEFAULT_AUTHOR)
    except ValueError as error:
        raise UsageError(f"--author: {error}") from None
