"""mirror export brings an earlier export up to date: the same bytes as a full export."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from mirror.emulator import Emulator
from tests.conftest import Api, files_of, git, mirror, sync_json

INDEX = ".mirror-export/links.sqlite"  # SQLite's bytes depend on the order of its writes


def _export(source: Path, out: Path, *args: str) -> Any:
    result = mirror("export", str(source), str(out), *args)
    assert result.exit_code == 0, result.stderr
    return result


def _exported(out: Path) -> dict[str, bytes]:
    return {path: data for path, data in files_of(out).items() if path != INDEX}


def _link(kind: str, item_id: str) -> dict[str, Any]:
    return {"sys": {"type": "Link", "linkType": kind, "id": item_id}}


class Changes:
    """Random rounds of changes made through the emulator's write API."""

    def __init__(self, emulator: Emulator, seed: int) -> None:
        self.emulator, self.api = emulator, Api(emulator)
        self.random = random.Random(seed)
        self.made = 0

    def ids(self, kind: str, content_type: str | None = None) -> list[str]:
        store = self.emulator.store
        return sorted(
            item_id
            for (item_kind, item_id), item in store._items.items()
            if item_kind == kind
            and not item.deleted
            and (content_type is None or item.content_type == content_type)
        )

    def put(self, entry_id: str, fields: dict[str, Any], content_type: str = "") -> None:
        headers = {"X-Contentful-Content-Type": content_type} if content_type else None
        response = self.api.write("PUT", "entries", entry_id, {"fields": fields}, headers)
        assert response.status_code in (200, 201), response.text

    def fields(self, entry_id: str) -> dict[str, Any]:
        return dict(self.emulator.store.item("Entry", entry_id)["fields"])

    def round(self) -> set[str]:
        """A few random changes; returns the kinds of change made."""
        kinds = set()
        for _ in range(self.random.randint(1, 4)):
            kind = self.random.choice(
                ["edit", "edit", "delete", "link", "cycle", "new", "asset", "locale", "type"]
            )
            getattr(self, kind)()
            kinds.add(kind)
        return kinds

    def edit(self) -> None:
        place = self.random.choice(self.ids("Entry", "place"))
        fields = self.fields(place)
        fields["title"] = {**fields["title"], "en-US": f"Edited {self.random.random():.6f}"}
        self.put(place, fields)

    def delete(self) -> None:
        kind = self.random.choice(["entries", "entries", "assets"])
        ids = self.ids("Entry" if kind == "entries" else "Asset")
        assert self.api.write("DELETE", kind, self.random.choice(ids)).status_code == 204

    def link(self) -> None:
        place, city = (self.random.choice(self.ids("Entry", t)) for t in ("place", "city"))
        fields = self.fields(place)
        fields["city"] = {"en-US": _link("Entry", city)}
        self.put(place, fields)

    def cycle(self) -> None:
        first, second = self.random.sample(self.ids("Entry", "city"), 2)
        for one, other in ((first, second), (second, first)):
            fields = self.fields(one)
            fields["highlights"] = {"en-US": [_link("Entry", other)]}
            self.put(one, fields)

    def new(self) -> None:
        """A new place, linking to a random city or to an entry that does not exist yet;
        sometimes that entry is created."""
        self.made += 1
        target = self.random.choice([*self.ids("Entry", "city"), f"ghost-{self.made}"])
        fields = {"title": {"en-US": f"New {self.made}"}, "city": {"en-US": _link("Entry", target)}}
        self.put(f"new-{self.made}", fields, "place")
        if self.made > 1 and self.random.random() < 0.5:
            ghost = {"name": {"en-US": f"Ghost {self.made - 1}"}, "location": {"en-US": {}}}
            ghost["location"] = {"en-US": {"lat": 1.0, "lon": 2.0}}
            self.put(f"ghost-{self.made - 1}", ghost, "city")

    def asset(self) -> None:
        asset_id = self.random.choice(self.ids("Asset"))
        item = self.emulator.store.item("Asset", asset_id)
        fields = {**item["fields"], "title": {"en-US": f"Asset {self.random.random():.6f}"}}
        response = self.api.write("PUT", "assets", asset_id, {"fields": fields})
        assert response.status_code == 200, response.text

    def locale(self) -> None:
        for locale in self.emulator.store.space.locales:
            if locale["code"] == "fr-FR":
                locale["fallbackCode"] = self.random.choice(["de-DE", "en-US"])
        self.edit()  # a round with no item changed fetches no locales or content types

    def type(self) -> None:
        city = self.emulator.store.space.content_types["city"]
        city["displayField"] = self.random.choice(["name", "country"])
        self.edit()


@pytest.mark.parametrize(("depth", "seed"), [("1", 1), ("2", 2), ("3", 3)])
def test_incremental_exports_match_full_exports_byte_for_byte(
    round0: Emulator, tmp_path: Path, depth: str, seed: int
) -> None:
    source, incremental = tmp_path / "m", tmp_path / "inc"
    sync_json(round0, source, "--download-assets")
    options = ["--locale", "all", "--resolve-links", depth, "--index-field", "slug"]
    _export(source, incremental, *options, "--copy-assets")
    changes = Changes(round0, seed)
    modes = []
    for number in range(8):
        kinds = changes.round()
        sync_json(round0, source, "--download-assets")
        manifest = tmp_path / f"manifest-{number}.json"
        _export(source, incremental, *options, "--copy-assets", "--manifest", str(manifest))
        full = tmp_path / f"full-{number}"
        jobs = "3" if number % 2 else "1"  # rendered by worker processes, or in-process
        _export(source, full, *options, "--copy-assets", "--jobs", jobs)
        assert _exported(incremental) == _exported(full), (number, kinds)
        mode = json.loads(manifest.read_text())["mode"]
        modes.append(mode)
        shutil.rmtree(full)
        if not kinds & {"locale", "type"}:
            assert mode == "incremental", (number, kinds)
    assert "incremental" in modes


def test_worker_processes_write_what_one_process_writes(round0: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "m"
    sync_json(round0, source)
    outs = {}
    for jobs in ("1", "2", "5"):
        outs[jobs] = tmp_path / f"out-{jobs}"
        result = _export(
            source, outs[jobs], "--locale", "all", "--resolve-links", "2", "--jobs", jobs
        )
        assert "exported" in result.stdout
    expected = files_of(outs["1"])
    assert len(expected) > 50
    for jobs in ("2", "5"):
        assert files_of(outs[jobs]) == expected  # the link index too: the same writes, in order
    update = _export(source, outs["2"], "--locale", "all", "--resolve-links", "2")
    assert "updated" in update.stdout  # and an export by workers is a base for updates


def test_an_entry_reaching_a_changed_entry_within_the_depth_is_rewritten(
    round0: Emulator, tmp_path: Path
) -> None:
    source, out = tmp_path / "m", tmp_path / "out"
    sync_json(round0, source)
    changes = Changes(round0, 0)
    place = changes.ids("Entry", "place")[0]
    city = changes.fields(place)["city"]["en-US"]["sys"]["id"]
    _export(source, out, "--locale", "en-US", "--resolve-links", "1")
    fields = changes.fields(city)
    fields["name"] = {**fields["name"], "en-US": "Renamed"}
    changes.put(city, fields)
    sync_json(round0, source)
    manifest = tmp_path / "manifest.json"
    result = _export(
        source, out, "--locale", "en-US", "--resolve-links", "1", "--manifest", str(manifest)
    )
    assert result.stderr == ""
    changed = json.loads(manifest.read_text())
    assert changed["mode"] == "incremental"
    written = changed["locales"]["en-US"]["written"]
    assert f"en-US/place/{place}.json" in written and f"en-US/city/{city}.json" in written
    assert "en-US/city.index.json" in written and place in changed["locales"]["en-US"]["entries"]
    flat = json.loads((out / f"en-US/place/{place}.json").read_text())
    assert flat["fields"]["city"]["fields"]["name"] == "Renamed"
    assert len(written) < 20  # not the whole space


def test_a_deleted_entry_is_removed_and_listed(round0: Emulator, tmp_path: Path) -> None:
    source, out = tmp_path / "m", tmp_path / "out"
    sync_json(round0, source)
    _export(source, out, "--locale", "en-US")
    place = Changes(round0, 0).ids("Entry", "place")[0]
    assert Api(round0).write("DELETE", "entries", place).status_code == 204
    sync_json(round0, source)
    result = _export(source, out, "--locale", "en-US", "--json")
    summary = json.loads(result.stdout)
    assert summary["mode"] == "incremental" and summary["locales"]["en-US"]["removed"] == 1
    assert not (out / f"en-US/place/{place}.json").exists()
    rows = json.loads((out / "en-US/place.index.json").read_text())
    assert place not in [row["id"] for row in rows]


def test_other_options_or_a_changed_content_type_mean_a_full_export(
    round0: Emulator, tmp_path: Path
) -> None:
    source, out = tmp_path / "m", tmp_path / "out"
    sync_json(round0, source)
    first = _export(source, out, "--locale", "en-US")
    assert "holds no earlier export" in first.stderr
    again = _export(source, out, "--locale", "en-US", "--resolve-links", "2")
    assert (
        again.stderr.strip() == "full export: the earlier export in OUT was made with other options"
    )
    round0.store.space.content_types["city"]["displayField"] = "country"
    Changes(round0, 0).edit()
    sync_json(round0, source)
    typed = _export(source, out, "--locale", "en-US", "--resolve-links", "2", "--json")
    assert "content type changed" in typed.stderr and json.loads(typed.stdout)["mode"] == "full"
    rows = json.loads((out / "en-US/city.index.json").read_text())
    assert rows and all(set(row["fields"]) <= {"country"} for row in rows)
    forced = _export(source, out, "--locale", "en-US", "--resolve-links", "2", "--full")
    assert forced.stderr == "" and forced.stdout.startswith("exported ")


def test_a_mirror_with_uncommitted_changes_is_refused(round0: Emulator, tmp_path: Path) -> None:
    source, out = tmp_path / "m", tmp_path / "out"
    sync_json(round0, source)
    (source / "entries/place/stray.json").write_text("{}")
    result = mirror("export", str(source), str(out), "--locale", "en-US")
    assert result.exit_code == 6
    assert "differ from its last commit (entries/place/stray.json)" in result.stderr
    assert not out.exists()


def test_a_mirror_in_a_subfolder_of_a_bigger_repository(round0: Emulator, tmp_path: Path) -> None:
    top = tmp_path / "site"
    top.mkdir()
    git(top, "init", "-q")
    source, out = top / "content", tmp_path / "out"
    sync_json(round0, source)
    _export(source, out, "--locale", "en-US")
    changes = Changes(round0, 5)
    changes.edit()
    sync_json(round0, source)
    result = _export(source, out, "--locale", "en-US", "--json")
    assert json.loads(result.stdout)["mode"] == "incremental"
    full = tmp_path / "full"
    _export(source, full, "--locale", "en-US")
    assert _exported(out) == _exported(full)


def test_layout_assets_locales_and_missing_stubs(round0: Emulator, tmp_path: Path) -> None:
    source, out = tmp_path / "m", tmp_path / "out"
    sync_json(round0, source, "--download-assets")
    changes = Changes(round0, 0)
    changes.put(
        "lonely",
        {"title": {"en-US": "Lonely"}, "city": {"en-US": _link("Entry", "nowhere")}},
        "place",
    )
    sync_json(round0, source, "--download-assets")
    _export(source, out, "--locale", "all", "--copy-assets", "--index-field", "slug")
    lonely = json.loads((out / "en-US/place/lonely.json").read_text())
    assert lonely["fields"]["city"] == {"id": "nowhere", "type": "Entry", "missing": True}
    locales = json.loads((out / "locales.json").read_text())
    assert locales["default"] == "en-US"
    assert {loc["code"]: loc["chain"] for loc in locales["locales"]}["fr-FR"] == [
        "fr-FR",
        "de-DE",
        "en-US",
    ]
    guides = json.loads((out / "en-US/guide.index.json").read_text())
    assert all("slug" in row["fields"] and "title" in row["fields"] for row in guides)
    assets = sorted((out / "en-US/_assets").glob("*.json"))
    assert assets
    with_file = [json.loads(p.read_text()) for p in assets]
    local = [a for a in with_file if "path" in a]
    assert local and all((out / a["path"]).is_file() for a in local)
    assert all(a["path"].startswith("_files/") for a in local)
    assert all(a["url"].startswith("http://127.0.0.1:") for a in with_file if "url" in a)


def test_a_link_in_out_is_never_written_through_by_an_update(
    round0: Emulator, tmp_path: Path
) -> None:
    source, out, victim = tmp_path / "m", tmp_path / "out", tmp_path / "victim"
    sync_json(round0, source)
    _export(source, out, "--locale", "en-US")
    victim.mkdir()
    (victim / "precious.txt").write_text("not yours\n")
    shutil.rmtree(out / "en-US/place")
    (out / "en-US/place").symlink_to(victim, target_is_directory=True)
    Changes(round0, 0).edit()
    sync_json(round0, source)
    result = _export(source, out, "--locale", "en-US")
    assert "full export:" in result.stderr and "is not a plain folder" in result.stderr
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]
    assert not (out / "en-US/place").is_symlink() and (out / "en-US/place.index.json").is_file()


def test_an_update_of_some_content_types_matches_their_full_export(
    round0: Emulator, tmp_path: Path
) -> None:
    source, out = tmp_path / "m", tmp_path / "out"
    sync_json(round0, source)
    options = ["--locale", "en-US", "--locale", "de-DE", "--content-type", "place"]
    _export(source, out, *options, "--resolve-links", "2")
    changes = Changes(round0, 9)
    for _ in range(4):
        changes.random.choice([changes.edit, changes.link, changes.cycle, changes.delete])()
        sync_json(round0, source)
        result = _export(source, out, *options, "--resolve-links", "2", "--json")
        assert json.loads(result.stdout)["mode"] == "incremental"
        full = tmp_path / "full"
        _export(source, full, *options, "--resolve-links", "2")
        assert _exported(out) == _exported(full)
        shutil.rmtree(full)


@pytest.mark.parametrize("where", ["en-US", "_files", "locales.json"])
def test_an_out_holding_someone_elses_files_is_refused_not_emptied(
    round0: Emulator, tmp_path: Path, where: str
) -> None:
    source, out = tmp_path / "m", tmp_path / "hugo"
    sync_json(round0, source)
    mine = out / where / "posts" / "hello.md"  # a folder an export would replace whole
    mine.parent.mkdir(parents=True)
    mine.write_text("# mine\n")
    result = mirror("export", str(source), str(out), "--locale", "all")
    assert result.exit_code == 2, result.stderr
    assert f"{out / where} already exists" in result.stderr
    assert "holds no earlier mirror export" in result.stderr
    assert files_of(out) == {f"{where}/posts/hello.md": b"# mine\n"}
    shutil.rmtree(out / where)
    _export(source, out, "--locale", "all")  # OUT is now an export: later ones replace freely
    (out / ".mirror-export.json").unlink()  # as an interrupted export leaves it
    assert "exported" in _export(source, out, "--locale", "all").stdout


def test_a_manifest_that_cannot_be_written_is_refused_before_out_changes(
    round0: Emulator, tmp_path: Path
) -> None:
    source, out = tmp_path / "m", tmp_path / "out"
    sync_json(round0, source)
    result = mirror(
        "export",
        str(source),
        str(out),
        "--locale",
        "all",
        "--manifest",
        str(tmp_path / "no/m.json"),
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: --manifest {tmp_path / 'no/m.json'} cannot be written: "
        f"no such folder {tmp_path / 'no'}"
    )
    assert not out.exists()


def test_a_dropped_locale_goes_and_the_manifest_says_so(round0: Emulator, tmp_path: Path) -> None:
    source, out = tmp_path / "m", tmp_path / "out"
    sync_json(round0, source)
    _export(source, out, "--locale", "all")
    before = {p for p in files_of(out) if p.startswith("de-DE/")}
    manifest = tmp_path / "manifest.json"
    _export(source, out, "--locale", "en-US", "--manifest", str(manifest))
    assert not (out / "de-DE").exists() and (out / "en-US").is_dir()
    body = json.loads(manifest.read_text())
    assert set(body["locales"]["de-DE"]["removed"]) == before and before
    assert body["locales"]["de-DE"]["written"] == []


def test_the_manifest_lists_copied_asset_files(round0: Emulator, tmp_path: Path) -> None:
    source, out = tmp_path / "m", tmp_path / "out"
    sync_json(round0, source, "--download-assets")
    manifest = tmp_path / "manifest.json"
    _export(source, out, "--locale", "en-US", "--copy-assets", "--manifest", str(manifest))
    copies = {p for p in files_of(out) if p.startswith("_files/")}
    assert copies and set(json.loads(manifest.read_text())["files"]["written"]) == copies
    api = Api(round0)
    asset = round0.store.item("Asset", "kyoto-hero")
    file = asset["fields"]["file"]["en-US"]
    renamed = {**file, "fileName": "kyoto-renamed.png"}
    fields = {**asset["fields"], "file": {**asset["fields"]["file"], "en-US": renamed}}
    assert api.write("PUT", "assets", "kyoto-hero", {"fields": fields}).status_code == 200
    sync_json(round0, source, "--download-assets")
    _export(source, out, "--locale", "en-US", "--copy-assets", "--manifest", str(manifest))
    files = json.loads(manifest.read_text())["files"]
    assert "_files/kyoto-hero/en-US/kyoto-renamed.png" in files["written"]
    assert f"_files/kyoto-hero/en-US/{file['fileName']}" in files["removed"]
    assert (out / "_files/kyoto-hero/en-US/kyoto-renamed.png").is_file()


def test_options_that_do_nothing_are_pointed_out(round0: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "m"
    sync_json(round0, source)
    result = _export(
        source, tmp_path / "out", "--locale", "en-US", "--index-field", "slugg", "--copy-assets"
    )
    assert "note: --index-field slugg: no content type has such a field" in result.stderr
    assert "note: --copy-assets: the mirror holds no downloaded asset files" in result.stderr


def test_a_locale_folder_no_earlier_export_wrote_is_refused_too(
    round0: Emulator, tmp_path: Path
) -> None:
    source, out = tmp_path / "m", tmp_path / "site"
    sync_json(round0, source)
    _export(source, out, "--locale", "de-DE")
    mine = out / "en-US" / "posts" / "hello.md"  # beside an export, in a locale it never had
    mine.parent.mkdir(parents=True)
    mine.write_text("# mine\n")
    result = mirror("export", str(source), str(out), "--locale", "all")
    assert result.exit_code == 2, result.stderr
    assert f"{out / 'en-US'} already exists" in result.stderr
    assert mine.read_text() == "# mine\n"
    assert "updated" in _export(source, out, "--locale", "de-DE").stdout  # its own: still fine
