"""The recorded Delivery API exchanges the engine alone cannot answer, answered over
HTTP by `mirror serve DIR` as Contentful answered them: the two sent with a wrong
access token (401) and the thirteen initial syncs.

A mirror holds one sync token per round: the token Contentful gave for the mirror's
own filters. So each recorded sync gets a mirror made with that sync's filters
(everything; entries of content type cat; assets), its items written as `mirror sync`
writes them and each recorded token committed as the Sync-Token of a round, oldest
first; the exchange is then asked of the mirror at the round holding its token.
Everything then matches: status, items in order, item bodies, and the token of
nextSyncUrl. Only the URL around that token is ours, not Contentful's:
http://127.0.0.1:PORT and the path the request used (Contentful's answers of
2018-04 named the legacy /spaces/{s}/sync even for an /environments/master
request; later ones name the request's form)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mirror.client.state import MirrorState
from tests.conftest import SHARED, shared_data, token_of
from tests.serving import serving

FOLDER = "conformance/delivery"
WRONG_TOKEN = ("cfexampleapi-130", "cfexampleapi-132")
SYNCS = (
    *(f"cfexampleapi-{n}" for n in range(152, 159)),
    *(f"dumri3ebknon-2018-{n:03d}" for n in range(59, 65)),
)
Filters = tuple[str, str | None]


def _exchanges() -> dict[str, tuple[dict[str, Any], str]]:
    """Every exchange by id, with the version of the space it was recorded against."""
    found: dict[str, tuple[dict[str, Any], str]] = {}
    for path in sorted((SHARED / FOLDER).glob("exchanges-*.json")):
        version = path.stem.removeprefix("exchanges-")
        for exchange in json.loads(path.read_text(encoding="utf-8"))["exchanges"]:
            found[exchange["id"]] = (exchange, version)
    return found


def _space(version: str) -> dict[str, Any]:
    raw = (shared_data(FOLDER) / f"space-{version}.json").read_text(encoding="utf-8")
    return dict(json.loads(raw))


def _filters(exchange: dict[str, Any]) -> Filters:
    query = dict(exchange["request"]["query"])
    return query.get("type", "all"), query.get("content_type")


def _wanted(item: dict[str, Any], filters: Filters) -> bool:
    kind, content_type = filters
    if kind == "all":
        return True
    if item["sys"]["type"] != kind:
        return False
    return content_type is None or item["sys"]["contentType"]["sys"]["id"] == content_type


def _git(folder: Path, *args: str) -> str:
    command = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    return subprocess.run([*command, *args], capture_output=True, text=True, check=True).stdout


def _write(folder: Path, relative: str, value: Any) -> None:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def build_mirror(folder: Path, space: dict[str, Any], filters: Filters, tokens: list[str]) -> None:
    """A mirror of `space` with these sync filters, one round per token (oldest first)."""
    _git(folder, "init", "-q")
    for item in space["items"]:
        if not _wanted(item, filters):
            continue
        sys = item["sys"]
        if sys["type"] == "Entry":
            _write(folder, f"entries/{sys['contentType']['sys']['id']}/{sys['id']}.json", item)
        else:
            _write(folder, f"assets/{sys['id']}.json", item)
    for content_type in space["content_types"]:
        _write(folder, f"content_types/{content_type['sys']['id']}.json", content_type)
    _write(folder, "locales.json", space["locales"])
    for number, token in enumerate(tokens):
        state = MirrorState(
            space["space"],
            space["environment"],
            "https://cdn.contentful.com",
            type=filters[0],
            content_type=filters[1],
            sync_token=token,
            round=number,
        )
        (folder / "mirror.json").write_bytes(state.to_bytes())
        _git(folder, "add", "--all")
        trailers = {"Sync-Token": token, "Sync-Space": space["space"], "Sync-Environment": "master"}
        args = [f"--trailer={key}: {value}" for key, value in trailers.items()]
        _git(folder, "commit", "-q", "--allow-empty", "-m", f"round {number}", *args)


@pytest.fixture(scope="module")
def recorded() -> dict[str, tuple[dict[str, Any], str]]:
    shared_data(FOLDER)
    return _exchanges()


@pytest.fixture(scope="module")
def mirrors(
    recorded: dict[str, tuple[dict[str, Any], str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, Filters], tuple[Path, list[str]]]]:
    """A mirror per space version and sync filters, holding every recorded token of
    that sync as a round, oldest recording first; with the tokens in commit order."""
    tokens: dict[tuple[str, Filters], dict[str, str]] = {}
    for exchange_id in SYNCS:
        exchange, version = recorded[exchange_id]
        when = exchange["provenance"]["recorded_at"]
        token = token_of(exchange["response"]["nextSyncUrl"])
        tokens.setdefault((version, _filters(exchange)), {}).setdefault(token, when)
    built = {}
    for (version, filters), by_token in tokens.items():
        folder = tmp_path_factory.mktemp("recorded")
        ordered = sorted(by_token, key=lambda token: by_token[token])
        build_mirror(folder, _space(version), filters, ordered)
        built[(version, filters)] = (folder, ordered)
    yield built


@pytest.mark.parametrize("exchange_id", SYNCS)
def test_a_recorded_initial_sync_is_answered_as_recorded(
    exchange_id: str,
    recorded: dict[str, tuple[dict[str, Any], str]],
    mirrors: dict[tuple[str, Filters], tuple[Path, list[str]]],
) -> None:
    exchange, version = recorded[exchange_id]
    folder, tokens = mirrors[(version, _filters(exchange))]
    token = token_of(exchange["response"]["nextSyncUrl"])
    rounds = _git(folder, "log", "--reverse", "--format=%H").split()
    request = exchange["request"]
    with serving(folder, rev=rounds[tokens.index(token)]) as server:
        url = f"{server.base_url}{request['path']}?{request['raw_query']}"
        response = requests.get(url, headers={"Authorization": "Bearer any"}, timeout=10)
        host = f"127.0.0.1:{server.port}"
    assert response.status_code == exchange["status"] == 200
    body = response.json()
    assert body["items"] == exchange["response"]["items"]
    assert body["nextSyncUrl"] == f"http://{host}{request['path']}?sync_token={token}"
    assert set(body) == set(exchange["response"]) == {"sys", "items", "nextSyncUrl"}


@pytest.mark.parametrize("exchange_id", WRONG_TOKEN)
def test_a_recorded_wrong_token_is_refused_as_recorded(
    exchange_id: str,
    recorded: dict[str, tuple[dict[str, Any], str]],
    mirrors: dict[tuple[str, Filters], tuple[Path, list[str]]],
) -> None:
    exchange, version = recorded[exchange_id]
    folder, _ = mirrors[(version, ("all", None))]
    with serving(folder, access_token="the-right-token") as server:
        response = requests.get(
            server.base_url + exchange["request"]["path"],
            headers={"Authorization": "Bearer a-wrong-token"},
            timeout=10,
        )
    assert response.status_code == exchange["status"] == 401
    body, expected = response.json(), dict(exchange["response"])
    assert len(body.pop("requestId")) == len(expected.pop("requestId")) == 32
    assert body == expected
