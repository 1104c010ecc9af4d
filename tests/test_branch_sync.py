"""mirror sync --branch NAME: the round lands on NAME, the branch checked out does not
change at all, and whatever happens to NAME (merged, squashed, deleted, reset,
force-pushed, left behind by a new commit on main) no change is lost, skipped or
fetched twice: NAME's mirror always ends equal to a fresh full sync of the space."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mirror.client.tree import MANAGED
from mirror.emulator import Emulator
from mirror.emulator.faults import FaultInjector, FaultPlan
from tests.conftest import files_of, git, mirror, sync_args, sync_json

BRANCH = "content/sync"
SITE_PAGE = "<h1>Travel guide</h1>\n"


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=Site", "-c", "user.email=site@example.com", "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()


def make_site(path: Path) -> Path:
    """A site's repository on main: one page, one commit."""
    path.mkdir()
    git(path, "init", "-q", "--initial-branch=main")
    (path / "index.html").write_text(SITE_PAGE)
    commit_all(path, "the site")
    return path


@pytest.fixture
def site(tmp_path: Path, round0: Emulator) -> Path:
    """The site with a mirror of the sample space at round 0 in content/, on main."""
    repo = make_site(tmp_path / "site")
    sync_json(round0, repo / "content")
    return repo


def on_branch(emulator: Emulator, folder: Path, *extra: str) -> Any:
    return mirror(*sync_args(emulator, folder, "--branch", BRANCH, *extra))


def on_branch_json(emulator: Emulator, folder: Path, *extra: str) -> dict[str, Any]:
    result = on_branch(emulator, folder, "--json", *extra)
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def checkout_state(repo: Path) -> dict[str, Any]:
    """Everything of the checked-out branch a person sees: HEAD, git's index (its bytes),
    the work tree's files and what git status says of them."""
    index = repo / ".git" / "index"
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "branch": git(repo, "symbolic-ref", "HEAD"),
        "index": hashlib.sha256(index.read_bytes()).hexdigest() if index.exists() else None,
        "files": files_of(repo),
        "status": git(
            repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"
        ),
    }


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


def mirror_at(repo: Path, rev: str, folder: str = "content") -> dict[str, Any]:
    """The mirror's files at `rev` (the mirror's own paths only), mirror.json without
    its round (which counts this mirror's rounds, where a fresh sync has one)."""
    tree = f"{rev}:{folder}" if folder else rev
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", tree],
        capture_output=True,
        check=True,
    ).stdout
    files: dict[str, Any] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            if handle and member.name.split("/")[0] in MANAGED:
                files[member.name] = handle.read()
    return _comparable(files)


def fresh_sync(emulator: Emulator, where: Path) -> dict[str, Any]:
    """A full sync of the space as it is now, into a new folder."""
    sync_json(emulator, where)
    return _comparable(files_of(where))


def _comparable(files: dict[str, Any]) -> dict[str, Any]:
    state = json.loads(files.pop("mirror.json"))
    state.pop("round")
    return {**files, "mirror.json": state}


def subjects(repo: Path, revisions: str) -> list[str]:
    return git(repo, "log", "--format=%s", revisions).splitlines()


def round_subject(emulator: Emulator, reference: Path) -> str:
    """What one round brings now, as a plain mirror following the space commits it."""
    sync_json(emulator, reference)
    return git(reference, "log", "-1", "--format=%s").strip()


def test_a_round_lands_on_the_branch_and_the_checked_out_branch_does_not_change(
    site: Path, round0: Emulator, tmp_path: Path
) -> None:
    (site / "index.html").write_text("<h1>Edited, not committed</h1>\n")
    (site / "draft.md").write_text("staged\n")
    git(site, "add", "draft.md")
    edited = site / "content" / "entries" / "city" / "kyoto.json"
    edited.write_text(edited.read_text().replace("Kyoto", "Kyōto"))
    before, main = checkout_state(site), git(site, "rev-parse", "main").strip()
    round0.store.apply_round(1)

    report = on_branch_json(round0, site / "content")

    assert checkout_state(site) == before
    assert report["status"] == "synced" and report["branch"] == BRANCH
    assert report["commit"] == git(site, "rev-parse", BRANCH).strip()
    assert git(site, "rev-parse", f"{BRANCH}^").strip() == main
    changed = git(site, "diff", "--name-only", main, BRANCH).split()
    assert changed and all(path.startswith("content/") for path in changed)
    assert mirror_at(site, BRANCH) == fresh_sync(round0, tmp_path / "fresh")
    again = on_branch(round0, site / "content")
    assert again.exit_code == 0, again.stderr
    assert again.stdout == (
        f"wayfarer/master is up to date on {BRANCH} (round 2, 0 items checked, "
        f"{BRANCH} at {report['commit'][:10]})\n"
    )
    assert checkout_state(site) == before


def test_the_first_round_of_a_mirror_can_land_on_a_branch(tmp_path: Path, round0: Emulator) -> None:
    site = make_site(tmp_path / "site")
    before, refs_before = checkout_state(site), refs(site)

    result = on_branch(round0, site / "content")

    assert result.exit_code == 0, result.stderr
    assert f"{BRANCH} does not exist: it starts from main" in result.stderr
    assert result.stdout.startswith(f"synced wayfarer/master round 1 on {BRANCH}: +60 ~0 -0")
    assert checkout_state(site) == before and not (site / "content").exists()
    assert git(site, "rev-parse", f"{BRANCH}^").strip() == git(site, "rev-parse", "main").strip()
    added = f"refs/heads/{BRANCH} " + git(site, "rev-parse", BRANCH).strip()
    assert set(refs(site).splitlines()) == {*refs_before.splitlines(), added}
    assert mirror_at(site, BRANCH) == fresh_sync(round0, tmp_path / "fresh")


def _merge(site: Path, how: str) -> None:
    if how == "merge":
        git(site, "-c", "user.name=R", "-c", "user.email=r@r", "merge", "-q", "--no-ff", BRANCH)
    else:
        git(site, "merge", "-q", "--squash", BRANCH)
        commit_all(site, "Content changes from Contentful (#12)")


@pytest.mark.parametrize(
    ("how", "then"),
    [("merge", "delete"), ("squash", "delete"), ("merge", "keep"), ("squash", "keep")],
)
def test_a_merged_branch_goes_on_with_no_change_lost_or_fetched_twice(
    site: Path, round0: Emulator, tmp_path: Path, how: str, then: str
) -> None:
    reference = tmp_path / "reference"
    sync_json(round0, reference)
    round0.store.apply_round(1)
    round_subject(round0, reference)
    on_branch_json(round0, site / "content")
    _merge(site, how)
    if then == "delete":
        git(site, "branch", "-q", "-D", BRANCH)
    round0.store.apply_round(2)
    expected = round_subject(round0, reference)
    before = checkout_state(site)

    report = on_branch_json(round0, site / "content")

    assert report["status"] == "synced"
    assert subjects(site, f"main..{BRANCH}") == [expected]  # round 2 alone, nothing again
    assert git(site, "rev-parse", f"{BRANCH}^").strip() == git(site, "rev-parse", "main").strip()
    assert mirror_at(site, BRANCH) == fresh_sync(round0, tmp_path / "fresh")
    assert checkout_state(site) == before
    assert on_branch_json(round0, site / "content")["status"] == "up-to-date"
    assert subjects(site, f"main..{BRANCH}") == [expected]


@pytest.mark.parametrize("folder", ["", "content", "data/cms"])
def test_a_new_commit_on_main_rebases_the_branch_onto_it(
    tmp_path: Path, round0: Emulator, folder: str
) -> None:
    site = make_site(tmp_path / "site")
    mirror_dir = site / folder if folder else site
    sync_json(round0, mirror_dir)
    reference = tmp_path / "reference"
    sync_json(round0, reference)
    round0.store.apply_round(1)
    first = round_subject(round0, reference)
    on_branch_json(round0, mirror_dir, "--author", "Sync Bot <bot@example.com>")
    token = git(site, "log", "-1", "--format=%(trailers:key=Sync-Token,valueonly)", BRANCH)
    (site / "about.html").write_text("<p>About us</p>\n")
    main = commit_all(site, "an about page")
    round0.store.apply_round(2)
    second = round_subject(round0, reference)

    result = on_branch(round0, mirror_dir, "--json")

    assert result.exit_code == 0, result.stderr
    assert f"{BRANCH} does not contain main: it is rebased onto main" in result.stderr
    assert git(site, "merge-base", "main", BRANCH).strip() == main  # a pull request applies
    assert subjects(site, f"main..{BRANCH}") == [second, first]
    carried = git(site, "log", "-1", "--format=%an <%ae>|%(trailers)", f"{BRANCH}^")
    assert carried.startswith("Sync Bot <bot@example.com>|Sync-Token: ")
    assert git(site, "log", "-1", "--format=%(trailers:key=Sync-Token,valueonly)", f"{BRANCH}^")
    assert token == git(
        site, "log", "-1", "--format=%(trailers:key=Sync-Token,valueonly)", f"{BRANCH}^"
    )
    assert git(site, "show", f"{BRANCH}:about.html") == "<p>About us</p>\n"
    changed = git(site, "diff", "--name-only", "main", BRANCH).split()
    assert changed and all(path.startswith(f"{folder}/" if folder else "") for path in changed)
    assert "about.html" not in changed and "index.html" not in changed
    assert mirror_at(site, BRANCH, folder) == fresh_sync(round0, tmp_path / "fresh")


def test_a_rebase_without_new_content_still_moves_the_branch(site: Path, round0: Emulator) -> None:
    round0.store.apply_round(1)
    on_branch_json(round0, site / "content")
    (site / "about.html").write_text("<p>About us</p>\n")
    main = commit_all(site, "an about page")

    report = on_branch_json(round0, site / "content")

    assert report["status"] == "up-to-date"
    assert report["commit"] == git(site, "rev-parse", BRANCH).strip()
    assert git(site, "rev-parse", f"{BRANCH}^").strip() == main


@pytest.mark.parametrize("damage", ["removed", "index-locked", "files-left-behind"])
def test_the_private_work_tree_is_made_again_or_mended_when_damaged(
    site: Path, round0: Emulator, tmp_path: Path, damage: str
) -> None:
    round0.store.apply_round(1)
    on_branch_json(round0, site / "content")
    (private,) = (site / ".git" / "mirror").glob("*/branch/mirror-*")
    (admin,) = (site / ".git" / "worktrees").glob("mirror-*")
    if damage == "removed":
        shutil.rmtree(private)
    elif damage == "index-locked":
        (admin / "index.lock").write_text("")  # a git killed with the run left it
    else:
        (private / "content" / "entries" / "city" / "kyoto.json").write_text("{}\n")
        (private / "content" / "entries" / "city" / "atlantis.json").write_text("{}\n")
    round0.store.apply_round(2)

    report = on_branch_json(round0, site / "content")

    assert report["status"] == "synced"
    assert mirror_at(site, BRANCH) == fresh_sync(round0, tmp_path / "fresh")
    assert len(git(site, "worktree", "list", "--porcelain").strip().split("\n\n")) == 2
    assert git(site, "--no-optional-locks", "status", "--porcelain") == ""


def test_a_branch_reset_to_an_older_round_fetches_again_what_came_since(
    site: Path, round0: Emulator, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    sync_json(round0, reference)
    for number in (1, 2):
        round0.store.apply_round(number)
        round_subject(round0, reference)
        on_branch_json(round0, site / "content")
    first, second = subjects(site, f"main..{BRANCH}")[1], subjects(site, f"main..{BRANCH}")[0]
    git(site, "branch", "-q", "-f", BRANCH, f"{BRANCH}~1")

    report = on_branch_json(round0, site / "content")

    assert report["status"] == "synced"
    assert subjects(site, f"main..{BRANCH}") == [second, first]  # round 2 came again, whole
    assert mirror_at(site, BRANCH) == fresh_sync(round0, tmp_path / "fresh")


def test_a_commit_by_hand_outside_the_mirror_is_not_carried_and_said(
    site: Path, round0: Emulator, tmp_path: Path
) -> None:
    round0.store.apply_round(1)
    on_branch_json(round0, site / "content")
    git(site, "checkout", "-q", BRANCH)
    (site / "index.html").write_text("<h1>Edited on the content branch</h1>\n")
    by_hand = commit_all(site, "a page edit on the content branch")
    git(site, "checkout", "-q", "main")
    (site / "about.html").write_text("<p>About us</p>\n")
    commit_all(site, "an about page")

    result = on_branch(round0, site / "content")

    assert result.exit_code == 0, result.stderr
    assert f"{BRANCH}'s commit {by_hand[:10]} changes nothing in the mirror" in result.stderr
    assert git(site, "show", f"{BRANCH}:index.html") == SITE_PAGE
    assert mirror_at(site, BRANCH) == fresh_sync(round0, tmp_path / "fresh")


def test_main_synced_itself_to_a_newer_round_restarts_the_branch_from_main(
    site: Path, round0: Emulator, tmp_path: Path
) -> None:
    round0.store.apply_round(1)
    on_branch_json(round0, site / "content")  # the branch: round 2
    for number in (2, 3):
        round0.store.apply_round(number)
        sync_json(round0, site / "content")  # main itself: rounds 2 and 3

    result = on_branch(round0, site / "content", "--json")

    assert result.exit_code == 0, result.stderr
    assert "main holds a newer round (3) than content/sync (2)" in result.stderr
    assert json.loads(result.stdout)["status"] == "up-to-date"
    assert git(site, "rev-parse", BRANCH) == git(site, "rev-parse", "main")
    assert mirror_at(site, BRANCH) == fresh_sync(round0, tmp_path / "fresh")


@pytest.mark.parametrize(
    ("name", "code", "said"),
    [
        ("main", 2, "--branch main: that is the branch checked out here"),
        ("content..sync", 2, "'content..sync' is not a valid branch name"),
        ("-x", 2, "'-x' is not a valid branch name"),
    ],
)
def test_a_branch_that_cannot_be_is_refused_and_nothing_is_written(
    site: Path, round0: Emulator, name: str, code: int, said: str
) -> None:
    before, refs_before = checkout_state(site), refs(site)
    round0.store.apply_round(1)
    result = mirror(*sync_args(round0, site / "content", f"--branch={name}", "--json"))
    assert result.exit_code == code, result.stderr
    assert said in result.stderr and len(result.stderr.splitlines()) == 1
    assert json.loads(result.stdout)["exit_code"] == code
    assert checkout_state(site) == before and refs(site) == refs_before
    assert not list((site / ".git" / "mirror").glob("*/branch"))


def test_a_detached_head_or_a_branch_checked_out_elsewhere_is_refused(
    site: Path, round0: Emulator, tmp_path: Path
) -> None:
    round0.store.apply_round(1)
    git(site, "checkout", "-q", "--detach")
    detached = on_branch(round0, site / "content")
    assert detached.exit_code == 6 and "HEAD is detached" in detached.stderr
    git(site, "checkout", "-q", "main")
    git(site, "worktree", "add", "-q", "-b", BRANCH, str(tmp_path / "review"))
    elsewhere = on_branch(round0, site / "content")
    assert elsewhere.exit_code == 6
    assert f"{BRANCH} is checked out in {tmp_path / 'review'}" in elsewhere.stderr
    assert git(site, "rev-parse", BRANCH) == git(site, "rev-parse", "main")


def test_a_shallow_clone_is_refused(site: Path, round0: Emulator, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{site}", str(clone))
    result = on_branch(round0, clone / "content")
    assert result.exit_code == 6 and "shallow clone" in result.stderr
    assert "fetch-depth: 0" in result.stderr


def test_a_branch_with_no_history_in_common_or_a_folder_outside_git_is_refused(
    site: Path, round0: Emulator, tmp_path: Path
) -> None:
    git(site, "checkout", "-q", "--orphan", BRANCH)
    commit_all(site, "another history")
    git(site, "checkout", "-q", "main")
    orphan = on_branch(round0, site / "content")
    assert orphan.exit_code == 6 and "shares no history with main" in orphan.stderr
    outside = on_branch(round0, tmp_path / "not-a-repository" / "content")
    assert outside.exit_code == 2 and "is not inside a Git repository" in outside.stderr
    assert not (tmp_path / "not-a-repository").exists()


@pytest.mark.parametrize("existing", [False, True])
def test_a_dry_run_on_a_branch_changes_nothing(
    site: Path, round0: Emulator, existing: bool
) -> None:
    round0.store.apply_round(1)
    if existing:
        on_branch_json(round0, site / "content")
        round0.store.apply_round(2)
    before, refs_before = checkout_state(site), refs(site)

    result = on_branch(round0, site / "content", "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"dry run: wayfarer/master on {BRANCH}: round ")
    assert "would change +" in result.stdout
    assert checkout_state(site) == before and refs(site) == refs_before


# -- --push -------------------------------------------------------------------------------


def _with_remote(site: Path, tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(remote))
    git(site, "remote", "add", "origin", str(remote))
    git(site, "push", "-q", "origin", "main")
    return remote


def test_push_sends_the_branch_and_a_rebased_branch_with_a_lease(
    site: Path, round0: Emulator, tmp_path: Path
) -> None:
    remote = _with_remote(site, tmp_path)
    round0.store.apply_round(1)
    first = on_branch_json(round0, site / "content", "--push")
    assert first["pushed"] is True
    assert git(remote, "rev-parse", BRANCH).strip() == first["commit"]
    assert git(remote, "rev-parse", "main") == git(site, "rev-parse", "main")
    (site / "about.html").write_text("<p>About us</p>\n")
    commit_all(site, "an about page")
    git(site, "push", "-q", "origin", "main")
    round0.store.apply_round(2)

    second = on_branch_json(round0, site / "content", "--push")

    assert git(remote, "rev-parse", BRANCH).strip() == second["commit"]
    ancestor = ["git", "-C", str(remote), "merge-base", "--is-ancestor", first["commit"], BRANCH]
    assert subprocess.run(ancestor, check=False).returncode == 1  # replaced, not fast-forwarded
    assert git(remote, "merge-base", "main", BRANCH) == git(remote, "rev-parse", "main")
    assert git(site, "rev-parse", f"origin/{BRANCH}").strip() == second["commit"]


def test_a_merged_and_deleted_branch_is_pushed_again_only_with_something_to_review(
    site: Path, round0: Emulator, tmp_path: Path
) -> None:
    remote = _with_remote(site, tmp_path)
    round0.store.apply_round(1)
    on_branch_json(round0, site / "content", "--push")
    _merge(site, "squash")
    git(site, "push", "-q", "origin", "main", f":refs/heads/{BRANCH}")  # merged, deleted
    git(site, "branch", "-q", "-D", BRANCH)

    idle = on_branch(round0, site / "content", "--push", "--json")

    assert idle.exit_code == 0, idle.stderr
    assert json.loads(idle.stdout)["pushed"] is False
    assert f"{BRANCH} holds nothing that main does not: not pushed" in idle.stderr
    assert git(remote, "branch", "--list", BRANCH) == ""
    round0.store.apply_round(2)
    report = on_branch_json(round0, site / "content", "--push")
    assert report["pushed"] is True and report["status"] == "synced"
    assert git(remote, "rev-parse", f"{BRANCH}^") == git(remote, "rev-parse", "main")


def test_a_fresh_clone_goes_on_from_the_remotes_branch_even_when_it_was_reset(
    site: Path, round0: Emulator, tmp_path: Path
) -> None:
    """A CI checkout: only main is a local branch; NAME is the remote's."""
    remote = _with_remote(site, tmp_path)
    reference = tmp_path / "reference"
    sync_json(round0, reference)
    for number in (1, 2):
        round0.store.apply_round(number)
        round_subject(round0, reference)
        on_branch_json(round0, site / "content", "--push")
    first, second = subjects(remote, f"main..{BRANCH}")[::-1]
    git(site, "push", "-q", "--force", "origin", f"{BRANCH}~1:refs/heads/{BRANCH}")
    clone = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--no-single-branch", str(remote), str(clone))
    round0.store.apply_round(3)
    third = round_subject(round0, reference)

    report = on_branch_json(round0, clone / "content", "--push")

    assert report["pushed"] is True and report["status"] == "synced"
    log = subjects(remote, f"main..{BRANCH}")
    assert log[1:] == [first] and log[0] not in (second, third)  # rounds 2 and 3 in one
    assert mirror_at(remote, BRANCH) == fresh_sync(round0, tmp_path / "fresh")
    assert on_branch_json(round0, clone / "content", "--push")["status"] == "up-to-date"
    assert subjects(remote, f"main..{BRANCH}") == log


def _push_theirs_during_the_round(emulator: Emulator, other: Path) -> threading.Thread:
    """Someone pushes to the branch once the round asks for its first sync page (after
    mirror fetched the branch); the emulator answers slowly meanwhile."""
    emulator.faults = FaultInjector(FaultPlan(latency_ms=400))
    seen = emulator.request_counts["sync"]

    def push() -> None:
        deadline = time.monotonic() + 20
        while emulator.request_counts["sync"] == seen and time.monotonic() < deadline:
            time.sleep(0.005)
        git(other, "push", "-q", "origin", f"HEAD:refs/heads/{BRANCH}")

    thread = threading.Thread(target=push)
    thread.start()
    return thread


def _push_theirs_just_before_ours(site: Path, other: Path) -> None:
    """Someone pushes to the branch between the remote's answer to our push and our
    update (a pre-push hook runs there)."""
    hook = site / ".git" / "hooks" / "pre-push"
    hook.write_text(
        "#!/bin/sh\nunset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n"
        f"git -C '{other}' push -q origin HEAD:refs/heads/{BRANCH}\n"
    )
    hook.chmod(0o755)


@pytest.mark.parametrize("when", ["during-the-round", "just-before-the-push"])
def test_a_push_that_loses_a_race_is_refused_by_the_lease(
    site: Path, round0: Emulator, tmp_path: Path, when: str
) -> None:
    remote = _with_remote(site, tmp_path)
    round0.store.apply_round(1)
    on_branch_json(round0, site / "content", "--push")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", BRANCH, str(remote), str(other))
    (other / "content" / "NOTES.md").write_text("a reviewer's note\n")
    theirs = commit_all(other, "a note for the reviewers")
    round0.store.apply_round(2)
    if when == "during-the-round":
        racing = _push_theirs_during_the_round(round0, other)
    else:
        _push_theirs_just_before_ours(site, other)

    lost = on_branch(round0, site / "content", "--push")

    if when == "during-the-round":
        racing.join()
        round0.faults = FaultInjector(FaultPlan())
    else:
        (site / ".git" / "hooks" / "pre-push").unlink()
    assert lost.exit_code == 1
    assert f"origin's {BRANCH} changed since it was fetched" in lost.stderr
    assert git(remote, "rev-parse", BRANCH).strip() == theirs
    assert git(site, "rev-parse", f"{BRANCH}^").strip() != theirs  # kept on the local branch

    again = on_branch(round0, site / "content", "--push")

    assert again.exit_code == 0, again.stderr
    assert f"the local {BRANCH}" in again.stderr and "going on from origin's" in again.stderr
    assert git(remote, "rev-parse", f"{BRANCH}^").strip() == theirs
    assert git(remote, "show", f"{BRANCH}:content/NOTES.md") == "a reviewer's note\n"
    assert mirror_at(remote, BRANCH) == fresh_sync(round0, tmp_path / "fresh")


# -- killed runs ----------------------------------------------------------------------------


def _spawn(emulator: Emulator, folder: Path, kill_at: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTENTFUL_")}
    if kill_at:
        env["MIRROR_TEST_KILL_AT"] = kill_at
    args = sync_args(emulator, folder, "--branch", BRANCH, "--push")
    return subprocess.Popen(
        [sys.executable, "-m", "mirror", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _rebase_pending(site: Path, emulator: Emulator, tmp_path: Path) -> tuple[Path, list[str]]:
    """A pushed branch one round ahead of main, main one commit ahead of the branch, and
    round 2 waiting at the source: the next run rebases and syncs. Returns the remote
    and the subjects the branch should end with."""
    remote = _with_remote(site, tmp_path)
    reference = tmp_path / "reference"
    sync_json(emulator, reference)
    emulator.store.apply_round(1)
    first = round_subject(emulator, reference)
    on_branch_json(emulator, site / "content", "--push")
    (site / "about.html").write_text("<p>About us</p>\n")
    commit_all(site, "an about page")
    git(site, "push", "-q", "origin", "main")
    emulator.store.apply_round(2)
    return remote, [round_subject(emulator, reference), first]


@pytest.mark.slow
@pytest.mark.parametrize(
    "point", ["page-1", "before-commit", "after-update-ref", "after-commit", "after-branch-ref"]
)
def test_a_killed_branch_round_leaves_both_branches_and_the_next_run_recovers(
    site: Path, round0: Emulator, tmp_path: Path, point: str
) -> None:
    remote, expected = _rebase_pending(site, round0, tmp_path)
    before, branch_before = checkout_state(site), git(site, "rev-parse", BRANCH)
    remote_before = git(remote, "rev-parse", BRANCH)

    killed = _spawn(round0, site / "content", kill_at=point)

    assert killed.wait(timeout=60) == -signal.SIGKILL
    assert checkout_state(site) == before
    assert git(remote, "rev-parse", BRANCH) == remote_before
    if point == "after-branch-ref":
        assert git(site, "rev-parse", f"{BRANCH}~2") == git(site, "rev-parse", "main")
    else:
        assert git(site, "rev-parse", BRANCH) == branch_before
    again = _spawn(round0, site / "content", kill_at=None)
    _, stderr = again.communicate(timeout=60)
    assert again.returncode == 0, stderr
    if point in ("page-1", "before-commit", "after-update-ref"):
        assert "recovered from an interrupted sync" in stderr
    assert subjects(remote, f"main..{BRANCH}") == expected  # nothing lost, nothing twice
    assert git(remote, "rev-parse", BRANCH) == git(site, "rev-parse", BRANCH)
    assert mirror_at(remote, BRANCH) == fresh_sync(round0, tmp_path / "fresh")
    assert checkout_state(site) == before


@pytest.mark.slow
def test_kills_at_random_moments_of_branch_rounds_always_recover(
    site: Path, round0: Emulator, tmp_path: Path
) -> None:
    remote, expected = _rebase_pending(site, round0, tmp_path)
    before = checkout_state(site)
    round0.faults = FaultInjector(FaultPlan(latency_ms=40))
    chooser = random.Random(20261130)
    for _ in range(4):
        killed = _spawn(round0, site / "content", kill_at=None)
        time.sleep(chooser.uniform(0.2, 1.0))
        killed.kill()
        killed.wait(timeout=30)
        assert checkout_state(site) == before
    again = _spawn(round0, site / "content", kill_at=None)
    _, stderr = again.communicate(timeout=60)
    assert again.returncode == 0, stderr
    assert subjects(remote, f"main..{BRANCH}") == expected
    assert mirror_at(remote, BRANCH) == fresh_sync(round0, tmp_path / "fresh")
    assert checkout_state(site) == before
