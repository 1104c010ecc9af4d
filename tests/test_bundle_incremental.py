"""mirror bundle (sqlite) updated in place from the bundle of an earlier commit: the
same rows as a fresh bundle, resolved rows as the Delivery API answers, asset files."""

from __future__ import annotations

import base64
import json
import random
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from mirror.emulator import Emulator
from tests.conftest import Api, git, mirror, sync_json

LOCALES = ("en-US", "de-DE", "fr-FR")


def bundle(directory: Path, out: Path, *extra: str) -> Any:
    result = mirror("bundle", str(directory), str(out), *extra)
    assert result.exit_code == 0, result.stderr
    return result


def dump(path: Path) -> dict[str, Any]:
    """Every table's rows in key order, the schema and user_version: what a reader sees."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        found: dict[str, Any] = {
            "user_version": db.execute("PRAGMA user_version").fetchone()[0],
            "schema": db.execute(
                "SELECT type, name, sql FROM sqlite_master ORDER BY name"
            ).fetchall(),
        }
        tables = [row[1] for row in found["schema"] if row[0] == "table"]
        for table in tables:
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            order = ", ".join(columns)
            found[table] = db.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
    return found


def png(seed: int) -> str:
    data = b"\x89PNG\r\n\x1a\n" + seed.to_bytes(4, "big") * 8
    return "data:image/png;base64," + base64.b64encode(data).decode()


def items_of(directory: Path, folder: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((directory / folder).rglob("*.json"))]


def random_round(api: Api, directory: Path, chooser: random.Random, number: int) -> None:
    """Some edits, additions and deletions of entries and assets through the write API."""
    entries = items_of(directory, "entries")
    assets = [a for a in items_of(directory, "assets") if "sys" in a]
    types = api.emulator.space.content_types
    for entry in chooser.sample(entries, 6):
        fields = entry["fields"]
        ct = entry["sys"]["contentType"]["sys"]["id"]
        texts = [f for f in types[ct]["fields"] if f["type"] in ("Symbol", "Text")]
        field = chooser.choice(texts)
        values = fields.setdefault(field["id"], {})
        locales = LOCALES if field.get("localized") else LOCALES[:1]
        if chooser.random() < 0.3 and set(values) - {"en-US"}:
            values.pop(chooser.choice(sorted(set(values) - {"en-US"})))  # the fallback shows
        else:
            values[chooser.choice(locales)] = f"round {number} {chooser.random():.6f}"
        assert api.write("PUT", "entries", entry["sys"]["id"], {"fields": fields}).ok
        if chooser.random() < 0.5:  # a new entry like it
            headers = {"X-Contentful-Content-Type": ct}
            new_id = f"new-{number}-{chooser.randrange(10**6)}"
            assert api.write("PUT", "entries", new_id, {"fields": fields}, headers).ok
    for entry in chooser.sample(entries, 2):
        assert api.write("DELETE", "entries", entry["sys"]["id"]).ok
    for asset in chooser.sample(assets, 2):
        fields = asset["fields"]
        fields.setdefault("title", {})[chooser.choice(LOCALES)] = f"asset {number}"
        assert api.write("PUT", "assets", asset["sys"]["id"], {"fields": fields}).ok
    new_file = {"fileName": f"pic-{number}.png", "contentType": "image/png", "upload": png(number)}
    body = {"fields": {"title": {"en-US": f"new {number}"}, "file": {"de-DE": new_file}}}
    assert api.write("PUT", "assets", f"new-asset-{number}", body).ok
    assert api.write("DELETE", "assets", chooser.choice(assets)["sys"]["id"]).ok


def test_an_updated_bundle_holds_what_a_fresh_one_does_round_after_round(
    round0: Emulator, tmp_path: Path
) -> None:
    directory, out = tmp_path / "m", tmp_path / "seed.sqlite"
    api = Api(round0)
    chooser = random.Random(20260301)
    sync_json(round0, directory, "--download-assets")
    first = bundle(directory, out, "--include-files")
    assert "a fresh bundle: OUT holds no bundle yet" in first.stderr
    for number in range(1, 5):
        if number == 2:
            round0.store.apply_round(1)  # the sample space's own changes too
        random_round(api, directory, chooser, number)
        if number == 3:  # a field no longer localized: every city resolves anew
            city = round0.space.content_types["city"]
            next(f for f in city["fields"] if f["id"] == "name")["localized"] = False
        sync_json(round0, directory, "--download-assets")
        updated = bundle(directory, out, "--include-files")
        assert "updated the bundle in place" in updated.stderr, updated.stderr
        fresh = tmp_path / f"fresh{number}.sqlite"
        assert "--full given" in bundle(directory, fresh, "--include-files", "--full").stderr
        assert dump(out) == dump(fresh), f"round {number}"
    files = dump(out)["files"]
    assert any(row[2] == "pic-4.png" and row[3] == "image/png" for row in files)


def test_the_bundle_records_its_schema_version_and_commit(round0: Emulator, tmp_path: Path) -> None:
    sync_json(round0, tmp_path / "m")
    bundle(tmp_path / "m", tmp_path / "seed.sqlite")
    with closing(sqlite3.connect(tmp_path / "seed.sqlite")) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (1,)
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert meta == {
        "mirror_commit": git(tmp_path / "m", "rev-parse", "HEAD").strip(),
        "mirror_path": "",
        "include_files": "0",
    }


def test_resolved_rows_are_what_the_delivery_api_answers(round0: Emulator, tmp_path: Path) -> None:
    sync_json(round0, tmp_path / "m")
    bundle(tmp_path / "m", tmp_path / "seed.sqlite")
    api = Api(round0)
    with closing(sqlite3.connect(tmp_path / "seed.sqlite")) as db:
        for locale in LOCALES:
            for kind, table, key in (
                ("entries", "entry_fields", "entry_id"),
                ("assets", "asset_fields", "asset_id"),
            ):
                answer = api.get(f"{api.env_path}/{kind}", locale=locale, limit=1000).json()
                delivered = {i["sys"]["id"]: i["fields"] for i in answer["items"]}
                rows = db.execute(
                    f"SELECT {key}, fields FROM {table} WHERE locale = ?", (locale,)
                ).fetchall()
                assert {i: json.loads(f) for i, f in rows} == delivered, (kind, locale)
        # fr-FR falls back to de-DE, then en-US; `rating` is not localized
        graca = json.loads(
            db.execute(
                "SELECT fields FROM entry_fields WHERE entry_id = ? AND locale = 'fr-FR'",
                ("lisbon-miradouro-graca",),
            ).fetchone()[0]
        )
    assert graca["title"] == "Aussichtspunkt Graça" and graca["rating"] == 4.7


def test_the_files_table_holds_the_downloaded_files(round0: Emulator, tmp_path: Path) -> None:
    directory = tmp_path / "m"
    sync_json(round0, directory, "--download-assets")
    bundle(directory, tmp_path / "seed.sqlite", "--include-files")
    on_disk = {
        tuple(p.relative_to(directory / "assets/files").parts): p.read_bytes()
        for p in (directory / "assets/files").rglob("*")
        if p.is_file()
    }
    with closing(sqlite3.connect(tmp_path / "seed.sqlite")) as db:
        rows = db.execute("SELECT asset_id, locale, file_name, data FROM files").fetchall()
        kinds = dict(db.execute("SELECT file_name, content_type FROM files").fetchall())
    assert on_disk and {(a, loc, n): d for a, loc, n, d in rows} == on_disk
    assert kinds["author-kenji.png"] == "image/png"
    assert kinds["alfama-walk.gpx"] == "application/gpx+xml"


def test_an_unversioned_bundle_is_rebuilt_saying_why(round0: Emulator, tmp_path: Path) -> None:
    sync_json(round0, tmp_path / "m")
    out = tmp_path / "seed.sqlite"
    with closing(sqlite3.connect(out)) as db, db:
        db.execute("CREATE TABLE entries (id TEXT PRIMARY KEY)")  # an earlier bundle
    result = bundle(tmp_path / "m", out)
    assert "a fresh bundle: OUT has bundle schema version 0; this mirror writes 1" in result.stderr
    assert dump(out)["user_version"] == 1
    out.write_text("not a database")
    assert "OUT is no SQLite database" in bundle(tmp_path / "m", out).stderr


def test_changed_locales_or_another_history_make_a_fresh_bundle(
    round0: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "seed.sqlite"
    sync_json(round0, tmp_path / "m")
    bundle(tmp_path / "m", out)
    next(loc for loc in round0.space.locales if loc["code"] == "fr-FR")["fallbackCode"] = "en-US"
    round0.store.apply_round(1)
    sync_json(round0, tmp_path / "m")
    assert "a fresh bundle: the locales changed since commit" in bundle(tmp_path / "m", out).stderr
    with closing(sqlite3.connect(out)) as db:
        row = db.execute("SELECT fallback_code FROM locales WHERE code = 'fr-FR'").fetchone()
    assert row == ("en-US",)
    sync_json(round0, tmp_path / "other")  # the same space, another repository
    result = bundle(tmp_path / "other", out)
    assert "which is not an ancestor" in result.stderr or "not an ancestor" in result.stderr


def test_the_bundle_holds_head_not_the_work_tree(round0: Emulator, tmp_path: Path) -> None:
    directory = tmp_path / "m"
    sync_json(round0, directory)
    path = directory / "entries/city/lisbon.json"
    entry = json.loads(path.read_text())
    entry["fields"]["name"]["en-US"] = "Not committed"
    path.write_text(json.dumps(entry))
    bundle(directory, tmp_path / "seed.sqlite")
    with closing(sqlite3.connect(tmp_path / "seed.sqlite")) as db:
        fields = db.execute("SELECT fields FROM entries WHERE id = 'lisbon'").fetchone()[0]
    assert json.loads(fields)["name"]["en-US"] == "Lisbon"


def test_a_mirror_in_a_folder_of_a_larger_repository(round0: Emulator, tmp_path: Path) -> None:
    top = tmp_path / "app"
    top.mkdir()
    git(top, "init", "-q")
    (top / "README").write_text("an app\n")
    git(top, "add", "README")
    git(top, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "app")
    directory = top / "content"
    sync_json(round0, directory)
    out = tmp_path / "seed.sqlite"
    bundle(directory, out)
    round0.store.apply_round(1)
    sync_json(round0, directory)
    assert "updated the bundle in place" in bundle(directory, out).stderr
    bundle(directory, tmp_path / "fresh.sqlite", "--full")
    assert dump(out) == dump(tmp_path / "fresh.sqlite")
    assert dict(dump(out)["meta"])["mirror_path"] == "content/"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [(("--include-files",), "OUT was made without --include-files"), (("--full",), "--full")],
)
def test_options_that_change_the_bundle_make_a_fresh_one(
    round0: Emulator, tmp_path: Path, extra: tuple[str, ...], reason: str
) -> None:
    sync_json(round0, tmp_path / "m")
    bundle(tmp_path / "m", tmp_path / "seed.sqlite")
    result = bundle(tmp_path / "m", tmp_path / "seed.sqlite", *extra)
    assert f"a fresh bundle: {reason}" in result.stderr


def test_include_files_is_for_the_sqlite_format(round0: Emulator, tmp_path: Path) -> None:
    sync_json(round0, tmp_path / "m")
    args = ("--format", "sync-pages", "--include-files")
    result = mirror("bundle", str(tmp_path / "m"), str(tmp_path / "p"), *args)
    assert result.exit_code == 2 and "--include-files" in result.stderr
    assert not (tmp_path / "p").exists()
