"""The mirror's Git history: one commit per round, built with plumbing so that it
touches only the mirror's folder, even inside a larger repository whose index
holds someone's staged work; and the way back to the last commit."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import git

from mirror.client.guard import kill_point
from mirror.client.packer import Packer, read_spool
from mirror.client.tree import MANAGED, write_all
from mirror.errors import (
    MirrorError,
    MirrorStateError,
    StorageFailed,
    UsageError,
    storage_problem,
)

DEFAULT_AUTHOR = "mirror <mirror@localhost>"
_GIT_ENV_DROP = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
)


@dataclass(frozen=True)
class Author:
    name: str
    email: str

    @classmethod
    def parse(cls, text: str) -> Author:
        name, _, rest = text.partition("<")
        email = rest.rstrip().removesuffix(">")
        if not name.strip() or not email or "<" in email or ">" in email or "\n" in text:
            raise ValueError(f'author {text!r} is not of the form "Name <email>"')
        return cls(name.strip(), email.strip())


def _index_info(spool: Path, prefix: str, null_id: str) -> Iterator[bytes]:
    """`update-index --index-info` records for the spooled changes (mode 0: remove)."""
    for path, object_id in read_spool(spool):
        mode, object_id = ("100644", object_id) if object_id else ("0", null_id)
        yield f"{mode} {object_id}\t{prefix}{path}\0".encode()


def _changed_paths(spool: Path, prefix: str) -> Iterator[bytes]:
    for path, _ in read_spool(spool):
        yield f"{prefix}{path}\0".encode()


def _unlink_linked_folders(top: Path, relative: str) -> None:
    """Remove every symbolic link standing where a folder of `relative` should be, so
    that nothing below is removed or written through it (git's index never holds a
    path below a link: such a link is dirt)."""
    folder = top
    for part in relative.split("/")[:-1]:
        folder = folder / part
        if folder.is_symlink():
            folder.unlink()
            return


def _remove_path(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _remove_empty_folders(top: Path) -> None:
    if top.is_symlink() or not top.is_dir():
        return
    for directory, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):
            os.rmdir(directory)  # fails, as it should, where a folder is not empty


def _write_checked_out(path: Path, mode: str, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)  # no links left above: see the caller
    if mode == "120000":
        os.symlink(data.decode("utf-8", "surrogateescape"), path)
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o755 if mode == "100755" else 0o644)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_DROP}
    return {**env, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}


def git_command() -> list[str]:
    """`git` with the settings a round depends on: the machine's git config must not
    change what a round writes."""
    return [
        "git",
        "-c",
        "commit.gpgSign=false",
        "-c",
        "core.autocrlf=false",
        "-c",
        "core.safecrlf=false",
    ]


def run_git(
    cwd: Path,
    git_dir: Path,
    args: Sequence[str],
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run git in `cwd` (a work tree of the repository at `git_dir`); with `check`, a
    failure is a MirrorError saying git's last line (a refusing disk and a held index
    lock are said plainly)."""
    result = subprocess.run(
        [*git_command(), *args],
        cwd=cwd,
        input=stdin,
        env={**_git_env(), **(env or {})},
        capture_output=True,
        check=False,
    )
    if check and result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        first = detail[-1] if detail else f"exit {result.returncode}"
        storage = storage_problem(detail)
        if storage:
            raise StorageFailed(f"{storage} while git {args[0]} wrote to {git_dir}")
        if "index.lock" in first and "File exists" in first:
            raise MirrorStateError(
                f"git's index is locked ({git_dir / 'index.lock'}): if no git process "
                "is running, remove that file and run mirror sync again"
            )
        raise MirrorError(f"git {args[0]} failed: {first}")
    return result


def git_error(result: subprocess.CompletedProcess[bytes]) -> str:
    """The line of a failed git command's output that says why."""
    lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
    said = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (said or lines or ["no message"])[0]


def check_remote(names: Sequence[str], remote: str) -> None:
    """UsageError, before any round, when `remote` is none of `names` (the repository's
    remotes) and no URL or existing path: a push that can only fail is found out first."""
    if remote in names or "://" in remote or Path(remote).exists():
        return
    if ":" in remote and not remote.startswith(("/", ".")):
        return  # scp-like git@host:path
    known = ", ".join(names) if names else "none"
    raise UsageError(
        f"--push {remote}: no such remote (this repository has: {known}) and no such "
        f"path; add it (git remote add {remote} URL) or pass a URL"
    )


def dirty_paths(top: Path, pathspecs: Sequence[str]) -> list[str]:
    """Paths below `pathspecs` in the work tree at `top` that differ from HEAD, untracked
    ones included. --no-optional-locks: looking must never write git's index."""
    status = ["status", "--porcelain=v1", "-z", "--untracked-files=all"]
    result = subprocess.run(
        ["git", "--no-optional-locks", *status, "--", *pathspecs],
        cwd=top,
        env=_git_env(),
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MirrorError(f"git status failed: {detail[-1] if detail else result.returncode}")
    out = result.stdout.decode("utf-8", "replace")
    return [entry[3:] for entry in out.split("\0") if entry]


def init_repository(folder: Path) -> git.Repo:
    """Make `folder` a repository of its own, even inside another work tree.

    A mirror is many small files: feature.manyFiles gives a smaller index (v4) and
    an untracked cache that keeps `git status` fast at 100,000 files."""
    folder.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(folder, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("feature", "manyFiles", "true")
    return repo


class History:
    """The repository holding the mirror folder `root` (created if there is none)."""

    def __init__(self, root: Path) -> None:
        self.created_folder = not root.exists()
        self.created_repo = False
        root.mkdir(parents=True, exist_ok=True)
        try:
            self.repo = git.Repo(root, search_parent_directories=True)
        except git.InvalidGitRepositoryError:
            self.repo = init_repository(root)
            self.created_repo = True
        self.top = Path(self.repo.working_tree_dir or root).resolve()
        relative = root.resolve().relative_to(self.top).as_posix()
        self.prefix = "" if relative == "." else relative + "/"
        self.git_dir = self.top / ".git"  # what messages name until git says where it is
        # objects live in the common git dir: the same as the git dir, except in a
        # linked work tree (the private one of mirror sync --branch)
        found = self._git(
            "rev-parse", "--absolute-git-dir", "--path-format=absolute", "--git-common-dir"
        ).split("\n")
        self.git_dir, self.common_dir = Path(found[0]), Path(found[1])
        self.object_format = self._git("rev-parse", "--show-object-format").strip() or "sha1"
        self.null_id = "0" * (64 if self.object_format == "sha256" else 40)

    def path(self, relative: str) -> str:
        """A mirror path as the repository names it."""
        return self.prefix + relative

    @property
    def managed(self) -> list[str]:
        return [self.path(name) for name in MANAGED]

    def head(self) -> str | None:
        result = self._run(["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
        return result.stdout.decode().strip() or None

    def dirty_paths(self) -> list[str]:
        """Paths in the mirror's folders that differ from HEAD, untracked ones included."""
        return dirty_paths(self.top, self.managed)

    def packer(self, spool: Path) -> Packer:
        """A fast-import stream for one round's files (see mirror.client.packer)."""
        pack_dir = self.common_dir / "objects" / "pack"
        command, env = self._command(), self._env()
        return Packer(command, self.top, env, spool, self.object_format, pack_dir, self.git_dir)

    def commit(
        self, packer: Packer, spool: Path, scratch: Path, message: str, author: Author
    ) -> str | None:
        """Commit the round's spooled changes; None when they change no file.

        The tree is built by git on a private index: the parent's tree, then the
        spooled blob ids, streamed, so memory does not grow with the round. HEAD
        moves in one atomic step (update-ref): that is the round's checkpoint. The
        real index then learns the new files, for the mirror's paths only.
        """
        head = self.head()
        packer.finish()
        private = {"GIT_INDEX_FILE": str(scratch / "index")}
        self._run(["read-tree", head or "--empty"], env=private)
        self._stream(
            ["update-index", "-z", "--index-info"],
            _index_info(spool, self.prefix, self.null_id),
            env=private,
        )
        tree = self._git("write-tree", env=private).strip()
        if head and tree == self._git("rev-parse", f"{head}^{{tree}}").strip():
            return None
        identity = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": author.name,
            "GIT_COMMITTER_EMAIL": author.email,
        }
        parents = ["-p", head] if head else []
        commit = self._git("commit-tree", tree, *parents, stdin=message.encode(), env=identity)
        commit = commit.strip()
        self._run(["update-ref", "-m", "mirror: sync round", "HEAD", commit, head or self.null_id])
        kill_point("after-update-ref")
        try:
            self._stream(
                ["update-index", "--add", "--remove", "-z", "--stdin"],
                _changed_paths(spool, self.prefix),
            )
        except MirrorError as error:
            # Past the checkpoint the round stands; only git's index lags behind HEAD,
            # and restoring the mirror's paths to HEAD (the caller's next step) mends it.
            raise MirrorError(
                f"the round was committed as {commit[:10]}, but git's index could not be "
                f"updated ({error}); the mirror is at that commit, run mirror sync again"
            ) from None
        return commit

    def branch(self) -> str:
        """The branch HEAD is on; MirrorStateError when HEAD is detached, as in the
        default checkouts of GitLab CI and of GitHub Actions on pull requests."""
        result = self._run(["symbolic-ref", "--short", "-q", "HEAD"], check=False)
        name = result.stdout.decode().strip()
        if result.returncode != 0 or not name:
            raise MirrorStateError(
                "HEAD is detached (a CI checkout of a commit, not of a branch), so --push has "
                "no branch to push: check out the branch first (git checkout -B main "
                "origin/main; in GitHub Actions, actions/checkout with ref: the branch name)"
            )
        return name

    def check_remote(self, remote: str) -> None:
        """UsageError, before any round, when `remote` is no remote of this repository
        and no URL or existing path: a push that can only fail is found out first."""
        check_remote(self._git("remote").split(), remote)

    def push(self, remote: str, author: Author, attempts: int = 3) -> str:
        """Push the current branch to `remote` (a name or URL) and return the commit
        pushed. A rejected push (someone else pushed) is fetched, the local commits
        are rebased onto it, and the push is tried again; a conflict aborts the rebase
        and fails, keeping the local commit."""
        branch = self.branch()
        identity = {"GIT_COMMITTER_NAME": author.name, "GIT_COMMITTER_EMAIL": author.email}
        for _ in range(attempts):
            pushed = self._run(["push", "-q", remote, f"HEAD:refs/heads/{branch}"], check=False)
            if pushed.returncode == 0:
                return self.head() or ""
            if b"rejected" not in pushed.stderr and b"fetch first" not in pushed.stderr:
                raise MirrorError(
                    f"git push to {remote} failed ({git_error(pushed)}); "
                    "the round is committed locally, push it later"
                )
            self._run(["fetch", "-q", remote, branch])
            rebased = self._run(
                ["rebase", "-q", "--autostash", "FETCH_HEAD"], env=identity, check=False
            )
            if rebased.returncode != 0:
                self._run(["rebase", "--abort"], check=False)
                raise MirrorError(
                    f"the push was rejected and the mirror commit does not rebase cleanly onto "
                    f"{remote}/{branch} (it changed the mirror too); the round is kept locally "
                    "at HEAD: pull and resolve, or sync again from a fresh clone"
                )
        raise MirrorError(f"git push to {remote} kept being rejected; the round is kept locally")

    def last_round(self) -> str | None:
        """The newest commit that carries a Sync-Token trailer (HEAD, unless someone
        committed by hand since)."""
        out = self.log("--format=%H%x1f%(trailers:key=Sync-Token,valueonly,separator=)%x1e")
        for record in out.split("\x1e"):
            commit, _, token = record.strip("\n").partition("\x1f")
            if token.strip():
                return commit
        return None

    def edited_by_hand(self, folders: Sequence[str]) -> set[str]:
        """Mirror paths below `folders` that commits other than sync rounds (those
        without a Sync-Token trailer) added, changed or removed."""
        out = self._git(
            "log",
            "--no-merges",
            "--invert-grep",
            "--grep=^Sync-Token: ",
            "--format=",
            "--name-only",
            "-z",
            "--",
            *map(self.path, folders),
        )
        return {p.removeprefix(self.prefix) for p in out.replace("\n", "\0").split("\0") if p}

    def tidy(self, lock: Path) -> None:
        """Housekeeping after a round, best effort and in the background.

        Each round leaves a small pack of blobs and loose copies of every folder tree
        it rewrote (a folder of 25,000 files is a tree of about 1.4 MB). A geometric
        repack folds the small packs and loose objects together, so new trees are
        stored as deltas of old ones, and leaves the big pack of the initial sync
        alone. Like git's own `gc --auto` it runs detached, so the round returns as
        soon as it is committed; it holds `lock` (an flock it inherits) while it runs,
        and the next round waits for it.
        """
        handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            return  # one is running already
        try:
            subprocess.Popen(
                [
                    *self._command(),
                    "repack",
                    "-d",
                    "-q",
                    "--geometric=2",
                    "--no-write-bitmap-index",
                ],
                cwd=self.top,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=(handle,),
            )
        finally:
            os.close(handle)  # the child keeps the lock until it exits

    def restore(self) -> None:
        """Put the mirror's folders back exactly as at HEAD: index, files, untracked files.

        A round never touches git's index before its commit, so after a failed round
        the index still describes HEAD and only files need mending. That path writes
        nothing but the files themselves, and frees space before it uses any: the
        round's new files go first, then each changed file is emptied before its
        old bytes (read from git objects) go back. So it works on a disk with zero
        free bytes. Otherwise (the index lags behind HEAD) git resets and checks out.
        """
        head = self.head()
        if head and self._index_is_at(head):
            self._restore_files_from_index()
            return
        if head:
            self._run(["reset", "-q", head, "--", *self.managed], check=False)
            listed = self._git("ls-tree", "--name-only", head, "--", *self.managed).split("\n")
            in_head = [p for p in listed if p]
            if in_head:
                self._run(["checkout", "-f", head, "--", *in_head])
        else:
            self._run(["rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", *self.managed])
        self._run(["clean", "-f", "-d", "-q", "--", *self.managed])

    def _index_is_at(self, head: str) -> bool:
        result = self._run(
            ["diff-index", "--cached", "--quiet", head, "--", *self.managed], check=False
        )
        return result.returncode == 0

    def _restore_files_from_index(self) -> None:
        untracked = self._git(
            "ls-files", "-z", "--others", "--exclude-standard", "--", *self.managed
        )
        for path in filter(None, untracked.split("\0")):
            _remove_path(self.top / path)
        changed = self._git("diff-files", "-z", "--name-only", "--", *self.managed)
        paths = [p for p in changed.split("\0") if p]
        if paths:
            staged = self._git("ls-files", "-s", "-z", "--", *paths)
            records = []
            for record in filter(None, staged.split("\0")):
                info, path = record.split("\t", 1)
                mode, object_id, _ = info.split(" ")
                records.append((path, mode, object_id))
            for path in paths:
                _unlink_linked_folders(self.top, path)
                _remove_path(self.top / path)  # frees the space the old bytes need
            self._check_out_blobs(records)
        for name in self.managed:
            _remove_empty_folders(self.top / name)

    def _check_out_blobs(self, records: list[tuple[str, str, str]]) -> None:
        """Write each (path, mode, blob id) into the work tree, streamed from
        `git cat-file --batch`, never through a symbolic link."""
        if not records:
            return
        process = subprocess.Popen(
            [*self._command(), "cat-file", "--batch"],
            cwd=self.top,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self._env(),
        )
        assert process.stdin is not None and process.stdout is not None
        try:
            for path, mode, object_id in records:
                process.stdin.write(object_id.encode() + b"\n")
                process.stdin.flush()
                header = process.stdout.readline().split()
                size = int(header[2])
                data = process.stdout.read(size)
                process.stdout.read(1)
                _write_checked_out(self.top / path, mode, data)
        finally:
            process.stdin.close()
            process.wait()

    def forget_if_new(self, root: Path) -> None:
        """After a first round that failed: remove the folder or repository this run made."""
        if self.head() is not None:
            return
        if self.created_folder:
            shutil.rmtree(root, ignore_errors=True)
        elif self.created_repo:
            shutil.rmtree(root / ".git", ignore_errors=True)

    def log(self, *args: str) -> str:
        """`git log` of the commits that touch the mirror's folders; "" before the first."""
        result = self._run(["log", *args, "--", *self.managed], check=False)
        return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else ""

    def show(self, spec: str) -> bytes | None:
        """An object's bytes (`HEAD:path`), or None if there is none."""
        result = self._run(["cat-file", "blob", spec], check=False)
        return result.stdout if result.returncode == 0 else None

    # -- plumbing --------------------------------------------------------------

    @staticmethod
    def _command() -> list[str]:
        return git_command()

    @staticmethod
    def _env() -> dict[str, str]:
        return _git_env()

    def _stream(
        self, args: list[str], chunks: Iterator[bytes], env: dict[str, str] | None = None
    ) -> None:
        """Run git with stdin fed from `chunks`, never holding them all."""
        process = subprocess.Popen(
            [*self._command(), *args],
            cwd=self.top,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**self._env(), **(env or {})},
        )
        assert process.stdin is not None
        try:
            for chunk in chunks:
                process.stdin.write(chunk)
            process.stdin.close()
        except BrokenPipeError:
            pass
        error = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        if process.wait() != 0:
            storage = storage_problem(error.splitlines())
            if storage:
                raise StorageFailed(f"{storage} while git {args[0]} wrote to {self.git_dir}")
            raise MirrorError(f"git {args[0]} failed: {(error.strip().splitlines() or ['?'])[-1]}")

    def _git(
        self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> str:
        return self._run(list(args), stdin=stdin, env=env).stdout.decode("utf-8", "replace")

    def _run(
        self,
        args: Sequence[str],
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        return run_git(self.top, self.git_dir, args, stdin, env, check)
