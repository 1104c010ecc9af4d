"""The schemas accept everything Contentful really sent, and refuse what must not be written."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mirror.schemas import schemas
from tests.conftest import load_recording, recordings


def _bodies(kind: str) -> list[Any]:
    found = []
    for path in recordings():
        for exchange in load_recording(path)["exchanges"]:
            route = exchange["request"].split("?")[0]
            body = exchange["body"]
            wanted = {
                "sync_page": route.endswith("/sync"),
                "content_type": "/content_types/" in route,
            }
            if wanted.get(kind):
                found.append(body)
            elif kind == "locale" and route.endswith("/locales"):
                found += body["items"]
            elif kind == "locale_collection" and route.endswith("/locales"):
                found.append(body)
    return found


def test_recordings_are_present() -> None:
    assert len(recordings()) >= 12


@pytest.mark.parametrize("kind", ["sync_page", "content_type", "locale", "locale_collection"])
def test_every_recorded_body_is_accepted(kind: str) -> None:
    bodies = _bodies(kind)
    assert bodies
    for body in bodies:
        assert schemas().errors(kind, body) == []


def test_every_recorded_item_is_accepted_alone() -> None:
    items = [item for page in _bodies("sync_page") for item in page["items"]]
    assert len(items) > 500
    kinds = {item["sys"]["type"] for item in items}
    assert kinds == {"Entry", "Asset", "DeletedEntry", "DeletedAsset"}
    for item in items:
        name = {"Entry": "entry", "Asset": "asset"}.get(item["sys"]["type"], "sync_item")
        assert schemas().errors(name, item) == []
        assert schemas().errors("sync_item", item) == []


ENTRY: dict[str, Any] = {
    "sys": {
        "id": "abc",
        "type": "Entry",
        "contentType": {"sys": {"type": "Link", "linkType": "ContentType", "id": "city"}},
    },
    "fields": {"name": {"en-US": "Lisbon"}},
}


def _entry_with(path: list[str], value: Any) -> dict[str, Any]:
    entry = copy.deepcopy(ENTRY)
    target = entry
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return entry


_DELETE = object()


def test_a_plain_entry_is_valid() -> None:
    assert schemas().errors("entry", ENTRY) == []


@pytest.mark.parametrize(
    "bad_id", ["", ".", "..", "a/b", "../x", "a b", "é", "x" * 65, "a\\b", 7, None]
)
def test_unsafe_ids_are_refused(bad_id: Any) -> None:
    assert schemas().errors("entry", _entry_with(["sys", "id"], bad_id))


def test_ids_at_the_edge_of_the_alphabet_are_accepted() -> None:
    for good in ["a", "A.b_c-9", "x" * 64, "..a", "a.."]:
        assert schemas().errors("entry", _entry_with(["sys", "id"], good)) == []


@pytest.mark.parametrize("key", ["id", "type"])
def test_missing_sys_keys_are_refused(key: str) -> None:
    assert schemas().errors("entry", _entry_with(["sys", key], _DELETE))
    assert schemas().errors("sync_item", _entry_with(["sys", key], _DELETE))


def test_entry_without_content_type_is_refused() -> None:
    assert schemas().errors("entry", _entry_with(["sys", "contentType"], _DELETE))


def test_content_type_id_must_be_safe() -> None:
    bad = _entry_with(["sys", "contentType", "sys", "id"], "../etc")
    assert schemas().errors("entry", bad)


@pytest.mark.parametrize(
    "fields", [{"name": "Lisbon"}, {"name": ["en-US", "Lisbon"]}, {"name": None}, ["name"], "x"]
)
def test_fields_must_be_keyed_by_field_then_locale(fields: Any) -> None:
    assert schemas().errors("entry", _entry_with(["fields"], fields))


def test_unknown_keys_are_accepted() -> None:
    entry = _entry_with(["sys", "publishedVersion"], 3)
    entry["metadata"] = {"tags": [], "concepts": []}
    entry["somethingNew"] = {"x": 1}
    assert schemas().errors("entry", entry) == []


def test_page_needs_exactly_one_next_url() -> None:
    page: dict[str, Any] = {"sys": {"type": "Array"}, "items": [ENTRY]}
    assert schemas().errors("sync_page", page)
    both = {**page, "nextPageUrl": "https://x/sync?sync_token=a", "nextSyncUrl": "https://x/b"}
    assert schemas().errors("sync_page", both)
    assert (
        schemas().errors("sync_page", {**page, "nextSyncUrl": "https://x/sync?sync_token=a"}) == []
    )
    assert (
        schemas().errors("sync_page", {**page, "nextPageUrl": "https://x/sync?sync_token=a"}) == []
    )


def test_page_refuses_an_unknown_item_type() -> None:
    item = _entry_with(["sys", "type"], "Mystery")
    page = {"sys": {"type": "Array"}, "items": [item], "nextSyncUrl": "https://x/?sync_token=a"}
    assert schemas().errors("sync_page", page)


def test_deleted_entry_needs_a_safe_id() -> None:
    deleted = {"sys": {"id": "..", "type": "DeletedEntry"}}
    assert schemas().errors("deleted_entry", deleted)
    assert schemas().errors("deleted_entry", {"sys": {"id": "ok", "type": "DeletedEntry"}}) == []


def test_error_body_shape() -> None:
    good = {"sys": {"type": "Error", "id": "NotFound"}, "message": "x", "requestId": "r"}
    assert schemas().errors("error", good) == []
    assert schemas().errors("error", {"sys": {"type": "Error"}})


def test_link_shape() -> None:
    assert schemas().errors("link", {"sys": {"type": "Link", "linkType": "Entry", "id": "a"}}) == []
    assert schemas().errors("link", {"sys": {"type": "Link", "id": "a"}})


def _negative_cases() -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = []
    for bad_id in ["", ".", "..", "a/b", "../x", "a b", "é", "x" * 65, "a\\b", 7, None]:
        cases.append(("entry", _entry_with(["sys", "id"], bad_id)))
    for key in ("id", "type"):
        cases += [
            ("entry", _entry_with(["sys", key], _DELETE)),
            ("sync_item", _entry_with(["sys", key], _DELETE)),
        ]
    cases.append(("entry", _entry_with(["sys", "contentType"], _DELETE)))
    cases.append(("entry", _entry_with(["sys", "contentType", "sys", "id"], "../etc")))
    for fields in (
        {"name": "Lisbon"},
        {"name": ["en-US", "Lisbon"]},
        {"name": None},
        ["name"],
        "x",
    ):
        cases.append(("entry", _entry_with(["fields"], fields)))
    page: dict[str, Any] = {"sys": {"type": "Array"}, "items": [ENTRY]}
    cases += [
        ("sync_page", page),
        ("sync_page", {**page, "nextPageUrl": "https://x/a", "nextSyncUrl": "https://x/b"}),
        (
            "sync_page",
            {
                **page,
                "items": [_entry_with(["sys", "type"], "Mystery")],
                "nextSyncUrl": "https://x/?sync_token=a",
            },
        ),
        ("deleted_entry", {"sys": {"id": "..", "type": "DeletedEntry"}}),
        ("error", {"sys": {"type": "Error"}}),
        ("link", {"sys": {"type": "Link", "id": "a"}}),
    ]
    return cases


def _positive_cases() -> list[tuple[str, Any]]:
    cases = [
        (kind, body)
        for kind in ("sync_page", "content_type", "locale", "locale_collection")
        for body in _bodies(kind)
    ]
    items = [item for page in _bodies("sync_page") for item in page["items"]]
    return cases + [("sync_item", item) for item in items] + [("entry", ENTRY)]


def test_the_fast_validator_agrees_with_the_reference() -> None:
    """fastjsonschema (the hot path) and jsonschema (the reference) read the same files;
    they must reach the same verdict on every case the tests know."""
    cases = [(kind, value, True) for kind, value in _positive_cases()]
    cases += [(kind, value, False) for kind, value in _negative_cases()]
    assert len(cases) > 600
    for kind, value, expected in cases:
        assert schemas().is_valid(kind, value) is expected, (kind, value)
        assert (schemas().errors(kind, value) == []) is expected, (kind, value)
        assert (schemas().first_error(kind, value) is None) is expected
