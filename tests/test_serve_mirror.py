"""`mirror serve DIR`: the mirror at a commit as a read-only Delivery API, over real HTTP,
answering what the emulator answers for the same content."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mirror.delivery.server import MirrorServer, MirrorServerConfig
from mirror.emulator import Emulator, EmulatorConfig
from mirror.errors import EXIT_USAGE, UsageError
from tests.conftest import files_of, git, mirror, sync_args, sync_json
from tests.serving import Reader, comparable, item_state, serve_process, serving, synced_rounds

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("/entries", {}),
    ("/entries", {"include": 2, "locale": "de-DE", "limit": 7, "skip": 2}),
    ("/entries", {"locale": "*", "content_type": "place", "order": "-fields.title"}),
    ("/entries", {"content_type": "city", "select": "fields.name,sys.id", "locale": "fr-FR"}),
    ("/entries", {"sys.id[in]": "lisbon,porto,author-kenji"}),
    ("/entries/porto", {"locale": "de-DE"}),
    ("/entries/no-such-entry", {}),
    ("/entries", {"content_type": "nope"}),
    ("/assets", {}),
    ("/assets", {"locale": "*", "mimetype_group": "image", "limit": 3}),
    ("/assets/porto-hero", {}),
    ("/content_types", {}),
    ("/content_types/place", {}),
    ("/locales", {}),
    ("/tags", {}),
    ("", {}),
]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    """A mirror synced from the sample space over its rounds 0 to 3, and its commits."""
    directory = tmp_path_factory.mktemp("mirror")
    with Emulator(EmulatorConfig(round=0)) as emulator:
        commits = synced_rounds(emulator, directory, 3)
    yield directory, commits


@pytest.fixture(scope="module")
def with_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A mirror of round 0 that keeps its asset files."""
    directory = tmp_path_factory.mktemp("files")
    with Emulator(EmulatorConfig(round=0)) as emulator:
        sync_json(emulator, directory, "--download-assets")
    yield directory


@pytest.mark.parametrize("round_number", [1, 3])
def test_answers_at_a_commit_are_the_emulators_for_that_round(
    history: tuple[Path, list[str]], round_number: int
) -> None:
    directory, commits = history
    with (
        Emulator(EmulatorConfig(round=round_number)) as emulator,
        serving(directory, rev=commits[round_number]) as server,
    ):
        ours, theirs = Reader.of(server), Reader.of(emulator)
        for path, params in QUERIES:
            mine, expected = ours.get(path, **params), theirs.get(path, **params)
            assert mine.status_code == expected.status_code, (path, params, mine.text)
            assert comparable(mine.json()) == comparable(expected.json()), (path, params)


def test_the_legacy_path_and_the_space(history: tuple[Path, list[str]]) -> None:
    directory, _ = history
    with serving(directory) as server:
        reader = Reader.of(server)
        legacy = requests.get(f"{server.base_url}/spaces/wayfarer/entries?limit=3", timeout=10)
        assert legacy.json()["items"] == reader.json("/entries", limit=3)["items"]
        space = requests.get(f"{server.base_url}/spaces/wayfarer", timeout=10).json()
        assert space["sys"] == {"type": "Space", "id": "wayfarer"}
        assert [loc["code"] for loc in space["locales"]] == ["en-US", "de-DE", "fr-FR"]


@pytest.mark.parametrize(
    ("path", "kind", "item_id"),
    [
        ("/spaces/other/entries", "Space", "other"),
        ("/spaces/wayfarer/environments/staging/entries", "Environment", "staging"),
        ("/spaces/wayfarer/environments/master/nothing", None, None),
        ("/nothing", None, None),
    ],
)
def test_an_unknown_space_environment_or_path_is_not_found(
    history: tuple[Path, list[str]], path: str, kind: str | None, item_id: str | None
) -> None:
    with serving(history[0]) as server:
        response = requests.get(server.base_url + path, timeout=10)
    assert response.status_code == 404
    body = response.json()
    assert body["sys"] == {"type": "Error", "id": "NotFound"}
    assert body["message"] == "The resource could not be found."
    assert body.get("details") == ({"type": kind, "id": item_id} if kind else None)


def test_answers_carry_contentfuls_headers(history: tuple[Path, list[str]]) -> None:
    with serving(history[0]) as server:
        reader = Reader.of(server)
        response = reader.get("/entries")
        error = reader.get("/entries", limit=5000)
        others = [reader.get("/entries/nope"), reader.get("/sync", initial="true", limit=0)]
        others.append(requests.delete(f"{reader.base}{reader.env_path}/entries", timeout=10))
    for sent in (response, error):
        assert sent.headers["Content-Type"] == "application/vnd.contentful.delivery.v1+json"
        assert sent.headers["Access-Control-Allow-Origin"] == "*"
        assert len(sent.headers["X-Contentful-Request-Id"]) == 32
    assert response.headers["ETag"].startswith('W/"')
    assert error.status_code == 400 and error.json()["sys"]["id"] == "InvalidQuery"
    # An error names one request: its body's requestId is its header's.
    for refused in (error, *others):
        assert refused.status_code >= 400
        assert refused.json()["requestId"] == refused.headers["X-Contentful-Request-Id"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE", "BREW"])
def test_writes_are_refused(history: tuple[Path, list[str]], method: str) -> None:
    directory, _ = history
    before = files_of(directory)
    with serving(directory) as server:
        url = f"{server.base_url}/spaces/wayfarer/environments/master/entries/porto"
        response = requests.request(method, url, data=b'{"fields": {}}', timeout=10)
    assert response.status_code == 405
    assert response.json()["sys"] == {"type": "Error", "id": "MethodNotAllowed"}
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert files_of(directory) == before


def test_a_browsers_preflight_and_head_are_answered(history: tuple[Path, list[str]]) -> None:
    with serving(history[0]) as server:
        url = f"{server.base_url}/spaces/wayfarer/environments/master/entries"
        preflight = requests.options(url, timeout=10)
        head = requests.head(url, timeout=10)
    assert preflight.status_code == 204
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) > 1000


def test_with_an_access_token_every_api_request_needs_it_files_stay_public(
    with_files: Path,
) -> None:
    with serving(with_files, access_token="s3cret") as server:
        base = f"{server.base_url}/spaces/wayfarer/environments/master"
        good = requests.get(f"{base}/assets", headers={"Authorization": "Bearer s3cret"})
        file_url = "http:" + good.json()["items"][0]["fields"]["file"]["url"]
        refused = [
            requests.get(f"{base}/entries", timeout=10),
            requests.get(f"{base}/entries?access_token=wrong", timeout=10),
            requests.get(f"{base}/sync?initial=true", headers={"Authorization": "Bearer x"}),
            requests.get(f"{server.base_url}/spaces/wayfarer", timeout=10),
        ]
        allowed = [
            requests.get(f"{base}/entries?access_token=s3cret", timeout=10),
            requests.get(file_url, timeout=10),  # as on Contentful's asset CDN: <img src>
        ]
    for response in refused:
        assert response.status_code == 401
        body = response.json()
        assert body["sys"] == {"type": "Error", "id": "AccessTokenInvalid"}
        assert body["message"] == "The access token you sent could not be found or is invalid."
    assert [response.status_code for response in allowed] == [200, 200]


def test_without_an_access_token_on_loopback_any_token_or_none_is_accepted(
    history: tuple[Path, list[str]],
) -> None:
    with serving(history[0]) as server:
        url = f"{server.base_url}/spaces/wayfarer/environments/master/entries"
        for headers in ({}, {"Authorization": "Bearer anything"}):
            assert requests.get(url, headers=headers, timeout=10).status_code == 200
        assert requests.get(url + "?access_token=x", timeout=10).status_code == 200


def test_a_host_beyond_this_machine_needs_an_access_token(history: tuple[Path, list[str]]) -> None:
    directory, _ = history
    with pytest.raises(UsageError, match="--access-token"):
        MirrorServer(MirrorServerConfig(directory, host="0.0.0.0"))
    result = mirror("serve", str(directory), "--host", "0.0.0.0", "--port", "0", "--quiet")
    assert result.exit_code == EXIT_USAGE
    assert "--access-token" in result.stderr


def test_ipv6_and_every_address_are_served_at_a_url_clients_can_use(
    history: tuple[Path, list[str]],
) -> None:
    directory, _ = history
    if not socket.has_ipv6:
        pytest.skip("this machine has no IPv6")
    with serving(directory, host="::1") as server:
        assert server.base_url == f"http://[::1]:{server.port}"
        entries = Reader.of(server).json("/entries", limit=1)
        assert entries["total"] > 0
    with serving(directory, host="0.0.0.0", access_token="t") as everywhere:
        assert everywhere.base_url == f"http://127.0.0.1:{everywhere.port}"
        assert Reader.of(everywhere, "t").get("/entries", limit=1).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/spaces/wayfarer/environments/master/entries/..%2f..%2fmirror.json",
        "/spaces/wayfarer/environments/master/entries/..",
        "/spaces/wayfarer/environments/master/assets/%2e%2e",
        "/spaces/wayfarer/environments/master/content_types/..%2fmirror",
        "/files/..%2f..%2f..%2fmirror.json/en-US/x",
        "/files/porto-hero/..%2f..%2f/mirror.json",
        "/files/porto-hero/en-US/..%2f..%2f..%2f..%2fmirror.json",
        "/files/porto-hero/en-US/%2e%2e",
        "/files/porto-hero/en-US/porto-hero.jpg%00.json",
        "/spaces/wayfarer/environments/master/entries?sys.id=..%2f..%2fmirror",
    ],
)
def test_ids_and_paths_from_requests_never_name_a_file(with_files: Path, path: str) -> None:
    with serving(with_files) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", path)  # as written: no client folds the dots away
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
    assert response.status in (200, 400, 404)
    assert response.headers["Content-Type"].startswith("application/vnd.contentful")
    assert body["sys"]["type"] in ("Error", "Array")
    assert body.get("items", []) == []


def test_asset_files_the_mirror_keeps_are_served_from_it(with_files: Path) -> None:
    with Emulator(EmulatorConfig(round=0)) as emulator, serving(with_files) as server:
        reader = Reader.of(server)
        assets = reader.json("/assets", limit=1000)["items"]
        assert assets
        for asset in assets:
            file = asset["fields"]["file"]
            prefix = f"//127.0.0.1:{server.port}/files/{asset['sys']['id']}/en-US/"
            assert file["url"] == prefix + file["fileName"]
            ours = requests.get("http:" + file["url"], timeout=10)
            original = Reader.of(emulator).json(f"/assets/{asset['sys']['id']}")
            theirs = requests.get("http:" + original["fields"]["file"]["url"], timeout=10)
            assert ours.status_code == 200 and ours.content == theirs.content
            assert ours.headers["Content-Type"] == file["contentType"]
            assert ours.headers["X-Content-Type-Options"] == "nosniff"
        elsewhere = reader.session.get(
            reader.base + reader.env_path + "/assets?limit=1",
            headers={"Host": "cdn.example.test:81"},
            timeout=10,
        )
        url = elsewhere.json()["items"][0]["fields"]["file"]["url"]
        assert url.startswith("//cdn.example.test:81/files/")
        every = reader.json("/assets", locale="*", limit=1)["items"][0]["fields"]["file"]
        assert set(every) == {"en-US"} or all("/files/" in f["url"] for f in every.values())


def test_a_mirror_without_the_files_keeps_the_original_urls(
    history: tuple[Path, list[str]],
) -> None:
    with serving(history[0]) as server:
        assets = Reader.of(server).json("/assets")["items"]
    committed = {
        a["sys"]["id"]: json.loads((history[0] / "assets" / f"{a['sys']['id']}.json").read_text())
        for a in assets
    }
    for asset in assets:
        stored = committed[asset["sys"]["id"]]["fields"]["file"]["en-US"]
        assert asset["fields"]["file"]["url"] == stored["url"]


def test_serving_writes_nothing_while_mirror_sync_commits_rounds(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(round=0)) as emulator:
        synced_rounds(emulator, tmp_path, 1)
        served_at = git(tmp_path, "rev-parse", "HEAD").strip()
        failures: list[str] = []
        stop = threading.Event()
        with serving(tmp_path) as server:
            reader = Reader.of(server)
            expected = reader.json("/entries", limit=1000)

            def read() -> None:
                while not stop.is_set():
                    body = reader.get("/entries", limit=1000)
                    if body.status_code != 200 or body.json() != expected:
                        failures.append(body.text[:200])

            readers = [threading.Thread(target=read) for _ in range(3)]
            for thread in readers:
                thread.start()
            for number in (2, 3):
                emulator.store.apply_round(number)
                result = mirror(*sync_args(emulator, tmp_path, "--json"))
                assert result.exit_code == 0, result.stderr
            stop.set()
            for thread in readers:
                thread.join()
            assert server.commit == served_at
    assert failures == []
    assert git(tmp_path, "status", "--porcelain") == ""


def test_follow_serves_each_new_round_as_it_is_committed(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(round=0)) as emulator:
        synced_rounds(emulator, tmp_path, 0)
        with serving(tmp_path, follow=True, poll_seconds=0.05) as server:
            first = server.commit
            emulator.store.apply_round(1)
            sync_json(emulator, tmp_path)
            head = git(tmp_path, "rev-parse", "HEAD").strip()
            deadline = time.monotonic() + 10
            while server.commit != head and time.monotonic() < deadline:
                time.sleep(0.02)
            assert first != head == server.commit
            ours = Reader.of(server).json("/entries", limit=1000)
            assert comparable(ours) == comparable(Reader.of(emulator).json("/entries", limit=1000))


def test_a_client_starts_from_an_old_revision_and_goes_on_at_the_source(
    history: tuple[Path, list[str]],
) -> None:
    """Initial sync from the mirror at round 1; its token, handed to the source (the
    emulator, at round 3), brings exactly rounds 2 and 3; the client then holds what
    an initial sync at the source gives."""
    directory, commits = history
    with (
        serving(directory, rev=commits[1]) as server,
        Emulator(EmulatorConfig(round=3)) as source,
    ):
        held_items, token = Reader.of(server).sync_all(initial="true")
        with Emulator(EmulatorConfig(round=1)) as old:
            assert comparable(held_items) == comparable(Reader.of(old).sync_all(initial="true")[0])
        delta, _ = Reader.of(source).sync_all(sync_token=token)
        with serving(directory) as head:
            from_mirror, _ = Reader.of(head).sync_all(sync_token=token)
        assert {(i["sys"]["type"], i["sys"]["id"]) for i in delta} == {
            (i["sys"]["type"], i["sys"]["id"]) for i in from_mirror
        }
        held = item_state(held_items)
        for item in delta:
            held.pop((item["sys"]["type"].removeprefix("Deleted"), item["sys"]["id"]), None)
            if not item["sys"]["type"].startswith("Deleted"):
                held[(item["sys"]["type"], item["sys"]["id"])] = item
        fresh = item_state(Reader.of(source).sync_all(initial="true")[0])
    assert held.keys() == fresh.keys()
    assert all(comparable(held[key]) == comparable(fresh[key]) for key in fresh)


def test_json_prints_the_connection_facts_first(history: tuple[Path, list[str]]) -> None:
    directory, commits = history
    options = ["--rev", commits[2], "--access-token", "tok", "--quiet"]
    with serve_process(str(directory), *options) as served:
        facts = served.facts
        assert set(facts) == {"base_url", "space", "environment", "revision", "commit"} | {
            "access_token"
        }
        assert (facts["space"], facts["environment"]) == ("wayfarer", "master")
        assert facts["commit"] == commits[2] and facts["access_token"] == "tok"
        url = f"{facts['base_url']}/spaces/wayfarer/entries?access_token=tok&limit=1"
        assert requests.get(url, timeout=10).status_code == 200


def test_options_of_the_other_kind_of_folder_are_refused(history: tuple[Path, list[str]]) -> None:
    directory, _ = history
    refused = mirror("serve", str(directory), "--round", "2", "--port", "0")
    assert refused.exit_code == EXIT_USAGE and "--round is only for the emulator" in refused.stderr
    no_rev = mirror("serve", "--rev", "HEAD", "--port", "0")
    assert no_rev.exit_code == EXIT_USAGE and "--rev is only for a mirror folder" in no_rev.stderr
    bad = mirror("serve", str(directory), "--rev", "no-such-rev", "--port", "0", "--quiet")
    assert bad.exit_code == EXIT_USAGE and "no-such-rev" in bad.stderr
    no_cache = mirror("serve", "--cache-mb", "64", "--port", "0")
    assert no_cache.exit_code == EXIT_USAGE
    assert "--cache-mb is only for a mirror folder" in no_cache.stderr
    negative = mirror("serve", str(directory), "--cache-mb", "-1", "--port", "0")
    assert negative.exit_code == EXIT_USAGE and "--cache-mb" in negative.stderr


def test_a_filtered_sync_goes_on_with_its_own_filters(history: tuple[Path, list[str]]) -> None:
    """A client that synced only some entries must never get others later: its next
    sync token keeps its filters (the mirror's Contentful token would not)."""
    directory, commits = history
    with serving(directory, rev=commits[0]) as old:
        _, token = Reader.of(old).sync_all(initial="true", type="Entry", content_type="place")
    with serving(directory) as head:
        reader = Reader.of(head)
        delta, _ = reader.sync_all(sync_token=token)
    assert delta, "the sample space's rounds change places"
    for item in delta:
        kind = item["sys"]["type"]
        assert kind in ("Entry", "DeletedEntry")
        if kind == "Entry":
            assert item["sys"]["contentType"]["sys"]["id"] == "place"


def test_json_reports_a_start_up_failure_too(history: tuple[Path, list[str]]) -> None:
    directory, _ = history
    result = mirror("serve", str(directory), "--rev", "no-such-rev", "--port", "0", "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["status"] == "error" and "no-such-rev" in report["error"]


def test_files_that_hold_no_item_are_named_when_their_commit_is_served(tmp_path: Path) -> None:
    """A file damaged by hand would make a build lose its page without a word: each
    commit served says which files it cannot serve, even with --quiet, and a later
    commit (its index derived from this one's) forgets those mended."""
    with Emulator(EmulatorConfig(round=0)) as emulator:
        synced_rounds(emulator, tmp_path, 0)
    (tmp_path / "entries" / "city" / "porto.json").write_text("{broken")
    moved = (tmp_path / "entries" / "city" / "lisbon.json").read_text()
    (tmp_path / "entries" / "place" / "lisbon.json").write_text(moved)  # a city as a place
    git(tmp_path, "commit", "-qam", "by hand")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "by hand, a new file")
    warnings: list[str] = []
    with serving(tmp_path, follow=True, poll_seconds=0.05, warn=warnings.append) as server:
        assert warnings == [
            f"warning: 2 file(s) at {server.commit[:10]} hold no readable entry or asset and "
            "are not served: entries/city/porto.json, entries/place/lisbon.json; "
            f"mirror verify {tmp_path} says why"
        ]
        reader = Reader.of(server)
        assert reader.get("/entries/porto").status_code == 404
        git(tmp_path, "checkout", "-q", "HEAD~2", "--", "entries/city/porto.json")
        git(tmp_path, "commit", "-qm", "mended")
        head = git(tmp_path, "rev-parse", "HEAD").strip()
        deadline = time.monotonic() + 10
        while server.commit != head and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.commit == head
        assert server._current.content.index.origin == "updated"
        assert warnings[1:] == [
            f"warning: 1 file(s) at {head[:10]} hold no readable entry or asset and are not "
            f"served: entries/place/lisbon.json; mirror verify {tmp_path} says why"
        ]
        assert reader.get("/entries/porto").status_code == 200
        git(tmp_path, "rm", "-q", "entries/place/lisbon.json")
        git(tmp_path, "commit", "-qm", "the stray file removed")
        last = git(tmp_path, "rev-parse", "HEAD").strip()
        deadline = time.monotonic() + 10
        while server.commit != last and time.monotonic() < deadline:
            time.sleep(0.02)
        assert warnings[2:] == [f"every file at {last[:10]} is served again"]
    with serve_process(str(tmp_path), "--rev", "HEAD~2", "--quiet") as served:
        served.stop()
    assert "warning: 2 file(s) at" in served.stderr and "entries/city/porto.json" in served.stderr
