"""mirror sync against the emulator over real HTTP, into real Git repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mirror.emulator import Emulator, EmulatorConfig
from tests.conftest import Api, commit_count, files_of, git, mirror, sync_args, sync_json


def test_first_sync_creates_a_repository_with_every_item_and_one_commit(
    round0: Emulator, tmp_path: Path
) -> None:
    target = tmp_path / "content"
    report = sync_json(round0, target)
    assert report["status"] == "synced" and report["round"] == 1
    assert len(list((target / "entries").glob("*/*.json"))) == 41
    assert len(list((target / "assets").glob("*.json"))) == 13
    assert sorted(p.name for p in (target / "content_types").iterdir()) == [
        "author.json",
        "city.json",
        "guide.json",
        "place.json",
    ]
    assert [loc["code"] for loc in json.loads((target / "locales.json").read_text())] == [
        "en-US",
        "de-DE",
        "fr-FR",
    ]
    assert commit_count(target) == 1
    assert git(target, "log", "-1", "--format=%s") == "sync wayfarer/master: +60 ~0 -0\n"
    assert git(target, "status", "--porcelain") == ""
    state = json.loads((target / "mirror.json").read_text())
    counts = {"assets": 13, "content_types": 4, "entries": 41, "locales": 3, "tags": 0}
    assert state["counts"] == counts
    assert state["sync_token"] == report["token"]
    assert state["base_url"] == round0.base_url


def test_files_hold_the_item_as_sent_in_canonical_form(round0: Emulator, tmp_path: Path) -> None:
    sync_json(round0, tmp_path)
    items, _, _ = Api(round0).sync_all(initial="true", limit=1000)
    for item in items:
        sys = item["sys"]
        folder = (
            f"entries/{sys['contentType']['sys']['id']}" if sys["type"] == "Entry" else "assets"
        )
        raw = (tmp_path / folder / f"{sys['id']}.json").read_bytes()
        assert json.loads(raw) == item
        expected = json.dumps(item, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        assert raw == expected.encode("utf-8")
    hoi_an = (tmp_path / "entries/place/oaxaca-mercado-20-de-noviembre.json").read_text("utf-8")
    assert "\\u" not in hoi_an
    assert "Lisbonne" in (tmp_path / "entries/city/lisbon.json").read_text("utf-8")


def test_a_second_sync_with_no_change_makes_no_commit(round0: Emulator, tmp_path: Path) -> None:
    sync_json(round0, tmp_path)
    before = files_of(tmp_path)
    result = mirror(*sync_args(round0, tmp_path))
    assert result.exit_code == 0
    assert "is up to date" in result.stdout
    assert commit_count(tmp_path) == 1
    assert files_of(tmp_path) == before


def test_each_round_of_changes_becomes_one_commit(round0: Emulator, tmp_path: Path) -> None:
    sync_json(round0, tmp_path)
    round0.store.apply_round(1)
    report = sync_json(round0, tmp_path)
    assert (report["added"], report["changed"], report["deleted"]) == (0, 7, 0)
    round0.store.apply_round(2)
    report = sync_json(round0, tmp_path)
    assert (report["added"], report["changed"], report["deleted"]) == (3, 3, 0)
    assert (tmp_path / "entries/place/porto-bolhao-market.json").exists()
    tip = json.loads((tmp_path / "entries/place/valparaiso-ascensor-artilleria.json").read_text())
    assert "offlineTip" not in tip["fields"]  # a field cleared
    round0.store.apply_round(3)
    report = sync_json(round0, tmp_path)
    assert (report["added"], report["changed"], report["deleted"]) == (0, 4, 2)
    assert not (tmp_path / "entries/place/tbilisi-dry-bridge-market.json").exists()
    assert not (tmp_path / "assets/alfama-walk-route.json").exists()
    body = git(tmp_path, "log", "-1", "--format=%B")
    assert body.startswith("sync wayfarer/master: +0 ~4 -2\n\n")
    assert "- entries/place/tbilisi-dry-bridge-market.json  Dry Bridge market\n" in body
    assert "~ assets/kyoto-hero.json  Kyoto skyline: description, file\n" in body
    assert (
        "~ entries/guide/guide-lisbon-on-foot.json  Lisbon on foot, downhill: -attachments\n"
        in body
    )
    assert "Sync-Space: wayfarer\nSync-Environment: master\n" in body
    assert commit_count(tmp_path) == 4
    counts = json.loads((tmp_path / "mirror.json").read_text())["counts"]
    assert (counts["entries"], counts["assets"]) == (42, 13)


def test_tokens_read_back_from_the_commit_trailers(round0: Emulator, tmp_path: Path) -> None:
    tokens = [sync_json(round0, tmp_path)["token"]]
    for number in (1, 2):
        round0.store.apply_round(number)
        tokens.append(sync_json(round0, tmp_path)["token"])
    logged = git(tmp_path, "log", "--format=%(trailers:key=Sync-Token,valueonly)").split()
    assert logged == list(reversed(tokens))
    for commit, token in zip(git(tmp_path, "log", "--format=%H").split(), logged, strict=True):
        state = json.loads(git(tmp_path, "show", f"{commit}:mirror.json"))
        assert state["sync_token"] == token


def test_limit_makes_several_pages_and_is_remembered(round0: Emulator, tmp_path: Path) -> None:
    report = sync_json(round0, tmp_path, "--limit", "7")
    assert report["pages"] == 8 and report["items"] == 54 and report["limit"] == 7
    for number in (1, 2, 3, 4):
        round0.store.apply_round(number)
    report = sync_json(round0, tmp_path)
    assert report["pages"] == 4  # 24 changed items, still 7 a page
    assert json.loads((tmp_path / "mirror.json").read_text())["limit"] == 7
    reference = tmp_path.parent / "reference"
    sync_json(round0, reference)
    assert _items(tmp_path) == _items(reference)


def _items(directory: Path) -> dict[str, bytes]:
    return {k: v for k, v in files_of(directory).items() if k.startswith(("entries/", "assets/"))}


def test_content_type_filter_holds_for_later_rounds(round0: Emulator, tmp_path: Path) -> None:
    report = sync_json(round0, tmp_path, "--content-type", "city")
    assert report["items"] == 8
    assert sorted(p.parent.name for p in tmp_path.glob("entries/*/*.json")) == ["city"] * 8
    assert not (tmp_path / "assets").exists()
    for number in (1, 2, 3, 4):
        round0.store.apply_round(number)
    sync_json(round0, tmp_path)
    assert (tmp_path / "entries/city/hoi-an.json").exists()
    assert {p.parent.name for p in tmp_path.glob("entries/*/*.json")} == {"city"}
    state = json.loads((tmp_path / "mirror.json").read_text())
    assert state["filters"] == {"type": "Entry", "content_type": "city"}


def test_type_asset_mirrors_only_assets(round0: Emulator, tmp_path: Path) -> None:
    sync_json(round0, tmp_path, "--type", "Asset")
    assert not (tmp_path / "entries").exists()
    assert len(list((tmp_path / "assets").glob("*.json"))) == 13


def test_full_resync_removes_what_the_space_no_longer_has(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig()) as first:
        api = Api(first)
        link = {"sys": {"type": "Link", "linkType": "Entry", "id": "porto"}}
        api.write(
            "PUT",
            "entries",
            "short-lived",
            {"fields": {"title": {"en-US": "Pop-up"}, "city": {"en-US": link}}},
            headers={"X-Contentful-Content-Type": "place"},
        )
        sync_json(first, tmp_path)
        assert (tmp_path / "entries/place/short-lived.json").exists()
    with Emulator(EmulatorConfig(port=first.port)) as second:  # same space, the write is gone
        rejected = mirror(*sync_args(second, tmp_path))
        assert rejected.exit_code == 6
        assert "mirror sync --full" in rejected.stderr
        assert commit_count(tmp_path) == 1
        report = sync_json(second, tmp_path, "--full")
    assert (report["added"], report["changed"], report["deleted"]) == (0, 0, 1)
    assert not (tmp_path / "entries/place/short-lived.json").exists()
    assert git(tmp_path, "log", "-1", "--format=%s") == "sync wayfarer/master: +0 ~0 -1\n"


def test_a_mirror_inside_a_larger_repository_commits_only_its_folder(
    round0: Emulator, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    git(site, "init", "-q", "-b", "main")
    (site / "README.md").write_text("my site\n")
    (site / "config.toml").write_text("title = 'x'\n")
    git(site, "add", "-A")
    git(site, "-c", "user.name=Person", "-c", "user.email=p@example.org", "commit", "-qm", "site")
    (site / "config.toml").write_text("title = 'staged, not committed'\n")
    git(site, "add", "config.toml")
    (site / "README.md").write_text("my site, edited but not staged\n")
    target = site / "data" / "cms"
    sync_json(round0, target)
    round0.store.apply_round(1)
    sync_json(round0, target)
    assert not (target / ".git").exists()
    for commit in git(site, "log", "-2", "--format=%H").split():
        touched = git(site, "show", "--name-only", "--format=", commit).split()
        assert touched and all(p.startswith("data/cms/") for p in touched)
    assert git(site, "diff", "--cached", "--name-only") == "config.toml\n"  # still staged
    assert (site / "README.md").read_text() == "my site, edited but not staged\n"
    assert git(site, "status", "--porcelain", "--", "data/cms") == ""


def test_dry_run_reports_and_writes_nothing(round0: Emulator, tmp_path: Path) -> None:
    target = tmp_path / "new"
    result = mirror(*sync_args(round0, target, "--dry-run"))
    assert result.exit_code == 0, result.stderr
    assert "would change +60 ~0 -0" in result.stdout
    assert not target.exists()
    sync_json(round0, target)
    for number in (1, 2, 3):
        round0.store.apply_round(number)
    before = files_of(target)
    planned = sync_json(round0, target, "--dry-run")
    assert planned["status"] == "dry-run"
    assert files_of(target) == before and commit_count(target) == 1
    done = sync_json(round0, target)
    counts = ("added", "changed", "deleted")
    assert [planned[k] for k in counts] == [done[k] for k in counts] != [0, 0, 0]


def test_json_summary_has_counts_token_and_commit(round0: Emulator, tmp_path: Path) -> None:
    report = sync_json(round0, tmp_path)
    assert set(report) >= {
        "status",
        "space",
        "environment",
        "round",
        "added",
        "changed",
        "deleted",
        "token",
        "commit",
        "pages",
        "items",
        "seconds",
    }
    assert report["commit"] == git(tmp_path, "rev-parse", "HEAD").strip()


def test_settings_come_from_the_environment(round0: Emulator, tmp_path: Path) -> None:
    env = {
        "CONTENTFUL_SPACE_ID": round0.space.id,
        "CONTENTFUL_ACCESS_TOKEN": round0.access_token,
        "CONTENTFUL_BASE_URL": round0.base_url,
        "CONTENTFUL_ENVIRONMENT": "master",
    }
    result = mirror("sync", str(tmp_path), "-q", env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    round0.store.apply_round(1)
    result = mirror("sync", str(tmp_path), env={"CONTENTFUL_ACCESS_TOKEN": round0.access_token})
    assert result.exit_code == 0 and "round 2" in result.stdout


def test_author_is_fixed_and_never_the_machines(round0: Emulator, tmp_path: Path) -> None:
    sync_json(round0, tmp_path / "a")
    assert git(tmp_path / "a", "log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
        "mirror <mirror@localhost>|mirror <mirror@localhost>\n"
    )
    sync_json(round0, tmp_path / "b", "--author", "Site Bot <bot@example.org>")
    assert git(tmp_path / "b", "log", "-1", "--format=%an <%ae>") == "Site Bot <bot@example.org>\n"
    bad = mirror(*sync_args(round0, tmp_path / "c", "--author", "no email"))
    assert bad.exit_code == 2


def test_oversized_pages_restart_the_initial_sync_with_a_smaller_limit(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(max_response_bytes=30_000)) as emulator:
        result = mirror(*sync_args(emulator, tmp_path, "--json"))
    assert result.exit_code == 0, result.stderr
    assert "restarting the initial sync with limit 500" in result.stderr
    report = json.loads(result.stdout)
    assert report["limit"] <= 31 and report["items"] == 57
    assert json.loads((tmp_path / "mirror.json").read_text())["limit"] == report["limit"]
    assert len(list(tmp_path.glob("entries/*/*.json"))) == 44


def test_filters_given_later_are_reported_not_silently_dropped(
    round0: Emulator, tmp_path: Path
) -> None:
    sync_json(round0, tmp_path)
    result = mirror(*sync_args(round0, tmp_path, "--limit", "5"))
    assert result.exit_code == 0
    assert "use --full" in result.stderr


def test_deleting_an_item_the_mirror_never_had_is_not_an_error(
    round0: Emulator, tmp_path: Path
) -> None:
    sync_json(round0, tmp_path)
    api = Api(round0)
    fields = {"name": {"en-US": "Passing through"}}
    api.write(
        "PUT",
        "entries",
        "transient",
        {"fields": fields},
        headers={"X-Contentful-Content-Type": "author"},
    )
    api.write("DELETE", "entries", "transient")
    api.write("DELETE", "assets", "porto-hero")
    report = sync_json(round0, tmp_path)
    assert (report["added"], report["changed"], report["deleted"]) == (0, 0, 1)
    assert report["items"] == 2


def test_no_progress_or_noise_on_stderr_when_not_a_terminal(
    round0: Emulator, tmp_path: Path
) -> None:
    result = mirror(*sync_args(round0, tmp_path))
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.startswith("synced wayfarer/master round 1: +60 ~0 -0")


def test_housekeeping_packs_each_rounds_objects_in_the_background(
    round0: Emulator, tmp_path: Path
) -> None:
    from mirror.client.guard import wait_for_lock

    sync_json(round0, tmp_path)
    for number in (1, 2, 3, 4):
        round0.store.apply_round(number)
        sync_json(round0, tmp_path)  # each waits for the previous round's housekeeping
    assert wait_for_lock(tmp_path / ".git/mirror/root/housekeeping.lock", 60)
    counts = dict(line.split(": ") for line in git(tmp_path, "count-objects", "-v").splitlines())
    assert counts["count"] == "0"  # no loose objects left
    subprocess.run(
        ["git", "-C", str(tmp_path), "fsck", "--no-progress"], check=True, capture_output=True
    )
