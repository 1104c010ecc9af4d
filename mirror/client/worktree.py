"""The private work tree where the rounds of `mirror sync --branch` run.

It is a `git worktree` of the repository at `.git/mirror/<key>/branch/mirror-<key>`,
always on a detached HEAD (so it never holds a branch: NAME can be moved, deleted or
force-pushed by anyone), and it holds only the mirror's paths, never the rest of the
repository: it is created with `--no-checkout` and filled by `History.restore`, which
works on the mirror's paths alone. It is kept from run to run, so a round writes only
the files that changed since the last one. Whatever a killed run left in it goes at
the next start (files by `History.restore`); a work tree that git no longer knows,
that a killed git left locked, or that cannot be brought to the start commit is made
again from scratch. `git worktree list` shows it; `git worktree remove --force` on it
is harmless (the next run makes it again).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from mirror.client.history import History, git_error, run_git
from mirror.errors import MirrorError


class PrivateWorktree:
    """The private work tree at `path` of the repository at `common_dir`, whose
    (main) work tree is `top`; the mirror is the folder `prefix` of it."""

    def __init__(self, top: Path, common_dir: Path, prefix: str, path: Path) -> None:
        self.top = top
        self.common_dir = common_dir
        self.prefix = prefix
        self.path = path

    @property
    def mirror(self) -> Path:
        """The mirror's folder in the private work tree."""
        return self.path / self.prefix if self.prefix else self.path

    def ensure(self, commit: str) -> None:
        """Make sure the work tree exists and git knows it (made anew, at `commit`,
        when it does not)."""
        if not self._usable():
            self._make(commit)

    def check_out(self, commit: str) -> Path:
        """Detach HEAD at `commit` and put the mirror's paths exactly as committed
        there (anything a killed run left goes); returns the mirror's folder."""
        try:
            self._move(commit)
        except MirrorError:  # tampered with beyond what restore mends
            self._make(commit)
            self._move(commit)
        return self.mirror

    def fetch(self, remote: str, branch: str) -> str | None:
        """The commit `branch` is at on `remote`, fetched; None when it has no such
        branch. Fetched from here, so that the user's FETCH_HEAD stays theirs."""
        fetched = self._run(["fetch", "-q", "--no-tags", remote, f"refs/heads/{branch}"])
        if fetched.returncode != 0:
            if b"couldn't find remote ref" in fetched.stderr:
                return None
            raise MirrorError(
                f"git fetch of {branch} from {remote} failed ({git_error(fetched)}); "
                "nothing was synced"
            )
        return self._run(["rev-parse", "FETCH_HEAD"]).stdout.decode().strip()

    def _move(self, commit: str) -> None:
        run_git(
            self.path,
            self.common_dir,
            ["update-ref", "--no-deref", "-m", "mirror: branch round starts", "HEAD", commit],
        )
        History(self.mirror).restore()

    def _usable(self) -> bool:
        """Whether git knows the work tree as this one, with no index lock left in it
        (the caller holds the branch rounds' lock: only a git killed with an earlier
        run can have left one)."""
        if not (self.path / ".git").is_file():
            return False
        found = self._run(
            [
                "rev-parse",
                "--path-format=absolute",
                "--git-common-dir",
                "--show-toplevel",
                "--absolute-git-dir",
            ]
        )
        lines = found.stdout.decode().splitlines()
        return (
            found.returncode == 0
            and len(lines) == 3
            and Path(lines[0]).resolve() == self.common_dir.resolve()
            and Path(lines[1]).resolve() == self.path.resolve()
            and not (Path(lines[2]) / "index.lock").exists()
        )

    def _make(self, commit: str) -> None:
        """(Re)create the work tree at `commit`, with nothing checked out yet."""
        where = str(self.path)
        run_git(self.top, self.common_dir, ["worktree", "remove", "-f", "-f", where], check=False)
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        run_git(
            self.top,
            self.common_dir,
            ["worktree", "add", "--force", "--detach", "--no-checkout", where, commit],
        )

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[bytes]:
        return run_git(self.path, self.common_dir, args, check=False)
