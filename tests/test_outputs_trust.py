"""mirror export and mirror bundle never destroy or leak: filters, symlinks, odd OUTs."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mirror.emulator import Emulator, EmulatorConfig
from tests.conftest import files_of, git, mirror, sync_args

URN = "crn:contentful:::content:spaces/other/environments/master/entries/far-away"


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample space at its last round, mirrored with its asset files; never changed."""
    folder = tmp_path_factory.mktemp("trust") / "m"
    with Emulator(EmulatorConfig()) as emulator:
        result = mirror(*sync_args(emulator, folder, "--download-assets"))
        assert result.exit_code == 0, result.stderr
    return folder


@pytest.fixture
def space(synced: Path, tmp_path: Path) -> Path:
    """A copy of the mirror (a git repository of its own) that a test may change."""
    copy = tmp_path / "mirror"
    shutil.copytree(synced, copy, symlinks=True)
    return copy


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A folder outside every OUT and mirror that nothing may write, read or delete."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "precious.txt").write_text("not yours\n")
    return folder


def snapshot(folder: Path) -> dict[str, Any]:
    """Every file (bytes) and link (target) below `folder`: to prove it unchanged."""
    found: dict[str, Any] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[relative] = ("link", os.readlink(path))
        elif path.is_file():
            found[relative] = path.read_bytes()
    return found


def export(source: Path, out: Path, *args: str) -> Any:
    return mirror("export", str(source), str(out), *args)


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "--all")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", message)


def one_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return str(lines[0])


# -- 1. filters never destroy output ----------------------------------------------------


def test_unknown_content_type_is_refused_and_out_untouched(synced: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert export(synced, out, "--locale", "all").exit_code == 0
    before = snapshot(out)
    result = export(synced, out, "--locale", "all", "--content-type", "plcae")
    assert result.exit_code == 2
    assert "'plcae' is not a content type" in one_line(result)
    assert "author, city, guide, place" in result.stderr
    assert snapshot(out) == before


def test_unknown_locale_is_refused_and_out_untouched(synced: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert export(synced, out, "--locale", "en-US").exit_code == 0
    before = snapshot(out)
    result = export(synced, out, "--locale", "en-US", "--locale", "en-UK")
    assert result.exit_code == 2
    assert "'en-UK' is not a locale of this space (en-US, de-DE, fr-FR)" in one_line(result)
    assert snapshot(out) == before


def test_a_content_type_without_entries_is_known(space: Path, tmp_path: Path) -> None:
    definition = json.loads((space / "content_types/author.json").read_text())
    definition["sys"]["id"] = "newsletter"
    (space / "content_types/newsletter.json").write_text(json.dumps(definition))
    commit(space, "a content type with no entries yet")
    result = export(space, tmp_path / "o", "--locale", "en-US", "--content-type", "newsletter")
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "o/en-US/newsletter.index.json").read_text()) == []
    assert "exported 0 entries in 1 locale (en-US), 1 file written" in result.stdout


def test_a_filtered_export_replaces_only_its_own_folders(synced: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert export(synced, out, "--locale", "all").exit_code == 0
    (out / "en-US/author/stale.json").write_text("{}")
    (out / "en-US/city/kept-by-the-site.json").write_text("{}")
    (out / "de-DE/author/kept-in-another-locale.json").write_text("{}")
    others = {p: snapshot(out / p) for p in ("en-US/city", "en-US/guide", "en-US/place", "de-DE")}
    result = export(synced, out, "--locale", "en-US", "--content-type", "author")
    assert result.exit_code == 0, result.stderr
    assert not (out / "en-US/author/stale.json").exists()
    assert (out / "en-US/author.index.json").is_file()
    assert {p: snapshot(out / p) for p in others} == others
    assert not list(out.glob("*.partial")) and not list((out / "en-US").glob(".*"))


def test_an_unfiltered_export_still_drops_stale_content_types(synced: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert export(synced, out, "--locale", "en-US").exit_code == 0
    (out / "en-US/retired").mkdir()  # a content type an earlier export had, since deleted
    (out / "en-US/retired/index.json").write_text("[]")
    assert export(synced, out, "--locale", "en-US", "--full").exit_code == 0
    types = ["author", "city", "guide", "place"]
    assert sorted(p.name for p in (out / "en-US").iterdir()) == sorted(
        ["_assets", *types, *(f"{name}.index.json" for name in types)]
    )


def test_the_summary_speaks_proper_english(space: Path, tmp_path: Path) -> None:
    entry = json.loads((space / "entries/author/author-kenji.json").read_text())
    entry["sys"]["contentType"]["sys"]["id"] = "solo"
    (space / "entries/solo").mkdir()
    (space / "entries/solo/author-kenji.json").write_text(json.dumps(entry))
    (space / "entries/author/author-kenji.json").unlink()
    commit(space, "one entry of its own kind")
    result = export(space, tmp_path / "o", "--locale", "en-US", "--content-type", "solo")
    assert result.stdout.startswith("exported 1 entry in 1 locale (en-US), "), result.stdout
    result = export(space, tmp_path / "o", "--locale", "en-US", "--locale", "de-DE")
    assert " 44 entries in 2 locales (en-US, de-DE), 124 files written, " in result.stdout


# -- 2. nothing is written through a symlink ---------------------------------------------


@pytest.mark.parametrize("planted", [".en-US.partial", "en-US"])
def test_export_replaces_a_link_it_owns_never_its_target(
    planted: str, synced: Path, tmp_path: Path, victim: Path
) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / planted).symlink_to(victim, target_is_directory=True)
    before = snapshot(victim)
    result = export(synced, out, "--locale", "en-US")
    if planted == "en-US":  # in an OUT that holds no export: not ours to replace
        assert result.exit_code == 2 and "already exists" in result.stderr
        assert snapshot(victim) == before and (out / planted).is_symlink()
        (out / planted).unlink()
        assert export(synced, out, "--locale", "en-US").exit_code == 0
        shutil.rmtree(out / planted)  # in an export: replaced, never written through
        (out / planted).symlink_to(victim, target_is_directory=True)
        result = export(synced, out, "--locale", "en-US", "--full")
    assert result.exit_code == 0, result.stderr
    assert snapshot(victim) == before
    assert not (out / "en-US").is_symlink() and (out / "en-US/city.index.json").is_file()
    assert not (out / ".en-US.partial").exists() and not (out / ".en-US.partial").is_symlink()


def test_a_filtered_export_replaces_a_linked_content_type_folder(
    synced: Path, tmp_path: Path, victim: Path
) -> None:
    out = tmp_path / "site"
    assert export(synced, out, "--locale", "en-US").exit_code == 0
    shutil.rmtree(out / "en-US/author")
    (out / "en-US/author").symlink_to(victim, target_is_directory=True)
    (out / "en-US/city").rename(out / "city-elsewhere")
    (out / "en-US/city").symlink_to(victim, target_is_directory=True)
    before = snapshot(victim)
    result = export(synced, out, "--locale", "en-US", "--content-type", "author")
    assert result.exit_code == 0, result.stderr
    assert snapshot(victim) == before
    assert not (out / "en-US/author").is_symlink() and (out / "en-US/author.index.json").is_file()
    assert os.readlink(out / "en-US/city") == str(victim)  # not exported: left as it was


def test_a_filtered_export_refuses_a_linked_locale_folder(
    synced: Path, tmp_path: Path, victim: Path
) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "en-US").symlink_to(victim, target_is_directory=True)
    before, victim_before = snapshot(out), snapshot(victim)
    result = export(synced, out, "--locale", "en-US", "--content-type", "author")
    assert result.exit_code == 6
    assert "en-US is a symbolic link" in one_line(result)
    assert snapshot(out) == before and snapshot(victim) == victim_before


def test_sqlite_bundle_never_writes_through_its_scratch_names(
    synced: Path, tmp_path: Path, victim: Path
) -> None:
    out = tmp_path / "app"
    out.mkdir()
    for name in (".seed.sqlite.partial", ".seed.sqlite.partial-journal"):
        (out / name).symlink_to(victim / "precious.txt")
    before = snapshot(victim)
    result = mirror("bundle", str(synced), str(out / "seed"))
    assert result.exit_code == 0, result.stderr
    assert snapshot(victim) == before
    with sqlite3.connect(f"file:{out / 'seed.sqlite'}?mode=ro", uri=True) as db:
        assert db.execute("SELECT count(*) FROM entries").fetchone() == (44,)


def test_sync_pages_bundle_never_writes_through_its_staging_folder(
    synced: Path, tmp_path: Path, victim: Path
) -> None:
    (tmp_path / ".seed.partial").symlink_to(victim, target_is_directory=True)
    before = snapshot(victim)
    result = mirror("bundle", str(synced), str(tmp_path / "seed"), "--format", "sync-pages")
    assert result.exit_code == 0, result.stderr
    assert snapshot(victim) == before
    assert (tmp_path / "seed/0.json").is_file() and not (tmp_path / "seed").is_symlink()


@pytest.mark.parametrize("layout", ["sqlite", "sync-pages"])
def test_a_link_at_out_is_replaced_never_written_through(
    synced: Path, tmp_path: Path, layout: str
) -> None:
    precious = tmp_path / "precious"
    name = "seed.sqlite" if layout == "sqlite" else "seed"
    if layout == "sqlite":
        precious.write_text("an app's own database\n")
    else:
        precious.mkdir()
        (precious / "keep.txt").write_text("an app's own file\n")
    (tmp_path / name).symlink_to(precious)
    result = mirror("bundle", str(synced), str(tmp_path / name), "--format", layout)
    assert result.exit_code == 0, result.stderr
    assert not (tmp_path / name).is_symlink()
    if layout == "sqlite":
        assert precious.read_text() == "an app's own database\n"
        assert (tmp_path / name).is_file()
    else:
        assert sorted(p.name for p in precious.iterdir()) == ["keep.txt"]
        assert (tmp_path / name / "0.json").is_file()


@pytest.mark.parametrize(
    "command",
    [
        ["export", "{m}", "{o}", "--locale", "en-US"],
        ["bundle", "{m}", "{o}"],
        ["bundle", "{m}", "{o}", "--format", "sync-pages"],
    ],
)
@pytest.mark.parametrize(
    "linked",
    ["entries/city/kyoto.json", "assets/files/kyoto-hero/en-US/kyoto-skyline-autumn.png"],
)
def test_a_link_committed_in_the_mirror_is_refused(
    command: list[str], linked: str, space: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.json"
    entry = json.loads((space / "entries/city/kyoto.json").read_text())
    entry["fields"]["name"] = {"en-US": "SECRET"}
    secret.write_text(json.dumps(entry))
    (space / linked).unlink()
    (space / linked).symlink_to(secret)
    commit(space, "a link")
    out = tmp_path / "out"
    result = mirror(*(part.format(m=space, o=out) for part in command))
    assert result.exit_code == 6, result.stdout
    assert f"{linked} is a symbolic link" in one_line(result)
    assert not out.exists() and not (tmp_path / "out.sqlite").exists()


# -- 3. odd OUTs: one clear line ----------------------------------------------------------


def test_sync_pages_onto_an_existing_file_says_what_to_do(synced: Path, tmp_path: Path) -> None:
    (tmp_path / "seed").write_text("mine")
    result = mirror("bundle", str(synced), str(tmp_path / "seed"), "--format", "sync-pages")
    assert result.exit_code == 2
    assert "is a file" in one_line(result) and "folder" in result.stderr
    assert (tmp_path / "seed").read_text() == "mine" and not list(tmp_path.glob(".*"))


@pytest.mark.parametrize(
    "command",
    [
        ["bundle", "{m}", "{o}/seed"],
        ["bundle", "{m}", "{o}/seed", "--format", "sync-pages"],
        ["export", "{m}", "{o}/site", "--locale", "en-US"],
    ],
)
def test_an_out_below_a_file_says_what_to_do(
    command: list[str], synced: Path, tmp_path: Path
) -> None:
    (tmp_path / "mobile").write_text("a file, not a folder")
    result = mirror(*(part.format(m=synced, o=tmp_path / "mobile") for part in command))
    assert result.exit_code == 2
    assert f"{tmp_path / 'mobile'} is a file, not a folder" in one_line(result)
    assert (tmp_path / "mobile").read_text() == "a file, not a folder"


def test_sqlite_bundle_onto_a_folder_says_what_to_do(synced: Path, tmp_path: Path) -> None:
    (tmp_path / "seed.sqlite").mkdir()
    result = mirror("bundle", str(synced), str(tmp_path / "seed.sqlite"))
    assert result.exit_code == 2
    assert "is a folder" in one_line(result)
    assert list((tmp_path / "seed.sqlite").iterdir()) == []


def test_export_onto_an_existing_file_says_what_to_do(synced: Path, tmp_path: Path) -> None:
    (tmp_path / "site").write_text("mine")
    result = export(synced, tmp_path / "site", "--locale", "en-US")
    assert result.exit_code == 2
    assert "is a file" in one_line(result)
    assert (tmp_path / "site").read_text() == "mine"


@pytest.mark.parametrize(
    "command",
    [
        ["export", "{m}", "{o}", "--locale", "en-US"],
        ["bundle", "{m}", "{o}", "--format", "sync-pages"],
        ["bundle", "{m}", "{o}/entries/city"],
        ["bundle", "{m}", "{o}/..", "--format", "sync-pages"],
        ["export", "{m}", "{o}/entries", "--locale", "en-US"],
    ],
)
def test_out_never_overlaps_the_mirror(command: list[str], space: Path) -> None:
    before = files_of(space)
    result = mirror(*(part.format(m=space, o=space) for part in command))
    assert result.exit_code == 2
    assert "mirror" in one_line(result)
    assert files_of(space) == before and (space / ".git").is_dir()
    assert git(space, "status", "--porcelain") == ""


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` refuses changes, for root too (an immutable folder) when root runs the tests."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("cannot make a folder read-only here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize(
    "command",
    [
        ["export", "{m}", "{o}", "--locale", "en-US"],
        ["export", "{m}", "{o}", "--locale", "en-US", "--content-type", "city"],
        ["bundle", "{m}", "{o}/seed"],
        ["bundle", "{m}", "{o}/seed", "--format", "sync-pages"],
    ],
)
def test_a_read_only_out_is_one_line_naming_it(
    command: list[str], synced: Path, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    assert export(synced, out, "--locale", "en-US").exit_code == 0
    before = snapshot(out)
    with read_only(out):
        result = mirror(*(part.format(m=synced, o=out) for part in command))
    assert result.exit_code == 1
    assert f"cannot write to {out}" in one_line(result)
    assert snapshot(out) == before


# -- 4. cross-space references -------------------------------------------------------------


def test_resource_links_stay_stubs_carrying_their_urn(space: Path, tmp_path: Path) -> None:
    link = {"sys": {"type": "ResourceLink", "linkType": "Contentful:Entry", "urn": URN}}
    path = space / "entries/city/kyoto.json"
    entry = json.loads(path.read_text())
    entry["fields"]["sister"] = {"en-US": link}
    entry["fields"]["twins"] = {"en-US": [link, {"sys": {"type": "ResourceLink"}}]}
    path.write_text(json.dumps(entry))
    commit(space, "cross-space references")
    result = export(space, tmp_path / "o", "--locale", "all", "--resolve-links", "3")
    assert result.exit_code == 0, result.stderr
    stub = {"type": "ResourceLink", "linkType": "Contentful:Entry", "urn": URN}
    for locale in ("en-US", "fr-FR"):
        fields = json.loads((tmp_path / "o" / locale / "city/kyoto.json").read_text())["fields"]
        assert fields["sister"] == stub
        assert fields["twins"] == [stub, {"type": "ResourceLink", "linkType": None, "urn": None}]
    place = json.loads((tmp_path / "o/en-US/place/kyoto-fushimi-inari.json").read_text())
    assert place["fields"]["city"]["fields"]["sister"] == stub  # inside a resolved link too
    assert mirror("bundle", str(space), str(tmp_path / "b")).exit_code == 0
