"""A mirror at one Git revision as delivery Content: read from git objects through a
per-commit SQLite index, never from the work tree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mirror.delivery import index as index_module
from mirror.delivery.index import IndexCache
from mirror.delivery.lru import Lru
from mirror.delivery.revision import RevisionContent, open_revision
from mirror.emulator import Emulator
from mirror.errors import UsageError
from tests.conftest import files_of, git, sync_json
from tests.serving import synced_rounds


def files_at(directory: Path, commit: str, folder: str) -> dict[str, Any]:
    """The JSON items below `folder` at `commit`, by id, as git holds them."""
    listed = git(directory, "ls-tree", "-r", "--name-only", commit, "--", folder).split()
    found = {}
    for path in listed:
        if path.endswith(".json") and "/files/" not in path:
            item = json.loads(git(directory, "show", f"{commit}:{path}"))
            found[item["sys"]["id"]] = item
    return found


def by_id(items: Any) -> dict[str, Any]:
    return {item["sys"]["id"]: item for item in items}


def assert_same_as_files(content: RevisionContent, directory: Path, commit: str) -> None:
    assert by_id(content.entries()) == files_at(directory, commit, "entries")
    assert by_id(content.assets()) == files_at(directory, commit, "assets")
    assert by_id(content.content_types()) == files_at(directory, commit, "content_types")
    assert content.locales() == json.loads(git(directory, "show", f"{commit}:locales.json"))


def test_each_revision_reads_as_the_files_of_its_commit(round0: Emulator, tmp_path: Path) -> None:
    commits = synced_rounds(round0, tmp_path, 3)
    for commit in commits:
        with open_revision(tmp_path, commit) as content:
            assert content.commit == commit
            assert (content.space_id, content.environment) == ("wayfarer", "master")
            assert_same_as_files(content, tmp_path, commit)
    with open_revision(tmp_path, "HEAD~3") as first:
        assert first.commit == commits[0]
        assert first.entry("tbilisi-dry-bridge-market") is not None
    with open_revision(tmp_path) as head:
        assert head.entry("tbilisi-dry-bridge-market") is None
        assert head.asset("alfama-walk-route") is None
        assert head.tags() == []
        places = list(head.entries("place"))
        assert places and all(e["sys"]["contentType"]["sys"]["id"] == "place" for e in places)


def test_work_tree_edits_and_new_rounds_do_not_disturb_an_open_revision(
    round0: Emulator, tmp_path: Path
) -> None:
    commits = synced_rounds(round0, tmp_path, 1)
    content = open_revision(tmp_path)
    try:
        (tmp_path / "entries/place/porto-livraria-lello.json").unlink(missing_ok=True)
        for path in (tmp_path / "entries").rglob("*.json"):
            path.write_text('{"broken": true}\n')
        (tmp_path / "locales.json").write_text("[]\n")
        round0.store.apply_round(2)
        sync_json(round0, tmp_path, "--force")  # a concurrent sync moves HEAD
        assert git(tmp_path, "rev-parse", "HEAD").strip() != commits[-1]
        assert_same_as_files(content, tmp_path, commits[-1])
    finally:
        content.close()


def test_an_index_is_cached_per_commit_in_the_git_dir_and_updated_from_the_last_one(
    round0: Emulator, tmp_path: Path
) -> None:
    commits = synced_rounds(round0, tmp_path, 1)
    with open_revision(tmp_path, commits[0]) as first:
        assert first.index.origin == "built" and first.index.derived_from is None
    with open_revision(tmp_path, commits[0]) as again:
        assert again.index.origin == "cached"
    with open_revision(tmp_path, commits[1]) as second:
        assert second.index.origin == "updated"
        assert second.index.derived_from == commits[0]
        updated = (by_id(second.entries()), by_id(second.assets()))
    serve = tmp_path / ".git" / "mirror" / "root" / "serve"
    assert sorted(p.name for p in serve.iterdir()) == sorted(f"{c}.sqlite" for c in commits)
    # .git is never entered: the rounds' detached housekeeping may be removing folders there.
    outside_git = files_of(tmp_path)
    assert not any(name.endswith(".sqlite") for name in outside_git)
    shutil.rmtree(serve)
    with open_revision(tmp_path, commits[1]) as scratch:
        assert scratch.index.origin == "built"
        assert (by_id(scratch.entries()), by_id(scratch.assets())) == updated


def test_an_entry_moved_to_another_content_type_is_updated_in_the_index(
    round0: Emulator, tmp_path: Path
) -> None:
    commits = synced_rounds(round0, tmp_path, 0)
    open_revision(tmp_path).close()
    entry = json.loads((tmp_path / "entries/city/porto.json").read_text())
    entry["sys"]["contentType"]["sys"]["id"] = "guide"
    (tmp_path / "entries/guide").mkdir(exist_ok=True)
    (tmp_path / "entries/guide/porto.json").write_text(json.dumps(entry))
    (tmp_path / "entries/city/porto.json").unlink()
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=P", "-c", "user.email=p@x", "commit", "-qm", "move porto")
    with open_revision(tmp_path) as content:
        assert content.index.derived_from == commits[0]
        assert content.entry("porto") == entry
        assert "porto" in by_id(content.entries("guide"))
        assert "porto" not in by_id(content.entries("city"))


def test_two_indexes_built_at_once_both_serve(round0: Emulator, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    synced_rounds(round0, tmp_path, 0)
    with ThreadPoolExecutor(2) as pool:
        opened = list(pool.map(lambda _: open_revision(tmp_path), range(2)))
    origins = sorted(content.index.origin for content in opened)
    assert origins == ["built", "cached"]  # the second waited for the first's index
    for content in opened:
        assert len(list(content.entries())) == 41
        content.close()


def test_field_equality_is_an_index_lookup(round0: Emulator, tmp_path: Path) -> None:
    synced_rounds(round0, tmp_path, 0)
    with open_revision(tmp_path) as content:
        found = content.find_entries("place", {"category": "market"}, ["en-US"])
        assert found is not None
        expected = {
            e["sys"]["id"]
            for e in content.entries("place")
            if e["fields"].get("category", {}).get("en-US") == "market"
        }
        assert expected and {e["sys"]["id"] for e in found} == expected
        linked = content.find_entries("place", {"city.sys.id": "hanoi", "rating": "4"}, [])
        assert linked is not None
        assert "hanoi-dong-xuan-market" in {e["sys"]["id"] for e in linked}
        assert list(content.find_entries("place", {"category": "nothing"}, []) or [1]) == []
        assert content.find_entries("place", {"lastVerified": "2024-01-01"}, []) is None
        assert content.find_entries("place", {"location": "1,2"}, []) is None
        assert content.find_entries("place", {"noSuchField": "x"}, []) is None
        assert content.find_entries("../place", {"category": "market"}, []) is None


def test_pages_of_kept_matches_are_those_sorted_for_each_page(
    round0: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query's sorted matches are kept (up to SORTED_KEPT) and later pages sliced from
    them: every page equals the one SQL sorts and cuts for it alone."""
    synced_rounds(round0, tmp_path, 0)
    equalities = {"freeEntry": (["true"], ["en-US"])}
    pages = [(0, 100), (0, 1), (1, 2), (2, 100), (3, 0), (50, 10)]
    with open_revision(tmp_path) as content:
        everything = [e["sys"]["id"] for e in content.entries("place")]
        for order in ([("updated_at", True), ("id", False)], [("id", True)]):
            kept = [content.index.find_page("place", equalities, order, *p) for p in pages]
            monkeypatch.setattr(index_module, "SORTED_KEPT", 0)  # each page its own query
            content.index._matches = Lru(1)
            alone = [content.index.find_page("place", equalities, order, *p) for p in pages]
            monkeypatch.undo()
            assert kept == alone
            total, first = kept[0]
            assert 2 < total < len(everything) and len(first) == total
            assert kept[2] == (total, first[1:3]) and kept[4] == (total, [])


def test_unsafe_ids_locales_and_file_names_are_refused(round0: Emulator, tmp_path: Path) -> None:
    synced_rounds(round0, tmp_path, 0, "--download-assets")
    (tmp_path.parent / "secret.txt").write_text("secret")
    with open_revision(tmp_path) as content:
        for unsafe in ("..", ".", "../secret", "a/b", "x" * 65, ""):
            assert content.entry(unsafe) is None
            assert content.asset(unsafe) is None
            assert list(content.entries(unsafe)) == []
        asset = content.asset("porto-hero")
        assert asset is not None
        spec = asset["fields"]["file"]["en-US"]
        name = spec["fileName"]
        expected = (tmp_path / f"assets/files/porto-hero/en-US/{name}").read_bytes()
        assert content.asset_file("porto-hero", "en-US", name) == expected
        refused = [
            ("..", "en-US", name),
            ("porto-hero", "..", name),
            ("porto-hero", "en-US/../en-US", name),
            ("porto-hero", "en-US", "../../../secret.txt"),
            ("porto-hero", "en-US", "."),
            ("porto-hero", "en-US", "a\nb"),
            ("porto-hero", "de-DE", name),  # no such file for that locale
            ("porto-hero", "en-US", "other.jpg"),  # not the asset's file name
        ]
        for asset_id, locale, file_name in refused:
            assert content.asset_file(asset_id, locale, file_name) is None


def test_a_mirror_in_a_subfolder_of_a_larger_repository(round0: Emulator, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    git(site, "init", "-q", "-b", "main")
    (site / "README.md").write_text("site\n")
    git(site, "add", "-A")
    git(site, "-c", "user.name=P", "-c", "user.email=p@x", "commit", "-qm", "site")
    target = site / "data" / "cms"
    sync_json(round0, target)
    with open_revision(target) as content:
        assert content.prefix == "data/cms/"
        assert len(list(content.entries())) == 41
        assert IndexCache(content.objects, content.prefix).folder.parent.name != "root"
    with pytest.raises(UsageError, match="is not a mirror at HEAD~1"):
        open_revision(target, "HEAD~1")


def test_not_a_mirror_or_not_a_commit_is_a_usage_error(round0: Emulator, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not in a git repository"):
        open_revision(tmp_path)
    with pytest.raises(UsageError, match="is not a folder"):
        open_revision(tmp_path / "missing")
    synced_rounds(round0, tmp_path, 0)
    for rev in ("nope", "-p", "HEAD~5", "HEAD^{tree}"):
        with pytest.raises(UsageError):
            open_revision(tmp_path, rev)
