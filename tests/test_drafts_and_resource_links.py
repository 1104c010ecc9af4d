"""Preview API drafts (unprocessed uploads, missing required fields) and cross-space
references (ResourceLink fields) are valid content: mirrored, verified, served."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mirror import model
from mirror.client.review import verify
from mirror.emulator import Emulator
from mirror.schemas import schemas
from tests.conftest import Api, git, mirror, sync_json
from tests.replay import ReplayServer, replay_sync_args

SPACE = "draftspace"
ENV_PATH = f"/spaces/{SPACE}/environments/master"
URN = "crn:contentful:::content:spaces/wayfarer-phrases/environments/master/entries/market-spanish"
RESOURCE_LINK = {"sys": {"type": "ResourceLink", "linkType": "Contentful:Entry", "urn": URN}}
ALLOWED = [
    {
        "type": "Contentful:Entry",
        "source": "crn:contentful:::content:spaces/wayfarer-phrases",
        "contentTypes": ["chapter"],
    }
]
ARTICLE = {
    "sys": {"id": "article", "type": "ContentType", "revision": 1},
    "name": "Article",
    "displayField": "title",
    "fields": [
        {"id": "title", "name": "Title", "type": "Symbol", "required": True, "localized": False},
        {"id": "body", "name": "Body", "type": "Text", "required": False, "localized": False},
    ],
}


def _sys(item_id: str, kind: str, revision: int) -> dict[str, Any]:
    sys: dict[str, Any] = {
        "id": item_id,
        "type": kind,
        "revision": revision,
        "createdAt": "2024-05-01T10:00:00.000Z",
        "updatedAt": "2024-05-02T10:00:00.000Z",
        "space": {"sys": {"type": "Link", "linkType": "Space", "id": SPACE}},
        "environment": {"sys": {"type": "Link", "linkType": "Environment", "id": "master"}},
    }
    if kind == "Entry":
        sys["contentType"] = {"sys": {"type": "Link", "linkType": "ContentType", "id": "article"}}
    return sys


def _entry(item_id: str, revision: int, fields: dict[str, Any]) -> dict[str, Any]:
    return {"sys": _sys(item_id, "Entry", revision), "fields": fields}


def _draft_asset(item_id: str, file: Any) -> dict[str, Any]:
    fields = {"title": {"en-US": f"{item_id} not processed"}, "file": {"en-US": file}}
    return {"sys": _sys(item_id, "Asset", 0), "fields": fields}


def _exchanges(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A recorded space: one initial sync page of `items` and the Article content type."""
    page = {
        "sys": {"type": "Array"},
        "items": items,
        "nextSyncUrl": f"https://preview.contentful.com{ENV_PATH}/sync?sync_token=draft-token-1",
    }
    return [
        {"request": f"GET {ENV_PATH}/sync?initial=true", "status": 200, "body": page},
        {"request": f"GET {ENV_PATH}/content_types/article", "status": 200, "body": ARTICLE},
    ]


def _sync(directory: Path, items: list[dict[str, Any]]) -> Any:
    with ReplayServer(_exchanges(items)) as server:
        return mirror(*replay_sync_args(server, directory, SPACE))


# -- a. drafts -----------------------------------------------------------------------------

UPLOAD = {
    "upload": "https://upload.wikimedia.org/wikipedia/commons/5/5c/F_Scott_Fitzgerald_1921.jpg",
    "fileName": "fitzgerald",
    "contentType": "image/jpg",
}
UPLOAD_FROM = {
    "fileName": "Contentful",
    "uploadFrom": {"sys": {"id": "1reper3p12RdEVfC13QsUR", "type": "Link", "linkType": "Upload"}},
    "contentType": "image/svg+xml",
}


def test_draft_assets_with_unprocessed_uploads_are_mirrored(tmp_path: Path) -> None:
    items = [_draft_asset("remote-upload", UPLOAD), _draft_asset("local-upload", UPLOAD_FROM)]
    result = _sync(tmp_path, items)
    assert result.exit_code == 0, result.stderr
    for item in items:
        written = json.loads((tmp_path / f"assets/{item['sys']['id']}.json").read_text())
        assert written == item
    assert verify(tmp_path).problems == []


@pytest.mark.parametrize(
    "file",
    [
        {"fileName": "a.png", "contentType": "image/png"},  # neither url nor upload
        {"upload": "", "fileName": "a.png"},
        {"upload": 7},
        {"uploadFrom": {"sys": {"type": "Link", "linkType": "Entry", "id": "x"}}},
        {"uploadFrom": "1reper3p12RdEVfC13QsUR"},
        {**UPLOAD, "details": {"size": -1}},
        "https://example.com/a.png",
    ],
)
def test_an_asset_file_that_is_neither_processed_nor_an_upload_is_refused(
    file: Any, tmp_path: Path
) -> None:
    assert schemas().first_error("asset", _draft_asset("odd", file)) is not None
    result = _sync(tmp_path, [_draft_asset("odd", file)])
    assert result.exit_code == 5
    assert "fields/file/en-US" in result.stderr


def test_a_draft_missing_a_required_field_is_a_warning_not_a_problem(tmp_path: Path) -> None:
    draft = _entry("draft-article", 0, {"body": {"en-US": "Not finished."}})
    published = _entry("old-article", 3, {"title": {"en-US": "Done"}})
    assert _sync(tmp_path, [draft, published]).exit_code == 0
    verdict = verify(tmp_path)
    assert verdict.problems == []
    assert verdict.warnings == [
        "entries/article/draft-article.json: fields.title: required, missing for en-US (a draft)"
    ]
    assert verdict.consistent(strict=True)
    assert mirror("verify", str(tmp_path), "--strict").exit_code == 0


def test_a_published_entry_missing_a_required_field_is_still_a_problem(tmp_path: Path) -> None:
    published = _entry("old-article", 3, {"body": {"en-US": "Lost its title."}})
    assert _sync(tmp_path, [published]).exit_code == 0
    verdict = verify(tmp_path)
    assert verdict.problems == [
        "entries/article/old-article.json: fields.title: required, missing for en-US"
    ]
    assert verdict.warnings == []
    assert mirror("verify", str(tmp_path)).exit_code == 6


@pytest.mark.parametrize(
    ("base_url", "warned"),
    [
        ("https://preview.contentful.com", True),
        ("https://preview.eu.contentful.com", True),
        ("https://cdn.contentful.com", False),
    ],
)
def test_on_a_preview_mirror_every_missing_required_field_is_a_warning(
    base_url: str, warned: bool, tmp_path: Path
) -> None:
    """A draft of a published entry keeps its revision; the Preview host tells it apart."""
    changed_draft = _entry("old-article", 3, {"body": {"en-US": "Title removed in a draft."}})
    wrong_type = _entry("typed-article", 2, {"title": {"en-US": 42}})
    assert _sync(tmp_path, [changed_draft, wrong_type]).exit_code == 0
    state = json.loads((tmp_path / "mirror.json").read_text())
    (tmp_path / "mirror.json").write_text(json.dumps({**state, "base_url": base_url}))
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "move host")
    verdict = verify(tmp_path)
    missing = "entries/article/old-article.json: fields.title: required, missing for en-US"
    type_problem = "entries/article/typed-article.json: fields.title.en-US: must be a string"
    assert verdict.warnings == ([f"{missing} (a draft)"] if warned else [])
    assert verdict.problems == ([type_problem] if warned else [missing, type_problem])


# -- b. cross-space references -------------------------------------------------------------


def _with_resource_fields(content_type: dict[str, Any]) -> dict[str, Any]:
    resource_fields = [
        {"id": "sister", "type": "ResourceLink", "allowedResources": ALLOWED},
        {
            "id": "twins",
            "type": "Array",
            "items": {"type": "ResourceLink"},
            "allowedResources": ALLOWED,
        },
    ]
    return {**content_type, "id": "article", "fields": content_type["fields"] + resource_fields}


def test_resource_link_fields_hold_cross_space_references() -> None:
    fields = {
        "title": {"en-US": "Two spaces"},
        "sister": {"en-US": RESOURCE_LINK},
        "twins": {"en-US": [RESOURCE_LINK, RESOURCE_LINK]},
    }
    model.check_entry_fields(fields, _with_resource_fields(ARTICLE), ["en-US"], "en-US")
    assert schemas().first_error("entry", _entry("a", 1, fields)) is None
    declared = {**ARTICLE, "fields": _with_resource_fields(ARTICLE)["fields"]}
    assert schemas().first_error("content_type", declared) is None


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("sister", {"sys": {"type": "Link", "linkType": "Entry", "id": "x"}}, "resource link"),
        ("sister", {"sys": {**RESOURCE_LINK["sys"], "urn": "spaces/x/entries/y"}}, "crn:"),
        ("sister", {"sys": {"type": "ResourceLink", "urn": URN}}, "resource link"),
        (
            "sister",
            {"sys": {**RESOURCE_LINK["sys"], "linkType": "Contentful:Asset"}},
            "must link to one of Contentful:Entry",
        ),
        (
            "twins",
            [{"sys": {**RESOURCE_LINK["sys"], "urn": URN.replace("wayfarer-phrases", "other")}}],
            "must link into crn:contentful:::content:spaces/wayfarer-phrases",
        ),
        ("twins", RESOURCE_LINK, "must be an array"),
    ],
)
def test_a_resource_link_field_refuses_what_is_not_an_allowed_resource_link(
    field: str, value: Any, says: str
) -> None:
    fields = {"title": {"en-US": "Two spaces"}, field: {"en-US": value}}
    with pytest.raises(model.ValidationFailed) as failure:
        model.check_entry_fields(fields, _with_resource_fields(ARTICLE), ["en-US"], "en-US")
    assert len(failure.value.errors) == 1
    assert failure.value.errors[0].startswith(f"fields.{field}.en-US: ")
    assert says in failure.value.errors[0]


def test_the_sample_space_serves_a_cross_space_reference(emulator: Emulator) -> None:
    api = Api(emulator)
    guide = api.get(f"{api.env_path}/content_types/guide").json()
    field = next(f for f in guide["fields"] if f["id"] == "phrasebook")
    assert field["type"] == "ResourceLink" and field["allowedResources"][0]["source"]
    items, _, _ = api.sync_all(initial="true")
    oaxaca = next(i for i in items if i["sys"]["id"] == "guide-oaxaca-markets")
    assert oaxaca["fields"]["phrasebook"]["en-US"]["sys"]["type"] == "ResourceLink"


def test_the_write_api_accepts_a_cross_space_reference(emulator: Emulator) -> None:
    api = Api(emulator)
    fields = {"title": {"en-US": "Lisbon by tram"}, "slug": {"en-US": "lisbon-tram"}}
    link = {"sys": {**RESOURCE_LINK["sys"], "urn": URN.replace("market-spanish", "tram")}}
    response = api.write(
        "PUT",
        "entries",
        "guide-lisbon-tram",
        {"fields": {**fields, "phrasebook": {"en-US": link}}},
        headers={"X-Contentful-Content-Type": "guide"},
    )
    assert response.status_code == 201, response.text
    refused = api.write(
        "PUT",
        "entries",
        "guide-lisbon-tram",
        {"fields": {**fields, "phrasebook": {"en-US": {"sys": {"type": "ResourceLink"}}}}},
    )
    assert refused.status_code == 422, refused.text
    assert "fields.phrasebook.en-US" in refused.text


def test_a_mirror_keeps_cross_space_references_and_verifies_without_dangling_them(
    emulator: Emulator, tmp_path: Path
) -> None:
    sync_json(emulator, tmp_path)
    oaxaca = json.loads((tmp_path / "entries/guide/guide-oaxaca-markets.json").read_text())
    assert oaxaca["fields"]["phrasebook"]["en-US"]["sys"]["urn"].startswith("crn:contentful:")
    verdict = verify(tmp_path)
    assert verdict.problems == [] and verdict.warnings == []
    assert not any("phrasebook" in line or "crn:" in line for line in verdict.dangling)
