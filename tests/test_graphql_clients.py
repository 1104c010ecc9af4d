"""The GraphQL clients sites use with Contentful read `mirror serve DIR` unchanged: npm
graphql-request (Contentful's Next.js templates) and Apollo Client run the sample space's
queries and the three recorded sites' operations and get what the server answers;
graphql-codegen generates the sites' TypeScript types from the server's introspection,
the same schema Contentful generated, and they compile.

Skipped, with the reason, where node or the packages are missing; .ci/test installs them
(`npm install --prefix tests/graphql_js`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import build_client_schema, parse, print_ast

from mirror.delivery.server import MirrorServer
from mirror.emulator import Emulator, EmulatorConfig
from tests.conftest import sync_json
from tests.graphql_support import (
    GraphQL,
    conformance,
    conformance_mirror,
    differences,
    operation_variables,
)
from tests.serving import serving

pytestmark = pytest.mark.sdk
JS_DIR = Path(__file__).parent / "graphql_js"
SPACES = ("blog", "ecommerce", "marketing")

# Queries a site on the sample space would send.
SAMPLE_OPERATIONS: list[dict[str, Any]] = [
    {
        "name": "CityPage",
        "document": """query CityPage($id: String!, $locale: String) {
          city(id: $id, locale: $locale) {
            __typename sys { id publishedAt } name country population location { lat lon }
            heroImage { url(transform: {width: 320, format: WEBP}) title width height }
            highlightsCollection(limit: 5) { total items { ...PlaceCard } }
            linkedFrom { guideCollection { items { title slug } } }
          }
        }
        fragment PlaceCard on Place { sys { id } title rating category photo { url title } }""",
        "variables": {"id": "porto", "locale": "de-DE"},
    },
    {
        "name": "Guides",
        "document": """query Guides($limit: Int) {
          guideCollection(limit: $limit, order: publishedOn_DESC) {
            total
            items {
              title slug publishedOn author { name avatar { url } }
              citiesCollection { items { __typename ... on City { name } } }
              body {
                json
                links { entries { block { __typename sys { id } ... on Place { title } } } }
              }
            }
          }
        }""",
        "variables": {"limit": 3},
    },
    {
        "name": "Search",
        "document": """query Search($text: String) {
          placeCollection(
            where: {OR: [{title_contains: $text}, {offlineTip_contains: $text}]}
            order: [rating_DESC, sys_id_ASC]
          ) { total items { title rating city { name } } }
        }""",
        "variables": {"text": "market"},
    },
    {
        "name": "Everything",
        "document": """query Everything {
          entryCollection(limit: 6, order: sys_id_ASC) {
            items { __typename sys { id } ... on Author { name } ... on City { name } }
          }
        }""",
        "variables": {},
    },
    {
        "name": "Unresolvable",
        "document": """query Unresolvable {
          guide(id: "guide-lisbon-on-foot") { title body { links { assets { block { title } } } } }
        }""",
        "variables": {},
    },
]


def _needs_node() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (JS_DIR / "node_modules" / "graphql-request").is_dir():
        pytest.skip(
            "the npm clients are not installed: run `npm install --prefix tests/graphql_js`"
        )


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MirrorServer]:
    directory = tmp_path_factory.mktemp("sample")
    with Emulator(EmulatorConfig()) as emulator:
        sync_json(emulator, directory, "--download-assets")
    with serving(directory, access_token="site-token") as server:
        yield server


@pytest.fixture(scope="module", params=SPACES)
def recorded_space(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, MirrorServer]]:
    directory = conformance_mirror(tmp_path_factory.mktemp(request.param), request.param)
    with serving(directory, access_token="site-token") as server:
        yield request.param, server


def _run(client: str, server: MirrorServer, operations: list[dict[str, Any]], tmp: Path) -> Any:
    _needs_node()
    path = tmp / f"{client}-operations.json"
    path.write_text(json.dumps(operations), encoding="utf-8")
    url = GraphQL(server).url
    command = ["node", str(JS_DIR / "clients.mjs"), client, url, "site-token", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=JS_DIR)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _without_typenames(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_typenames(v) for k, v in value.items() if k != "__typename"}
    if isinstance(value, list):
        return [_without_typenames(v) for v in value]
    return value


def _codes(errors: list[dict[str, Any]] | None) -> list[str]:
    return [error["extensions"]["contentful"]["code"] for error in errors or []]


def _server_answers(server: MirrorServer, operations: list[dict[str, Any]]) -> dict[str, Any]:
    client = GraphQL(server, token="site-token")
    return {op["name"]: client.post(op["document"], op["variables"]).json() for op in operations}


def test_graphql_request_gets_what_the_server_answers(sample: MirrorServer, tmp_path: Path) -> None:
    got = _run("request", sample, SAMPLE_OPERATIONS, tmp_path)
    expected = _server_answers(sample, SAMPLE_OPERATIONS)
    for name, answer in expected.items():
        assert got[name]["data"] == answer["data"], name
        assert _codes(got[name].get("errors")) == _codes(answer.get("errors")), name
    assert got["CityPage"]["data"]["city"]["heroImage"]["url"].endswith("?w=320&fm=webp")
    assert got["Unresolvable"]["data"]["guide"]["body"]["links"]["assets"]["block"] == [None]
    assert _codes(got["Unresolvable"]["errors"]) == ["UNRESOLVABLE_LINK"]


def test_apollo_client_gets_it_through_its_cache(sample: MirrorServer, tmp_path: Path) -> None:
    got = _run("apollo", sample, SAMPLE_OPERATIONS, tmp_path)
    expected = _server_answers(sample, SAMPLE_OPERATIONS)
    for name, answer in expected.items():
        assert _without_typenames(got[name]["data"]) == _without_typenames(answer["data"]), name
    everything = got["Everything"]["data"]["entryCollection"]["items"]
    assert {item["__typename"] for item in everything} <= {"Author", "City", "Guide", "Place"}
    assert all(item.get("name") for item in everything if item["__typename"] in ("Author", "City"))
    assert _codes(got["Unresolvable"]["errors"]) == ["UNRESOLVABLE_LINK"]


def test_apollos_default_error_policy_throws_on_an_unresolvable_link(
    sample: MirrorServer, tmp_path: Path
) -> None:
    got = _run("apollo-strict", sample, SAMPLE_OPERATIONS, tmp_path)
    assert "thrown" in got["Unresolvable"]  # as from Contentful (contentful.js issue 418)
    assert _codes(got["Unresolvable"]["errors"]) == ["UNRESOLVABLE_LINK"]
    assert got["CityPage"]["data"]["city"]["name"] == "Porto"


def _site_operations(space: str) -> list[dict[str, Any]]:
    return [
        {
            "name": op["name"],
            "document": op["document"],
            "variables": operation_variables(op, space),
        }
        for op in conformance(f"queries-{space}.json")["operations"]
    ]


def test_the_sites_operations_run_through_both_clients(
    recorded_space: tuple[str, MirrorServer], tmp_path: Path
) -> None:
    space, server = recorded_space
    operations = _site_operations(space)
    expected = _server_answers(server, operations)
    for client in ("request", "apollo"):
        got = _run(client, server, operations, tmp_path)
        assert set(got) == set(expected)
        for name, answer in expected.items():
            assert "errors" not in answer and "errors" not in got[name], (client, name)
            assert _without_typenames(got[name]["data"]) == _without_typenames(answer["data"])


def _documents(operations: list[dict[str, Any]]) -> str:
    """The operations and their fragments, each definition once (codegen reads them
    together, and the recorded documents repeat the fragments they share)."""
    definitions: dict[str, str] = {}
    for operation in operations:
        for definition in parse(operation["document"]).definitions:
            definitions.setdefault(definition.name.value, print_ast(definition))  # type: ignore[attr-defined]
    return "\n\n".join(definitions.values()) + "\n"


def test_codegen_generates_the_sites_types_from_the_servers_introspection(
    recorded_space: tuple[str, MirrorServer], tmp_path: Path
) -> None:
    _needs_node()
    space, server = recorded_space
    (tmp_path / "operations.graphql").write_text(
        _documents(_site_operations(space)), encoding="utf-8"
    )
    config = {
        "overwrite": True,
        "schema": [{GraphQL(server).url: {"headers": {"Authorization": "Bearer site-token"}}}],
        "documents": str(tmp_path / "operations.graphql"),
        "generates": {
            str(tmp_path / "graphql.schema.json"): {"plugins": ["introspection"]},
            str(tmp_path / "graphql.ts"): {"plugins": ["typescript", "typescript-operations"]},
        },
    }
    (tmp_path / "codegen.json").write_text(json.dumps(config), encoding="utf-8")
    codegen = JS_DIR / "node_modules" / ".bin" / "graphql-codegen"
    generated = subprocess.run(
        [str(codegen), "--config", str(tmp_path / "codegen.json")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=JS_DIR,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    introspection = json.loads((tmp_path / "graphql.schema.json").read_text(encoding="utf-8"))
    ours = build_client_schema(introspection)
    recorded = build_client_schema({"__schema": conformance(f"schema-{space}.json")["__schema"]})
    assert differences(recorded, ours) == []
    types = (tmp_path / "graphql.ts").read_text(encoding="utf-8")
    for operation in conformance(f"queries-{space}.json")["operations"]:
        assert f"export type {operation['name'][0].upper()}{operation['name'][1:]}Query" in types
    tsc = JS_DIR / "node_modules" / ".bin" / "tsc"
    compiled = subprocess.run(
        [str(tsc), "--noEmit", "--strict", "--skipLibCheck", str(tmp_path / "graphql.ts")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert compiled.returncode == 0, compiled.stdout
