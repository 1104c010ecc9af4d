"""mirror export and mirror bundle, end to end on the sample space and real recordings."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mirror.emulator import Emulator, EmulatorConfig
from mirror.schemas import schemas
from tests.conftest import Api, files_of, mirror, recording, sync_args, token_of
from tests.replay import ReplayServer, replay_sync_args


@pytest.fixture(scope="module")
def guide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample space at its last round, mirrored with its asset files."""
    folder = tmp_path_factory.mktemp("guide") / "m"
    with Emulator(EmulatorConfig()) as emulator:
        result = mirror(*sync_args(emulator, folder, "--download-assets"))
        assert result.exit_code == 0, result.stderr
    yield folder


def _export(source: Path, out: Path, *args: str) -> Any:
    result = mirror("export", str(source), str(out), *args)
    assert result.exit_code == 0, result.stderr
    return result


def _read(out: Path, locale: str, content_type: str, entry_id: str) -> dict[str, Any]:
    return dict(json.loads((out / locale / content_type / f"{entry_id}.json").read_text()))


def test_export_writes_one_file_per_entry_and_an_index(guide: Path, tmp_path: Path) -> None:
    _export(guide, tmp_path, "--locale", "en-US")
    types = ["author", "city", "guide", "place"]
    assert sorted(p.name for p in (tmp_path / "en-US").iterdir()) == sorted(
        ["_assets", *types, *(f"{name}.index.json" for name in types)]
    )
    index = json.loads((tmp_path / "en-US/city.index.json").read_text())
    assert [row["id"] for row in index] == sorted(row["id"] for row in index)
    assert {"id": "lisbon", "title": "Lisbon", "file": "city/lisbon.json"}.items() <= next(
        r for r in index if r["id"] == "lisbon"
    ).items()
    assert len(list((tmp_path / "en-US/place").glob("*.json"))) == 26  # entries only
    assert len(list((tmp_path / "en-US/_assets").glob("*.json"))) == 13


def test_fields_follow_the_locale_fallback_chain(guide: Path, tmp_path: Path) -> None:
    _export(guide, tmp_path, "--locale", "all")
    # fr-FR falls back to de-DE, which falls back to en-US
    tasca = "porto-tasca-ribeira"
    assert (
        _read(tmp_path, "fr-FR", "place", tasca)["fields"]["title"]
        == "Une tasca au-dessus de la Ribeira"
    )
    graca = _read(tmp_path, "fr-FR", "place", "lisbon-miradouro-graca")["fields"]
    assert graca["title"] == "Aussichtspunkt Graça"  # no French: the German
    assert (
        _read(tmp_path, "fr-FR", "place", "porto-serralves-park")["fields"]["title"]
        == "Serralves park"
    )
    assert graca["rating"] == 4.7  # a field that is not localized, in every locale
    assert "website" not in _read(tmp_path, "de-DE", "author", "author-kenji")["fields"]


def test_links_resolve_to_the_depth_asked_then_stay_stubs(guide: Path, tmp_path: Path) -> None:
    _export(guide, tmp_path / "d0", "--locale", "en-US", "--resolve-links", "0")
    _export(guide, tmp_path / "d1", "--locale", "en-US")
    _export(guide, tmp_path / "d2", "--locale", "en-US", "--resolve-links", "2")
    place = "kyoto-fushimi-inari"
    assert _read(tmp_path / "d0", "en-US", "place", place)["fields"]["city"] == {
        "id": "kyoto",
        "type": "Entry",
    }
    city = _read(tmp_path / "d1", "en-US", "place", place)["fields"]["city"]
    assert city["fields"]["name"] == "Kyoto" and city["fields"]["heroImage"] == {
        "id": "kyoto-hero",
        "type": "Asset",
    }
    hero = _read(tmp_path / "d2", "en-US", "place", place)["fields"]["city"]["fields"]["heroImage"]
    assert hero["url"].startswith("https://") or hero["url"].startswith("http")
    assert (hero["width"], hero["height"], hero["contentType"]) == (120, 72, "image/png")
    assert hero["path"] == "assets/files/kyoto-hero/en-US/kyoto-skyline-autumn.png"
    assert (guide / hero["path"]).is_file()


def test_cycles_and_missing_targets_stay_stubs(guide: Path, tmp_path: Path) -> None:
    _export(guide, tmp_path, "--locale", "en-US", "--resolve-links", "5")
    city = _read(tmp_path, "en-US", "city", "porto")
    back = city["fields"]["highlights"][0]["fields"]["city"]
    assert back == {"id": "porto", "type": "Entry"}  # porto -> place -> porto: a cycle
    body = _read(tmp_path, "en-US", "guide", "guide-lisbon-on-foot")["fields"]["body"]
    embedded = [
        n["data"]["target"] for n in body["content"] if n["nodeType"] == "embedded-asset-block"
    ]
    deleted = {"id": "alfama-walk-route", "type": "Asset", "missing": True}  # in round 3
    assert embedded == [deleted]
    place = [
        n["data"]["target"] for n in body["content"] if n["nodeType"] == "embedded-entry-block"
    ]
    assert place[0]["fields"]["title"] == "Miradouro da Graça"


def test_export_is_deterministic_and_drops_stale_files(guide: Path, tmp_path: Path) -> None:
    _export(guide, tmp_path, "--locale", "de-DE")
    first = files_of(tmp_path)
    (tmp_path / "de-DE/place/gone.json").write_text("{}")
    _export(guide, tmp_path, "--locale", "de-DE", "--full")
    assert files_of(tmp_path) == first


def test_export_options_and_errors(guide: Path, tmp_path: Path) -> None:
    _export(guide, tmp_path, "--locale", "en-US", "--content-type", "author")
    assert sorted(p.name for p in (tmp_path / "en-US").iterdir()) == [
        "author",
        "author.index.json",
    ]
    bad = mirror("export", str(guide), str(tmp_path), "--locale", "xx-XX")
    assert bad.exit_code == 2 and "not a locale of this space" in bad.stderr
    assert mirror("export", str(tmp_path), str(tmp_path / "o"), "--locale", "en-US").exit_code == 2


def test_export_of_real_contentful_data_uses_its_fallbacks(tmp_path: Path) -> None:
    exchanges = recording("cfexampleapi-initial-then-empty-delta")["exchanges"]
    with ReplayServer(exchanges) as server:
        assert mirror(*replay_sync_args(server, tmp_path / "m", "cfexampleapi")).exit_code == 0
    _export(tmp_path / "m", tmp_path / "out", "--locale", "tlh")
    nyan = _read(tmp_path / "out", "tlh", "cat", "nyancat")["fields"]
    assert nyan["name"] == "Nyan vIghro'"  # Klingon where the space has it
    assert nyan["color"] == "rainbow"  # English, the fallback, where it has not
    assert nyan["bestFriend"]["fields"]["name"] == "Quch vIghro'"  # linked, in Klingon too


# -- bundles ----------------------------------------------------------------------------


def test_sqlite_bundle_holds_everything_and_the_token(guide: Path, tmp_path: Path) -> None:
    result = mirror("bundle", str(guide), str(tmp_path / "seed"))
    assert result.exit_code == 0, result.stderr
    database = tmp_path / "seed.sqlite"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        state = db.execute(
            "SELECT space, environment, sync_token, round FROM sync_state"
        ).fetchall()
        mirror_state = json.loads((guide / "mirror.json").read_text())
        assert state == [("wayfarer", "master", mirror_state["sync_token"], mirror_state["round"])]
        assert db.execute("SELECT count(*) FROM entries").fetchone() == (44,)
        assert db.execute("SELECT count(*) FROM assets").fetchone() == (13,)
        assert db.execute(
            "SELECT count(*) FROM entries WHERE content_type = 'city'"
        ).fetchone() == (9,)
        fields = json.loads(
            db.execute("SELECT fields FROM entries WHERE id = 'lisbon'").fetchone()[0]
        )
        assert fields["name"]["fr-FR"] == "Lisbonne"
        assert db.execute("SELECT code FROM locales WHERE is_default = 1").fetchone() == ("en-US",)
        indexes = {row[1] for row in db.execute("PRAGMA index_list(entries)")}
        assert "entries_by_content_type" in indexes
    assert not list(tmp_path.glob(".*partial"))


def test_sync_pages_bundle_is_the_persistence_library_layout(guide: Path, tmp_path: Path) -> None:
    out = tmp_path / "seed"
    assert mirror("bundle", str(guide), str(out), "--format", "sync-pages").exit_code == 0
    pages = sorted(out.glob("[0-9]*.json"), key=lambda p: int(p.stem))
    bodies = [json.loads(p.read_text()) for p in pages]
    assert [p.stem for p in pages] == [str(n) for n in range(len(pages))]
    for body in bodies:
        assert schemas().errors("sync_page", body) == []
    assert "nextSyncUrl" in bodies[-1] and all("nextPageUrl" in b for b in bodies[:-1])
    token = json.loads((guide / "mirror.json").read_text())["sync_token"]
    assert token_of(bodies[-1]["nextSyncUrl"]) == token
    assert sum(len(b["items"]) for b in bodies) == 44 + 13
    locales = json.loads((out / "locales.json").read_text())
    assert locales["sys"] == {"type": "Array"} and locales["total"] == 3
    assert (out / "cache_kyoto-hero.png").read_bytes() == (
        guide / "assets/files/kyoto-hero/en-US/kyoto-skyline-autumn.png"
    ).read_bytes()


@pytest.mark.parametrize("layout", ["sqlite", "sync-pages"])
def test_an_app_continues_from_the_bundle_with_exactly_the_later_changes(
    layout: str, tmp_path: Path
) -> None:
    with Emulator(EmulatorConfig(round=2)) as emulator:
        assert mirror(*sync_args(emulator, tmp_path / "m")).exit_code == 0
        out = tmp_path / "bundle"
        assert mirror("bundle", str(tmp_path / "m"), str(out), "--format", layout).exit_code == 0
        if layout == "sqlite":
            with sqlite3.connect(f"file:{out}.sqlite?mode=ro", uri=True) as db:
                token = db.execute("SELECT sync_token FROM sync_state").fetchone()[0]
        else:
            last = max(out.glob("[0-9]*.json"), key=lambda p: int(p.stem))
            token = token_of(json.loads(last.read_text())["nextSyncUrl"])
        emulator.store.apply_round(3)
        emulator.store.apply_round(4)
        items, _, _ = Api(emulator).sync_all(sync_token=token)
        expected, _, _ = Api(emulator).sync_all(
            sync_token=json.loads((tmp_path / "m/mirror.json").read_text())["sync_token"]
        )
        fresh = requests.get(
            f"{emulator.base_url}/spaces/wayfarer/environments/master/sync",
            params={"sync_token": token},
            timeout=5,
            headers={"Authorization": f"Bearer {emulator.access_token}"},
        )
    changed = {(i["sys"]["type"], i["sys"]["id"]) for i in items}
    assert changed == {(i["sys"]["type"], i["sys"]["id"]) for i in expected}
    assert ("DeletedEntry", "tbilisi-dry-bridge-market") in changed
    assert ("Entry", "hoi-an") in changed and ("Entry", "lisbon") not in changed
    assert (
        len(changed) == 6 + 9 - 1 and fresh.status_code == 200
    )  # rounds 3 and 4, one item in both


def test_bundles_of_a_real_recorded_space(tmp_path: Path) -> None:
    exchanges = recording("three-pages-256-items")["exchanges"]
    with ReplayServer(exchanges) as server:
        result = mirror(
            *replay_sync_args(server, tmp_path / "m", "redactedspace", "--limit", "100")
        )
        assert result.exit_code == 0, result.stderr
    items = [i for e in exchanges for i in e["body"]["items"]]
    entries = sum(1 for i in items if i["sys"]["type"] == "Entry")
    assert mirror("bundle", str(tmp_path / "m"), str(tmp_path / "b.sqlite")).exit_code == 0
    with sqlite3.connect(f"file:{tmp_path / 'b.sqlite'}?mode=ro", uri=True) as db:
        assert db.execute("SELECT count(*) FROM entries").fetchone() == (entries,)
        assert db.execute("SELECT count(*) FROM assets").fetchone() == (len(items) - entries,)
    assert (
        mirror(
            "bundle", str(tmp_path / "m"), str(tmp_path / "p"), "--format", "sync-pages"
        ).exit_code
        == 0
    )
    pages = [json.loads(p.read_text()) for p in (tmp_path / "p").glob("[0-9]*.json")]
    assert sum(len(p["items"]) for p in pages) == len(items)
    assert all(schemas().errors("sync_page", p) == [] for p in pages)
