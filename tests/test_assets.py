"""mirror sync --download-assets: asset files per locale, in the same round and commit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from mirror.client.assets import allowed_url, safe_file_name
from mirror.emulator import Emulator, EmulatorConfig
from mirror.errors import InvalidData
from tests.conftest import commit_count, files_of, git, mirror, sync_args, sync_json
from tests.replay import ReplayServer, replay_sync_args


def _served(url: str) -> bytes:
    return requests.get("http:" + url, timeout=5).content


def test_files_arrive_in_the_same_commit_as_their_assets(round0: Emulator, tmp_path: Path) -> None:
    report = sync_json(round0, tmp_path, "--download-assets")
    assert report["added"] == 60 + 13
    for asset_file in (tmp_path / "assets").glob("*.json"):
        asset = json.loads(asset_file.read_text())
        for locale, file in asset["fields"]["file"].items():
            local = tmp_path / "assets/files" / asset["sys"]["id"] / locale / file["fileName"]
            assert local.read_bytes() == _served(file["url"])
            assert local.stat().st_size == file["details"]["size"]
    committed = git(tmp_path, "show", "--name-only", "--format=", "HEAD").split()
    assert "assets/files/kyoto-hero/en-US/kyoto-skyline.png" in committed
    assert json.loads((tmp_path / "mirror.json").read_text())["download_assets"] is True
    assert round0.request_counts["files-with-auth"] == 0


def test_files_follow_replacements_deletions_and_are_remembered(
    round0: Emulator, tmp_path: Path
) -> None:
    sync_json(round0, tmp_path, "--download-assets")
    before = round0.request_counts["files"]
    round0.store.apply_round(1)  # only a title of kyoto-hero changes: no download
    sync_json(round0, tmp_path)
    assert round0.request_counts["files"] == before
    round0.store.apply_round(2)
    sync_json(round0, tmp_path)
    assert (tmp_path / "assets/files/porto-bolhao-photo/en-US/porto-bolhao.png").exists()
    round0.store.apply_round(3)  # kyoto's file replaced, the GPX route deleted
    report = sync_json(round0, tmp_path)
    kyoto = tmp_path / "assets/files/kyoto-hero/en-US"
    assert sorted(p.name for p in kyoto.iterdir()) == ["kyoto-skyline-autumn.png"]
    assert not (tmp_path / "assets/files/alfama-walk-route").exists()
    body = git(tmp_path, "log", "-1", "--format=%b")
    assert "+ assets/files/kyoto-hero/en-US/kyoto-skyline-autumn.png" in body
    assert "- assets/files/kyoto-hero/en-US/kyoto-skyline.png" in body
    assert "- assets/files/alfama-walk-route/en-US/alfama-walk.gpx" in body
    assert report["deleted"] == 4  # a place, an asset, and two files
    assert git(tmp_path, "status", "--porcelain") == ""


def test_switching_downloads_on_later_fetches_what_is_missing(
    round0: Emulator, tmp_path: Path
) -> None:
    sync_json(round0, tmp_path)
    assert not (tmp_path / "assets/files").exists()
    report = sync_json(round0, tmp_path, "--download-assets")
    assert report["added"] == 13
    assert len(list((tmp_path / "assets/files").glob("*/*/*"))) == 13


def test_a_failed_download_fails_the_round_and_leaves_nothing(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig()) as good:
        sync_json(good, tmp_path)
    before, commits = files_of(tmp_path), commit_count(tmp_path)
    with Emulator(EmulatorConfig(port=good.port)) as failing:
        failing.store._blobs.clear()  # the files are gone from the "CDN": every download is 404
        result = mirror(*sync_args(failing, tmp_path, "--download-assets", "--retries", "1"))
    assert result.exit_code == 4, result.stderr
    assert "assets/files/" in result.stderr
    assert files_of(tmp_path) == before and commit_count(tmp_path) == commits
    assert git(tmp_path, "status", "--porcelain") == ""


def _asset_chain(url: str, size: int, name: str = "photo.png") -> list[dict[str, Any]]:
    asset = {
        "sys": {
            "id": "photo",
            "type": "Asset",
            "space": {"sys": {"type": "Link", "linkType": "Space", "id": "s"}},
        },
        "fields": {
            "title": {"en-US": "Photo"},
            "file": {
                "en-US": {
                    "url": url,
                    "fileName": name,
                    "contentType": "image/png",
                    "details": {"size": size},
                }
            },
        },
    }
    page = {
        "sys": {"type": "Array"},
        "items": [asset],
        "nextSyncUrl": "https://cdn.contentful.com/spaces/s/environments/master/sync?sync_token=t1",
    }
    return [
        {
            "request": "GET /spaces/s/environments/master/sync?initial=true",
            "status": 200,
            "body": page,
        }
    ]


def _replaysync_json(server: ReplayServer, directory: Path) -> Any:
    return mirror(*replay_sync_args(server, directory, "s", "--download-assets"))


def test_a_file_whose_size_differs_from_details_size_fails_the_round(tmp_path: Path) -> None:
    with ReplayServer([]) as server:
        server.exchanges.extend(
            _asset_chain(f"//127.0.0.1:{server.base_url.rsplit(':', 1)[1]}/file/photo.png", 999)
        )
        server.overrides["/file/photo.png"] = (200, b"only twelve.")
        result = _replaysync_json(server, tmp_path / "m")
    assert result.exit_code == 5, result.stderr
    assert "downloaded 12 bytes where the asset says 999" in result.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "url",
    [
        "//evil.example.com/x.png",
        "http://images.ctfassets.net/x.png",
        "https://ctfassets.net.evil.com/x.png",
        "//127.0.0.2:80/x.png",
    ],
)
def test_files_only_come_from_contentful_or_the_base_origin(tmp_path: Path, url: str) -> None:
    with ReplayServer(_asset_chain(url, 1)) as server:
        result = _replaysync_json(server, tmp_path / "m")
    assert result.exit_code == 5
    assert "not downloaded" in result.stderr
    assert server.seen and all(
        s.path.endswith(("/sync", "/locales", "/content_types", "/tags")) for s in server.seen
    )


@pytest.mark.parametrize("name", ["../escape.png", "..", "a/b.png", "a\\b.png", "bad\nname", ""])
def test_unsafe_file_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidData):
        safe_file_name(name)


def test_allowed_urls() -> None:
    assert allowed_url("//images.ctfassets.net/s/a/b/c.png", "https://cdn.contentful.com") == (
        "https://images.ctfassets.net/s/a/b/c.png"
    )
    assert (
        allowed_url("//127.0.0.1:8000/files/x", "http://127.0.0.1:8000")
        == "http://127.0.0.1:8000/files/x"
    )
    assert safe_file_name("Photo (1) - café.jpg") == "Photo (1) - café.jpg"
