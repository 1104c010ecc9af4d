"""The defects a new user found in mirror sync, each closed for its whole class: links in
the mirror, full and read-only disks, --full as a true reconcile, --push on CI checkouts,
moving a mirror, honest dry runs, one file per id, and what --json says on failure."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirror.client.guard import RoundGuard
from mirror.client.tree import MirrorTree
from mirror.emulator import Emulator, EmulatorConfig
from tests.conftest import (
    Api,
    commit_count,
    files_of,
    git,
    mirror,
    sync_args,
    sync_json,
)


def _commit_by_hand(directory: Path, message: str) -> None:
    git(directory, "add", "-A")
    git(directory, "-c", "user.name=h", "-c", "user.email=h@h", "commit", "-qm", message)


def _at_head(directory: Path, before: dict[str, bytes], commits: int) -> None:
    assert files_of(directory) == before
    assert commit_count(directory) == commits
    assert git(directory, "status", "--porcelain") == ""


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[tuple[Emulator, Path]]:
    """A mirror synced at round 0; the emulator then moves to round 1."""
    with Emulator(EmulatorConfig(round=0)) as emulator:
        directory = tmp_path / "mirror"
        sync_json(emulator, directory)
        emulator.store.apply_round(1)
        yield emulator, directory


# -- 2. nothing is ever written through a symbolic link ------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "entries/city/kyoto.json",
        "entries/city",
        "entries",
        "content_types/city.json",
        "locales.json",
    ],
)
def test_a_committed_symlink_is_refused_and_its_target_untouched(
    synced: tuple[Emulator, Path], tmp_path: Path, link: str
) -> None:
    emulator, directory = synced
    victim = tmp_path / "outside"
    target = directory / link
    if target.is_dir():
        victim.mkdir()
        for child in target.iterdir():
            (victim / child.name).write_bytes(b"not yours\n")
        git(directory, "rm", "-r", "-q", link)
    else:
        victim.write_bytes(b"not yours\n")
        target.unlink()
    target.symlink_to(victim)
    _commit_by_hand(directory, f"link {link}")
    victim_before = {p: p.read_bytes() for p in [victim, *victim.rglob("*")] if p.is_file()}
    before, commits = files_of(directory), commit_count(directory)

    result = mirror(*sync_args(emulator, directory))

    assert result.exit_code == 6, result.stderr
    assert f"{link} is a symbolic link" in result.stderr and "--full" in result.stderr
    assert {p: p.read_bytes() for p in victim_before} == victim_before
    assert sorted(p for p in victim.rglob("*")) == sorted(p for p in victim_before if p != victim)
    assert commit_count(directory) == commits and files_of(directory).keys() == before.keys()
    assert git(directory, "status", "--porcelain") == ""

    # --full replaces the link with the files it stood for; the removal is in the commit.
    full = mirror(*sync_args(emulator, directory, "--full"))
    assert full.exit_code == 0, full.stderr
    assert not target.is_symlink() and MirrorTree(directory).symlinks() == []
    assert {p: p.read_bytes() for p in victim_before} == victim_before
    message = git(directory, "log", "-1", "--format=%B")
    assert f"- {link} (removed)  symbolic link" in message
    assert "120000" not in git(directory, "ls-tree", "-r", "HEAD")
    assert mirror("verify", str(directory)).exit_code == 0


def test_an_untracked_symlink_is_dirt_and_force_removes_it_not_its_target(
    synced: tuple[Emulator, Path], tmp_path: Path
) -> None:
    emulator, directory = synced
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (directory / "entries" / "city" / "new.json").symlink_to(victim)
    refused = mirror(*sync_args(emulator, directory))
    assert refused.exit_code == 6 and "uncommitted changes" in refused.stderr
    forced = mirror(*sync_args(emulator, directory, "--force"))
    assert forced.exit_code == 0, forced.stderr
    assert "discarded uncommitted changes: entries/city/new.json" in forced.stderr
    assert victim.read_text() == "keep me\n"
    assert not (directory / "entries" / "city" / "new.json").exists()


# -- 3. a full or read-only disk is rolled back and named ------------------------------------


@contextlib.contextmanager
def _small_disk(where: Path, size: str) -> Iterator[Path]:
    """A real filesystem of `size` (a tmpfs), so that a full disk is a real ENOSPC."""
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("needs root, to mount a small tmpfs as a real full disk")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    """Fill `disk` up to `leave` free bytes; returns the filler file."""
    filler = disk / "filler"
    with open(filler, "wb") as out:
        while True:
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            if free <= leave:
                return filler
            try:
                out.write(b"\0" * min(free - leave, 1 << 20))
                out.flush()
            except OSError:
                return filler


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own: a real exit, real file handles."""
    return subprocess.run(
        [sys.executable, "-m", "mirror", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("leave", [0, 12_288, 40_960])
def test_a_full_disk_mid_round_is_rolled_back_named_and_recovers(
    tmp_path: Path, leave: int
) -> None:
    with (
        Emulator(EmulatorConfig(round=0)) as emulator,
        _small_disk(tmp_path / "disk", "4m") as disk,
    ):
        directory = disk / "mirror"
        sync_json(emulator, directory)
        emulator.store.apply_round(1)
        before, commits = files_of(directory), commit_count(directory)
        packs = sorted(os.listdir(directory / ".git" / "objects" / "pack"))
        filler = _fill(disk, leave)

        result = _run(*sync_args(emulator, directory))

        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("Error: no space left on device while ")
        assert "index is locked" not in result.stderr and "Traceback" not in result.stderr
        filler.unlink()
        _at_head(directory, before, commits)
        assert sorted(os.listdir(directory / ".git" / "objects" / "pack")) == packs
        again = _run(*sync_args(emulator, directory, "--json"))
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["round"] == 2
        assert mirror("verify", str(directory)).exit_code == 0


def test_a_full_disk_while_writing_entries_names_the_file(tmp_path: Path) -> None:
    with (
        Emulator(EmulatorConfig(round=0)) as emulator,
        _small_disk(tmp_path / "disk", "4m") as disk,
    ):
        directory = disk / "mirror"
        sync_json(emulator, directory)
        emulator.store.apply_round(1)
        before, commits = files_of(directory), commit_count(directory)
        # Room for the round's bookkeeping in .git, not for its entry files.
        (directory / ".git" / "mirror").mkdir(exist_ok=True)
        filler = _fill(disk, 8192)
        result = _run(*sync_args(emulator, directory))
        assert result.returncode == 1, result.stderr
        assert "no space left on device while" in result.stderr
        filler.unlink()
        _at_head(directory, before, commits)


def test_an_initial_sync_onto_a_full_disk_names_the_folder(tmp_path: Path) -> None:
    with (
        Emulator(EmulatorConfig(round=0)) as emulator,
        _small_disk(tmp_path / "disk", "1m") as disk,
    ):
        _fill(disk, 0)
        directory = disk / "content"
        result = _run(*sync_args(emulator, directory))
        assert result.returncode == 1, result.stderr
        assert str(directory) in result.stderr and "no space left" in result.stderr.lower()
        assert "Traceback" not in result.stderr
        assert not directory.exists()


def test_a_read_only_mirror_says_so_and_what_to_do(tmp_path: Path) -> None:
    with (
        Emulator(EmulatorConfig(round=0)) as emulator,
        _small_disk(tmp_path / "disk", "4m") as disk,
    ):
        directory = disk / "mirror"
        sync_json(emulator, directory)
        emulator.store.apply_round(1)
        before, commits = files_of(directory), commit_count(directory)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        result = _run(*sync_args(emulator, directory))
        assert result.returncode == 1, result.stderr
        assert "read-only file system" in result.stderr.lower()
        assert "writable clone" in result.stderr
        _at_head(directory, before, commits)


# -- 4. --full is a true reconcile -----------------------------------------------------------


def test_full_restores_removed_files_fixes_edits_and_recounts(
    synced: tuple[Emulator, Path],
) -> None:
    emulator, directory = synced
    git(directory, "rm", "-q", "entries/guide/guide-lisbon-on-foot.json")
    edited = directory / "entries" / "author" / "author-ines.json"
    edited.write_text(edited.read_text().replace("Grew up", "Grown up"))
    (directory / "entries" / "city" / "notes.txt").write_text("a stray file\n")
    _commit_by_hand(directory, "hand edits")
    sync_json(emulator, directory)  # a delta round: none of the hand edits is mended
    assert mirror("verify", str(directory)).exit_code == 6  # the counts drifted

    report = sync_json(emulator, directory, "--full")

    message = git(directory, "log", "-1", "--format=%B")
    assert "Full reconcile with the source: 1 restored, 1 fixed, 1 removed." in message
    assert "+ entries/guide/guide-lisbon-on-foot.json (restored)" in message
    assert "~ entries/author/author-ines.json (fixed)" in message
    assert "- entries/city/notes.txt (removed)" in message
    said = json.loads(git(directory, "show", "HEAD~1:mirror.json"))["counts"]["entries"]
    held = len(list((directory / "entries").glob("*/*.json"))) - 1  # before the restore
    assert f"Counts corrected: mirror.json said {said} entries, the files held {held}" in message
    assert report["added"] == 1 and report["deleted"] == 1
    verdict = mirror("verify", str(directory), "--json")
    assert verdict.exit_code == 0, verdict.stdout
    state = json.loads((directory / "mirror.json").read_text())
    entries = len(list((directory / "entries").glob("*/*.json")))
    assert state["counts"]["entries"] == entries


def test_full_with_new_filters_removes_what_they_no_longer_cover(
    round0: Emulator, tmp_path: Path
) -> None:
    directory = tmp_path / "m"
    sync_json(round0, directory, "--content-type", "guide")
    assert {p.name for p in (directory / "entries").iterdir()} == {"guide"}
    report = sync_json(round0, directory, "--full", "--content-type", "author")
    assert {p.name for p in (directory / "entries").iterdir()} == {"author"}
    state = json.loads((directory / "mirror.json").read_text())
    assert state["filters"] == {"type": "Entry", "content_type": "author"}
    assert state["counts"]["entries"] == len(list((directory / "entries").glob("*/*.json")))
    assert report["deleted"] > 0
    assert "Filters: guide -> author" in git(directory, "log", "-1", "--format=%B")
    everything = sync_json(round0, directory, "--full", "--type", "all")
    assert everything["status"] == "synced"
    assert (directory / "assets").is_dir() and (directory / "entries" / "city").is_dir()


@pytest.mark.parametrize("full", [False, True])
def test_an_unknown_content_type_is_a_usage_error_listing_the_known(
    round0: Emulator, tmp_path: Path, full: bool
) -> None:
    directory = tmp_path / "m"
    if full:
        sync_json(round0, directory)
    before, commits = files_of(directory), commit_count(directory)
    extra = ("--full",) if full else ()
    result = mirror(*sync_args(round0, directory, "--content-type", "plcae", *extra))
    assert result.exit_code == 2, result.stderr
    assert "'plcae' is not a content type of this space" in result.stderr
    assert "author, city, guide, place" in result.stderr
    if full:
        _at_head(directory, before, commits)
    else:
        assert not directory.exists()


# -- 6. --push tells the truth and knows where it stands ------------------------------------


def _bare(tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(remote))
    return remote


def test_push_after_a_rebase_reports_the_commit_on_the_branch(
    round0: Emulator, tmp_path: Path
) -> None:
    remote, directory = _bare(tmp_path), tmp_path / "m"
    sync_json(round0, directory, "--push", str(remote))
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(remote), str(other))
    (other / "README.md").write_text("someone else's push\n")
    _commit_by_hand(other, "site edit")
    git(other, "push", "-q", "origin", "HEAD:main")
    round0.store.apply_round(1)

    result = mirror(*sync_args(round0, directory, "--push", str(remote), "--json"))

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    head = git(directory, "rev-parse", "HEAD").strip()
    assert report["commit"] == head == git(remote, "rev-parse", "main").strip()
    summary = mirror(*sync_args(round0, directory, "--push", str(remote)))
    assert "up to date" in summary.stdout


def test_push_on_a_detached_head_is_refused_before_the_round(
    round0: Emulator, tmp_path: Path
) -> None:
    remote, directory = _bare(tmp_path), tmp_path / "m"
    sync_json(round0, directory, "--push", str(remote))
    git(directory, "checkout", "-q", "--detach")
    round0.store.apply_round(1)
    before, commits = files_of(directory), commit_count(directory)
    for extra in ((), ("--dry-run",)):
        result = mirror(*sync_args(round0, directory, "--push", str(remote), *extra))
        assert result.exit_code == 6, result.stderr
        assert "HEAD is detached" in result.stderr and "git checkout" in result.stderr
        _at_head(directory, before, commits)


# -- 7. --json says what failed ---------------------------------------------------------------


def test_json_prints_one_error_object_on_failure_without_secrets(
    synced: tuple[Emulator, Path],
) -> None:
    emulator, directory = synced
    args = sync_args(emulator, directory, "--json")
    args[args.index(emulator.access_token)] = "a-wrong-secret-token"
    result = mirror(*args)
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["status"] == "error" and report["exit_code"] == 3
    assert "refused the access token" in report["error"]
    assert "a-wrong-secret-token" not in result.stdout + result.stderr


# -- 8. moving and reconfiguring a mirror ---------------------------------------------------


def test_a_mirror_moves_to_a_new_base_url_for_the_same_space(
    synced: tuple[Emulator, Path],
) -> None:
    emulator, directory = synced
    with Emulator(EmulatorConfig(round=1)) as moved:
        result = mirror(*sync_args(moved, directory, "--json"))
        assert result.exit_code == 0, result.stderr
        assert f"from {emulator.base_url} to {moved.base_url}" in result.stderr
        state = json.loads((directory / "mirror.json").read_text())
        assert state["base_url"] == moved.base_url
        assert git(directory, "status", "--porcelain") == ""
        assert f"Base URL: {emulator.base_url} -> {moved.base_url}" in git(
            directory, "log", "-1", "--format=%B"
        )
        # Later runs need no --base-url: the new one is remembered.
        again = mirror("sync", str(directory), "--access-token", moved.access_token, "--json")
        assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "up-to-date"


@pytest.mark.parametrize(("option", "value"), [("--space", "other"), ("--environment", "dev")])
def test_another_space_or_environment_is_refused_naming_which(
    synced: tuple[Emulator, Path], option: str, value: str
) -> None:
    emulator, directory = synced
    result = mirror(*sync_args(emulator, directory, option, value))
    assert result.exit_code == 2
    assert f"this mirror is of {option.lstrip('-')} " in result.stderr and value in result.stderr


def test_no_download_assets_switches_downloads_off_and_commits_the_removal(
    round0: Emulator, tmp_path: Path
) -> None:
    directory = tmp_path / "m"
    sync_json(round0, directory, "--download-assets")
    assert any((directory / "assets" / "files").rglob("*.png"))
    report = sync_json(round0, directory, "--no-download-assets")
    assert report["status"] == "synced" and report["deleted"] > 0
    assert not (directory / "assets" / "files").exists()
    assert json.loads((directory / "mirror.json").read_text())["download_assets"] is False
    assert "downloads switched off" in git(directory, "log", "-1", "--format=%B")
    assert git(directory, "status", "--porcelain") == ""
    round0.store.apply_round(1)
    assert sync_json(round0, directory)["status"] == "synced"
    assert not (directory / "assets" / "files").exists()


def test_dry_run_refuses_where_the_run_would(synced: tuple[Emulator, Path]) -> None:
    emulator, directory = synced
    (directory / "entries" / "city" / "kyoto.json").write_text("{}\n")
    dirty = mirror(*sync_args(emulator, directory, "--dry-run"))
    assert dirty.exit_code == 6 and "uncommitted changes" in dirty.stderr
    forced = mirror(*sync_args(emulator, directory, "--dry-run", "--force", "--json"))
    assert forced.exit_code == 0, forced.stderr
    assert json.loads(forced.stdout)["discarded"] == ["entries/city/kyoto.json"]
    assert (directory / "entries" / "city" / "kyoto.json").read_text() == "{}\n"
    git(directory, "checkout", "-q", "--", ".")
    history_dir = Path(git(directory, "rev-parse", "--absolute-git-dir").strip())
    with RoundGuard(history_dir, ""):
        locked = mirror(*sync_args(emulator, directory, "--dry-run"))
    assert locked.exit_code == 6 and "locked by pid" in locked.stderr


def test_dry_run_reports_the_next_round_fields_and_asset_files(
    round0: Emulator, tmp_path: Path
) -> None:
    directory = tmp_path / "m"
    sync_json(round0, directory, "--download-assets")
    round0.store.apply_round(1)
    round0.store.apply_round(2)
    before, commits = files_of(directory), commit_count(directory)
    result = mirror(*sync_args(round0, directory, "--dry-run"))
    assert result.exit_code == 0, result.stderr
    assert "round 2 would change" in result.stdout
    assert "~ entries/city/hanoi.json  Hanoi: population" in result.stdout
    assert "+ assets/files/" in result.stdout
    _at_head(directory, before, commits)


# -- 9. one file per id ---------------------------------------------------------------------


def test_an_id_recreated_with_another_content_type_keeps_one_file(
    synced: tuple[Emulator, Path],
) -> None:
    emulator, directory = synced
    api = Api(emulator)
    assert api.write("DELETE", "entries", "hanoi").status_code in (200, 204)
    author = json.loads((directory / "entries" / "author" / "author-ines.json").read_text())
    created = api.write(
        "PUT",
        "entries",
        "hanoi",
        {"fields": author["fields"]},
        {"X-Contentful-Content-Type": "author"},
    )
    assert created.status_code in (200, 201), created.text
    sync_json(emulator, directory)
    found = sorted(
        p.relative_to(directory).as_posix() for p in directory.glob("entries/*/hanoi.json")
    )
    assert found == ["entries/author/hanoi.json"]
    assert mirror("verify", str(directory)).exit_code in (0, 6)  # dangling links may remain
    assert git(directory, "status", "--porcelain") == ""


# -- 10. messages a person can act on -------------------------------------------------------


def test_summaries_count_in_proper_english(synced: tuple[Emulator, Path]) -> None:
    emulator, directory = synced
    result = mirror(*sync_args(emulator, directory))
    assert result.exit_code == 0
    assert "1 page," in result.stdout and "1 pages" not in result.stdout


def test_preview_mirrors_are_told_to_reconcile(tmp_path: Path) -> None:
    # The preview host cannot be reached here: the notice comes before any request.
    result = mirror(
        "sync",
        str(tmp_path / "m"),
        "--space",
        "abc",
        "--access-token",
        "preview-token-123",
        "--base-url",
        "https://preview.contentful.com",
        "--retries",
        "0",
        "--timeout",
        "1",
    )
    assert "Preview API does not officially implement sync" in result.stderr
    assert "--full" in result.stderr


def test_force_never_restores_through_a_linked_folder(
    synced: tuple[Emulator, Path], tmp_path: Path
) -> None:
    emulator, directory = synced
    victim = tmp_path / "victim"
    victim.mkdir()
    city = directory / "entries" / "city"
    names = sorted(p.name for p in city.iterdir())
    for name in names:
        (victim / name).write_text("not yours\n")
    git(directory, "rm", "-r", "-q", "--cached", "entries/city")
    git(directory, "reset", "-q")
    for child in city.iterdir():
        child.unlink()
    city.rmdir()
    city.symlink_to(victim)
    forced = mirror(*sync_args(emulator, directory, "--force"))
    assert forced.exit_code == 0, forced.stderr
    assert sorted(p.name for p in victim.iterdir()) == names
    assert all(p.read_text() == "not yours\n" for p in victim.iterdir())
    assert not city.is_symlink() and sorted(p.name for p in city.iterdir()) == names


def test_verify_finds_links_and_one_id_in_two_files(synced: tuple[Emulator, Path]) -> None:
    _emulator, directory = synced
    city = directory / "entries" / "city"
    (directory / "entries" / "guide" / "kyoto.json").write_bytes((city / "kyoto.json").read_bytes())
    (city / "lisbon.json").unlink()
    (city / "lisbon.json").symlink_to("/etc/hostname")
    result = mirror("verify", str(directory), "--json")
    assert result.exit_code == 6
    problems = json.loads(result.stdout)["problems"]
    assert any(p.startswith("entries/guide/kyoto.json: the same entry id as") for p in problems)
    assert "entries/city/lisbon.json: a symbolic link" in " ".join(problems)


@pytest.mark.parametrize(
    ("path", "make"),
    [("assets", "file"), ("entries/author", "file"), ("locales.json", "folder")],
)
def test_what_is_in_the_way_is_refused_and_full_replaces_it(
    synced: tuple[Emulator, Path], path: str, make: str
) -> None:
    emulator, directory = synced
    git(directory, "rm", "-r", "-q", path)
    if make == "file":
        (directory / path).write_text("in the way\n")
    else:
        (directory / path).mkdir()
        (directory / path / "stray.txt").write_text("in the way\n")
    _commit_by_hand(directory, f"{path} in the way")
    refused = mirror(*sync_args(emulator, directory))
    assert refused.exit_code == 6, refused.stderr
    kind = "a file where the mirror keeps a folder" if make == "file" else "a folder where"
    assert f"{path} is {kind}" in refused.stderr and "--full" in refused.stderr
    full = mirror(*sync_args(emulator, directory, "--full"))
    assert full.exit_code == 0, full.stderr
    assert (directory / path).is_dir() == (make == "file")
    assert mirror("verify", str(directory)).exit_code == 0


def test_a_linked_state_file_gets_advice_that_works(
    synced: tuple[Emulator, Path], tmp_path: Path
) -> None:
    emulator, directory = synced
    (directory / "mirror.json").unlink()
    (directory / "mirror.json").symlink_to(tmp_path / "elsewhere.json")
    _commit_by_hand(directory, "link the state")
    for extra in ((), ("--full",)):
        result = mirror(*sync_args(emulator, directory, *extra))
        assert result.exit_code == 6
        assert "mirror.json is a symbolic link" in result.stderr
        assert "git checkout" in result.stderr and "-- mirror.json" in result.stderr
    last = git(directory, "rev-parse", "HEAD~1").strip()
    (directory / "mirror.json").unlink()
    git(directory, "checkout", last, "--", "mirror.json")
    _commit_by_hand(directory, "restore the state")
    assert mirror(*sync_args(emulator, directory)).exit_code == 0
    assert mirror("verify", str(directory)).exit_code == 0


def test_an_initial_sync_into_a_folder_of_items_counts_them(
    synced: tuple[Emulator, Path],
) -> None:
    emulator, directory = synced
    git(directory, "rm", "-q", "mirror.json")
    _commit_by_hand(directory, "forget the state")
    sync_json(emulator, directory)
    assert mirror("verify", str(directory)).exit_code == 0


# -- from a new user's trial: bad input gets exit 2 and one clear line ------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["sync", ""],
        ["status", ""],
        ["export", "", "out", "--locale", "all"],
        ["sync", "m", "--content-type", ""],
        ["sync", "m", "--space", ""],
        ["sync", "m", "--author", ""],
        ["sync", "m", "--timeout", "nan"],
        ["serve", "--port", "70000"],
    ],
)
def test_empty_and_impossible_values_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = mirror(*args)
    assert result.exit_code == 2, result.stderr
    assert "Error: Invalid value" in result.stderr
    assert not any(tmp_path.iterdir())  # nothing created in the current folder


def test_a_mirror_folder_below_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = mirror("sync", str(tmp_path / "afile" / "sub"), "--space", "s")
    assert result.exit_code == 2 and "is a file, not a folder" in result.stderr


def test_json_reports_option_errors_too(tmp_path: Path) -> None:
    result = mirror("sync", str(tmp_path / "m"), "--limit", "0", "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["status"] == "error" and report["exit_code"] == 2
    assert "--limit" in report["error"]


def test_dry_run_waits_for_no_one_while_a_first_sync_holds_the_lock(
    round0: Emulator, tmp_path: Path
) -> None:
    directory = tmp_path / "m"
    directory.mkdir()
    git(directory, "init", "-q")
    git_dir = Path(git(directory, "rev-parse", "--absolute-git-dir").strip())
    with RoundGuard(git_dir, ""):
        result = mirror(*sync_args(round0, directory, "--dry-run"))
    assert result.exit_code == 6 and "locked by pid" in result.stderr


def test_downloads_switched_on_after_a_move_say_how_to_fetch_the_files(
    synced: tuple[Emulator, Path],
) -> None:
    _emulator, directory = synced
    with Emulator(EmulatorConfig(round=1)) as moved:
        assert mirror(*sync_args(moved, directory)).exit_code == 0
        result = mirror(*sync_args(moved, directory, "--download-assets"))
        assert result.exit_code == 5, result.stderr
        assert "run mirror sync --full" in result.stderr
        full = mirror(*sync_args(moved, directory, "--download-assets", "--full"))
        assert full.exit_code == 0, full.stderr
        assert any((directory / "assets" / "files").rglob("*.png"))


def test_an_export_onto_a_full_disk_names_the_file_and_leaves_out(tmp_path: Path) -> None:
    with (
        Emulator(EmulatorConfig(round=0)) as emulator,
        _small_disk(tmp_path / "disk", "1m") as disk,
    ):
        directory = tmp_path / "mirror"
        sync_json(emulator, directory)
        out = disk / "out"
        out.mkdir()
        (out / "keep.txt").write_text("mine\n")
        _fill(disk, 0)
        for args in (
            ["export", str(directory), str(out), "--locale", "all"],
            ["export", str(directory), str(out), "--locale", "all", "--jobs", "2"],  # workers
            ["bundle", str(directory), str(out / "seed.sqlite")],
        ):
            result = _run(*args)
            assert result.returncode == 1, result.stderr
            assert "no space left on device while writing" in result.stderr.lower()
            assert "Traceback" not in result.stderr
            assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_serve_on_a_folder_that_is_no_space_says_so(tmp_path: Path) -> None:
    result = mirror("serve", str(tmp_path), "--port", "0")
    assert result.exit_code == 2
    assert "is neither a mirror" in result.stderr and "sample_space/README.md" in result.stderr
