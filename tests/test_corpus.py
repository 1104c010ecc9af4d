"""Every scenario of the real corpus (shared/conformance/corpus: Delivery and Preview API
items from public SDK fixtures) syncs through the replay server, verifies, exports and
bundles."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED, mirror, shared_data
from tests.replay import ReplayServer, replay_sync_args

CORPUS = "conformance/corpus"
_ENTRY_LINE = re.compile(r"^entries/(?P<type>[^/]+)/(?P<id>[^/]+)\.json: (?P<complaint>.*)$")
_FIELD_COMPLAINT = re.compile(r"^fields\.(?P<field>[^.:]+): (?P<what>.*)$")


def _scenario_names() -> list[str]:
    """The scenario files' stems; one placeholder when the corpus is absent, so that its
    test runs and shared_data skips it (or fails it on CI) naming the folder."""
    names = sorted(p.stem for p in (SHARED / CORPUS).glob("*.json") if p.name != "EXCLUDED.json")
    return names or ["corpus-absent"]


def _sync_runs(exchanges: list[dict[str, Any]]) -> int:
    """How many `mirror sync` runs the scenario's rounds need: one per initial or delta
    request that does not continue a paged response."""
    runs = 0
    paged = False
    for exchange in exchanges:
        path = exchange["request"].split(" ", 1)[1].split("?")[0]
        if not path.endswith("/sync"):
            continue
        if not paged:
            runs += 1
        paged = "nextPageUrl" in exchange["body"]
    return runs


def _live_items(exchanges: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The ids of the entries and assets the scenario leaves live after its last round."""
    live: dict[str, set[str]] = {"entries": set(), "assets": set()}
    for exchange in exchanges:
        if not exchange["request"].split("?")[0].endswith("/sync"):
            continue
        for item in exchange["body"]["items"]:
            kind, item_id = item["sys"]["type"], item["sys"]["id"]
            folder = "assets" if kind.endswith("Asset") else "entries"
            if kind.startswith("Deleted"):
                live[folder].discard(item_id)
            else:
                live[folder].add(item_id)
    return live


def _collection_overrides(exchanges: list[dict[str, Any]]) -> dict[str, tuple[int, bytes]]:
    """The recorded /content_types and /locales collections, served as recorded."""
    found = {}
    for exchange in exchanges:
        path = exchange["request"].split(" ", 1)[1].split("?")[0]
        if path.endswith(("/content_types", "/locales")):
            found[path] = (exchange["status"], json.dumps(exchange["body"]).encode())
    return found


def _is_fixture_gap(line: str, scenario: dict[str, Any]) -> bool:
    """Whether a verify line is one of the corpus's fixture gaps (its README says which):
    an entry of a content type no fixture recorded, a field the recorded content type
    version lacks, or a required-field complaint on an entry listed as not fitting."""
    match = _ENTRY_LINE.match(line)
    if match is None:
        return False
    content_type, entry, complaint = match["type"], match["id"], match["complaint"]
    if complaint == f"content type {content_type!r} is not in content_types/":
        return content_type in scenario["content_types_missing"]
    field = _FIELD_COMPLAINT.match(complaint)
    if field is None:
        return False
    if field["what"] == f"no such field in content type {content_type}":
        return field["field"] in scenario["content_type_version_gaps"].get(content_type, [])
    required = field["what"].startswith("required, missing for ")
    return required and entry in scenario["entries_not_fitting_content_type"]


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServer]:
    """One replay server for every scenario (starting one is cheap, stopping one takes
    half a second); each test gives it its scenario's exchanges."""
    with ReplayServer([]) as server:
        yield server


@pytest.mark.parametrize("name", _scenario_names())
def test_corpus_scenario_syncs_verifies_exports_and_bundles(
    name: str, replay: ReplayServer, tmp_path: Path
) -> None:
    scenario = json.loads((shared_data(CORPUS) / f"{name}.json").read_text(encoding="utf-8"))
    exchanges = scenario["exchanges"]
    replay.exchanges, replay.overrides = exchanges, _collection_overrides(exchanges)
    content = tmp_path / "content"
    for _ in range(_sync_runs(exchanges)):
        extra = ("--environment", scenario["environment"])
        result = mirror(*replay_sync_args(replay, content, scenario["space"], *extra))
        assert result.exit_code == 0, result.stderr
    live = _live_items(exchanges)
    result = mirror("verify", str(content), "--json")
    verdict = json.loads(result.stdout)
    problems = [line for line in verdict["problems"] if not _is_fixture_gap(line, scenario)]
    assert problems == []
    assert {kind: verdict["checked"].get(kind, 0) for kind in live} == {
        kind: len(ids) for kind, ids in live.items()
    }
    result = mirror("export", str(content), str(tmp_path / "export"), "--locale", "all")
    assert result.exit_code == 0, result.stderr
    result = mirror("bundle", str(content), str(tmp_path / "seed.sqlite"))
    assert result.exit_code == 0, result.stderr
    with closing(sqlite3.connect(tmp_path / "seed.sqlite")) as db:
        for kind, ids in live.items():
            rows = db.execute(f"SELECT id FROM {kind}").fetchall()
            assert {row[0] for row in rows} == ids
    pages = tmp_path / "pages"
    result = mirror("bundle", str(content), str(pages), "--format", "sync-pages")
    assert result.exit_code == 0, result.stderr
    bundled = [
        item["sys"]["id"]
        for page in pages.glob("[0-9]*.json")
        for item in json.loads(page.read_text(encoding="utf-8"))["items"]
    ]
    assert sorted(bundled) == sorted([*live["entries"], *live["assets"]])
