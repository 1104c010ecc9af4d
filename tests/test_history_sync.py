"""The Sync API answered from a mirror's history, with the tokens in its commits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mirror.delivery.history_sync import HistorySync
from mirror.emulator import Emulator
from tests.conftest import Api, git, sync_json, token_of
from tests.serving import synced_rounds

SYNC_URL = "https://cdn.example.org/spaces/wayfarer/environments/master/sync"


def trailer(directory: Path, commit: str) -> str:
    return git(directory, "log", "-1", "--format=%(trailers:key=Sync-Token,valueonly)", commit)


def follow(sync: HistorySync, query: list[tuple[str, str]]) -> tuple[list[Any], str, int]:
    """Every page to nextSyncUrl: (items, its token, pages)."""
    items, pages = [], 0
    while True:
        status, raw = sync.answer(query, SYNC_URL)
        assert status == 200, raw
        body = json.loads(raw)
        items += body["items"]
        pages += 1
        if "nextSyncUrl" in body:
            assert body["nextSyncUrl"].startswith(SYNC_URL + "?sync_token=")
            assert list(parse_qsl(urlsplit(body["nextSyncUrl"]).query)) == [
                ("sync_token", token_of(body["nextSyncUrl"]))
            ]
            return items, token_of(body["nextSyncUrl"]), pages
        query = [("sync_token", token_of(body["nextPageUrl"]))]


def changes(items: list[Any]) -> set[tuple[str, str]]:
    return {(item["sys"]["type"], item["sys"]["id"]) for item in items}


def test_initial_sync_at_an_old_round_pages_its_items_and_ends_with_its_token(
    round0: Emulator, tmp_path: Path
) -> None:
    commits = synced_rounds(round0, tmp_path, 2)
    sync = HistorySync(tmp_path, commits[0])
    items, token, pages = follow(sync, [("initial", "true"), ("limit", "7")])
    assert token == trailer(tmp_path, commits[0]).strip()
    assert pages == 8  # 41 entries and 13 assets, 7 a page
    assert len(items) == len(changes(items)) == 54
    stamps = [item["sys"]["updatedAt"] for item in items]
    assert stamps == sorted(stamps, reverse=True)
    for item in items:
        kind = (
            "entries/" + item["sys"]["contentType"]["sys"]["id"]
            if item["sys"]["type"] == "Entry"
            else "assets"
        )
        committed = git(tmp_path, "show", f"{commits[0]}:{kind}/{item['sys']['id']}.json")
        assert item == json.loads(committed)


def test_initial_sync_filters(round0: Emulator, tmp_path: Path) -> None:
    commits = synced_rounds(round0, tmp_path, 0)
    sync = HistorySync(tmp_path, commits[0])
    places, _, _ = follow(sync, [("initial", "true"), ("type", "Entry"), ("content_type", "place")])
    assert places and {i["sys"]["contentType"]["sys"]["id"] for i in places} == {"place"}
    assets, _, _ = follow(sync, [("initial", "true"), ("type", "Asset")])
    assert len(assets) == 13 and {i["sys"]["type"] for i in assets} == {"Asset"}
    deletions, token, _ = follow(sync, [("initial", "true"), ("type", "Deletion")])
    # Other filters than the mirror's: the next token is this server's, keeping them.
    assert deletions == [] and token != trailer(tmp_path, commits[0]).strip()
    again, _, _ = follow(sync, [("sync_token", token)])
    assert again == []
    _, token, _ = follow(sync, [("initial", "true")])
    assert token == trailer(tmp_path, commits[0]).strip()  # the mirror's own filters


def test_a_delta_from_an_old_rounds_token_is_what_contentful_sends_between_them(
    round0: Emulator, tmp_path: Path
) -> None:
    commits = synced_rounds(round0, tmp_path, 3)
    head = commits[-1]
    api = Api(round0)
    for old in commits[:-1]:
        old_token = trailer(tmp_path, old).strip()
        expected, emulator_token, _ = api.sync_all(sync_token=old_token)
        sync = HistorySync(tmp_path, head)
        items, token, _ = follow(sync, [("sync_token", old_token)])
        assert token == trailer(tmp_path, head).strip() == emulator_token
        assert changes(items) == changes(expected)
        by_id = {(i["sys"]["type"], i["sys"]["id"]): i for i in expected}
        for item in items:
            sent = by_id[(item["sys"]["type"], item["sys"]["id"])]
            if item["sys"]["type"].startswith("Deleted"):
                assert set(item["sys"]) == set(sent["sys"])
                for key in ("space", "environment", "id", "createdAt", "revision"):
                    assert item["sys"][key] == sent["sys"][key]
            else:
                assert item == sent


def test_a_delta_pages_with_the_mirrors_limit(round0: Emulator, tmp_path: Path) -> None:
    commits = synced_rounds(round0, tmp_path, 3, "--limit", "2")
    sync = HistorySync(tmp_path, commits[-1])
    items, token, pages = follow(sync, [("sync_token", trailer(tmp_path, commits[1]).strip())])
    assert pages == (len(items) + 1) // 2 and len(items) > 4
    assert len(changes(items)) == len(items)
    assert token == trailer(tmp_path, commits[-1]).strip()


def test_the_served_rounds_own_token_gets_an_empty_page_and_itself(
    round0: Emulator, tmp_path: Path
) -> None:
    commits = synced_rounds(round0, tmp_path, 1)
    token = trailer(tmp_path, commits[-1]).strip()
    items, again, pages = follow(HistorySync(tmp_path, commits[-1]), [("sync_token", token)])
    assert (items, again, pages) == ([], token, 1)


def refused(sync: HistorySync, query: list[tuple[str, str]]) -> dict[str, Any]:
    status, raw = sync.answer(query, SYNC_URL)
    assert status == 400, raw
    body: dict[str, Any] = json.loads(raw)
    assert body["sys"]["type"] == "Error" and body["requestId"]
    return body


def test_unknown_tokens_and_bad_queries_are_refused_as_contentful_does(
    round0: Emulator, tmp_path: Path
) -> None:
    commits = synced_rounds(round0, tmp_path, 1)
    old = HistorySync(tmp_path, commits[0])
    newer_token = trailer(tmp_path, commits[1]).strip()
    for token in ("nope", newer_token, "W10", "WzEsIiIsIngiLFtdLCJhbGwiLCIiLDFd", "../..", ""):
        body = refused(old, [("sync_token", token)])
        assert body["sys"]["id"] == "BadRequest"
        assert body["message"].startswith("The sync token is not valid")
    own = trailer(tmp_path, commits[0]).strip()
    assert (
        "can not pass any other" in refused(old, [("sync_token", own), ("limit", "5")])["message"]
    )
    assert refused(old, [("initial", "true"), ("bogus", "1")])["sys"]["id"] == "InvalidQuery"
    assert (
        "type must be set to Entry"
        in refused(old, [("initial", "true"), ("content_type", "place")])["message"]
    )
    assert refused(old, [("initial", "true"), ("limit", "0")])["sys"]["id"] == "BadRequest"
    assert refused(old, [])["sys"]["id"] == "BadRequest"


def test_page_tokens_are_ours_and_checked(round0: Emulator, tmp_path: Path) -> None:
    commits = synced_rounds(round0, tmp_path, 1)
    sync = HistorySync(tmp_path, commits[-1])
    status, raw = sync.answer([("initial", "true"), ("limit", "5")], SYNC_URL)
    page_token = token_of(json.loads(raw)["nextPageUrl"])
    assert status == 200 and page_token not in (trailer(tmp_path, c).strip() for c in commits)
    assert sync.answer([("sync_token", page_token)], SYNC_URL)[0] == 200
    tampered = page_token[:-3] + ("AAA" if not page_token.endswith("AAA") else "BBB")
    assert sync.answer([("sync_token", tampered)], SYNC_URL)[0] == 400
    # A page token of a served commit that moved on still works while its index is cached.
    round0.store.apply_round(2)
    sync_json(round0, tmp_path)
    later = HistorySync(tmp_path, git(tmp_path, "rev-parse", "HEAD").strip())
    items, token, _ = follow(later, [("sync_token", page_token)])
    assert token == trailer(tmp_path, commits[-1]).strip() and len(items) == 54 - 5
