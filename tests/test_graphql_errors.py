"""`mirror serve DIR`'s GraphQL endpoint on the wire: errors with Contentful's codes and
HTTP statuses, the bounds checked before anything runs (size, nesting, complexity), the
same token rules as the REST API, GET, form and persisted-query requests, and a mirror
whose content model cannot become a schema."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from mirror.delivery.server import MirrorServer
from mirror.emulator import Emulator, EmulatorConfig
from tests.conftest import git, sync_json
from tests.graphql_support import GraphQL, write_space
from tests.serving import Reader, serve_process, serving, synced_rounds


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The sample space synced over its rounds 0 to 4, and the commits."""
    directory = tmp_path_factory.mktemp("history")
    with Emulator(EmulatorConfig(round=0)) as emulator:
        commits = synced_rounds(emulator, directory, 4, "--download-assets")
    return directory, commits


@pytest.fixture(scope="module")
def server(history: tuple[Path, list[str]]) -> Iterator[MirrorServer]:
    with serving(history[0]) as running:
        yield running


def _code(response: requests.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["contentful"]["code"])


def _refused(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """The one error of a refused request, checked for its status, code and shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"}, body  # no data: nothing ran
    [error] = body["errors"]
    assert error["extensions"]["contentful"]["code"] == code
    assert (
        error["extensions"]["contentful"]["requestId"]
        == response.headers["X-Contentful-Request-Id"]
    )
    assert response.headers["Content-Type"].startswith("application/json")
    return dict(error)


# -- bounds checked before anything runs ------------------------------------------------------


def test_complexity_is_counted_as_contentful_documents_it(server: MirrorServer) -> None:
    client = GraphQL(server)
    # The shape of Contentful's own example: 100 + 100*100 linkedFrom + 100*10 + 100*10.
    query = """{ cityCollection { items { name linkedFrom { placeCollection { items { title } } }
        highlightsCollection(limit: 10) { items { title photo { url } } } } } }"""
    error = _refused(client.post(query), 400, "TOO_COMPLEX_QUERY")
    assert error["message"] == (
        "Query cannot be executed. The maximum allowed complexity for a query is 11000 but it "
        "was 12100. Simplify the query e.g. by setting lower limits for collections."
    )
    assert error["extensions"]["contentful"]["details"] == {"maximumCost": 11000, "cost": 12100}
    fine = client.post("{ placeCollection(limit: 5) { items { city { name } photo { url } } } }")
    assert fine.status_code == 200 and fine.headers["X-Contentful-Graphql-Query-Cost"] == "15"


def test_a_too_complex_query_runs_nothing(
    server: MirrorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mirror.delivery.engine import DeliveryEngine

    searched: list[Any] = []
    monkeypatch.setattr(DeliveryEngine, "search", lambda *args: searched.append(args))
    query = "{ placeCollection(limit: 1000) { items { city { highlightsCollection { total } } } } }"
    _refused(GraphQL(server).post(query), 400, "TOO_COMPLEX_QUERY")
    assert searched == []


def test_fragments_spreading_each_other_twice_are_costed_once_each(server: MirrorServer) -> None:
    """60 fragments, each spreading the next twice: 2^60 spreads if each were walked
    again (the server would never answer), costed and run as the fields they merge to."""
    levels = 60
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    leaf = f"fragment F{levels} on Query {{ __typename placeCollection(limit: 2) {{ total }} }}"
    query = "query { ...F0 } " + chain + " " + leaf
    assert len(query.encode()) < 8192
    response = GraphQL(server).post(query)
    assert response.status_code == 200, response.text
    assert response.headers["X-Contentful-Graphql-Query-Cost"] == "2"
    assert response.json()["data"]["__typename"] == "Query"
    # Under link fields the same doubling is multiplied as nesting is: refused, not walked.
    nested = " ".join(
        f"fragment G{i} on Place {{ a: city {{ ... on City {{ highlightsCollection {{ items {{ "
        f"...G{i + 1} }} }} }} }} b: city {{ ... on City {{ highlightsCollection {{ items {{ "
        f"...G{i + 1} }} }} }} }} }}"
        for i in range(6)
    )
    deep = "{ placeCollection { items { ...G0 } } } " + nested + " fragment G6 on Place { title }"
    _refused(GraphQL(server).post(deep), 400, "TOO_COMPLEX_QUERY")


def test_a_field_asked_for_too_often_to_validate_is_too_complex(server: MirrorServer) -> None:
    """graphql-core stops comparing the fields of a selection past a budget: the query
    is then refused as too complex, not with its bare 'Validation aborted.'."""
    fields = " ".join(["title"] * 1000)
    query = f"{{ placeCollection {{ items {{ {fields} }} }} }}"
    assert len(query.encode()) < 8192
    error = _refused(GraphQL(server).post(query), 400, "TOO_COMPLEX_QUERY")
    assert "ask for each field once" in error["message"]
    fewer = " ".join(["title"] * 100)
    answer = GraphQL(server).post(f"{{ placeCollection {{ items {{ {fewer} }} }} }}")
    assert answer.status_code == 200 and "errors" not in answer.json()


def test_rich_text_links_count_a_thousand_without_size_validations(server: MirrorServer) -> None:
    client = GraphQL(server)
    links = "body { links { entries { block { sys { id } } } } }"
    query = "{ guideCollection(limit: %d) { items { " + links + " } } }"
    error = _refused(client.post(query % 11), 400, "TOO_COMPLEX_QUERY")
    assert error["extensions"]["contentful"]["details"]["cost"] == 11 + 11 * 1000
    assert client.post(query % 10).headers["X-Contentful-Graphql-Query-Cost"] == "10010"


def test_limits_beyond_a_thousand_or_negative_are_refused(server: MirrorServer) -> None:
    client = GraphQL(server)
    for arguments in ("limit: 1001", "limit: -1", "skip: -1"):
        error = _refused(
            client.post(f"{{ placeCollection({arguments}) {{ total }} }}"),
            400,
            "GRAPHQL_VALIDATION_FAILED",
        )
        assert arguments.split(":")[0] in error["message"]


def test_a_query_over_eight_kilobytes_is_refused_as_contentful_words_it(
    server: MirrorServer,
) -> None:
    client = GraphQL(server)
    padding = " " * 8200
    query = "{ placeCollection(limit: 1) { total }" + padding + "}"
    body = json.dumps({"query": query}).encode()
    response = client.session.post(
        client.url, data=body, headers={"Content-Type": "application/json"}
    )
    error = _refused(response, 400, "QUERY_TOO_BIG")
    assert error["message"] == (
        "Query cannot be executed. The maximum allowed size for a query is 8192 bytes but it "
        f"was {len(body)} bytes"
    )
    assert _code(client.get(query=query)) == "QUERY_TOO_BIG"
    small = "{ placeCollection(limit: 1) { total }" + " " * 7000 + "}"
    assert client.get(query=small).status_code == 200


def test_a_query_nested_too_deep_is_refused_before_parsing(server: MirrorServer) -> None:
    client = GraphQL(server)
    brackets = "{ a" * 100 + " }" * 100
    error = _refused(client.post(brackets), 400, "TOO_COMPLEX_QUERY")
    assert error["extensions"]["contentful"]["details"] == {"maximumDepth": 64, "depth": 100}
    fragments = "".join(
        f"fragment F{n} on Place {{ city {{ highlightsCollection(limit: 1) "
        f"{{ items {{ ...F{n + 1} }} }} }} }}\n"
        for n in range(15)
    )
    fragments += "fragment F15 on Place { title }\n"
    deep = "{ placeCollection(limit: 1) { items { ...F0 } } }\n" + fragments
    error = _refused(client.post(deep), 400, "TOO_COMPLEX_QUERY")
    assert error["extensions"]["contentful"]["details"]["maximumDepth"] == 40


def test_variables_nested_too_deep_are_refused_before_they_are_compiled(
    server: MirrorServer,
) -> None:
    query = "query ($where: PlaceFilter) { placeCollection(where: $where) { total } }"
    where: dict[str, Any] = {"rating_gt": 4}
    for _ in range(100):
        where = {"AND": [where]}
    error = _refused(GraphQL(server).post(query, {"where": where}), 400, "TOO_COMPLEX_QUERY")
    assert error["extensions"]["contentful"]["details"]["maximumDepth"] == 64
    shallow: dict[str, Any] = {"rating_gt": 4}
    for _ in range(10):
        shallow = {"AND": [shallow]}
    client = GraphQL(server)
    nested = client.data(query, {"where": shallow})["placeCollection"]["total"]
    assert nested == client.data(query, {"where": {"rating_gt": 4}})["placeCollection"]["total"]


# -- requests refused ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "MISSING_QUERY"),
        ({"query": "   "}, "MISSING_QUERY"),
        ({"query": "{ placeCollection { total }"}, "INVALID_QUERY_FORMAT"),
        ({"query": "{ placeCollection { nope } }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "mutation { x }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query A { placeCollection { total } }", "operationName": "B"},
            "QUERY_OPERATION_NAME_MISMATCH",
        ),
        (
            {
                "query": "query A { a: placeCollection { total } } "
                "query B { b: cityCollection { total } }"
            },
            "QUERY_OPERATION_NAME_MISMATCH",
        ),
        (
            {"query": "query ($id: String!) { place(id: $id) { title } }"},
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            {
                "query": "query ($n: Int) { placeCollection(limit: $n) { total } }",
                "variables": {"n": "ten"},
            },
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ({"query": "{ placeCollection { total } }", "variables": [1]}, "INVALID_VARIABLES_FORMAT"),
    ],
)
def test_malformed_requests_get_contentfuls_codes(
    server: MirrorServer, body: dict[str, Any], code: str
) -> None:
    client = GraphQL(server)
    response = client.session.post(
        client.url, data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    error = _refused(response, 400, code)
    assert error["message"]


def test_validation_errors_say_where(server: MirrorServer) -> None:
    error = _refused(
        GraphQL(server).post("{\n  placeCollection { nope }\n}"), 400, "GRAPHQL_VALIDATION_FAILED"
    )
    assert error["message"] == "Cannot query field 'nope' on type 'PlaceCollection'."
    assert error["locations"] == [{"line": 2, "column": 21}]


def test_bad_variables_json_in_a_get_is_invalid_variables_format(server: MirrorServer) -> None:
    response = GraphQL(server).get(query="{ placeCollection { total } }", variables="{not json")
    _refused(response, 400, "INVALID_VARIABLES_FORMAT")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/content/v1/spaces/other/environments/master", 400, "UNKNOWN_SPACE"),
        ("/content/v1/spaces/wayfarer/environments/staging", 400, "UNKNOWN_ENVIRONMENT"),
        ("/content/v1/spaces/wayfarer/environments/master/explore", 404, "NOT_FOUND"),
    ],
)
def test_unknown_places_are_refused(
    server: MirrorServer, path: str, status: int, code: str
) -> None:
    client = GraphQL(server, path=server.base_url + path)
    _refused(client.post("{ placeCollection { total } }"), status, code)


def test_with_an_access_token_graphql_needs_it_as_rest_does(
    history: tuple[Path, list[str]],
) -> None:
    with serving(history[0], access_token="s3cret") as running:
        query = "{ placeCollection(limit: 1) { total } }"
        missing = GraphQL(running).post(query)
        wrong = GraphQL(running, token="nope").post(query)
        header = GraphQL(running, token="s3cret").post(query)
        parameter = GraphQL(running)
        parameter.url += "?access_token=s3cret"
        rest = requests.get(
            f"{running.base_url}/spaces/wayfarer/environments/master/entries", timeout=10
        )
        _refused(missing, 401, "ACCESS_TOKEN_MISSING")
        _refused(wrong, 401, "ACCESS_TOKEN_INVALID")
        assert header.status_code == 200 and parameter.post(query).status_code == 200
        assert rest.status_code == 401


# -- transport ------------------------------------------------------------------------------------


def test_get_form_and_the_legacy_path_answer_as_json_post_does(server: MirrorServer) -> None:
    client = GraphQL(server)
    query = (
        "query Count($limit: Int) { placeCollection(limit: $limit) { total items { sys { id } } } }"
    )
    expected = client.data(query, {"limit": 2})
    got = client.get(query=query, variables=json.dumps({"limit": 2}), operationName="Count")
    assert got.status_code == 200 and got.json()["data"] == expected
    form = client.session.post(
        client.url, data={"query": query, "variables": json.dumps({"limit": 2})}, timeout=10
    )
    assert form.status_code == 200 and form.json()["data"] == expected
    legacy = GraphQL(server, path=f"{server.base_url}/content/v1/spaces/wayfarer")
    assert legacy.data(query, {"limit": 2}) == expected
    picked = client.post(
        "query A { a: cityCollection { total } } query B { b: placeCollection { total } }",
        operationName="B",
        extensions={"clientLibrary": {"name": "test"}},
    )
    assert picked.json() == {"data": {"b": {"total": expected["placeCollection"]["total"]}}}


def test_persisted_queries_are_stored_and_run_by_their_hash(server: MirrorServer) -> None:
    client = GraphQL(server)
    query = "{ cityCollection(limit: 1, order: sys_id_ASC) { items { sys { id } } } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    unknown = client.get(extensions=json.dumps(persisted))
    _refused(unknown, 404, "PersistedQueryNotFound")
    stored = client.post(query, extensions=persisted)
    assert stored.status_code == 200
    again = client.get(extensions=json.dumps(persisted))
    assert again.status_code == 200 and again.json() == stored.json()
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    _refused(client.post(query, extensions=wrong), 400, "PersistedQueryMismatch")


def test_browsers_may_post_rest_paths_stay_read_only(server: MirrorServer) -> None:
    client = GraphQL(server)
    preflight = requests.options(client.url, timeout=10)
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    # Headers clients add of their own (contentful.js, Apollo) are allowed if asked for.
    asked = "content-type, x-contentful-locale-based-publishing, apollographql-client-name"
    extra = requests.options(
        client.url, headers={"Access-Control-Request-Headers": asked}, timeout=10
    )
    allowed = {
        name.strip().lower() for name in extra.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {name.strip() for name in asked.split(",")} <= allowed
    assert "authorization" in allowed
    gaps = requests.options(
        client.url, headers={"Access-Control-Request-Headers": "x-one,, ,X-Two"}, timeout=10
    )
    assert gaps.headers["Access-Control-Allow-Headers"].endswith(", x-one, X-Two")
    odd = requests.options(
        client.url, headers={"Access-Control-Request-Headers": "a b"}, timeout=10
    )
    assert (
        odd.headers["Access-Control-Allow-Headers"]
        == preflight.headers["Access-Control-Allow-Headers"]
    )
    rest = requests.post(
        f"{server.base_url}/spaces/wayfarer/environments/master/entries", data=b"{}"
    )
    assert rest.status_code == 405 and rest.headers["Allow"] == "GET, HEAD, OPTIONS"
    answer = client.post("{ placeCollection(limit: 1) { total } }")
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


# -- revisions and content models ------------------------------------------------------------------


def test_each_revision_is_answered_from_its_own_commit(history: tuple[Path, list[str]]) -> None:
    directory, commits = history
    query = '{ place(id: "lisbon-feira-da-ladra") { rating title(locale: "de-DE") } }'
    answers = []
    for commit in (commits[0], commits[1]):
        with serving(directory, rev=commit) as running:
            answers.append(GraphQL(running).data(query)["place"])
            rest = Reader.of(running).json("/entries/lisbon-feira-da-ladra", locale="de-DE")
            assert answers[-1] == {
                "rating": rest["fields"]["rating"],
                "title": rest["fields"]["title"],
            }
    assert answers[0] != answers[1]  # round 1 moved the rating and brought the German title


def test_follow_serves_each_new_commit_over_graphql(tmp_path: Path) -> None:
    directory = tmp_path / "mirror"
    query = '{ place(id: "lisbon-feira-da-ladra") { rating } }'
    with Emulator(EmulatorConfig(round=0)) as emulator:
        sync_json(emulator, directory)
        with serving(directory, follow=True, poll_seconds=0.05) as running:
            before = GraphQL(running).data(query)["place"]["rating"]
            emulator.store.apply_round(1)
            sync_json(emulator, directory)
            head = git(directory, "rev-parse", "HEAD").strip()
            for _ in range(200):
                if running.commit == head:
                    break
                time.sleep(0.05)
            after = GraphQL(running).data(query)["place"]["rating"]
    assert (before, after) == (4.2, 4.4)


def test_a_model_with_colliding_names_answers_422_and_rest_still_works(tmp_path: Path) -> None:
    content_types = [
        {
            "sys": {"id": "A_car"},
            "name": "A car",
            "fields": [{"id": "name", "name": "Name", "type": "Symbol"}],
        },
        {
            "sys": {"id": "a_car_"},
            "name": "Another car",
            "fields": [{"id": "name", "name": "Name", "type": "Symbol"}],
        },
    ]
    write_space(tmp_path / "space", "cars", content_types)
    with Emulator(EmulatorConfig(space_dir=tmp_path / "space")) as emulator:
        sync_json(emulator, tmp_path / "mirror")
    with serving(tmp_path / "mirror") as running:
        error = _refused(GraphQL(running).post("{ __typename }"), 422, "COLLIDING_TYPE_NAMES")
        assert error["message"] == (
            "Schema generation failed. Type name generated for the content types 'A_car', "
            "'a_car_' would be the same for all of them: 'ACar'"
        )
        assert Reader.of(running).json("/entries")["total"] == 6


def test_mirror_serve_port_0_json_prints_the_address_graphql_is_served_at(
    history: tuple[Path, list[str]],
) -> None:
    with serve_process(str(history[0]), "-q") as served:
        body = {"query": "{ cityCollection { total } }"}
        response = requests.post(served.graphql_url, json=body, timeout=30)
    assert response.status_code == 200
    assert response.json() == {"data": {"cityCollection": {"total": 9}}}


def test_workers_answer_from_one_port_as_one_process_does_and_stop_together(
    history: tuple[Path, list[str]], server: MirrorServer
) -> None:
    """`--workers 2`: two forked processes accept on the port printed once; each answer
    (GraphQL and REST, on 8 connections at once) is the single server's; SIGTERM stops
    the parent and both workers, exit 0."""
    with serve_process(str(history[0]), "-q", "--workers", "2") as served:
        facts = served.facts
        where = f"spaces/{facts['space']}/environments/{facts['environment']}"
        query = """{ cityCollection(order: name_ASC) {
            items { name linkedFrom { placeCollection { total } } } } }"""
        expected = GraphQL(server).post(query).json()
        rest = f"/{where}/entries?content_type=city&order=fields.name&include=0"
        expected_rest = requests.get(server.base_url + rest, timeout=30).json()

        def ask(_: int) -> tuple[Any, Any]:
            with requests.Session() as session:
                body = {"query": query, "variables": {}}
                graphql = session.post(served.graphql_url, json=body)
                return graphql.json(), session.get(facts["base_url"] + rest, timeout=30).json()

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, range(16)))
        pid = served.process.pid
        workers = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        code = served.stop()
    assert len(workers) == 2 and served.stdout == ""  # the facts, printed once
    assert all(answer == (expected, expected_rest) for answer in answers)
    assert code == 0 and not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_several_operations_without_a_name_say_what_is_missing(server: MirrorServer) -> None:
    query = "query A { a: placeCollection { total } } query B { b: cityCollection { total } }"
    answer = GraphQL(server).post(query)
    assert answer.status_code == 400
    message = answer.json()["errors"][0]["message"]
    assert message.endswith("The document holds several operations: operationName must name one")
    assert "None" not in message


def test_a_killed_worker_stops_the_server_saying_how(history: tuple[Path, list[str]]) -> None:
    with serve_process(str(history[0]), "-q", "--workers", "2") as served:
        children = Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children")
        for _ in range(100):  # the workers are forked once the address is printed
            workers = [int(pid) for pid in children.read_text().split()]
            if len(workers) == 2:
                break
            time.sleep(0.05)
        os.kill(workers[0], signal.SIGKILL)
        code = served.wait()
    assert code == 1
    said = served.stderr
    assert f"worker process {workers[0]} was killed by SIGKILL; stopping the others" in said
    assert "Traceback" not in said
    assert not Path(f"/proc/{workers[1]}").exists() or _is_zombie_or_gone(workers[1])


def _is_zombie_or_gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return True


def test_json_sent_as_curl_sends_it_without_a_content_type_is_read(server: MirrorServer) -> None:
    """`curl URL -d '{"query": ...}'` labels its body a form: it is the JSON it holds."""
    client = GraphQL(server)
    body = json.dumps({"query": "{ cityCollection { total } }"})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = client.session.post(client.url, data=body, headers=form)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["cityCollection"]["total"] > 0
    plain_form = client.session.post(client.url, data={"query": "{ cityCollection { total } }"})
    assert plain_form.json() == response.json()  # a real form still works


# -- what a client may send on the wire --------------------------------------------------------


def test_a_body_sent_in_chunks_is_read(server: MirrorServer) -> None:
    client = GraphQL(server)
    body = json.dumps({"query": "{ placeCollection(limit: 1) { total } }"}).encode()
    chunks = iter([body[:10], body[10:]])  # a generator: requests sends it chunked
    response = client.session.post(
        client.url, data=chunks, headers={"Content-Type": "application/json"}, timeout=20
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["placeCollection"]["total"] > 0


def test_query_and_operation_name_of_another_type_are_refused(server: MirrorServer) -> None:
    client = GraphQL(server)
    for body in ({"query": 5}, {"query": "{ __typename }", "operationName": 5}):
        response = client.session.post(client.url, json=body, timeout=20)
        error = _refused(response, 400, "INVALID_QUERY_FORMAT")
        assert "must be a string" in error["message"]


def test_a_url_over_64_kb_gets_a_json_414_in_its_apis_shape(server: MirrorServer) -> None:
    client = GraphQL(server)
    response = client.session.get(client.url, params={"query": "{" + " " * 70_000 + "}"})
    error = _refused(response, 414, "URI_TOO_LONG")
    assert "POST body" in error["message"]
    assert response.headers["Connection"] == "close"
    rest = requests.get(f"{server.base_url}/spaces/wayfarer/entries?q={'x' * 70_000}", timeout=20)
    assert rest.status_code == 414 and rest.json()["sys"]["id"] == "UriTooLong"


def _raw(server: MirrorServer, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send `request` as it is; the answer's status line, headers and body (the server
    closes the connection after these answers)."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, headers, body


def _code_of(body: bytes) -> str:
    return str(json.loads(body)["errors"][0]["extensions"]["contentful"]["code"])


def test_what_http_server_refuses_is_json_in_the_apis_shape(server: MirrorServer) -> None:
    path = GraphQL(server).url.removeprefix(server.base_url)
    many = "".join(f"X-{number}: y\r\n" for number in range(120))
    status, headers, body = _raw(server, f"GET {path} HTTP/1.1\r\n{many}\r\n".encode())
    assert status.startswith("HTTP/1.1 431") and headers["Connection"] == "close"
    [error] = json.loads(body)["errors"]
    assert error["extensions"]["contentful"]["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    rest = "/spaces/wayfarer/entries"
    long_line = "X-Long: " + "y" * 70_000
    status, headers, body = _raw(server, f"GET {rest} HTTP/1.1\r\n{long_line}\r\n\r\n".encode())
    assert status.startswith("HTTP/1.1 431") and headers["Content-Type"].startswith("application/")
    assert json.loads(body)["sys"]["id"] == "RequestHeaderFieldsTooLarge"
    status, _, body = _raw(server, f"GET {rest} HTTP/7.0\r\n\r\n".encode())
    assert status.startswith("HTTP/1.1 505") and json.loads(body)["sys"]["type"] == "Error"
    status, _, body = _raw(server, f"GET {path} HTTP/7.0\r\n\r\n".encode())
    assert status.startswith("HTTP/1.1 505")
    assert _code_of(body) == "HTTP_VERSION_NOT_SUPPORTED"
    # After a GraphQL request on the same connection, a refused REST one is REST's.
    ask = f"GET {path}?query=%7B__typename%7D HTTP/1.1\r\nHost: x\r\n\r\n"
    status, _, body = _raw(server, f"{ask}GET {rest} HTTP/1.1 extra\r\n\r\n".encode())
    assert body.count(b"HTTP/1.1 400") == 1  # the second answer, after the first's body
    assert json.loads(body.rsplit(b"\r\n\r\n", 1)[1])["sys"]["id"] == "BadRequest"
    put = requests.put(GraphQL(server).url, data=b"{}", timeout=20)
    assert _refused(put, 405, "METHOD_NOT_ALLOWED") and put.headers["Allow"] == (
        "GET, POST, HEAD, OPTIONS"
    )


def test_a_body_too_big_to_read_is_refused_at_once_and_said_as_it_is(
    server: MirrorServer,
) -> None:
    path = GraphQL(server).url.removeprefix(server.base_url)
    # Expect: 100-continue (curl's way for large bodies): no 100, the refusal at once.
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {2 * 2**20}\r\nExpect: 100-continue\r\n\r\n"
    )
    status, headers, body = _raw(server, head.encode())
    assert status.startswith("HTTP/1.1 400") and headers["Connection"] == "close"
    [error] = json.loads(body)["errors"]
    assert error["extensions"]["contentful"]["code"] == "QUERY_TOO_BIG"
    assert "it was 2097152 bytes" in error["message"]
    # In chunks, past what is read: what is known of its size.
    chunks = iter([b"{" + b" " * 2**19] * 4)
    response = requests.post(GraphQL(server).url, data=chunks, timeout=20)
    error = _refused(response, 400, "QUERY_TOO_BIG")
    assert "it was more than 1048576 bytes" in error["message"]
    # Not chunks at all.
    bad = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    status, headers, body = _raw(server, bad.encode())
    assert status.startswith("HTTP/1.1 400") and headers["Connection"] == "close"
    assert json.loads(body)["errors"][0]["extensions"]["contentful"]["code"] == "BAD_REQUEST"


def test_a_client_that_stops_sending_is_let_go(
    server: MirrorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mirror.delivery.http import QuietHandler

    monkeypatch.setattr(QuietHandler, "timeout", 1)
    host, port = server.base_url.removeprefix("http://").split(":")
    path = GraphQL(server).url.removeprefix(server.base_url)
    with socket.create_connection((host, int(port)), timeout=20) as connection:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{"
        connection.sendall(head.encode())  # 1 of the 100 bytes promised
        started = time.monotonic()
        assert connection.recv(1024) == b""  # closed, without an answer
        assert time.monotonic() - started < 15


def test_a_client_sending_a_byte_now_and_then_is_let_go(
    server: MirrorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each byte comes well within the timeout, but the request never does: the
    timeout bounds the whole request, and others are answered meanwhile."""
    from mirror.delivery.http import QuietHandler

    monkeypatch.setattr(QuietHandler, "timeout", 1.5)
    host, port = server.base_url.removeprefix("http://").split(":")
    path = GraphQL(server).url.removeprefix(server.base_url)
    head = f"GET {path}?query=%7B__typename%7D HTTP/1.1\r\nHost: x\r\nX-Slow: "
    with socket.create_connection((host, int(port)), timeout=20) as connection:
        connection.sendall(head.encode())
        started = time.monotonic()
        let_go = False
        while not let_go and time.monotonic() - started < 8:
            with contextlib.suppress(OSError):  # a reset once let go
                connection.sendall(b"y")
            time.sleep(0.3)
            assert GraphQL(server).post("{ __typename }").status_code == 200
            connection.setblocking(False)
            try:
                let_go = connection.recv(1024) == b""
            except BlockingIOError:
                pass
            except OSError:
                let_go = True
            connection.setblocking(True)
        assert let_go and time.monotonic() - started < 5


def test_a_body_no_answer_reads_is_never_taken_for_the_next_request(
    server: MirrorServer,
) -> None:
    client = GraphQL(server)
    rest = f"{server.base_url}/spaces/wayfarer/environments/master/entries?limit=1"
    with requests.Session() as session:
        with_body = session.get(rest, json={"a": 1}, timeout=20)
        assert with_body.status_code == 200 and with_body.headers["Connection"] == "close"
        assert session.get(rest, timeout=20).status_code == 200
    path = client.url.removeprefix(server.base_url)
    smuggled = "GET /spaces/wayfarer/environments/master/entries/smuggled HTTP/1.1\r\n\r\n"
    status, _, body = _raw(
        server,
        f"GET {path}?query=%7B__typename%7D HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {len(smuggled)}\r\n\r\n{smuggled}".encode(),
    )
    assert status.startswith("HTTP/1.1 200") and b"HTTP/1.1" not in body  # one answer only
    # Chunks and a Content-Length both: read as chunks, then the connection closes.
    query = json.dumps({"query": "{ __typename }"}).encode()
    chunked = f"{len(query):x}\r\n".encode() + query + b"\r\n0\r\n\r\n"
    status, headers, body = _raw(
        server,
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n".encode()
        + chunked
        + b"GET / HTTP/1.1\r\n\r\n",
    )
    assert status.startswith("HTTP/1.1 200") and headers["Connection"] == "close"
    assert json.loads(body) == {"data": {"__typename": "Query"}}
    status, headers, body = _raw(
        server, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{{}}".encode()
    )
    assert status.startswith("HTTP/1.1 400") and headers["Connection"] == "close"
    assert "Content-Length is not a number" in json.loads(body)["errors"][0]["message"]


def test_a_body_of_another_kind_than_json_or_a_form_is_named(server: MirrorServer) -> None:
    client = GraphQL(server)
    for kind in ("application/graphql", "multipart/form-data; boundary=x"):
        response = client.session.post(
            client.url, data=b"{ __typename }", headers={"Content-Type": kind}, timeout=20
        )
        error = _refused(response, 400, "INVALID_QUERY_FORMAT")
        assert f"sent as {kind.split(';')[0]}" in error["message"]
        assert "application/json" in error["message"]
