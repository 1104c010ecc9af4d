"""Contentful's official SDKs read `mirror serve DIR` unchanged, and get what they get
from the emulator serving the same content.

Skipped, with the reason, where an SDK or node is missing; .ci/test installs both."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mirror.delivery.server import MirrorServer
from mirror.emulator import Emulator, EmulatorConfig
from tests.serving import Reader, comparable, serving, synced_rounds

pytestmark = pytest.mark.sdk
JS_DIR = Path(__file__).parent / "js"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MirrorServer, Emulator]]:
    """A mirror served at the commit of round 2, and the emulator at round 2."""
    directory = tmp_path_factory.mktemp("mirror")
    with Emulator(EmulatorConfig(round=0)) as source:
        commits = synced_rounds(source, directory, 3)
    with serving(directory, rev=commits[2]) as server, Emulator(EmulatorConfig(round=2)) as emu:
        yield server, emu


def _python_client(base_url: str, space: str, token: str) -> Any:
    contentful = pytest.importorskip("contentful", reason="PyPI contentful is not installed")
    return contentful.Client(
        space,
        token,
        api_url=base_url.removeprefix("http://"),
        https=False,
        content_type_cache=False,
        max_rate_limit_retries=0,
        # The SDK builds linked entries eagerly, 20 levels by default: exponential in a
        # space whose entries link to each other; Contentful gets the same from it.
        max_include_resolution_depth=2,
    )


def test_python_sdk_entries_entry_and_sync(pair: tuple[MirrorServer, Emulator]) -> None:
    server, emulator = pair
    ours = _python_client(server.base_url, "wayfarer", "any-token")
    theirs = _python_client(emulator.base_url, "wayfarer", emulator.access_token)
    for query in ({"order": "sys.id", "limit": 1000}, {"locale": "de-DE", "include": 2}):
        mine, expected = ours.entries(query), theirs.entries(query)
        assert mine.total == expected.total > 0
        assert comparable([e.raw for e in mine]) == comparable([e.raw for e in expected])
    porto = ours.entry("porto", {"locale": "fr-FR"})
    assert comparable(porto.raw) == comparable(theirs.entry("porto", {"locale": "fr-FR"}).raw)
    assert porto.raw["sys"]["locale"] == "fr-FR"
    mine_sync, expected_sync = ours.sync({"initial": True}), theirs.sync({"initial": True})
    assert comparable([i.raw for i in mine_sync.items]) == comparable(
        [i.raw for i in expected_sync.items]
    )
    # The mirror's token is the one the source gave it for this round (a limit of
    # 1000, so not this initial sync's): the source takes it, and has nothing newer.
    assert theirs.sync({"sync_token": mine_sync.next_sync_token}).items == []


def _node(host: str, space: str, token: str) -> dict[str, Any]:
    result = subprocess.run(
        ["node", str(JS_DIR / "delivery.mjs"), host, space, token],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_javascript_sdk_reads_the_mirror_as_the_emulator(
    pair: tuple[MirrorServer, Emulator],
) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (JS_DIR / "node_modules" / "contentful").is_dir():
        pytest.skip("npm contentful is not installed: run `npm install --prefix tests/js`")
    server, emulator = pair
    ours = _node(server.base_url.removeprefix("http://"), "wayfarer", "any-token")
    theirs = _node(emulator.base_url.removeprefix("http://"), "wayfarer", emulator.access_token)
    assert set(ours) == set(theirs)
    token = ours["sync"].pop("token")  # the source's for this round (see the Python test)
    theirs["sync"].pop("token")
    delta = Reader.of(emulator).json("/sync", sync_token=token)
    assert delta["items"] == []
    for key in ours:
        assert comparable(ours[key]) == comparable(theirs[key]), key
    links = [link for item in ours["resolved"] for link in item]  # include: 2 resolved
    assert any(link[4] and link[5] and all(inner[4] for inner in link[5]) for link in links)
    assert ours["entry"]["sys"]["locale"] == "fr-FR"
    assert [locale["code"] for locale in ours["locales"]] == ["en-US", "de-DE", "fr-FR"]
    assert ours["sync"]["entries"] and ours["sync"]["assets"]
