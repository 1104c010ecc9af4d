"""`mirror sync --branch NAME`: the round is committed on branch NAME, and the branch
checked out (the one a site deploys from) does not change at all: not its files,
not git's index, not HEAD.

Where the round runs. In the mirror's private work tree (mirror.client.worktree), a
`git worktree` detached at the commit the round starts from, holding only the
mirror's paths. The round machinery (round, tree, packer, history) runs there
unchanged and commits on that work tree's own HEAD. NAME moves only once the commit
exists, in one `git update-ref NAME new old`: a NAME that changed meanwhile is found
out, never overwritten, and the round is left unmerged (the next run starts over).

Where NAME starts (`plan`). B is the current branch's tip, N is NAME's: the local
NAME, or with --push the remote's NAME as fetched, unless the local one only adds
commits to it (a round whose push failed).
- no N: NAME is created at B;
- N contains B: NAME is taken as it is;
- B contains N (NAME was merged): NAME moves to B;
- otherwise NAME is rebased onto B: its commits since B (first parent, oldest
  first) are carried onto B one by one, each with its own message and author, its
  tree being B's with the mirror's paths taken whole from the original. Commits
  whose mirror B holds already (a squash merge put them there) are left out, and so
  are commits that change nothing in the mirror. If B's mirror.json has a higher
  round than N's (someone synced B itself meanwhile), NAME starts again from B.
Only the mirror's paths are carried, so carrying cannot conflict, and NAME always
contains B: a pull request from NAME applies cleanly. This is a rebase defined on
snapshots rather than on patches, which is what makes it conflict-free; anything
else committed on NAME by hand is not carried, and the run says so.

Why no change is skipped, lost or fetched twice. A round fetches from the sync
token in mirror.json of the commit it starts from, and that commit's mirror folder
is the tree it applies the delta to: tree and token always come as a pair from one
round, never one from NAME and one from B. A delta brings every item changed since
its token, so from any such pair the round ends equal to the space now. A squash
merge leaves no round commit on B, but its mirror.json is NAME's, token included,
so the next round continues from NAME's last token. Which pair is taken decides
only the record: the rule above takes the newest, so rounds already on NAME or on B
are not fetched again, and a round committed on NAME stays on NAME (carried when
NAME is rebased) until it is merged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mirror.client.guard import RoundGuard, mirror_key
from mirror.client.history import Author, check_remote, git_error, run_git
from mirror.client.state import MirrorState
from mirror.client.tree import MANAGED, STATE
from mirror.client.worktree import PrivateWorktree
from mirror.errors import MirrorError, MirrorStateError, UsageError

_AUTHOR = re.compile(rb"^author (?P<name>.*) <(?P<email>.*)> (?P<date>\d+ [+-]\d{4})$", re.M)


@dataclass(frozen=True)
class Start:
    """Where a round on NAME starts, and how NAME gets there from where it was."""

    how: str  # "unchanged", "created", "merged", "rebased" or "restarted"
    base: str  # the current branch's tip
    local: str | None  # the local NAME before the run
    fetched: str | None  # the remote's NAME as fetched (with --push): the push's lease
    tip: str | None  # NAME's tip the run goes on from: `local` or `fetched`
    content: str  # the commit whose mirror, sync token included, the round starts from
    carried: tuple[str, ...] = ()  # NAME's commits to carry onto `base`, oldest first


class ReviewBranch:
    """Branch `name` of the repository holding the mirror folder `directory`. Reads
    refs and objects of that repository and writes only objects, NAME, and the
    private work tree; refuses, before anything is written, what cannot work."""

    def __init__(self, directory: Path, name: str, notice: Callable[[str], None]) -> None:
        self.notice = notice
        self.top, self.prefix = _locate(directory)
        args = ["rev-parse", "--path-format=absolute", "--git-common-dir"]
        self.common_dir = Path(run_git(self.top, self.top, args).stdout.decode().strip())
        format_name = self._git("rev-parse", "--show-object-format").strip()
        self.null_id = "0" * (64 if format_name == "sha256" else 40)
        self.name = self._valid_name(name)
        self.current = self._current_branch()
        if self.name == self.current:
            raise UsageError(
                f"--branch {name}: that is the branch checked out here, which --branch "
                "leaves as it is; name another branch (for example content/sync), or "
                "sync without --branch"
            )
        self.base = self._commit_of(f"refs/heads/{self.current}")
        self._refuse_shallow_or_checked_out()
        self.worktree: PrivateWorktree | None = None
        self._listings: dict[tuple[str, str], dict[str, str]] = {}

    def check_remote(self, remote: str) -> None:
        check_remote(self._git("remote").split(), remote)

    def guard(self) -> RoundGuard:
        """The lock, journal and scratch space of branch rounds of this mirror; one for
        every work tree of the repository, since they share NAME."""
        return RoundGuard(self.common_dir, self.prefix, area="branch")

    def open_worktree(self, guard: RoundGuard) -> PrivateWorktree:
        key = mirror_key(self.prefix)
        path = guard.folder / f"mirror-{key}"
        self.worktree = PrivateWorktree(self.top, self.common_dir, self.prefix, path)
        self.worktree.ensure(self.base)
        return self.worktree

    # -- where the round starts ---------------------------------------------------------

    def plan(self, remote: str | None, fetch: bool) -> Start:
        """Where NAME's round starts; with `remote`, from the remote's NAME, fetched
        (or, without `fetch`, as last fetched). Writes nothing but FETCH_HEAD of the
        private work tree and the remote-tracking branch."""
        local = self._commit_or_none(f"refs/heads/{self.name}")
        fetched = self._remote_tip(remote, fetch) if remote else None
        tip = local
        if fetched and not (local and self._contains(local, fetched)):
            if local:
                self.notice(
                    f"the local {self.name} ({local[:10]}) is not ahead of {remote}'s "
                    f"({fetched[:10]}): going on from {remote}'s"
                )
            tip = fetched
        start = self._start(local, fetched, tip)
        self._tell(start)
        return start

    def _start(self, local: str | None, fetched: str | None, tip: str | None) -> Start:
        base = self.base
        if tip is None:
            return Start("created", base, local, fetched, tip, base)
        if self._contains(tip, base):
            return Start("unchanged", base, local, fetched, tip, tip)
        if self._contains(base, tip):
            return Start("merged", base, local, fetched, tip, base)
        if run_git(self.top, self.common_dir, ["merge-base", base, tip], check=False).returncode:
            raise MirrorStateError(
                f"{self.name} ({tip[:10]}) shares no history with {self.current}, so it cannot "
                f"be rebased onto it: delete it (git branch -D {self.name}; on the remote too) "
                "and sync again"
            )
        chain = self._lines("rev-list", "--first-parent", "--reverse", f"{base}..{tip}")
        on_base = self.mirror_entries(base)
        held = [i for i, commit in enumerate(chain) if self.mirror_entries(commit) == on_base]
        chain = chain[held[-1] + 1 :] if held else chain
        if not chain:  # squash-merged: the current branch holds NAME's mirror already
            return Start("merged", base, local, fetched, tip, base)
        if self._round_at(base) > self._round_at(tip):
            return Start("restarted", base, local, fetched, tip, base, tuple(chain))
        return Start("rebased", base, local, fetched, tip, tip, tuple(chain))

    def _tell(self, start: Start) -> None:
        name, current, at = self.name, self.current, start.base[:10]
        if start.how == "created":
            self.notice(f"{name} does not exist: it starts from {current} ({at})")
        elif start.how == "merged":
            self.notice(f"{current} holds everything of {name}: {name} moves to {current} ({at})")
        elif start.how == "rebased":
            self.notice(
                f"{name} does not contain {current}: it is rebased onto {current} ({at}), "
                f"its mirror carried over"
            )
        elif start.how == "restarted" and start.tip:
            self.notice(
                f"{current} holds a newer round ({self._round_at(start.base)}) than {name} "
                f"({self._round_at(start.tip)}): {name} starts again from {current} ({at}), "
                f"leaving out its {_commits(len(start.carried))} since"
            )

    # -- carrying NAME's commits onto the current branch ----------------------------------

    def carry(self, start: Start, author: Author) -> str:
        """The commit NAME's round starts from: NAME itself, the current branch's tip,
        or NAME rebased onto that tip (new commits, no ref moved)."""
        if start.how == "unchanged":
            return start.content
        if start.how != "rebased":
            return start.base
        commit, entries = start.base, self.mirror_entries(start.base)
        for original in start.carried:
            wanted = self.mirror_entries(original)
            if wanted == entries:
                if len(self._lines("rev-list", "--parents", "-n", "1", original)) == 2:
                    self.notice(
                        f"{self.name}'s commit {original[:10]} changes nothing in the mirror's "
                        f"folder: not carried onto {self.current} (commit such changes there)"
                    )
                continue
            tree = self.graft(start.base, wanted)  # the rest is the current branch's
            commit = self._recommit(original, tree, commit, author)
            entries = wanted
        return commit

    def mirror_entries(self, commit: str) -> dict[str, str]:
        """The mirror's paths at `commit`: name -> "mode type object"."""
        listing = self._listing(commit, self.prefix)
        return {name: meta for name, meta in listing.items() if name in MANAGED}

    def graft(self, base: str, entries: dict[str, str]) -> str:
        """The tree of commit `base` with the mirror's paths replaced by `entries`;
        trees are rebuilt only along the path to the mirror's folder."""
        listing = {n: m for n, m in self._listing(base, self.prefix).items() if n not in MANAGED}
        tree = self._mktree({**listing, **entries})
        parts = self.prefix.split("/")[:-1]
        for depth in reversed(range(len(parts))):
            listing = self._listing(base, "".join(f"{part}/" for part in parts[:depth]))
            listing.pop(parts[depth], None)
            if tree:  # an empty folder is no entry at all
                listing[parts[depth]] = f"040000 tree {tree}"
            tree = self._mktree(listing)
        return tree or self._git("mktree", stdin=b"").strip()

    def _recommit(self, original: str, tree: str, parent: str, committer: Author) -> str:
        """A copy of commit `original` with `tree` on `parent`: same message and
        author, committed by `committer` now."""
        raw = run_git(self.top, self.common_dir, ["cat-file", "commit", original]).stdout
        headers, _, message = raw.partition(b"\n\n")
        found = _AUTHOR.search(headers)
        identity = {"GIT_COMMITTER_NAME": committer.name, "GIT_COMMITTER_EMAIL": committer.email}
        if found:
            identity |= {
                "GIT_AUTHOR_NAME": found["name"].decode("utf-8", "replace"),
                "GIT_AUTHOR_EMAIL": found["email"].decode("utf-8", "replace"),
                "GIT_AUTHOR_DATE": found["date"].decode(),
            }
        else:
            identity |= {"GIT_AUTHOR_NAME": committer.name, "GIT_AUTHOR_EMAIL": committer.email}
        return self._git("commit-tree", tree, "-p", parent, stdin=message, env=identity).strip()

    # -- NAME after the round -------------------------------------------------------------

    def move(self, tip: str, start: Start) -> None:
        """Point NAME at `tip`, if NAME is still where the run found it."""
        if tip == start.local:
            return
        moved = run_git(
            self.top,
            self.common_dir,
            [
                "update-ref",
                "-m",
                "mirror: sync round",
                f"refs/heads/{self.name}",
                tip,
                start.local or self.null_id,
            ],
            check=False,
        )
        if moved.returncode != 0:
            raise MirrorStateError(
                f"{self.name} changed while the round ran ({git_error(moved)}); it was left "
                f"as it is and the round ({tip[:10]}) was not put on it: run mirror sync again"
            )

    def push(self, remote: str, tip: str, start: Start) -> bool:
        """Push NAME to `remote`, replacing the remote's NAME only if it is still as
        fetched (--force-with-lease: a rebased NAME does not descend from it). False
        when NAME holds nothing the current branch lacks and the remote has no NAME
        (merged and deleted): a branch with nothing to review is not made there."""
        if tip == start.fetched:
            return True
        if start.fetched is None and tip == start.base:
            self.notice(
                f"{self.name} holds nothing that {self.current} does not: not pushed "
                f"to {remote}, which has no {self.name}"
            )
            return False
        branch = f"refs/heads/{self.name}"
        lease = f"--force-with-lease={branch}:{start.fetched or ''}"
        args = ["push", "--porcelain", lease, remote, f"{branch}:{branch}"]
        pushed = run_git(self.top, self.common_dir, args, check=False)
        if pushed.returncode == 0:
            return True
        # the lease lost: seen in the remote's advertisement (stale info), or by the
        # remote itself when the ref moved between that and the update (but expected)
        if b"stale info" in pushed.stdout or b"but expected" in pushed.stderr:
            raise MirrorError(
                f"git push of {self.name} to {remote} was refused: {remote}'s {self.name} "
                "changed since it was fetched (someone pushed to it); the round is on the "
                f"local {self.name}: run mirror sync --branch {self.name} --push again, "
                f"which goes on from {remote}'s"
            )
        raise MirrorError(
            f"git push of {self.name} to {remote} failed ({git_error(pushed)}); the round "
            f"is on the local {self.name}: the next mirror sync --branch {self.name} --push "
            "pushes it"
        )

    # -- reading the repository -----------------------------------------------------------

    def state_at(self, commit: str) -> MirrorState | None:
        """The mirror's state file at `commit`, or None when there is no mirror there."""
        path = f"{commit}:{self.prefix}{STATE}"
        found = run_git(self.top, self.common_dir, ["cat-file", "blob", path], check=False)
        if found.returncode != 0:
            return None
        return MirrorState.from_bytes(found.stdout, f"{commit[:10]}:{self.prefix}{STATE}")

    def _round_at(self, commit: str) -> int:
        state = self.state_at(commit)
        return state.round if state else -1

    def _remote_tip(self, remote: str, fetch: bool) -> str | None:
        if fetch:
            assert self.worktree is not None, "open_worktree() first"
            return self.worktree.fetch(remote, self.name)
        return self._commit_or_none(f"refs/remotes/{remote}/{self.name}")

    def _listing(self, commit: str, folder: str) -> dict[str, str]:
        """The entries of `folder` ("" or "a/b/") at `commit`: name -> "mode type object"."""
        if (commit, folder) not in self._listings:
            out = self._git("ls-tree", "-z", commit, *(["--", folder] if folder else []))
            listing = {}
            for record in filter(None, out.split("\0")):
                meta, path = record.split("\t", 1)
                listing[path[len(folder) :]] = meta
            self._listings[commit, folder] = listing
        return dict(self._listings[commit, folder])

    def _mktree(self, listing: dict[str, str]) -> str | None:
        if not listing:
            return None
        records = "".join(f"{meta}\t{name}\0" for name, meta in sorted(listing.items()))
        return self._git("mktree", "-z", stdin=records.encode()).strip()

    def _contains(self, descendant: str, ancestor: str) -> bool:
        args = ["merge-base", "--is-ancestor", ancestor, descendant]
        found = run_git(self.top, self.common_dir, args, check=False)
        if found.returncode > 1:
            raise MirrorError(f"git merge-base failed: {git_error(found)}")
        return found.returncode == 0

    def _commit_or_none(self, ref: str) -> str | None:
        args = ["rev-parse", "-q", "--verify", f"{ref}^{{commit}}"]
        found = run_git(self.top, self.common_dir, args, check=False)
        return found.stdout.decode().strip() or None

    def _commit_of(self, ref: str) -> str:
        commit = self._commit_or_none(ref)
        if commit is None:
            raise MirrorStateError(
                f"{self.current} has no commit yet, and --branch starts {self.name} from it: "
                "commit something first, or sync without --branch"
            )
        return commit

    def _valid_name(self, name: str) -> str:
        args = ["check-ref-format", "--branch", name]
        checked = run_git(self.top, self.common_dir, args, check=False)
        if checked.returncode != 0 or checked.stdout.decode().strip() != name:
            raise UsageError(
                f"--branch {name!r} is not a valid branch name (see git check-ref-format)"
            )
        return name

    def _current_branch(self) -> str:
        found = run_git(self.top, self.common_dir, ["symbolic-ref", "-q", "HEAD"], check=False)
        ref = found.stdout.decode().strip()
        if found.returncode != 0 or not ref.startswith("refs/heads/"):
            raise MirrorStateError(
                "HEAD is detached (a CI checkout of a commit, not of a branch), and --branch "
                "keeps NAME rebased on the branch checked out: check out the branch first "
                "(git checkout -B main origin/main; in GitHub Actions, actions/checkout with "
                "ref: the branch name)"
            )
        return ref.removeprefix("refs/heads/")

    def _refuse_shallow_or_checked_out(self) -> None:
        if self._git("rev-parse", "--is-shallow-repository").strip() == "true":
            raise MirrorStateError(
                "the repository is a shallow clone, and --branch needs the history of "
                f"{self.current} and {self.name}: fetch it whole (git fetch --unshallow; "
                "in GitHub Actions, actions/checkout with fetch-depth: 0)"
            )
        listing = self._git("worktree", "list", "--porcelain")
        for block in listing.split("\n\n"):
            lines = block.splitlines()
            if f"branch refs/heads/{self.name}" in lines:
                where = lines[0].removeprefix("worktree ")
                raise MirrorStateError(
                    f"{self.name} is checked out in {where}, and each round moves it, which "
                    "would leave that work tree behind: check out another branch there"
                )

    def _lines(self, *args: str) -> list[str]:
        return self._git(*args).split()

    def _git(
        self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> str:
        out = run_git(self.top, self.common_dir, list(args), stdin=stdin, env=env).stdout
        return out.decode("utf-8", "surrogateescape")


def _commits(count: int) -> str:
    return f"{count} commit{'' if count == 1 else 's'}"


def _locate(directory: Path) -> tuple[Path, str]:
    """The work tree holding `directory` (which may not exist yet) and the mirror's
    prefix in it, without creating anything."""
    existing = directory.absolute()
    while not existing.exists():
        existing = existing.parent
    folder = existing if existing.is_dir() else existing.parent
    found = run_git(folder, folder, ["rev-parse", "--show-toplevel"], check=False)
    if found.returncode != 0 or not found.stdout.strip():
        raise UsageError(
            f"--branch: {directory} is not inside a Git repository with a work tree; "
            "--branch commits the round on a branch of the repository the mirror is in"
        )
    top = Path(found.stdout.decode().strip()).resolve()
    try:
        relative = directory.resolve().relative_to(top).as_posix()
    except ValueError:
        raise UsageError(f"--branch: {directory} is not inside the work tree {top}") from None
    return top, "" if relative == "." else relative + "/"
