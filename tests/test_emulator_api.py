"""The emulator's other endpoints, auth, writes and fault injection, over real HTTP."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time

import pytest
import requests

from mirror.emulator import Emulator, EmulatorConfig
from mirror.emulator.faults import FaultPlan
from mirror.emulator.media import image_size
from mirror.schemas import schemas
from tests.conftest import Api, start_emulator


def test_content_types_are_paged_by_skip_and_limit(api: Api) -> None:
    body = api.get(api.env_path + "/content_types").json()
    assert schemas().errors("content_type_collection", body) == []
    assert body["total"] == 4
    assert [ct["sys"]["id"] for ct in body["items"]] == ["author", "city", "guide", "place"]
    page = api.get(api.env_path + "/content_types", skip=1, limit=2).json()
    assert [ct["sys"]["id"] for ct in page["items"]] == ["city", "guide"]
    assert (page["skip"], page["limit"], page["total"]) == (1, 2, 4)
    assert api.get(api.env_path + "/content_types", limit=5000).status_code == 400


def test_one_content_type_has_every_field_type(api: Api) -> None:
    types = set()
    for ct_id in ("city", "place", "guide", "author"):
        body = api.get(f"{api.env_path}/content_types/{ct_id}").json()
        assert schemas().errors("content_type", body) == []
        for field in body["fields"]:
            types.add(
                field["type"] if field["type"] != "Array" else f"Array<{field['items']['type']}>"
            )
            if field["type"] == "Link":
                types.add(f"Link<{field['linkType']}>")
    expected = {
        "Symbol",
        "Text",
        "Integer",
        "Number",
        "Boolean",
        "Date",
        "Location",
        "Object",
        "RichText",
        "Link<Entry>",
        "Link<Asset>",
        "Array<Symbol>",
        "Array<Link>",
    }
    assert expected <= types
    assert api.get(f"{api.env_path}/content_types/nope").status_code == 404


def test_locales_and_space(api: Api) -> None:
    locales = api.get(api.env_path + "/locales").json()
    assert schemas().errors("locale_collection", locales) == []
    by_code = {loc["code"]: loc for loc in locales["items"]}
    assert by_code["en-US"]["default"] is True
    assert by_code["de-DE"]["fallbackCode"] == "en-US"
    assert by_code["fr-FR"]["fallbackCode"] == "de-DE"
    space = api.get(f"/spaces/{api.space}").json()
    assert space["sys"] == {"type": "Space", "id": "wayfarer"}
    assert [loc["code"] for loc in space["locales"]] == ["en-US", "de-DE", "fr-FR"]


def test_asset_files_are_served_with_true_type_size_and_dimensions(api: Api) -> None:
    items, _, _ = api.sync_all(initial="true", type="Asset")
    assert len(items) >= 10
    saw_non_image = False
    for asset in items:
        for file in asset["fields"]["file"].values():
            assert file["url"].startswith(f"//127.0.0.1:{api.emulator.port}/")
            response = requests.get("http:" + file["url"], timeout=5)
            assert response.status_code == 200
            assert response.headers["Content-Type"] == file["contentType"]
            assert len(response.content) == file["details"]["size"]
            size = image_size(response.content)
            if size:
                assert (
                    file["details"]["image"]["width"],
                    file["details"]["image"]["height"],
                ) == size
            else:
                saw_non_image = True
                assert "image" not in file["details"]
    assert saw_non_image is False  # the GPX route is deleted by round 3
    assert (
        requests.get(api.base + "/files/wayfarer/x/" + "0" * 32 + "/a.png", timeout=5).status_code
        == 404
    )


def test_a_non_image_file_has_no_image_details() -> None:
    with Emulator(EmulatorConfig(round=0)) as emulator:
        items, _, _ = Api(emulator).sync_all(initial="true", type="Asset")
    route = next(a for a in items if a["sys"]["id"] == "alfama-walk-route")
    file = route["fields"]["file"]["en-US"]
    assert file["contentType"] == "application/gpx+xml"
    assert "image" not in file["details"]


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic d2F5ZmFyZXI=", "Bearer "])
def test_wrong_or_missing_token_is_401(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.get(
        api.base + api.env_path + "/sync?initial=true", headers=headers, timeout=5
    )
    assert response.status_code == 401
    error = response.json()
    assert error["sys"] == {"type": "Error", "id": "AccessTokenInvalid"}
    assert error["message"] == "The access token you sent could not be found or is invalid."
    assert error["requestId"]
    assert response.headers["X-Contentful-Request-Id"]


def test_token_in_query_is_accepted(api: Api) -> None:
    url = f"{api.base}{api.env_path}/sync?initial=true&access_token={api.emulator.access_token}"
    assert requests.get(url, timeout=5).status_code == 200


def test_unknown_space_environment_or_path_is_404(api: Api) -> None:
    for path in (
        "/spaces/other/sync",
        "/spaces/wayfarer/environments/staging/sync",
        "/spaces/wayfarer/environments/master/nothing",
        "/nothing",
    ):
        response = api.get(path, initial="true")
        assert response.status_code == 404, path
        assert response.json()["sys"] == {"type": "Error", "id": "NotFound"}
        assert response.json()["requestId"] == response.headers["X-Contentful-Request-Id"]


def test_delivery_media_type_and_etag(api: Api) -> None:
    response = api.sync(initial="true")
    assert response.headers["Content-Type"] == "application/vnd.contentful.delivery.v1+json"
    assert response.headers["ETag"]


# -- writes -----------------------------------------------------------------------------


def test_put_creates_then_updates_and_publishes_an_entry(api: Api) -> None:
    _, token, _ = api.sync_all(initial="true")
    fields = {
        "title": {"en-US": "Harbour steps", "de-DE": "Hafentreppen"},
        "city": {"en-US": {"sys": {"type": "Link", "linkType": "Entry", "id": "porto"}}},
    }
    created = api.write(
        "PUT",
        "entries",
        "porto-harbour-steps",
        {"fields": fields},
        headers={"X-Contentful-Content-Type": "place"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["sys"]["contentType"]["sys"]["id"] == "place"
    fields["rating"] = {"en-US": 4.1}
    updated = api.write("PUT", "entries", "porto-harbour-steps", {"fields": fields})
    assert updated.status_code == 200
    items, _, _ = api.sync_all(sync_token=token)
    assert [(i["sys"]["id"], i["sys"]["revision"]) for i in items] == [("porto-harbour-steps", 2)]
    assert items[0]["fields"]["rating"] == {"en-US": 4.1}


def test_delete_entry_and_asset_then_sync_shows_deletions(api: Api) -> None:
    _, token, _ = api.sync_all(initial="true")
    assert api.write("DELETE", "entries", "kyoto-nishiki-market").status_code == 204
    assert api.write("DELETE", "assets", "porto-hero").status_code == 204
    assert api.write("DELETE", "entries", "kyoto-nishiki-market").status_code == 404
    items, _, _ = api.sync_all(sync_token=token)
    assert sorted((i["sys"]["type"], i["sys"]["id"]) for i in items) == [
        ("DeletedAsset", "porto-hero"),
        ("DeletedEntry", "kyoto-nishiki-market"),
    ]


def test_put_asset_with_an_uploaded_file(api: Api) -> None:
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
        + (3).to_bytes(4, "big")
        + (2).to_bytes(4, "big")
        + b"\x08\x02\x00\x00\x00"
        + b"\x00" * 20
    )
    upload = "data:image/png;base64," + base64.b64encode(png).decode()
    body = {
        "fields": {
            "title": {"en-US": "Tiny"},
            "file": {
                "en-US": {"fileName": "tiny.png", "contentType": "image/png", "upload": upload}
            },
        }
    }
    response = api.write("PUT", "assets", "tiny", body)
    assert response.status_code == 201, response.text
    file = response.json()["fields"]["file"]["en-US"]
    assert file["details"] == {"size": len(png), "image": {"width": 3, "height": 2}}
    served = requests.get("http:" + file["url"], timeout=5)
    assert served.content == png
    # Putting back what was served keeps the file.
    again = api.write(
        "PUT", "assets", "tiny", {"fields": {"title": {"en-US": "Tiny 2"}, "file": {"en-US": file}}}
    )
    assert again.status_code == 200
    assert again.json()["fields"]["file"]["en-US"]["url"] == file["url"]


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        ({"fields": {"title": {"en-US": "x"}}}, {}, "X-Contentful-Content-Type"),
        (
            {"fields": {"title": {"en-US": "x"}}},
            {"X-Contentful-Content-Type": "nope"},
            "does not exist",
        ),
        ({"fields": {"title": "x"}}, {"X-Contentful-Content-Type": "place"}, "{locale: value}"),
        (
            {"fields": {"title": {"xx-XX": "x"}}},
            {"X-Contentful-Content-Type": "place"},
            "unknown locale",
        ),
        (
            {"fields": {"nope": {"en-US": 1}}},
            {"X-Contentful-Content-Type": "author"},
            "no such field",
        ),
        (
            {"fields": {"name": {"en-US": 5}}},
            {"X-Contentful-Content-Type": "author"},
            "must be a string",
        ),
        ({"fields": {"bio": {"en-US": "x"}}}, {"X-Contentful-Content-Type": "author"}, "required"),
        (
            {"fields": {"name": {"en-US": "x", "de-DE": "y"}}},
            {"X-Contentful-Content-Type": "author"},
            "not localized",
        ),
        (
            {
                "fields": {
                    "name": {"en-US": "x"},
                    "homeCity": {
                        "en-US": {"sys": {"type": "Link", "linkType": "Asset", "id": "a"}}
                    },
                }
            },
            {"X-Contentful-Content-Type": "author"},
            "must link to an Entry",
        ),
        ({"nofields": 1}, {"X-Contentful-Content-Type": "author"}, "body"),
        ("not json", {"X-Contentful-Content-Type": "author"}, "body"),
    ],
)
def test_bad_write_bodies_get_422_saying_why(
    api: Api, body: object, headers: dict[str, str], reason: str
) -> None:
    if body == "not json":
        response = requests.put(
            f"{api.base}{api.env_path}/entries/new-one",
            data=b"{nope",
            headers={"Authorization": f"Bearer {api.emulator.management_token}", **headers},
            timeout=5,
        )
    else:
        response = api.write("PUT", "entries", "new-one", body, headers=headers)
    assert response.status_code == 422
    error = response.json()
    assert error["sys"] == {"type": "Error", "id": "ValidationFailed"}
    assert reason in error["message"]


def test_writes_need_the_management_token(api: Api) -> None:
    url = f"{api.base}{api.env_path}/entries/author-kenji"
    for token in (api.emulator.access_token, "wrong"):
        response = requests.delete(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert response.status_code == 401
    assert api.write("PUT", "entries", "bad id!", {"fields": {}}).status_code == 422


def _raw(api: Api, request: str) -> tuple[bytes, bytes]:
    """Send `request` as it is; the answer's head and body (the connection closes)."""
    host, port = api.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request.encode())
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return head, body


def test_what_http_server_refuses_and_odd_lengths_get_json(api: Api) -> None:
    many = "".join(f"X-{number}: y\r\n" for number in range(120))
    head, body = _raw(api, f"GET {api.env_path}/locales HTTP/1.1\r\n{many}\r\n")
    assert head.startswith(b"HTTP/1.1 431") and b"Connection: close" in head
    assert json.loads(body)["sys"]["id"] == "RequestHeaderFieldsTooLarge"
    write = (
        f"PUT {api.env_path}/entries/author-kenji HTTP/1.1\r\nHost: x\r\n"
        "Authorization: Bearer wayfarer-management-token\r\n"
    )
    # A Content-Length that is no number, or two that differ: 400 naming it, and closed.
    for lengths in ("Content-Length: x\r\n", "Content-Length: 2\r\nContent-Length: 40\r\n"):
        head, body = _raw(api, f"{write}{lengths}\r\n{{}}")
        assert head.startswith(b"HTTP/1.1 400") and b"Connection: close" in head
        assert "Content-Length" in json.loads(body)["message"]
    # A body past what the emulator reads: refused at once, without a 100 Continue.
    huge = f"{write}Content-Length: 2000000000\r\nExpect: 100-continue\r\n\r\n"
    head, body = _raw(api, huge)
    assert head.startswith(b"HTTP/1.1 413") and b"Connection: close" in head
    assert json.loads(body)["sys"]["id"] == "PayloadTooLarge"


def test_a_body_sent_in_chunks_is_written_and_one_not_read_is_not_a_request(api: Api) -> None:
    url = f"{api.base}{api.env_path}/entries/author-chunked"
    fields = {"fields": {"name": {"en-US": "Zed"}}}
    raw = json.dumps(fields).encode()
    headers = {
        "Authorization": "Bearer wayfarer-management-token",
        "X-Contentful-Content-Type": "author",
        "Content-Type": "application/json",
    }
    written = requests.put(url, data=iter([raw[:9], raw[9:]]), headers=headers, timeout=10)
    assert written.status_code in (200, 201), written.text
    stored = api.get(f"{api.env_path}/entries/author-chunked", locale="*").json()
    assert stored["fields"] == fields["fields"]
    # A POST is refused unread: its body is not taken for the next request.
    session = api.session
    refused = session.post(f"{api.base}{api.env_path}/entries", json={"query": "x"}, timeout=10)
    assert refused.status_code == 405 and refused.headers["Connection"] == "close"
    assert session.get(f"{api.base}{api.env_path}/locales", timeout=10).status_code == 200
    smuggled = f"GET {api.env_path}/entries/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    head, body = _raw(
        api,
        f"POST {api.env_path}/entries HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {len(smuggled)}\r\n\r\n{smuggled}",
    )
    assert head.startswith(b"HTTP/1.1 405") and b"HTTP/1.1" not in body  # one answer only


# -- faults -----------------------------------------------------------------------------


def _statuses(emulator: Emulator, count: int) -> list[int]:
    api = Api(emulator)
    return [api.get(f"/spaces/{api.space}").status_code for _ in range(count)]


def test_error_rate_is_deterministic_with_a_seed() -> None:
    plan = FaultPlan(error_rate=0.3, seed=42)
    runs = []
    for _ in range(2):
        with Emulator(EmulatorConfig(faults=plan)) as emulator:
            runs.append(_statuses(emulator, 40))
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 500, 503}


def test_rate_limit_answers_429_with_a_reset_header() -> None:
    with Emulator(EmulatorConfig(faults=FaultPlan(rate_limit=3))) as emulator:
        api = Api(emulator)
        responses = [api.get(f"/spaces/{api.space}") for _ in range(12)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited
    assert limited[0].json()["sys"]["id"] == "RateLimitExceeded"
    assert int(limited[0].headers["X-Contentful-RateLimit-Reset"]) >= 1
    assert responses[0].headers["X-Contentful-RateLimit-Second-Limit"] == "3"


def test_latency_delays_reads() -> None:
    with Emulator(EmulatorConfig(faults=FaultPlan(latency_ms=150))) as emulator:
        started = time.perf_counter()
        Api(emulator).get("/spaces/wayfarer")
        assert time.perf_counter() - started >= 0.15


def test_drop_rate_cuts_bodies_short() -> None:
    config = EmulatorConfig(faults=FaultPlan(drop_rate=1.0))
    with Emulator(config) as emulator, pytest.raises(requests.exceptions.RequestException):
        Api(emulator).sync(initial="true").json()


def test_serve_command_prints_facts_as_json_and_serves(tmp_path: object) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mirror", "serve", "--port", "0", "--json", "--round", "1", "-q"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        facts = json.loads(process.stdout.readline())
        assert set(facts) == {
            "base_url",
            "space",
            "environment",
            "access_token",
            "management_token",
        }
        url = (
            f"{facts['base_url']}/spaces/{facts['space']}/environments/{facts['environment']}/sync"
        )
        response = requests.get(
            url,
            params={"initial": "true", "limit": 1000},
            headers={"Authorization": f"Bearer {facts['access_token']}"},
            timeout=5,
        )
        assert len(response.json()["items"]) == 54
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_refuses_a_broken_space_folder(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "space.json").write_text("{not json")
    result = subprocess.run(
        [sys.executable, "-m", "mirror", "serve", str(folder), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: the space folder is not valid")
    assert "Traceback" not in result.stderr


def test_start_emulator_helper_stops_cleanly() -> None:
    emulator = start_emulator(round=0)
    assert Api(emulator).get("/spaces/wayfarer").status_code == 200
    emulator.stop()
