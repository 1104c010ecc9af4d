"""Contentful's official SDKs sync against the emulator unchanged.

Skipped, with the reason, where an SDK or node is missing; .ci/run installs both.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mirror.emulator import Emulator
from tests.conftest import Api

pytestmark = pytest.mark.sdk
JS_DIR = Path(__file__).parent / "js"


def _change_content(api: Api) -> None:
    """Through the write API: one new entry, one edit, one entry and one asset deleted."""
    link = {"sys": {"type": "Link", "linkType": "Entry", "id": "lisbon"}}
    created = api.write(
        "PUT",
        "entries",
        "lisbon-new-place",
        {"fields": {"title": {"en-US": "New place"}, "city": {"en-US": link}}},
        headers={"X-Contentful-Content-Type": "place"},
    )
    assert created.status_code == 201, created.text
    edited = api.write(
        "PUT", "entries", "author-kenji", {"fields": {"name": {"en-US": "Kenji M."}}}
    )
    assert edited.status_code == 200, edited.text
    assert api.write("DELETE", "entries", "hanoi-dong-xuan-market").status_code == 204
    assert api.write("DELETE", "assets", "ljubljana-hero").status_code == 204


EXPECTED_DELTA = {
    "entries": ["author-kenji", "lisbon-new-place"],
    "assets": [],
    "deletedEntries": ["hanoi-dong-xuan-market"],
    "deletedAssets": ["ljubljana-hero"],
}


def _expected_initial(api: Api) -> dict[str, list[str]]:
    items, _, _ = api.sync_all(initial="true", limit=1000)
    return {
        "entries": sorted(i["sys"]["id"] for i in items if i["sys"]["type"] == "Entry"),
        "assets": sorted(i["sys"]["id"] for i in items if i["sys"]["type"] == "Asset"),
    }


def test_python_sdk_initial_sync_in_pages_then_delta(emulator: Emulator, api: Api) -> None:
    contentful = pytest.importorskip("contentful", reason="PyPI contentful is not installed")
    host = emulator.base_url.removeprefix("http://")
    client = contentful.Client(
        emulator.space.id,
        emulator.access_token,
        api_url=host,
        https=False,
        content_type_cache=False,
        max_rate_limit_retries=0,
    )

    def run(first: dict[str, Any]) -> tuple[dict[str, list[str]], str, int]:
        page = client.sync(first)
        pages, items = 1, list(page.items)
        while page.next_page_url:
            page = client.sync({"sync_token": page.next_sync_token})
            pages += 1
            items += page.items
        seen: dict[str, list[str]] = {
            "entries": [],
            "assets": [],
            "deletedEntries": [],
            "deletedAssets": [],
        }
        key = {
            "Entry": "entries",
            "Asset": "assets",
            "DeletedEntry": "deletedEntries",
            "DeletedAsset": "deletedAssets",
        }
        for item in items:
            seen[key[item.raw["sys"]["type"]]].append(item.raw["sys"]["id"])
        return {k: sorted(v) for k, v in seen.items()}, page.next_sync_token, pages

    initial, token, pages = run({"initial": True, "limit": 7})
    assert pages == 9
    assert initial == {**_expected_initial(api), "deletedEntries": [], "deletedAssets": []}
    _change_content(api)
    delta, _, _ = run({"sync_token": token})
    assert delta == EXPECTED_DELTA


def _node_sync(emulator: Emulator, *args: str) -> dict[str, Any]:
    host = emulator.base_url.removeprefix("http://")
    result = subprocess.run(
        ["node", str(JS_DIR / "sync.mjs"), host, emulator.space.id, emulator.access_token, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_javascript_sdk_initial_sync_in_pages_then_delta(emulator: Emulator, api: Api) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (JS_DIR / "node_modules" / "contentful").is_dir():
        pytest.skip("npm contentful is not installed: run `npm install --prefix tests/js`")
    pages_before = _count_sync_requests(emulator)
    initial = _node_sync(emulator, "initial", "7")
    assert _count_sync_requests(emulator) - pages_before == 9
    assert {k: initial[k] for k in ("entries", "assets")} == _expected_initial(api)
    assert initial["deletedEntries"] == initial["deletedAssets"] == []
    _change_content(api)
    delta = _node_sync(emulator, "delta", initial["nextSyncToken"])
    assert {k: delta[k] for k in EXPECTED_DELTA} == EXPECTED_DELTA


def _count_sync_requests(emulator: Emulator) -> int:
    return emulator.request_counts.get("sync", 0)
