"""The emulator's Sync endpoint behaves as PROTOCOL.md describes, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirror.emulator import Emulator, EmulatorConfig
from mirror.schemas import schemas
from tests.conftest import Api, token_of


def test_initial_sync_returns_every_live_item_over_several_pages(api: Api) -> None:
    items, token, pages = api.sync_all(initial="true", limit=7)
    ids = [item["sys"]["id"] for item in items]
    assert len(ids) == len(set(ids))
    assert pages == -(-len(items) // 7)
    kinds = {item["sys"]["type"] for item in items}
    assert kinds == {"Entry", "Asset"}
    assert "tbilisi-dry-bridge-market" not in ids  # deleted in round 3
    assert "hoi-an" in ids  # added in round 4
    assert len(token) > 20


def test_pages_are_sorted_by_updated_at_descending(api: Api) -> None:
    items, _, _ = api.sync_all(initial="true", limit=10)
    stamps = [item["sys"]["updatedAt"] for item in items]
    assert stamps == sorted(stamps, reverse=True)


def test_every_page_matches_the_schema_and_next_urls_hold_only_the_token(api: Api) -> None:
    response = api.sync(initial="true", limit=20)
    while True:
        body = response.json()
        assert schemas().errors("sync_page", body) == []
        url = body.get("nextPageUrl") or body["nextSyncUrl"]
        assert url.startswith(api.base + api.env_path + "/sync?sync_token=")
        assert "&" not in url
        if "nextSyncUrl" in body:
            break
        response = api.sync(sync_token=token_of(url))


def test_next_urls_follow_the_host_header(api: Api) -> None:
    port = api.emulator.port
    response = api.session.get(
        f"http://localhost:{port}{api.env_path}/sync", params={"initial": "true"}, timeout=5
    )
    assert response.json()["nextSyncUrl"].startswith(f"http://localhost:{port}/")


def test_legacy_path_without_environment_is_served(api: Api) -> None:
    response = api.get(f"/spaces/{api.space}/sync", initial="true", limit=1000)
    assert response.status_code == 200
    assert response.json()["nextSyncUrl"].startswith(f"{api.base}/spaces/{api.space}/sync?")


def test_default_limit_is_100_and_1000_is_the_maximum(api: Api) -> None:
    for number in range(50):
        fields = {"name": {"en-US": f"Reader {number}"}}
        response = api.write(
            "PUT",
            "entries",
            f"reader-{number}",
            {"fields": fields},
            headers={"X-Contentful-Content-Type": "author"},
        )
        assert response.status_code == 201, response.text
    assert len(api.sync(initial="true").json()["items"]) == 100
    assert api.sync(initial="true", limit=1000).status_code == 200
    for bad in (0, 1001, -5, "ten"):
        response = api.sync(initial="true", limit=bad)
        assert response.status_code == 400
        assert response.json()["sys"]["id"] == "BadRequest"


def test_no_change_delta_returns_no_items_and_the_same_token(api: Api) -> None:
    _, token, _ = api.sync_all(initial="true")
    body = api.sync(sync_token=token).json()
    assert body["items"] == []
    assert token_of(body["nextSyncUrl"]) == token


def test_delta_returns_latest_versions_and_deletions_since_the_token() -> None:
    with Emulator(EmulatorConfig(round=2)) as emulator:
        api = Api(emulator)
        _, token, _ = api.sync_all(initial="true", limit=1000)
        emulator.store.apply_round(3)
        items, _, _ = api.sync_all(sync_token=token)
    by_id = {item["sys"]["id"]: item for item in items}
    assert by_id["tbilisi-dry-bridge-market"]["sys"]["type"] == "DeletedEntry"
    assert by_id["alfama-walk-route"]["sys"]["type"] == "DeletedAsset"
    assert "contentType" not in by_id["tbilisi-dry-bridge-market"]["sys"]
    assert by_id["kyoto-hero"]["fields"]["file"]["en-US"]["fileName"] == "kyoto-skyline-autumn.png"
    assert "attachments" not in by_id["guide-lisbon-on-foot"]["fields"]
    assert len(items) == 6  # one per change of round 3, each item once
    assert schemas().errors("sync_item", by_id["tbilisi-dry-bridge-market"]) == []


def test_delta_pages_when_changes_exceed_the_limit() -> None:
    with Emulator(EmulatorConfig(round=0)) as emulator:
        api = Api(emulator)
        _, token, _ = api.sync_all(initial="true", limit=2)
        for number in (1, 2, 3, 4):
            emulator.store.apply_round(number)
        items, _, pages = api.sync_all(sync_token=token)
    assert pages > 1
    ids = [(item["sys"]["type"], item["sys"]["id"]) for item in items]
    assert len(ids) == len(set(ids))


def test_an_item_edited_twice_appears_once_in_its_latest_version(api: Api) -> None:
    _, token, _ = api.sync_all(initial="true")
    body = {"fields": {"name": {"en-US": "Amara O."}}}
    assert api.write("PUT", "entries", "author-amara", body).status_code == 200
    body = {"fields": {"name": {"en-US": "Amara Osei-Mensah"}}}
    assert api.write("PUT", "entries", "author-amara", body).status_code == 200
    items, _, _ = api.sync_all(sync_token=token)
    assert [i["fields"]["name"]["en-US"] for i in items] == ["Amara Osei-Mensah"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": "Entry"}, {"Entry"}),
        ({"type": "Asset"}, {"Asset"}),
        ({"type": "Deletion"}, {"DeletedEntry", "DeletedAsset"}),
        ({"type": "DeletedEntry"}, {"DeletedEntry"}),
        ({"type": "DeletedAsset"}, {"DeletedAsset"}),
    ],
)
def test_type_filters_on_initial_sync(api: Api, params: dict[str, str], expected: set[str]) -> None:
    items, _, _ = api.sync_all(initial="true", **params)
    assert items
    assert {item["sys"]["type"] for item in items} == expected


def test_content_type_filter_needs_type_entry(api: Api) -> None:
    items, _, _ = api.sync_all(initial="true", type="Entry", content_type="city")
    assert {item["sys"]["contentType"]["sys"]["id"] for item in items} == {"city"}
    assert len(items) == 9
    response = api.sync(initial="true", content_type="city")
    assert response.status_code == 400
    assert (
        response.json()["message"] == "When passing a content_type the type must be set to Entry."
    )
    assert api.sync(initial="true", type="Asset", content_type="city").status_code == 400


def test_filters_and_limit_hold_for_later_deltas() -> None:
    with Emulator(EmulatorConfig(round=1)) as emulator:
        api = Api(emulator)
        _, token, _ = api.sync_all(initial="true", type="Entry", content_type="place", limit=1)
        emulator.store.apply_round(2)
        emulator.store.apply_round(3)
        response = api.sync(sync_token=token)
        items, _, pages = api.sync_all(sync_token=token)
    assert len(response.json()["items"]) == 1  # the limit of the initial sync
    assert {i["sys"]["type"] for i in items} == {"Entry"}  # no deletions with type=Entry
    assert {i["sys"]["contentType"]["sys"]["id"] for i in items} == {"place"}
    assert pages == len(items)


@pytest.mark.parametrize("extra", [{"initial": "true"}, {"limit": "5"}, {"type": "Entry"}])
def test_a_token_with_other_parameters_is_refused(api: Api, extra: dict[str, str]) -> None:
    _, token, _ = api.sync_all(initial="true")
    response = api.sync(sync_token=token, **extra)
    assert response.status_code == 400
    error = response.json()
    assert error["sys"] == {"type": "Error", "id": "BadRequest"}
    assert error["message"].startswith("When passing a sync token you can not pass any other")
    assert schemas().errors("error", error) == []


def test_unknown_parameters_and_types_are_refused(api: Api) -> None:
    response = api.sync(initial="true", locale="*")
    assert response.status_code == 400
    assert response.json()["sys"]["id"] == "InvalidQuery"
    assert api.sync(initial="true", type="Everything").status_code == 400
    assert api.sync().status_code == 400
    assert api.sync(initial="false").status_code == 400


@pytest.mark.parametrize("token", ["garbage", "WzEsMCwwXQ", "", "A" * 50])
def test_malformed_tokens_are_refused(api: Api, token: str) -> None:
    response = api.sync(sync_token=token)
    assert response.status_code == 400
    assert response.json()["sys"]["id"] == "BadRequest"


def _token_after_initial_sync(round_: int | None = None, write: bool = False) -> str:
    """The sync token of an initial sync against an emulator that is then stopped."""
    with Emulator(EmulatorConfig(round=round_)) as emulator:
        api = Api(emulator)
        if write:
            api.write("PUT", "entries", "author-amara", {"fields": {"name": {"en-US": "A"}}})
        return api.sync_all(initial="true")[1]


def test_tokens_survive_a_restart_over_the_same_space_folder() -> None:
    token = _token_after_initial_sync(round_=2)
    with Emulator(EmulatorConfig(round=3)) as restarted:
        items, _, _ = Api(restarted).sync_all(sync_token=token)
    assert {i["sys"]["id"] for i in items} >= {"tbilisi-dry-bridge-market", "kyoto-hero"}


def test_a_token_from_another_history_is_refused() -> None:
    token = _token_after_initial_sync(write=True)
    with Emulator(EmulatorConfig()) as restarted:  # the write is gone after the restart
        response = Api(restarted).sync(sync_token=token)
    assert response.status_code == 400
    assert "initial=true" in response.json()["message"]


def test_token_of_a_later_round_is_refused_by_an_earlier_one() -> None:
    token = _token_after_initial_sync(round_=4)
    with Emulator(EmulatorConfig(round=1)) as earlier:
        assert Api(earlier).sync(sync_token=token).status_code == 400


def test_rounds_change_what_is_served() -> None:
    counts = []
    for number in range(5):
        with Emulator(EmulatorConfig(round=number)) as emulator:
            items, _, _ = Api(emulator).sync_all(initial="true", limit=1000)
            counts.append(len(items))
            assert emulator.store.round == number
    assert counts[0] == 41 + 13
    assert counts == [54, 54, 57, 55, 57]


def test_oversized_page_is_refused_as_contentful_does(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(max_response_bytes=20_000)) as emulator:
        api = Api(emulator)
        response = api.sync(initial="true", limit=1000)
        assert response.status_code == 400
        assert response.json()["message"] == (
            "Response size too big. Maximum allowed response size: 20000b"
        )
        items, _, _ = api.sync_all(initial="true", limit=5)
        assert len(items) == 57
