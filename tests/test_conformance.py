"""Every recorded Contentful chain, replayed over HTTP, gives the files, commits and
tokens the traffic implies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import commit_count, git, mirror, recording
from tests.replay import ReplayServer, replay_sync_args

TOKEN = "recorded-scenario-token"
CHAINS = [
    "cfexampleapi-initial-then-empty-delta",
    "paginated-initial-then-delta",
    "paginated-mixed-entries-assets",
    "three-pages-256-items",
    "rich-text-initial-then-delta",
    "preview-initial",
    "deleted-entry-hand-made",
    "deleted-asset-hand-made",
    "video-asset",
    "location-field",
]


def _runs(exchanges: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split a scenario's sync exchanges into the separate `mirror sync` runs they imply."""
    runs: list[list[dict[str, Any]]] = []
    for exchange in exchanges:
        path, _, query = exchange["request"].split(" ", 1)[1].partition("?")
        if not path.endswith("/sync"):
            continue
        params = parse_qs(query)
        continuing = runs and "nextPageUrl" in runs[-1][-1]["body"]
        if "initial" in params or not continuing:
            runs.append([])
        runs[-1].append(exchange)
    return runs


def _space_and_environment(exchanges: list[dict[str, Any]]) -> tuple[str, str]:
    parts = exchanges[0]["request"].split(" ", 1)[1].split("?")[0].split("/")
    environment = parts[parts.index("environments") + 1] if "environments" in parts else "master"
    return parts[2], environment


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["sync_token"][0]


def _expected_files(run: list[dict[str, Any]], files: dict[str, Any]) -> None:
    for exchange in run:
        for item in exchange["body"]["items"]:
            sys = item["sys"]
            if sys["type"] == "Entry":
                files[f"entries/{sys['contentType']['sys']['id']}/{sys['id']}.json"] = item
            elif sys["type"] == "Asset":
                files[f"assets/{sys['id']}.json"] = item
            else:
                prefix = "assets/" if sys["type"] == "DeletedAsset" else "entries/"
                for key in [
                    k for k in files if k.startswith(prefix) and k.endswith(f"/{sys['id']}.json")
                ]:
                    del files[key]


@pytest.mark.parametrize("name", CHAINS)
def test_recorded_chain_replays_into_files_commits_and_tokens(name: str, tmp_path: Path) -> None:
    scenario = recording(name)
    exchanges = scenario["exchanges"]
    space, environment = _space_and_environment(exchanges)
    mirror_dir = tmp_path / "mirror"
    expected: dict[str, Any] = {}
    commits = 0
    with ReplayServer(exchanges) as server:
        for run in _runs(exchanges):
            result = mirror(
                "sync",
                str(mirror_dir),
                "--space",
                space,
                "--environment",
                environment,
                "--access-token",
                TOKEN,
                "--base-url",
                server.base_url,
                "--json",
            )
            assert result.exit_code == 0, result.stderr
            report = json.loads(result.stdout)
            before = dict(expected)
            _expected_files(run, expected)
            if report["status"] == "synced":
                commits += 1
            else:
                assert expected == before  # up to date means the run changed nothing
            final_token = _token(run[-1]["body"]["nextSyncUrl"])
            state = json.loads((mirror_dir / "mirror.json").read_text())
            assert report["token"] == final_token
            assert state["sync_token"] == final_token
            assert state["space"] == space and state["environment"] == environment
            assert (
                git(
                    mirror_dir, "log", "-1", "--format=%(trailers:key=Sync-Token,valueonly)"
                ).strip()
                == final_token
            )
            assert commit_count(mirror_dir) == commits
            on_disk = {
                p.relative_to(mirror_dir).as_posix(): json.loads(p.read_text())
                for p in mirror_dir.glob("[ea][ns]*/**/*.json")
            }
            assert on_disk == expected
        for seen in server.seen:
            assert seen.headers.get("Authorization") == f"Bearer {TOKEN}"
            assert "access_token" not in seen.query
        sync_requests = server.sync_requests()
        assert len(sync_requests) == sum(len(run) for run in _runs(exchanges))
    assert git(mirror_dir, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("options", "expected_folder"),
    [
        (["--type", "Asset"], "assets"),
        (["--type", "Entry", "--content-type", "cat"], "entries/cat"),
    ],
)
def test_recorded_filtered_syncs(options: list[str], expected_folder: str, tmp_path: Path) -> None:
    exchanges = recording("cfexampleapi-type-filters")["exchanges"]
    with ReplayServer(exchanges) as server:
        result = mirror(*replay_sync_args(server, tmp_path, "cfexampleapi", *options, token=TOKEN))
        assert result.exit_code == 0, result.stderr
        request = server.sync_requests()[0]
    item_files = sorted(
        p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("[ea][ns]*/**/*.json")
    )
    assert item_files and all(f.startswith(expected_folder + "/") for f in item_files)
    assert request.query["initial"] == ["true"]
    state = json.loads((tmp_path / "mirror.json").read_text())
    assert state["filters"]["type"] == options[1]


def test_recorded_delta_with_a_real_deleted_entry(tmp_path: Path) -> None:
    """A fixture chain that starts from a token: seed a mirror at that token, then sync."""
    exchanges = recording("delta-with-deleted-entry")["exchanges"]
    request = exchanges[0]["request"].split(" ", 1)[1]
    token = parse_qs(urlsplit(request).query)["sync_token"][0]
    deleted_id = exchanges[0]["body"]["items"][0]["sys"]["id"]
    with ReplayServer(exchanges) as server:
        first = mirror(
            "sync",
            str(tmp_path),
            "--space",
            "88dyiqcr7go8",
            "--access-token",
            TOKEN,
            "--base-url",
            server.base_url,
            "--type",
            "Asset",
        )
        assert first.exit_code != 0  # no initial sync was recorded for this space
        assert not (tmp_path / ".git").exists()  # and the failed first run left no repository
        git(tmp_path, "init", "-q")
        state = {
            "format": 1,
            "space": "88dyiqcr7go8",
            "environment": "master",
            "base_url": server.base_url,
            "filters": {"type": "all", "content_type": None},
            "limit": 1000,
            "sync_token": token,
            "round": 1,
            "counts": {"entries": 1},
        }
        (tmp_path / "mirror.json").write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        entry = tmp_path / "entries" / "article" / f"{deleted_id}.json"
        entry.parent.mkdir(parents=True)
        entry.write_text('{"fields": {"title": {"en-US": "Gone soon"}}, "sys": {"id": "x"}}\n')
        git(tmp_path, "add", "-A")
        git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "seed")
        result = mirror("sync", str(tmp_path), "--access-token", TOKEN, "--json")
        assert result.exit_code == 0, result.stderr
    assert not entry.exists()
    report = json.loads(result.stdout)
    assert report["deleted"] == 1
    assert git(tmp_path, "log", "-1", "--format=%s").startswith("sync 88dyiqcr7go8/master: ")
    assert "- entries/article/" in git(tmp_path, "log", "-1", "--format=%b")
    counts = json.loads((tmp_path / "mirror.json").read_text())["counts"]
    assert counts == {"assets": 0, "content_types": 0, "entries": 0, "locales": 3}
